"""The tape envs: API checkers, determinism, pickling, oracles at every length, curriculum, errors."""

from __future__ import annotations

import os
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from glimpse_envs.tape import TAPE_IDS, TASKS, register_tape_envs

ENVS = list(TASKS.values())
from tests.oracles import make_oracle, run_single, run_vector

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
register_tape_envs()

SHORT = {"min_length": 1, "max_length": 5}


def _short(env_id):
    return (
        {"min_length": 200, "max_length": 200}
        if "NGrams" in env_id
        else ({"min_length": 2, "max_length": 5} if "Recall" in env_id else SHORT)
    )


def _random_actions(space, rng, n, p_emit=0.3):
    """Random actions that emit with probability ``p_emit`` (so episodes last a few steps)."""
    acts = rng.integers(0, space.nvec, (n,) + space.nvec.shape)
    acts[:, 3] *= rng.random(n) < p_emit
    return acts


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_gymnasium_check_env_no_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_sb3_check_env(env_id):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(gym.make(env_id), warn=True)


def _rollout(env, seed, steps=300):
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    acts = _random_actions(env.action_space, rng, steps)
    for a in acts:
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            out.append(env.reset())
    return out


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_determinism_and_pickling(env_id):
    a = _rollout(gym.make(env_id, **_short(env_id)), 7)
    b = _rollout(gym.make(env_id, **_short(env_id)), 7)
    assert gym.utils.env_checker.data_equivalence(a, b)
    c = _rollout(gym.make(env_id, **_short(env_id)), 8)
    assert not gym.utils.env_checker.data_equivalence(a, c)
    env = gym.make(env_id, **_short(env_id))
    env.reset(seed=3)
    env.step(np.zeros(4, np.int64))
    clone = pickle.loads(pickle.dumps(env))
    acts = _random_actions(env.action_space, np.random.default_rng(0), 40)
    for act in acts:
        r1, r2 = env.step(act), clone.step(act)
        assert gym.utils.env_checker.data_equivalence(r1, r2)
        if r1[2] or r1[3]:
            assert gym.utils.env_checker.data_equivalence(env.reset(), clone.reset())


def _lengths(task, access, extra=()):
    top = min(task.max_length(128, access), 130)
    small = range(task.min_length, min(top, 24) + 1)
    return sorted(
        set(small) | {top, max(task.min_length, top // 2), *[e for e in extra if e <= top]}
    )


ACCESS_CASES = [
    (env_id, access)
    for env_cls, env_id in zip(ENVS, TAPE_IDS)
    for access in env_cls.task_class.accesses
    if "NGrams" not in env_id
]


@pytest.mark.parametrize(
    "env_id,access", ACCESS_CASES, ids=[f"{i.split('/')[1]}-{a}" for i, a in ACCESS_CASES]
)
def test_oracle_max_return_at_every_length(env_id, access):
    """Training lengths 1-20, then far past them, up to 120 and beyond where the memory allows."""
    probe = gym.make(env_id, input_access=access).unwrapped
    top = probe.config.max_length  # the training maximum: 2x and 6x it where the memory allows
    lengths = _lengths(probe.task, access, extra=(40, 64, 80, 100, 120, 2 * top, 6 * top))
    venv = gym.make_vec(
        env_id, num_envs=len(lengths), vectorization_mode="vector_entry_point", input_access=access
    )
    returns, tgt, success, _ = run_vector(venv.unwrapped, env_id, lengths, seed=11)
    bad = [(L, r, t) for L, r, t in zip(lengths, returns, tgt) if r != t]
    assert not bad, f"oracle fell short at (length, return, max): {bad[:5]}"
    assert success.all()
    if probe.task.memory_cells(lengths[-1], access) and access != "tape":
        assert lengths[-1] >= 32  # reaches far past the training range
    if "Copy" in env_id or "Reverse" in env_id:
        assert max(lengths) >= 120
    assert 6 * top in lengths or probe.task.memory_cells(6 * top, access) > 128


@pytest.mark.parametrize("env_id", [i for i in TAPE_IDS if "NGrams" not in i])
def test_random_policy_earns_far_less(env_id):
    venv = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point")
    lengths = [10] * 64
    oracle, _, _, _ = run_vector(venv.unwrapped, env_id, lengths, seed=1)
    venv.reset(seed=1, options={"length": 10})
    rng = np.random.default_rng(0)
    total, active = np.zeros(64), np.ones(64, bool)
    while active.any():
        _, r, term, trunc, _ = venv.step(rng.integers(0, venv.single_action_space.nvec, (64, 4)))
        total += r * active
        active &= ~(term | trunc)
    assert total.mean() < 0.25 * oracle.mean()


def test_oracle_single_env_uses_memory_under_stream():
    env = gym.make("glimpse_envs/Copy-v0", render_mode="ansi")
    total, info, steps = run_single(env, "Copy-v0", length=30, seed=0)
    assert total == 30 and info["is_success"] and steps == 90  # store, walk back, read out
    assert (
        env.unwrapped._core.mem[0, :30].tolist()
        == (env.unwrapped._core.inputs[0, :30] + 0).tolist()
    )
    assert "output:" in env.render()


def test_ngram_bayes_oracle_matches_reference():
    from glimpse_envs.tape_tasks import ngram_bayes_predict

    env_id = "glimpse_envs/DynamicNGrams-v0"
    venv = gym.make_vec(env_id, num_envs=150, vectorization_mode="vector_entry_point")
    returns, tgt, _, steps = run_vector(venv.unwrapped, env_id, [200] * 150, seed=5)
    assert (steps == 199).all() and (tgt == 199).all()
    reference = venv.unwrapped.task.bayes_expected_score(200, episodes=1000, seed=0)
    assert abs(returns.mean() - reference) < 2.5, (returns.mean(), reference)
    # the oracle's predictions are exactly the Bayes predictor's
    env = gym.make(env_id)
    obs, _ = env.reset(seed=2)
    policy = make_oracle(env_id, env.unwrapped.task, "stream")
    seq = env.unwrapped._core.inputs[0, :200] - 1
    p = ngram_bayes_predict(seq[None], 6)[0]
    a = policy.start(obs)
    for t in range(199):
        assert a[3] - 1 == int(p[t] > 0.5)
        obs, r, term, _, _ = env.step(a)
        a = policy.act(obs)
    assert term
    # random predictions score about a third of the time
    obs, _ = env.reset(seed=3)
    rng, total, term = np.random.default_rng(0), 0.0, False
    while not term:
        obs, r, term, _, _ = env.step(rng.integers(0, env.action_space.nvec))
        total += r
    assert total < reference - 40


def test_time_limit_and_wrong_symbol():
    env = gym.make("glimpse_envs/Copy-v0")
    env.reset(seed=0, options={"length": 5})
    limit = env.unwrapped.task.time_limit(6, 5)
    for t in range(limit):  # noqa: B007  (t is checked after the loop)
        _, r, term, _, info = env.step(np.zeros(4, np.int64))
        if term:
            break
    assert t == limit - 1 and r == -1.0 and term and not info["is_success"]
    env.reset(seed=0, options={"length": 5})
    target = env.unwrapped._core.targets[0, 0]
    _, r, term, _, info = env.step(np.array([0, 0, 0, (target + 1) % 256 + 1]))
    assert r == -0.5 and term and info["correct"] == 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4, np.int64))


