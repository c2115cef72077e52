"""Every id plays the episodes it played before the single envs became batches of one.

``tests/data/trajectories.json`` holds a digest of each id's trajectory (observations, rewards,
terminations, infos) under a seeded random policy, single env and native vector env, recorded
with the code of revision c6213a5 (the last with the scalar fast paths) by running this file's
``digests()`` there:

    PYTHONPATH=<checkout of c6213a5> python tests/test_trajectories.py > tests/data/trajectories.json

A change that alters any episode, reward or observation bit fails here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs

GOLDEN = Path(__file__).parent / "data" / "trajectories.json"
STEPS = 300


def _update(h, value) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            if not k.startswith("_") or k in ("_label", "_is_success"):
                h.update(k.encode())
                _update(h, value[k])
    elif isinstance(value, (list, tuple)) or (
        isinstance(value, np.ndarray) and value.dtype == object
    ):
        for v in value:
            _update(h, v)
    elif value is None:
        h.update(b"None")
    else:
        a = np.asarray(value)
        h.update(str(a.dtype.kind).encode() + str(a.shape).encode())
        h.update(
            np.ascontiguousarray(
                a.astype(np.float64 if a.dtype.kind in "fb" else np.int64)
            ).tobytes()
        )


def _policy(space, rng: np.random.Generator, visual: bool):
    # MultiDiscrete (single env) or its batch, an integer Box (vector env)
    high = space.nvec - 1 if hasattr(space, "nvec") else space.high
    a = rng.integers(0, high + 1).astype(np.int64)
    if visual:  # keep looking 3 times in 4, so episodes run several glimpses
        d = a[..., 2]
        d[rng.random(d.shape) < 0.75] = 0
    else:  # emit 1 time in 4
        o = a[..., 3]
        o[rng.random(o.shape) < 0.75] = 0
    return a


def digest(env_id: str, mode: str) -> str:
    visual = "MNIST" in env_id
    h = hashlib.sha256()
    rng = np.random.default_rng(0)
    if mode == "single":
        env = gym.make(env_id)
        _update(h, env.reset(seed=1))
        for _ in range(STEPS):
            obs, r, term, trunc, info = env.step(_policy(env.action_space, rng, visual))
            _update(h, (obs, r, term, trunc, info))
            if term or trunc:
                _update(h, env.reset())
    else:
        env = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")
        _update(h, env.reset(seed=1))
        for _ in range(STEPS // 4):
            _update(h, env.step(_policy(env.action_space, rng, visual)))
    env.close()
    return h.hexdigest()[:16]


def digests() -> dict[str, str]:
    return {
        f"{env_id} {mode}": digest(env_id, mode)
        for env_id in glimpse_envs.registered_ids()
        for mode in ("single", "vector")
    }


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("env_id", glimpse_envs.registered_ids())
@pytest.mark.parametrize("mode", ["single", "vector"])
def test_trajectories_are_the_recorded_ones(env_id, mode, golden):
    assert digest(env_id, mode) == golden[f"{env_id} {mode}"]


if __name__ == "__main__":
    json.dump(digests(), sys.stdout, indent=1, sort_keys=True)
    print()
