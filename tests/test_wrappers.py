"""GlimpseStack: the whole glimpse history, zero-padded to the budget."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from glimpse_envs.wrappers import GlimpseStack


@pytest.mark.parametrize("env_id", ["glimpse_envs/ClutteredMNIST-v0", "glimpse_envs/MultiMNIST-v0"])
def test_glimpse_stack_history(env_id, tiny):
    env = GlimpseStack(gym.make(env_id, dataset=tiny))
    T = env.unwrapped.budget
    k, g, _ = env.unwrapped.sensor.shape
    assert env.observation_space["glimpses"].shape == (T, k, g, g)
    assert env.observation_space["locations"].shape == (T, 2)
    assert ("emitted" in env.observation_space.spaces) == ("Multi" in env_id)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert np.all(obs["glimpses"][1:] == 0) and np.all(obs["locations"] == 0)
    seen = [obs["glimpses"][0].copy()]
    for j in range(1, 4):
        obs, *_ = env.step(np.array([j, 2 * j, 0]))
        assert obs["step"] == j and env.observation_space.contains(obs)
        seen.append(obs["glimpses"][j].copy())
        assert np.all(obs["glimpses"][j + 1 :] == 0)
        assert np.allclose(obs["locations"][j], env.unwrapped._grid_points[[j, 2 * j]])
    assert all(np.array_equal(obs["glimpses"][i], seen[i]) for i in range(4))
    obs, _ = env.reset(seed=1)
    assert np.all(obs["glimpses"][1:] == 0)


def test_glimpse_stack_checkers(tiny):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = GlimpseStack(gym.make("glimpse_envs/MNIST-v0", dataset=tiny))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb3_check_env(env)


def test_glimpse_stack_needs_glimpse_env():
    with pytest.raises(ValueError, match="GlimpseStack needs a glimpse env"):
        GlimpseStack(gym.make("CartPole-v1"))


def test_discrete_actions_visual_table_and_dqn():
    from stable_baselines3 import DQN

    from glimpse_envs.wrappers import DiscreteActions
    from tests.conftest import make_tiny_dataset

    env = DiscreteActions(gym.make("glimpse_envs/MNIST-v0", dataset=make_tiny_dataset()))
    G = env.unwrapped.grid
    assert env.action_space.n == G * G + 10
    assert env.action(np.int64(3 * G + 5)).tolist() == [5, 3, 0]  # look at cell (5, 3)
    assert env.action(G * G + 7)[2] == 8  # answer class 7
    with pytest.raises(ValueError, match="invalid action"):
        env.action(G * G + 10)
    model = DQN(
        "MultiInputPolicy",
        env,
        learning_starts=16,
        buffer_size=500,
        batch_size=16,
        train_freq=4,
        seed=0,
    )
    model.learn(64)
    assert model.num_timesteps == 64


def test_discrete_actions_tape_factorisation_can_solve_copy_and_repeat_copy():
    """A scripted policy using only the discrete actions solves Copy and RepeatCopy (store what the
    input head reads, go back, emit what the memory head reads; then the end marker), so the
    factorisation loses nothing those tasks need; DQN trains on it."""
    from stable_baselines3 import DQN

    from glimpse_envs.wrappers import DiscreteActions

    for env_id in ("glimpse_envs/Copy-v0", "glimpse_envs/RepeatCopy-v0"):
        env = DiscreteActions(gym.make(env_id))
        table, (writes, outputs) = env.table, env._options
        v = env.unwrapped.task.num_symbols

        def act(mem, write=0, out=0, table=table, writes=writes, outputs=outputs):
            row = [0, mem, writes.index(write), outputs.index(out)]
            return int(np.flatnonzero((table == row).all(1))[0])

        obs, _ = env.reset(seed=3, options={"length": 5})
        n = 0
        while obs["input"] <= v:  # data: store it, move on
            obs, *_ = env.step(act(1, "in"))
            n += 1
        repeats = 1 if "RepeatCopy" not in env_id else int(obs["input"]) - v
        total = 0.0
        for _ in range(repeats):
            for _ in range(n):  # back to the first stored symbol
                obs, r, term, *_ = env.step(act(2))
            for _ in range(n):
                obs, r, term, _, info = env.step(act(1, out="mem"))
                total += r
        if "RepeatCopy" in env_id:
            obs, r, term, _, info = env.step(act(0, out=v + 1))  # the end marker
            total += r
        assert term and info["is_success"] and total == info["target_length"]
    model = DQN(
        "MultiInputPolicy",
        DiscreteActions(gym.make("glimpse_envs/Copy-v0", max_length=2)),
        learning_starts=16,
        buffer_size=500,
        batch_size=16,
        train_freq=4,
        seed=0,
    )
    model.learn(64)
    assert model.num_timesteps == 64
