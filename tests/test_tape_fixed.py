"""The fixed tape evaluation set: ``task.fixed(split, length, indices)`` is what a tape env plays
after ``reset(options={"split", "index", "length"})``, so hard agents (through the env) and soft
baselines (through the generator) are scored on the same sequences."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs  # noqa: F401
from glimpse_envs.tape import TAPE_IDS

IDS = ["glimpse_envs/Copy-v0", "glimpse_envs/AssociativeRecall-v0", "glimpse_envs/Reverse-v0"]


def _episode(core, i):
    n_in, n_tgt = int(core.in_len[i]), int(core.tgt_len[i])
    return core.inputs[i, :n_in].copy(), core.targets[i, :n_tgt].copy()


@pytest.mark.parametrize("env_id", IDS)
def test_fixed_is_a_pure_function_of_split_length_index(env_id):
    task = gym.make(env_id).unwrapped.task
    length = task.min_length + 2
    a_in, a_tgt = task.fixed("test", length, [0, 1, 2])
    b_in, b_tgt = gym.make(env_id).unwrapped.task.fixed("test", length, [2, 1, 0])
    np.testing.assert_array_equal(a_in, b_in[::-1])
    np.testing.assert_array_equal(a_tgt, b_tgt[::-1])
    v_in, _ = task.fixed("validation", length, [0, 1, 2])
    assert not np.array_equal(a_in, v_in)


@pytest.mark.parametrize("env_id", IDS)
def test_env_reset_plays_the_fixed_episode(env_id):
    env = gym.make(env_id).unwrapped
    length = env.task.min_length + 3
    inputs, targets = env.task.fixed("test", length, [5])
    env.reset(seed=123, options={"split": "test", "index": 5, "length": length})
    got_in, got_tgt = _episode(env._core, 0)
    np.testing.assert_array_equal(got_in, inputs[0, : len(got_in)])
    np.testing.assert_array_equal(got_tgt, targets[0][targets[0] >= 0])
    curriculum_before = env.curriculum.current
    env.reset(options={"split": "test", "index": 5, "length": length})
    assert env.curriculum.current == curriculum_before  # fixed episodes are not curriculum episodes


def test_vector_reset_plays_indices_per_env():
    vec = gym.make_vec("glimpse_envs/Copy-v0", num_envs=3, vectorization_mode="vector_entry_point")
    task = vec.unwrapped.task
    inputs, _ = task.fixed("validation", 4, [7, 8, 9])
    vec.reset(options={"split": "validation", "index": 7, "length": 4})
    for j in range(3):
        np.testing.assert_array_equal(_episode(vec.unwrapped._core, j)[0], inputs[j])
    vec.reset(options={"split": "validation", "index": [9, 8, 7], "length": 4})
    np.testing.assert_array_equal(_episode(vec.unwrapped._core, 0)[0], inputs[2])


def test_fixed_reset_errors_name_the_fix():
    env = gym.make("glimpse_envs/Copy-v0").unwrapped
    with pytest.raises(ValueError, match="needs 'index'"):
        env.reset(options={"split": "test"})
    with pytest.raises(ValueError, match="unknown split"):
        env.reset(options={"split": "dev", "index": 0})


def test_every_tape_id_has_a_fixed_set():
    for env_id in TAPE_IDS:
        env = gym.make(env_id).unwrapped
        length = env.task.min_length
        x, y = env.task.fixed("test", length, [0])
        assert x.shape[0] == y.shape[0] == 1
