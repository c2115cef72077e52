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


@pytest.mark.parametrize("n_digits", [1, 2])
def test_min_glimpses_masks_early_answers_and_ends_them_as_wrong(n_digits):
    kw = {"dataset": make_tiny_dataset(), "glimpses": 4, "min_glimpses": 3}
    env_id = "glimpse_envs/MultiMNIST-v0" if n_digits > 1 else "glimpse_envs/MNIST-v0"
    if n_digits > 1:
        kw.update(n_digits=2, canvas_size=60)
    env = gym.make(env_id, **kw)
    env.reset(seed=0)
    G = env.unwrapped.grid
    # an oracle: look until min_glimpses, then answer the label(s) right: full reward
    total, labels = 0.0, env.unwrapped._target1[0] - 1
    for t in range(1, 3):
        m = env.unwrapped.action_masks()
        assert m[2 * G] and not m[2 * G + 1 :].any(), t  # only looking is legal before glimpse 3
        _, r, term, *_ = env.step(np.array([0, 0, 0]))
        assert not term and r == 0
    assert env.unwrapped.action_masks()[2 * G + 1 :].all()  # 3 glimpses taken: answers count
    for k in range(n_digits):
        _, r, term, _, info = env.step(np.array([0, 0, labels[k] + 1]))
        total += r
    assert term and total == n_digits and info["is_success"]
    # the same answers one glimpse early end the episode with nothing right
    for seed in range(3):
        env.reset(seed=seed)
        labels = env.unwrapped._target1[0] - 1
        env.step(np.array([0, 0, 0]))  # 2 glimpses taken, 3 needed
        _, r, term, _, info = env.step(np.array([0, 0, labels[0] + 1]))
        assert term and r == 0 and not info["is_success"]
    # vector env: the same rule, row by row
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kw)
    vec.reset(seed=0)
    vec.step(np.array([[0, 0, 0], [0, 0, 0]]))
    answer = vec.unwrapped._target1[:, 0]
    _, r, term, *_ = vec.step(np.stack([[0, 0, answer[0]], [0, 0, 0]]))
    assert term.tolist() == [True, False] and r.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("m", [0, 5, 2.0, True])
def test_min_glimpses_outside_one_to_the_budget_is_refused(m):
    with pytest.raises(ValueError, match=r"min_glimpses=.* invalid: use an integer from 1"):
        gym.make("glimpse_envs/MNIST-v0", dataset=make_tiny_dataset(), glimpses=4, min_glimpses=m)


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
