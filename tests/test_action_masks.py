"""action_masks() in sb3-contrib's MultiDiscrete format, and MaskablePPO on a visual and a tape id."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs  # noqa: F401
from tests.conftest import make_tiny_dataset


def test_visual_masks_force_an_answer_at_the_last_glimpse():
    env = gym.make("glimpse_envs/MNIST-v0", dataset=make_tiny_dataset(), glimpses=3)
    env.reset(seed=0)
    G, C = env.unwrapped.grid, env.unwrapped.num_classes
    for t in range(3):
        m = env.unwrapped.action_masks()
        assert m.shape == (2 * G + C + 1,) and m.dtype == bool
        assert m[: 2 * G].all() and m[2 * G + 1 :].all()  # locations and answers always legal
        assert m[2 * G] == (t < 2), t  # "keep looking" is not, at the last glimpse
        if t < 2:
            env.step(np.array([0, 0, 0]))
    vec = gym.make_vec(
        "glimpse_envs/MNIST-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        dataset=make_tiny_dataset(),
        glimpses=2,
    )
    vec.reset(seed=0)
    vec.step(np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]]))  # env 1 answered and restarts
    m = vec.unwrapped.action_masks()
    assert m.shape == (3, 2 * G + C + 1) and m[:, 2 * G].tolist() == [False, True, False]
    with pytest.raises(TypeError, match="continuous=False"):
        gym.make(
            "glimpse_envs/MNIST-v0", dataset=make_tiny_dataset(), continuous=True
        ).unwrapped.action_masks()


def test_tape_masks_allow_every_action_of_the_space():
    env = gym.make("glimpse_envs/ForwardReverse-v0")
    env.reset(seed=0)
    assert env.unwrapped.action_masks().tolist() == [True] * int(env.action_space.nvec.sum())
    vec = gym.make_vec("glimpse_envs/Copy-v0", num_envs=2, vectorization_mode="vector_entry_point")
    assert vec.unwrapped.action_masks().shape == (2, int(vec.single_action_space.nvec.sum()))


def test_maskable_ppo_on_a_visual_and_a_tape_id():
    sb3_contrib = pytest.importorskip("sb3_contrib")
    from agents.sb3_vec import make_sb3_vec_env

    env = gym.make("glimpse_envs/MNIST-v0", dataset=make_tiny_dataset(), glimpses=3)
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0
    )
    model.learn(128)
    G = env.unwrapped.grid
    for seed in range(10):  # at the last glimpse the masked policy always answers
        env.reset(seed=seed)
        env.step(np.array([1, 1, 0]))
        obs, *_ = env.step(np.array([2, 2, 0]))
        masks = env.unwrapped.action_masks()
        assert not masks[2 * G]
        action, _ = model.predict(obs, action_masks=masks, deterministic=False)
        assert action[2] != 0
        *_, term, _, info = env.step(action)
        assert term and info["prediction"] == action[2] - 1
    venv = make_sb3_vec_env("glimpse_envs/Copy-v0", 4, seed=0, min_length=1, max_length=2)
    tape = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0
    )
    tape.learn(128)
    assert tape.num_timesteps >= 128