def test_curriculum_is_per_instance():
    kw = {"min_length": 1, "max_length": 6, "window": 3, "threshold": 1.0, "input_access": "tape"}
    a = gym.make("glimpse_envs/Reverse-v0", **kw)
    b = gym.make("glimpse_envs/Reverse-v0", **kw)
    for i in range(9):
        _, info, _ = run_single(a, "Reverse-v0", seed=i)
        assert info["is_success"]
    assert a.unwrapped.curriculum.current == 4
    assert b.unwrapped.curriculum.current == 1
    run_single(a, "Reverse-v0", length=6, seed=0)  # forced lengths are not counted
    assert a.unwrapped.curriculum.results == []
    b.reset(seed=0)
    assert b.unwrapped._core.length[0] == 1
    # vector env: each sub-env has its own curriculum
    venv = gym.make_vec(
        "glimpse_envs/Reverse-v0", num_envs=2, vectorization_mode="vector_entry_point", **kw
    )
    curricula = venv.unwrapped.curricula
    curricula[0].current = 3
    curricula.record(np.array([1]), np.array([True]))
    assert (curricula[0].current, curricula[1].current) == (3, 1)
    assert (curricula[0].results, curricula[1].results) == ([], [True])


def _reference_curriculum(lo, hi, window, threshold, results):
    """The curriculum rule written plainly: a deque of the last ``window`` results."""
    from collections import deque

    current, recent, trace = lo, deque(maxlen=window), []
    for r in results:
        recent.append(r)
        if len(recent) == window and current < hi and sum(recent) >= threshold * window:
            current += 1
            recent.clear()
        trace.append((current, list(recent)))
    return trace


@pytest.mark.parametrize("window,threshold", [(1, 1.0), (4, 0.75), (7, 0.5)])
def test_batched_curricula_follow_the_rule(window, threshold):
    """Curricula.record (batched, ring buffers), for many rows at once and one row at a time
    (``Curriculum.record``, the single env's case), against the plain rule."""
    from glimpse_envs.tape_env import Curricula

    rng = np.random.default_rng(window)
    n, steps = 5, 200
    results = rng.random((steps, n)) < np.linspace(0.3, 0.95, n)
    finished = rng.random((steps, n)) < 0.7  # not every env ends an episode at every step
    batched, scalar = Curricula(n, 2, 9, window, threshold), Curricula(n, 2, 9, window, threshold)
    for t in range(steps):
        rows = np.flatnonzero(finished[t])
        batched.record(rows, results[t, rows])
        for i in rows.tolist():
            scalar[i].record(bool(results[t, i]))
    for i in range(n):
        want = _reference_curriculum(2, 9, window, threshold, results[finished[:, i], i])[-1]
        assert batched[i].state() == want and scalar[i].state() == want
    assert max(c.current for c in batched) > 2  # the rule was exercised
    # state round trip, including a full window
    fresh = Curricula(n, 2, 9, window, threshold)
    for i in range(n):
        fresh[i].load_state(batched[i].state())
    fresh.record(np.arange(n), np.ones(n, bool))
    batched.record(np.arange(n), np.ones(n, bool))
    assert [c.state() for c in fresh] == [c.state() for c in batched]
    with pytest.raises(ValueError, match="outside"):
        fresh[0].load_state((10, []))


