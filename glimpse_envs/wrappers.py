"""Wrappers for the glimpse environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class GlimpseStack(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Every glimpse and location of the episode so far, zero-padded to the budget.

    A memoryless policy (plain PPO with an MLP) cannot remember earlier glimpses; this wrapper
    gives it the whole history in a fixed-size observation. Row ``j`` of ``glimpses`` and
    ``locations`` is the ``j``-th glimpse of the episode (row 0 the one taken by ``reset``); rows
    not taken yet are zero, and ``step`` says how many are filled (``step + 1``).

    | key | space | meaning |
    |---|---|---|
    | `glimpses` | `Box(0, 1, (T, k, g, g), float32)` | glimpse j in row j, zeros after the last |
    | `locations` | `Box(-1, 1, (T, 2), float32)` | (x, y) of glimpse j, zeros after the last |
    | `step` | `Discrete(T + 1)` | the wrapped env's `step` (glimpses taken minus one) |
    | `emitted` | `Discrete(n + 1)` | MultiMNIST only: digits answered so far |

    Args:
        env: a glimpse env (any registered visual id, single env), possibly wrapped.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        inner = env.observation_space
        if not isinstance(inner, spaces.Dict) or "glimpse" not in inner.spaces:
            raise ValueError(
                f"GlimpseStack needs a glimpse env with a Dict 'glimpse' observation, got {inner}"
            )
        T = inner["step"].n - 1
        self.budget = T
        shape = inner["glimpse"].shape
        obs = {
            "glimpses": spaces.Box(0.0, 1.0, (T, *shape), np.float32),
            "locations": spaces.Box(-1.0, 1.0, (T, 2), np.float32),
            "step": inner["step"],
        }
        if "emitted" in inner.spaces:
            obs["emitted"] = inner["emitted"]
        self.observation_space = spaces.Dict(obs)
        self._glimpses = np.zeros((T, *shape), np.float32)
        self._locations = np.zeros((T, 2), np.float32)

    def _stack(self, obs: dict[str, Any]) -> dict[str, Any]:
        j = int(obs["step"])
        self._glimpses[j] = obs["glimpse"]
        self._locations[j] = obs["location"]
        out = {
            "glimpses": self._glimpses.copy(),
            "locations": self._locations.copy(),
            "step": obs["step"],
        }
        if "emitted" in obs:
            out["emitted"] = obs["emitted"]
        return out

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._glimpses[:] = 0.0
        self._locations[:] = 0.0
        return self._stack(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._stack(obs), reward, terminated, truncated, info
