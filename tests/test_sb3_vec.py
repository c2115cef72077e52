"""The Gymnasium-VectorEnv -> SB3-VecEnv adapter gives exactly what SB3's DummyVecEnv gives."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.sb3_vec import GymnasiumVecEnv, split_infos


def _rollout(venv, seed: int, steps: int, action_seed: int = 1):
    rng = np.random.default_rng(action_seed)
    venv.seed(seed)
    obs = venv.reset()
    out = [obs]
    for _ in range(steps):
        actions = rng.integers(0, 2, size=venv.num_envs)
        obs, rewards, dones, infos = venv.step(actions)
        out.append((obs, rewards, dones, infos))
    return out


def _assert_same(a, b):
    assert np.array_equal(a[0], b[0])
    for (o1, r1, d1, i1), (o2, r2, d2, i2) in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        for x, y in zip(i1, i2):
            assert ("terminal_observation" in x) == ("terminal_observation" in y)
            if "terminal_observation" in x:
                np.testing.assert_array_equal(x["terminal_observation"], y["terminal_observation"])
                assert x["TimeLimit.truncated"] == y["TimeLimit.truncated"]


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_adapter_equals_dummy_vec_env(mode):
    n, steps = 4, 300  # CartPole episodes under random actions last ~20 steps: many resets
    vec = gym.make_vec(
        "CartPole-v1", num_envs=n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
    )
    ours = _rollout(GymnasiumVecEnv(vec), seed=3, steps=steps)
    ref = _rollout(
        DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(n)]), seed=3, steps=steps
    )
    assert sum(int(d.sum()) for _, _, d, _ in ours[1:]) > 10
    _assert_same(ours, ref)


def test_truncation_flag():
    vec = gym.make_vec(
        "CartPole-v1",
        num_envs=2,
        vectorization_mode="sync",
        max_episode_steps=3,
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    venv = GymnasiumVecEnv(vec)
    venv.seed(0)
    venv.reset()
    for _ in range(3):
        _, _, dones, infos = venv.step(np.zeros(2, dtype=np.int64))
    assert dones.all() and all(info["TimeLimit.truncated"] for info in infos)


def test_next_step_mode_is_refused_with_a_fix():
    vec = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="SameStep"):
        GymnasiumVecEnv(vec)


def test_split_infos_masks_and_nesting():
    infos = {
        "a": np.array([1, 2]),
        "_a": np.array([True, False]),
        "f": {"b": np.array([5, 6]), "_b": np.array([False, True])},
        "_f": np.array([False, True]),
    }
    assert split_infos(infos, 2) == [{"a": 1}, {"f": {"b": 6}}]


def test_sb3_ppo_learns_through_adapter():
    from stable_baselines3 import PPO

    vec = gym.make_vec(
        "CartPole-v1",
        num_envs=4,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    model = PPO(
        "MlpPolicy",
        GymnasiumVecEnv(vec),
        n_steps=32,
        batch_size=64,
        n_epochs=1,
        seed=0,
        device="cpu",
    )
    model.learn(256)
    assert model.num_timesteps >= 256


def _dict_rollout(venv, seed: int, steps: int):
    rng = np.random.default_rng(5)
    venv.seed(seed)
    out = [venv.reset()]
    nvec = venv.action_space.nvec
    for _ in range(steps):
        out.append(venv.step(rng.integers(0, nvec, size=(venv.num_envs, len(nvec)))))
    return out


@pytest.mark.parametrize("env_id", ["glimpse_envs/MNIST-v0", "glimpse_envs/Copy-v0"])
def test_native_vector_env_equals_dummy_vec_env_of_single_envs(env_id):
    """The documented path (make_sb3_vec_env) gives what SB3's DummyVecEnv of single envs gives."""
    from conftest import real_data_available

    from agents.sb3_vec import make_sb3_vec_env

    if "MNIST" in env_id and not real_data_available():
        pytest.skip("MNIST not found: set GLIMPSE_ENVS_DATA")
    n = 3
    ours = _dict_rollout(make_sb3_vec_env(env_id, n), seed=11, steps=40)
    ref = _dict_rollout(
        DummyVecEnv([lambda: gym.make(env_id) for _ in range(n)]), seed=11, steps=40
    )
    dones = 0
    for k in ours[0]:
        np.testing.assert_array_equal(ours[0][k], ref[0][k])
    for (o1, r1, d1, i1), (o2, r2, d2, i2) in zip(ours[1:], ref[1:]):
        for k in o1:
            np.testing.assert_array_equal(o1[k], o2[k], err_msg=k)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        dones += int(d1.sum())
        for x, y in zip(i1, i2):
            assert ("terminal_observation" in x) == ("terminal_observation" in y)
            if "terminal_observation" in x:
                for k in x["terminal_observation"]:
                    np.testing.assert_array_equal(
                        x["terminal_observation"][k], y["terminal_observation"][k]
                    )
                assert x["TimeLimit.truncated"] == y["TimeLimit.truncated"]
                assert bool(x["is_success"]) == bool(y["is_success"])
    assert dones > 5


def test_make_sb3_vec_env_is_monitored_so_sb3_logs_episodes():
    """PPO on the documented path logs rollout/ep_rew_mean and ep_len_mean (VecMonitor)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import KVWriter, configure
    from stable_baselines3.common.vec_env import VecMonitor

    from agents.sb3_vec import make_sb3_vec_env

    venv = make_sb3_vec_env("glimpse_envs/Copy-v0", 4, seed=0, min_length=1, max_length=2)
    assert isinstance(venv, VecMonitor)
    model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0)
    seen = {}

    class Grab(KVWriter):
        def write(self, key_values, key_excluded, step=0):
            seen.update(key_values)

        def close(self):
            pass

    logger = configure(None, [])
    logger.output_formats = [Grab()]
    model.set_logger(logger)
    model.learn(128)
    assert "rollout/ep_rew_mean" in seen and "rollout/ep_len_mean" in seen
    assert "rollout/success_rate" in seen
    assert make_sb3_vec_env("glimpse_envs/Copy-v0", 2, monitor=False).__class__.__name__ == (
        "GymnasiumVecEnv"
    )
