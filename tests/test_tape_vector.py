"""The native tape vector env equals N single envs seeded seed + i (Gymnasium's SyncVectorEnv)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from glimpse_envs.tape import TAPE_IDS, register_tape_envs
from tests.oracles import make_oracle

register_tape_envs()
N = 5


def _kwargs(env_id):
    if "NGrams" in env_id:
        return {"min_length": 6, "max_length": 12}
    if "Recall" in env_id:
        return {"min_length": 2, "max_length": 4, "window": 2, "threshold": 0.5}
    return {"min_length": 1, "max_length": 4, "window": 2, "threshold": 0.5}


def _pair(env_id, mode, **kw):
    kw = {**_kwargs(env_id), **kw}
    native = gym.make_vec(
        env_id, num_envs=N, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kw
    )
    sync = SyncVectorEnv([lambda: gym.make(env_id, **kw) for _ in range(N)], autoreset_mode=mode)
    return native, sync


def _actions(env_id, native, obs, policies, rng, step):
    """Oracle actions for even sub-envs (so the curriculum grows), random ones for odd sub-envs."""
    nvec = native.single_action_space.nvec
    acts = rng.integers(0, nvec, (N, 4))
    acts[:, 3] *= rng.random(N) < 0.3
    for i in range(0, N, 2):
        o = {k: v[i] for k, v in obs.items()}
        acts[i] = policies[i].start(o) if policies[i].obs is None else policies[i].act(o)
    return acts


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_vector_equals_sync_vector(env_id, mode):
    native, sync = _pair(env_id, mode)
    assert native.metadata["autoreset_mode"] == AutoresetMode(mode)
    assert native.observation_space == sync.observation_space
    assert native.action_space == sync.action_space
    a, b = native.reset(seed=13), sync.reset(seed=13)
    assert data_equivalence(a, b)
    obs = a[0]
    rng = np.random.default_rng(0)
    task, access = native.unwrapped.task, native.unwrapped.config.access
    policies = [make_oracle(env_id, task, access) for _ in range(N)]
    restart = prev_ended = np.zeros(N, bool)
    for step in range(250):
        for i in np.flatnonzero(restart):
            policies[i] = make_oracle(env_id, task, access)
        acts = _actions(env_id, native, obs, policies, rng, step)
        ra, rb = native.step(acts), sync.step(acts)
        assert data_equivalence(ra, rb), f"step {step}: {ra} != {rb}"
        obs = ra[0]
        ended = ra[2] | ra[3]
        # SameStep: obs is already the new episode's; NextStep: the next step resets
        restart = ended if mode == "SameStep" else prev_ended
        prev_ended = ended
    # the curriculum grew in the oracle-driven sub-envs; native and sync agree
    cur_native = [c.current for c in native.unwrapped.curricula]
    cur_sync = [e.unwrapped.curriculum.current for e in sync.envs]
    assert cur_native == cur_sync
    if "NGrams" not in env_id:
        assert cur_native[0] > 1


def test_per_env_lengths_reset_mask_and_seeds():
    env_id = "glimpse_envs/Copy-v0"
    native = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
    obs, info = native.reset(seed=[4, 5, 6], options={"length": [1, 60, 120]})
    assert info["length"].tolist() == [1, 60, 120]
    assert "target_length" not in info  # only reported when an episode ends
    singles = [gym.make(env_id) for _ in range(3)]
    for i, (s, L) in enumerate(zip(singles, [1, 60, 120])):
        o, _ = s.reset(seed=4 + i, options={"length": L})
        assert all(o[k] == obs[k][i] for k in o)
    first = native.unwrapped._core.inputs.copy()
    _, info2 = native.reset(options={"reset_mask": np.array([False, True, False]), "length": 7})
    assert info2["length"].tolist() == [1, 7, 120]
    np.testing.assert_array_equal(native.unwrapped._core.inputs[0], first[0])


def test_mixed_forced_and_curriculum_lengths_equal_single_envs():
    """Forced lengths draw no uniform for the length; the others draw theirs from the curriculum."""
    env_id = "glimpse_envs/RepeatCopy-v0"
    kw = {"min_length": 1, "max_length": 9}
    native = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point", **kw)
    singles = [gym.make(env_id, **kw) for _ in range(4)]
    for i in range(4):
        native.unwrapped.curricula[i].current = singles[i].unwrapped.curriculum.current = 2 + 2 * i
    lengths = [None, 5, None, 3]
    native.reset(seed=7, options={"length": lengths})
    for rounds in range(3):
        for i, s in enumerate(singles):
            opts = {} if lengths[i] is None else {"length": lengths[i]}
            s.reset(seed=7 + i if rounds == 0 else None, options=opts)
            np.testing.assert_array_equal(
                native.unwrapped._core.inputs[i, : s.unwrapped._core.in_len[0]],
                s.unwrapped._core.inputs[0, : s.unwrapped._core.in_len[0]],
            )
            assert native.unwrapped._core.length[i] == s.unwrapped._core.length[0]
        native.reset(options={"length": lengths})


def test_disabled_autoreset_and_bad_vector_inputs():
    env_id = "glimpse_envs/Reverse-v0"
    native = gym.make_vec(
        env_id, num_envs=2, vectorization_mode="vector_entry_point", autoreset_mode="Disabled"
    )
    native.reset(seed=0, options={"length": 3})
    bad_emit = np.array([[0, 0, 0, 1], [0, 0, 0, 2]])  # one of the two is wrong for any target
    _, _, term, _, _ = native.step(bad_emit)
    assert term.any()
    with pytest.raises(RuntimeError, match="reset"):
        native.step(np.zeros((2, 4), np.int64))
    native.reset(options={"reset_mask": term})
    native.step(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="invalid action"):
        native.step(np.zeros((3, 4), np.int64))
    with pytest.raises(ValueError, match="autoreset_mode"):
        gym.make_vec(
            env_id, num_envs=2, vectorization_mode="vector_entry_point", autoreset_mode="Sometimes"
        )
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec(env_id, num_envs=0, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="one int or 2 ints"):
        native.reset(options={"length": [1, 2, 3]})


def test_vector_truncation_and_render():
    env_id = "glimpse_envs/Copy-v0"
    native = gym.make_vec(
        env_id,
        num_envs=2,
        vectorization_mode="vector_entry_point",
        max_episode_steps=3,
        render_mode="ansi",
    )
    native.reset(seed=0, options={"length": 20})
    for _ in range(3):
        _, _, term, trunc, _ = native.step(np.zeros((2, 4), np.int64))
    assert trunc.all() and not term.any()
    frames = native.render()
    assert len(frames) == 2 and "memory:" in frames[0]
    rgb = gym.make_vec(
        env_id, num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array"
    )
    rgb.reset(seed=0)
    rgb.step(np.zeros((2, 4), np.int64))
    assert all(f.dtype == np.uint8 and f.ndim == 3 for f in rgb.render())


def test_public_teacher_and_episode_record():
    """What agents read besides observations goes through public methods, not ``_core``."""
    vec = gym.make_vec(
        "glimpse_envs/Copy-v0",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        render_mode="ansi",
    )
    vec.reset(seed=0, options={"length": [2, 3]})
    x0, y0, hist = vec.unwrapped.episode_record(0)
    assert x0.shape == (3,) and y0.shape == (2,) and hist == []
    assert vec.unwrapped.teacher_symbols().tolist() == [
        y0[0],
        vec.unwrapped.episode_record(1)[1][0],
    ]
    vec.step(np.array([[0, 1, 1 + x0[0], 0], [0, 0, 0, 0]]))
    assert vec.unwrapped.episode_record(0)[2] == [(1, 1, -1, False, 0)]
    plain = gym.make_vec(
        "glimpse_envs/Copy-v0", num_envs=1, vectorization_mode="vector_entry_point"
    )
    plain.reset(seed=0)
    with pytest.raises(RuntimeError, match="render_mode"):
        plain.unwrapped.episode_record(0)
    assert plain.unwrapped.memory_size == 128
