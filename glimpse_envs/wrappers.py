"""Wrappers for the glimpse environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from glimpse_envs.tape_tasks import emit_read


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
        T = int(env.unwrapped.config.glimpses)
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


SMALL_ALPHABET = 16
"""Tape alphabets up to this size keep every write and output symbol under ``DiscreteActions``."""


class DiscreteActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """One ``Discrete`` action instead of the ``MultiDiscrete`` one, for DQN and other agents that
    take a single discrete choice. The table of actions is :attr:`table` (row a: the wrapped env's
    action for discrete action a).

    * **Visual ids** (``MultiDiscrete([G, G, C + 1])``): ``G * G + C`` actions. Action
      ``y * G + x`` keeps looking at grid cell (x, y); action ``G * G + c`` answers class c (where
      the next glimpse would have gone does not matter then). MNIST-v0: 64 + 10 = 74 actions.
    * **Tape ids** (``MultiDiscrete([I, 3, W, O])``): the product of the input move (I), the memory
      move (3), a write choice and an output choice. When the alphabet is small
      (<= ``SMALL_ALPHABET`` symbols) those are the env's own (every symbol); for a large one
      (Copy's 256 symbols) they are taken from what the heads read, as the NTM's writes and
      outputs are functions of its inputs: write ∈ {none, the symbol under the input head, erase},
      output ∈ {none, the data symbol under the memory head, the one under the input head} plus
      each of the task's output markers (RepeatCopy's end marker). Copy-v0: 1 x 3 x 3 x 3 = 27
      actions; Reverse-v0 (2 symbols): 3 x 3 x 4 x 3 = 108.

    Only single envs are wrapped (use Gymnasium's ``SyncVectorEnv`` for several).
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        space = env.action_space
        if not isinstance(space, spaces.MultiDiscrete):
            raise TypeError(
                f"DiscreteActions needs a MultiDiscrete action space, got {space} "
                "(a visual env made with continuous=True has none)"
            )
        base = env.unwrapped
        self.tape = hasattr(base, "task")
        nvec = space.nvec
        if not self.tape:
            G, D = int(nvec[0]), int(nvec[2])
            cells = np.stack(np.meshgrid(np.arange(G), np.arange(G), indexing="xy"), -1).reshape(
                -1, 2
            )
            looks = np.concatenate([cells, np.zeros((G * G, 1), np.int64)], 1)
            answers = np.concatenate([np.zeros((D - 1, 2), np.int64), np.arange(1, D)[:, None]], 1)
            self.table = np.concatenate([looks, answers]).astype(np.int64)
        else:
            task = base.task
            moves_in, n_write, n_out = int(nvec[0]), int(nvec[2]), int(nvec[3])
            v = task.num_symbols
            # write / output options: an int is the env's own value; "in"/"mem" are read symbols
            writes = list(range(n_write)) if n_write - 1 <= SMALL_ALPHABET else [0, "in", 1]
            outputs = (
                list(range(n_out))
                if n_out - 1 <= SMALL_ALPHABET
                else [0, "mem", "in", *range(v + 1, n_out)]
            )
            self._options = (writes, outputs)
            grid = (
                np.array(
                    np.meshgrid(
                        np.arange(moves_in),
                        np.arange(3),
                        np.arange(len(writes)),
                        np.arange(len(outputs)),
                        indexing="ij",
                    )
                )
                .reshape(4, -1)
                .T
            )
            self.table = grid.astype(
                np.int64
            )  # columns: input, memory, write option, output option
            self._v = v
        self.action_space = spaces.Discrete(len(self.table))
        self._obs = None

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._obs = obs
        return obs, reward, terminated, truncated, info

    def action(self, action) -> np.ndarray:
        a = np.asarray(action)
        if (
            a.shape not in ((), (1,))
            or a.dtype.kind not in "iu"
            or not 0 <= int(a) < len(self.table)
        ):
            raise ValueError(f"invalid action {action!r}: an int in [0, {len(self.table)})")
        row = self.table[int(a)]
        if not self.tape:
            return row.copy()
        writes, outputs = self._options
        w, o = writes[row[2]], outputs[row[3]]
        inp, mem = int(self._obs["input"]), int(self._obs["memory"])
        if w == "in":
            w = inp + 1  # write j + 1 stores input symbol j
        if o == "in" or o == "mem":
            o = int(emit_read(inp if o == "in" else mem, self._v))
        return np.array([row[0], row[1], w, o], np.int64)