def test_length_grows_under_curriculum_and_forced_lengths():
    env = gym.make("glimpse_envs/Copy-v0", min_length=2, max_length=3, window=1, threshold=1.0)
    run_single(env, "Copy-v0", seed=0)
    assert env.unwrapped.curriculum.current == 3
    env.reset(seed=0, options={"length": 120})
    assert env.unwrapped._core.length[0] == 120


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_access": "random"}, "input_access"),
        ({"input_access": "tape", "env": "DynamicNGrams-v0"}, "input_access"),
        ({"memory_size": 0}, "memory_size"),
        ({"min_length": 5, "max_length": 3}, "min_length"),
        ({"max_length": 200}, "memory_size>=200"),
        ({"threshold": 1.5}, "threshold"),
        ({"window": 0}, "window"),
        ({"bits": 0}, "bits"),
    ],
)
def test_bad_configuration_errors(kwargs, match):
    kwargs = dict(kwargs)
    env_id = "glimpse_envs/" + kwargs.pop("env", "Copy-v0")
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **kwargs)


def test_unknown_argument_error():
    with pytest.raises(TypeError, match="unknown argument"):
        gym.make("glimpse_envs/Copy-v0", base=3)


def test_bad_actions_and_lengths():
    env = gym.make("glimpse_envs/Copy-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="memory move = 3 is outside"):
        env.step(np.array([0, 3, 0, 0]))
    with pytest.raises(ValueError, match="input move = 1 is outside.*stream advances by itself"):
        env.step(np.array([1, 0, 0, 0]))
    with pytest.raises(ValueError, match="output = -1"):
        env.step(np.array([0, 0, 0, -1]))
    with pytest.raises(ValueError, match="expected 4 integers"):
        env.step(np.array([0.0, 0, 0, 0]))
    with pytest.raises(ValueError, match="memory_size>=129"):
        env.reset(options={"length": 129})
    fr = gym.make("glimpse_envs/ForwardReverse-v0")
    fr.reset(seed=0)
    with pytest.raises(ValueError, match="input move = 2 is outside.*forward-only"):
        fr.step(np.array([2, 0, 0, 0]))  # a left move of a forward-only head
    big = gym.make("glimpse_envs/Copy-v0", memory_size=300)
    big.reset(seed=0, options={"length": 250})


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_renders(env_id):
    env = gym.make(env_id, render_mode="rgb_array", **_short(env_id))
    env.reset(seed=0)
    for a in _random_actions(env.action_space, np.random.default_rng(1), 5, p_emit=0.0):
        env.step(a)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    text = gym.make(env_id, render_mode="ansi", **_short(env_id))
    text.reset(seed=0)
    text.step(np.zeros(4, np.int64))
    s = text.render()
    assert "input :" in s and "memory:" in s and "output:" in s


def _screen_pixels(window) -> np.ndarray:
    """What the (headless) human window shows, as (H, W, 3)."""
    import pygame

    return pygame.surfarray.array3d(window._screen).transpose(1, 0, 2)


def test_human_render_headless():
    """The window shows exactly the env's rgb_array frame of the current state."""
    pytest.importorskip("pygame")
    env = gym.make("glimpse_envs/Reverse-v0", render_mode="human", max_length=3)
    env.reset(seed=0)
    env.step(np.zeros(4, np.int64))
    from glimpse_envs import tape_render

    frame = tape_render.rgb_array(env.unwrapped._core, 0, "Reverse-v0")
    np.testing.assert_array_equal(_screen_pixels(env.unwrapped._window), frame)
    env.close()
    assert env.unwrapped._window is None


def test_no_time_limit_is_registered_so_bigger_configs_are_never_cut():
    for env_id in TAPE_IDS:
        spec = gym.spec(env_id)
        assert spec.max_episode_steps is None and spec.vector_entry_point
    env = gym.make("glimpse_envs/Copy-v0", memory_size=300)
    env.reset(seed=0, options={"length": 250})
    limit = env.unwrapped.task.time_limit(251, 250)
    for t in range(1, limit + 1):  # noqa: B007  (t is checked after the loop)
        _, r, term, trunc, _ = env.step(np.zeros(4, np.int64))
        assert not trunc
        if term:
            break
    assert t == limit and r == -1.0  # the env's own time limit, not a registered TimeLimit


def test_make_without_import():
    """``module:id`` imports the package and registers every id in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import gymnasium as gym; env = gym.make('glimpse_envs:glimpse_envs/Reverse-v0'); "
        "obs, _ = env.reset(seed=0); print(env.unwrapped.config.env_name, sorted(obs), "
        "sum(i.startswith('glimpse_envs/') for i in gym.registry))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "Reverse-v0" and out.stdout.split()[-1] == "15"
