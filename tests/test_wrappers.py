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
