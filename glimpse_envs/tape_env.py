"""``TapeEnv`` (single) and ``TapeVectorEnv`` (native batched): heads over tapes whose moves are the action.

Both run the same batched numpy core, :class:`TapeCore`; a single env is a batch of one, so the vector
env equals N single envs seeded ``seed + i`` by construction. The task subclasses and their
documentation pages live in :mod:`glimpse_envs.tape`; the contract is in ``DESIGN.md``.

Every episode is a pure function of uniforms that the env takes from its own generator, in the
order ``rng.random()`` gives them (:class:`glimpse_envs.streams.UniformStreams` buffers them): first
the curriculum's length, then the episode (``task.generate``; ``task.sample(rng, 1, length)`` draws the
same). So resets of many sub-envs are batched too, with no generator call per env. The
internal time limit ends an episode as *terminated* with reward -1 (it is part of the task, as in
Gym's algorithmic envs); truncation only comes from a ``max_episode_steps`` the user asks for
(``TimeLimit`` on a single env, the vector env's argument); none is registered.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from glimpse_envs.streams import UniformStreams
from glimpse_envs.tape_tasks import TapeTask, fixed_seed
from glimpse_envs.vector import check_reset_options, option, per_env_seeds

MOVE = np.array([0, 1, -1], np.int64)
"""Head displacement per move action: 0 stay, 1 right, 2 left."""
_MOVE = (0, 1, -1)
_INT64_0, _INT64_1 = np.int64(0), np.int64(1)

ACTION_PARTS = ("input move", "memory move", "write", "output")
INPUT_MOVES = {"tape": 3, "forward": 2, "stream": 1}


class Curricula:
    """The length curricula of ``n`` envs, one per env (never shared), as arrays.

    Env i's episode lengths are uniform over ``[min_length, current[i]]`` (no uniform is drawn
    while the range is a single length); ``current[i]`` starts at ``min_length`` and grows by one (up
    to ``max_length``) each time the success rate over env i's last ``window`` curriculum episodes
    reaches ``threshold`` (the window then starts afresh). Episodes whose length was forced with
    ``reset(options={"length": n})`` are not counted. ``curricula[i]`` is a :class:`Curriculum` view
    of env i.
    """

    def __init__(self, n: int, min_length: int, max_length: int, window: int, threshold: float):
        self.n = int(n)
        self.min_length, self.max_length = min_length, max_length
        self.window, self.threshold = window, threshold
        self.current = np.full(self.n, min_length, np.int64)
        self._results = np.zeros((self.n, window), bool)  # a ring of the last results per env
        self._seen = np.zeros(self.n, np.int64)  # results recorded since the window (re)started
        self._wins = np.zeros(self.n, np.int64)  # successes among the last min(seen, window)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Curriculum:
        if not -self.n <= i < self.n:
            raise IndexError(f"curriculum {i} of {self.n}")
        return Curriculum(self, i % self.n)

    def __iter__(self):
        return (Curriculum(self, i) for i in range(self.n))

    def draw_counts(self, rows: np.ndarray) -> np.ndarray:
        """Uniforms each of ``rows`` needs for its length: 1, or 0 while its range is one length."""
        return (self.current[rows] > self.min_length).astype(np.int64)

    def lengths(self, rows: np.ndarray, u: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Lengths of ``rows`` from the uniforms ``u`` taken for them, ``counts`` (:meth:`draw_counts`,
        or 0 where a row draws nothing) per row, concatenated."""
        out = np.full(rows.shape[0], self.min_length, np.int64)
        drawn = counts > 0
        out[drawn] += (u * (self.current[rows[drawn]] - self.min_length + 1)).astype(np.int64)
        return out

    def record(self, rows: np.ndarray, success: np.ndarray) -> None:
        """Count one finished curriculum episode of each of ``rows`` (distinct) with ``success``."""
        w = self.window
        seen = self._seen[rows]
        slot = seen % w
        ring = self._results
        self._wins[rows] += success.astype(np.int64) - (ring[rows, slot] & (seen >= w))
        ring[rows, slot] = success
        seen += 1
        self._seen[rows] = seen
        grow = rows[
            (seen >= w)
            & (self.current[rows] < self.max_length)
            & (self._wins[rows] >= self.threshold * w)
        ]
        if grow.shape[0]:
            self.current[grow] += 1
            self._seen[grow] = self._wins[grow] = 0

    def record_one(self, i: int, success: bool) -> None:
        """:meth:`record` of one env in scalar arithmetic (the single env's path; the same state)."""
        w, seen = self.window, int(self._seen[i])
        slot = seen % w
        wins = int(self._wins[i]) + success - (seen >= w and bool(self._results[i, slot]))
        self._results[i, slot] = success
        seen += 1
        if seen >= w and self.current[i] < self.max_length and wins >= self.threshold * w:
            self.current[i] += 1
            seen = wins = 0
        self._seen[i], self._wins[i] = seen, wins

    def state(self, i: int) -> tuple[int, list[bool]]:
        seen, w = int(self._seen[i]), self.window
        recent = np.roll(self._results[i], -seen % w) if seen >= w else self._results[i, :seen]
        return int(self.current[i]), recent.tolist()

    def load_state(self, i: int, state: tuple[int, list[bool]]) -> None:
        current, results = state
        if not self.min_length <= int(current) <= self.max_length:
            raise ValueError(
                f"curriculum length {current} is outside [{self.min_length}, {self.max_length}]"
            )
        results = [bool(r) for r in results][-self.window :]
        self.current[i] = int(current)
        self._results[i] = False
        self._results[i, : len(results)] = results
        self._seen[i] = len(results)
        self._wins[i] = sum(results)


class Curriculum:
    """Env i's curriculum (a view of :class:`Curricula`): ``current`` (read and write; setting it
    starts a fresh window), ``min_length``, ``max_length``, ``window``, ``threshold``, and
    :meth:`state` / :meth:`load_state` for checkpoints."""

    __slots__ = ("_all", "_i")

    def __init__(self, curricula: Curricula, i: int):
        self._all, self._i = curricula, i

    min_length = property(lambda self: self._all.min_length)
    max_length = property(lambda self: self._all.max_length)
    window = property(lambda self: self._all.window)
    threshold = property(lambda self: self._all.threshold)

    @property
    def current(self) -> int:
        return int(self._all.current[self._i])

    @current.setter
    def current(self, value: int) -> None:
        self.load_state((value, []))

    @property
    def results(self) -> list[bool]:
        """The results in the current window, oldest first."""
        return self.state()[1]

    def state(self) -> tuple[int, list[bool]]:
        """``(current, recent results)``: what a checkpoint needs to continue the curriculum."""
        return self._all.state(self._i)

    def load_state(self, state: tuple[int, list[bool]]) -> None:
        """Restore what :meth:`state` returned."""
        self._all.load_state(self._i, state)

    def record(self, success: bool) -> None:
        """Count one finished curriculum episode."""
        self._all.record(np.array([self._i]), np.array([bool(success)]))

    def __repr__(self) -> str:
        c = self._all
        return (
            f"Curriculum(current={self.current}, lengths {c.min_length}..{c.max_length}, "
            f"window={c.window}, threshold={c.threshold})"
        )


@dataclass(frozen=True)
class TapeConfig:
    """Every parameter of a tape env, validated on creation, shared by a single env and its vector
    twin (``env.unwrapped.config``); build one with :meth:`make`.

    The fields from ``input_access`` to ``threshold`` are the arguments every tape env takes (each
    also a ``train.py`` flag: ``--memory-size 64``); ``task_kwargs`` are the task generator's own
    (``bits``, ...). ``min_length`` / ``max_length`` hold the lengths in force (None given: the
    task's defaults), ``input_access`` the access in force; ``task``, the spaces and ``nvec`` are
    derived.
    """

    env_name: str
    task_class: type[TapeTask]
    input_access: str | None = option(
        None, "input head: 'tape' (revisitable), 'forward' or 'stream' (None: the task's)", type=str
    )
    memory_size: int = option(128, "cells on the (circular) memory tape")
    min_length: int | None = option(
        None, "shortest training length of the curriculum (None: the task's)", type=int
    )
    max_length: int | None = option(
        None, "longest training length of the curriculum (None: the task's)", type=int
    )
    window: int = option(100, "curriculum: episodes over which the success rate is measured")
    threshold: float = option(0.9, "curriculum: success rate in (0, 1] that lengthens episodes")
    task_kwargs: dict = field(default_factory=dict)
    task: TapeTask = field(init=False, repr=False, compare=False)
    observation_space: spaces.Dict = field(init=False, repr=False, compare=False)
    nvec: np.ndarray = field(init=False, repr=False, compare=False)
    action_space: spaces.MultiDiscrete = field(init=False, repr=False, compare=False)

    @classmethod
    def make(cls, env_name: str, task_class: type[TapeTask], **kwargs: Any) -> TapeConfig:
        """The config of ``task_class``'s env from its keyword arguments: a tape env's own fields,
        the rest the task's (an unknown name is a ``TypeError`` listing both)."""
        own = {f.name for f in fields(cls) if f.init} - {"env_name", "task_class", "task_kwargs"}
        return cls(
            env_name,
            task_class,
            **{k: v for k, v in kwargs.items() if k in own},
            task_kwargs={k: v for k, v in kwargs.items() if k not in own},
        )

    def __post_init__(self):
        env_name, task_class, task_kwargs = self.env_name, self.task_class, self.task_kwargs
        set_ = object.__setattr__  # frozen: the derived fields are set once, here
        allowed = list(inspect.signature(task_class.__init__).parameters)[1:]
        unknown = sorted(set(task_kwargs) - set(allowed))
        if unknown:
            raise TypeError(
                f"{env_name}: unknown argument(s) {unknown}; the task takes {allowed} and every tape env "
                "takes input_access, memory_size, min_length, max_length, window, threshold, render_mode"
            )
        set_(self, "task", task_class(**task_kwargs))
        task, input_access, memory_size = self.task, self.input_access, self.memory_size
        access = task.default_access if input_access is None else input_access
        if access not in task.accesses:
            raise ValueError(
                f"{env_name}: input_access={input_access!r} is not one of {list(task.accesses)}"
            )
        set_(self, "input_access", access)
        if (
            not isinstance(memory_size, (int, np.integer))
            or isinstance(memory_size, bool)
            or memory_size < 1
        ):
            raise ValueError(f"{env_name}: memory_size must be an int >= 1, got {memory_size!r}")
        set_(self, "memory_size", int(memory_size))
        lo, hi = task.default_lengths
        min_length = lo if self.min_length is None else self.min_length
        max_length = max(hi, min_length) if self.max_length is None else self.max_length
        task.check_length(min_length, self.memory_size, access)
        task.check_length(max_length, self.memory_size, access)
        if min_length > max_length:
            raise ValueError(f"{env_name}: min_length={min_length} > max_length={max_length}")
        set_(self, "min_length", int(min_length))
        set_(self, "max_length", int(max_length))
        window, threshold = self.window, self.threshold
        if not isinstance(window, (int, np.integer)) or window < 1:
            raise ValueError(f"{env_name}: window must be an int >= 1 (episodes), got {window!r}")
        if not 0 < threshold <= 1:
            raise ValueError(
                f"{env_name}: threshold must be a success rate in (0, 1], got {threshold!r}"
            )
        set_(self, "window", int(window))
        set_(self, "threshold", float(threshold))
        set_(
            self,
            "observation_space",
            spaces.Dict(
                {
                    "input": spaces.Discrete(task.input_size),
                    "memory": spaces.Discrete(task.input_size),
                    "input_done": spaces.Discrete(2),
                }
            ),
        )
        set_(
            self,
            "nvec",
            np.array([INPUT_MOVES[access], 3, task.input_size + 1, task.output_size + 1], np.int64),
        )
        set_(self, "action_space", spaces.MultiDiscrete(self.nvec))

    @property
    def access(self) -> str:
        """The input access in force (``input_access`` once resolved)."""
        return self.input_access

    def curricula(self, n: int) -> Curricula:
        return Curricula(n, self.min_length, self.max_length, self.window, self.threshold)

    def check_length(self, length) -> int:
        try:
            return self.task.check_length(length, self.memory_size, self.access)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{self.env_name}: reset(options={{'length': {length!r}}}): {e}"
            ) from None

    def action_error(self, action) -> ValueError:
        a = np.asarray(action)
        moves = {
            "tape": "0 stay, 1 right, 2 left",
            "forward": "0 stay, 1 right (forward-only input)",
            "stream": "0 only (the stream advances by itself)",
        }[self.access]
        detail = ""
        if a.shape[-1:] == (4,) and np.issubdtype(a.dtype, np.integer):
            bad = np.argwhere((a < 0) | (a >= self.nvec))
            if len(bad):
                j = bad[0][-1]
                detail = f": {ACTION_PARTS[j]} = {a[tuple(bad[0])]} is outside [0, {self.nvec[j]})"
        else:
            detail = f": expected 4 integers, got shape {a.shape} dtype {a.dtype}"
        return ValueError(
            f"{self.env_name}: invalid action {action!r}{detail}. The action space is "
            f"MultiDiscrete({self.nvec.tolist()}) = (input move [{moves}], memory move [0 stay, 1 right, "
            f"2 left], write [0 none, j + 1 writes input symbol j], output [0 none, s + 1 emits s])"
        )


class TapeCore:
    """The batched state and dynamics of ``num_envs`` tape episodes (numpy arrays, no Python loop)."""

    def __init__(self, config: TapeConfig, num_envs: int, record: bool = False):
        self.config, self.task, self.n = config, config.task, num_envs
        self.m = config.memory_size
        self.aligned = config.task.aligned
        self.delimited = config.task.delimited
        self.access = config.access
        self.record = record
        n = num_envs
        z = lambda: np.zeros(n, np.int64)
        self.in_pos, self.mem_pos, self.correct, self.t = z(), z(), z(), z()
        self.in_len, self.tgt_len, self.limit, self.length = z(), z(), z(), z()
        # output is scored only once the input head has reached cell ``gate`` (the delimiter of a
        # delimited task, else 0); ``ready`` remembers that it has
        self.gate = z()
        self.ready = np.zeros(n, bool)
        self.success = np.zeros(n, bool)
        self.wrong = np.zeros(n, bool)
        self.timeout = np.zeros(n, bool)
        self.forced = np.zeros(n, bool)
        self.mem = np.zeros((n, self.m), np.int64)
        self._memf = self.mem.reshape(-1)
        self._mb = np.arange(n, dtype=np.int64) * self.m
        self._alloc(
            config.task.input_length(config.max_length) + 1,
            config.task.target_length(config.max_length) + 1,
        )
        # per step: (in_pos, mem_pos after the moves, emitted, ok, cell written or -1)
        self.history: list[list] = [[] for _ in range(n)]
        self.episodes: list = [None] * n  # (inputs, targets) per env, for rendering

    def _alloc(self, in_w: int, tg_w: int) -> None:
        n = self.n
        old_in = getattr(self, "inputs", None)
        old_tg = getattr(self, "targets", None)
        self.inputs = np.zeros((n, in_w), np.int64)
        self.targets = np.full((n, tg_w), -1, np.int64)
        if old_in is not None:
            self.inputs[:, : old_in.shape[1]] = old_in
            self.targets[:, : old_tg.shape[1]] = old_tg
        self._inf, self._tgf = self.inputs.reshape(-1), self.targets.reshape(-1)
        self._ib = np.arange(n, dtype=np.int64) * in_w
        self._tb = np.arange(n, dtype=np.int64) * tg_w

    def __getstate__(self):
        state = dict(self.__dict__)
        for k in (
            "_memf",
            "_inf",
            "_tgf",
        ):  # flat views: pickle would detach them from their arrays
            del state[k]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._memf = self.mem.reshape(-1)
        self._inf, self._tgf = self.inputs.reshape(-1), self.targets.reshape(-1)

    def load(self, idx, episodes, lengths, forced) -> None:
        """Start new episodes in envs ``idx``: ``episodes[j]`` is ``(inputs, targets)``, one unpadded
        row each (``task.sample_one``), ``lengths[j]`` its length, ``forced[j]`` whether it was forced.
        Per env only the row copies; everything else is one batched assignment (for a few envs,
        scalar assignments, which are cheaper and give the same state)."""
        if len(episodes) <= 4 and all(
            e[0].shape[0] < self.inputs.shape[1] and e[1].shape[0] < self.targets.shape[1]
            for e in episodes
        ):
            for i, (x, y), length, f in zip(idx, episodes, lengths, forced):
                a, b = x.shape[0], y.shape[0]
                self.inputs[i, :a] = x
                self.inputs[i, a:] = 0
                self.targets[i, :b] = y
                self.targets[i, b:] = -1
                self.mem[i] = 0
                self.in_pos[i] = self.mem_pos[i] = self.correct[i] = self.t[i] = 0
                self.in_len[i], self.tgt_len[i], self.length[i] = a, b, length
                self.limit[i] = self.task.time_limit(a, b)
                self.gate[i] = a - 1 if self.delimited else 0
                self.success[i] = self.wrong[i] = self.timeout[i] = self.ready[i] = False
                self.forced[i] = f
                if self.record:
                    self.history[i] = []
                    self.episodes[i] = (x.copy(), y.copy())
            return
        li = np.array([e[0].shape[0] for e in episodes], np.int64)
        lt = np.array([e[1].shape[0] for e in episodes], np.int64)
        self.load_flat(
            idx,
            np.concatenate([e[0] for e in episodes]),
            li,
            np.concatenate([e[1] for e in episodes]),
            lt,
            lengths,
            forced,
        )

    def load_flat(self, idx, inputs, li, targets, lt, lengths, forced) -> None:
        """:meth:`load` of concatenated episodes: env ``idx[j]`` gets the j-th ``li[j]`` inputs and
        ``lt[j]`` targets (``task.build_many``); every assignment batched over the envs."""
        if li.max() + 1 > self.inputs.shape[1] or lt.max() + 1 > self.targets.shape[1]:
            self._alloc(
                max(int(li.max()) + 1, self.inputs.shape[1]),
                max(int(lt.max()) + 1, self.targets.shape[1]),
            )
        idx = np.asarray(idx, np.int64)
        self.inputs[idx] = 0
        self.targets[idx] = -1
        # every row copy at once: the rows concatenated, scattered to row start + position in row
        for flat, base, cat, lens in (
            (self._inf, self._ib, inputs, li),
            (self._tgf, self._tb, targets, lt),
        ):
            starts = base[idx] - (np.cumsum(lens) - lens)
            flat[np.repeat(starts, lens) + np.arange(cat.shape[0])] = cat
        self.mem[idx] = 0
        for arr in (self.in_pos, self.mem_pos, self.correct, self.t):
            arr[idx] = 0
        self.in_len[idx], self.tgt_len[idx], self.length[idx] = li, lt, lengths
        self.limit[idx] = self.task.time_limit(li, lt)
        self.gate[idx] = li - 1 if self.delimited else 0
        for arr in (self.success, self.wrong, self.timeout, self.ready):
            arr[idx] = False
        self.forced[idx] = forced
        if self.record:
            xs = np.split(inputs, np.cumsum(li)[:-1])
            ys = np.split(targets, np.cumsum(lt)[:-1])
            for i, x, y in zip(idx.tolist(), xs, ys):
                self.history[i] = []
                self.episodes[i] = (x.copy(), y.copy())

    def step(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of every env with validated actions ``a`` (n, 4); returns (reward, terminated)."""
        mem_idx = self._mb + self.mem_pos
        w = a[:, 2]
        self._memf[mem_idx] = np.where(w > 0, w - 1, self._memf[mem_idx])
        o = a[:, 3]
        slot = self.t if self.aligned else self.correct
        hit = (o - 1) == self._tgf[self._tb + slot]
        if self.delimited:
            self.ready |= self.in_pos >= self.gate
            hit &= self.ready
        self.correct += hit
        self.mem_pos = (self.mem_pos + MOVE[a[:, 1]]) % self.m
        if self.access == "stream":
            self.in_pos = np.minimum(self.in_pos + 1, self.in_len)
        elif self.access == "forward":
            self.in_pos = np.minimum(self.in_pos + a[:, 0], self.in_len)
        else:
            self.in_pos = np.minimum(np.maximum(self.in_pos + MOVE[a[:, 0]], 0), self.in_len)
        self.t += 1
        if self.aligned:
            terminated = self.t >= self.tgt_len
            self.success = terminated & (self.correct == self.tgt_len)
            reward = hit.astype(np.float64)
        else:
            self.wrong = (o > 0) ^ hit
            self.success = self.correct >= self.tgt_len
            ended = self.success | self.wrong
            self.timeout = (self.t >= self.limit) > ended
            terminated = ended | self.timeout
            reward = np.where(self.timeout, -1.0, hit - 0.5 * self.wrong)
        if self.record:
            wrote = np.where(w > 0, mem_idx - self._mb, -1)
            for i in range(self.n):
                self.history[i].append(
                    (
                        int(self.in_pos[i]),
                        int(self.mem_pos[i]),
                        int(o[i]) - 1,
                        bool(hit[i]),
                        int(wrote[i]),
                    )
                )
        return reward, terminated

    def step_one(self, a0: int, a1: int, a2: int, a3: int) -> tuple[float, bool, bool]:
        """:meth:`step` of a batch of one in scalar arithmetic (the same values and state):
        (reward, terminated, hit). For the single env, whose arrays are not handed out."""
        mp = int(self.mem_pos[0])
        wrote = mp if a2 > 0 else -1
        if a2 > 0:
            self.mem[0, mp] = a2 - 1
        slot = int(self.t[0]) if self.aligned else int(self.correct[0])
        ip, in_len = int(self.in_pos[0]), int(self.in_len[0])
        hit = (a3 - 1) == int(self.targets[0, slot])
        if self.delimited:
            ready = bool(self.ready[0]) or ip >= int(self.gate[0])
            self.ready[0] = ready
            hit = hit and ready
        correct = int(self.correct[0]) + hit
        self.correct[0] = correct
        mp = (mp + _MOVE[a1]) % self.m
        self.mem_pos[0] = mp
        if self.access == "stream":
            ip = min(ip + 1, in_len)
        elif self.access == "forward":
            ip = min(ip + a0, in_len)
        else:
            ip = min(max(ip + _MOVE[a0], 0), in_len)
        self.in_pos[0] = ip
        t = int(self.t[0]) + 1
        self.t[0] = t
        tgt_len = int(self.tgt_len[0])
        if self.aligned:
            terminated = t >= tgt_len
            self.success[0] = terminated and correct == tgt_len
            reward = 1.0 if hit else 0.0
        else:
            wrong = (a3 > 0) != hit
            self.wrong[0] = wrong
            success = correct >= tgt_len
            self.success[0] = success
            ended = success or wrong
            timeout = t >= int(self.limit[0]) and not ended
            self.timeout[0] = timeout
            terminated = ended or timeout
            reward = -1.0 if timeout else float(hit) - 0.5 * float(wrong)
        if self.record:
            self.history[0].append((ip, mp, a3 - 1, hit, wrote))
        return reward, terminated, hit

    def observe_one(self) -> dict:
        """:meth:`observe` of env 0 as the single env's observation dict."""
        ip = int(self.in_pos[0])
        return {
            "input": self.inputs[0, ip],
            "memory": self.mem[0, int(self.mem_pos[0])],
            "input_done": _INT64_1 if ip >= int(self.in_len[0]) else _INT64_0,
        }

    def observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(symbol under the input head, symbol under the memory head, input exhausted)."""
        return (
            self._inf[self._ib + self.in_pos],
            self._memf[self._mb + self.mem_pos],
            (self.in_pos >= self.in_len).astype(np.int64),
        )


RESET_OPTIONS = ("length", "split", "index")
"""The keys of a tape env's ``reset(options=...)`` (a vector env also takes ``reset_mask``)."""


def _check_options(options, name: str, num_envs: int | None = None) -> dict:
    options = check_reset_options(options, RESET_OPTIONS, name, num_envs)
    if options.get("index") is not None and options.get("split") is None:
        raise ValueError(
            f"{name}: reset(options={{'index': ...}}) names a fixed episode of a split: "
            "add 'split' ('train', 'validation' or 'test')"
        )
    return options


def _fixed_options(config, curriculum, options: dict, env: int) -> tuple[int, int]:
    """(length, index) of a fixed-episode reset for sub-env ``env`` (0 for a single env)."""
    length = options.get("length")
    length = config.check_length(curriculum.max_length if length is None else length)
    index = options.get("index")
    if index is None:
        raise ValueError(
            f"{config.env_name}: reset(options={{'split': ...}}) also needs 'index' (an int, or one "
            "int per env) naming the fixed episode"
        )
    index = int(index) + env if np.ndim(index) == 0 else int(index[env])
    if index < 0:
        raise ValueError(f"{config.env_name}: fixed episode index must be >= 0, got {index}")
    return length, index


class TapeEnv(gym.Env):
    """Base of the tape envs; a task subclass sets ``task_class`` and ``env_name`` (see ``tape.py``)."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 8}
    task_class: type[TapeTask] = TapeTask
    env_name = "Tape-v0"

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"{self.env_name}: render_mode={render_mode!r} is not one of {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.config = TapeConfig.make(self.env_name, self.task_class, **kwargs)
        self.task = self.config.task
        self.observation_space = self.config.observation_space
        self.action_space = self.config.action_space
        self._curricula = self.config.curricula(1)
        self.curriculum = self._curricula[0]
        self._streams = UniformStreams(1)
        self._take = self._streams.taker(np.zeros(1, np.int64))
        self._core = TapeCore(self.config, 1, record=render_mode is not None)
        self._nvec_u = self.config.nvec.astype(np.uint64)
        self._nvec_list = self.config.nvec.tolist()
        self._done = True
        self._window = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode. ``options``: ``{"length": n}`` forces a length; ``{"split": s,
        "index": i}`` (with an optional length, else the curriculum's ``max_length``) plays
        episode i of the fixed evaluation set, ``task.fixed(s, length, [i])``."""
        options = _check_options(options, self.env_name)
        super().reset(seed=seed)
        if self._streams.rngs[0] is not self.np_random:  # seeded (or np_random replaced)
            self._streams.set_rng(0, self.np_random)
        length, forced = options.get("length"), options.get("length") is not None
        if options.get("split") is not None:
            length, index = _fixed_options(self.config, self.curriculum, options, 0)
            rng = np.random.default_rng(fixed_seed(options["split"], length, index))
            episode, forced = self.task.sample_one(rng, length), True
        else:
            if forced:
                length = self.config.check_length(length)
            else:
                length = lo = self._curricula.min_length
                current = int(self._curricula.current[0])
                if current > lo:  # uniform on lo .. current
                    length = lo + int(self._take(1)[0] * (current - lo + 1))
            episode = self.task.generate_one(self._take, length)
        self._core.load([0], [episode], [length], [forced])
        self._done = False
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action):
        if self._done:
            raise RuntimeError(
                f"{self.env_name}: step() after the episode ended (or before reset()): call reset()"
            )
        core = self._core
        fast = type(action) is np.ndarray and action.shape == (4,) and action.dtype.kind in "iu"
        if fast:  # a valid action in scalar arithmetic (the common case)
            a0, a1, a2, a3 = action.tolist()
            n0, n1, n2, n3 = self._nvec_list
            fast = 0 <= a0 < n0 and 0 <= a1 < n1 and 0 <= a2 < n2 and 0 <= a3 < n3
        if fast:
            reward, terminated, _ = core.step_one(a0, a1, a2, a3)
        else:
            a = np.asarray(action)
            if (
                a.shape != (4,)
                or a.dtype.kind not in "iu"
                or (a.astype(np.uint64) >= self._nvec_u).any()
            ):
                raise self.config.action_error(action)
            r, t = core.step(a.reshape(1, 4).astype(np.int64, copy=False))
            reward, terminated = float(r[0]), bool(t[0])
        if terminated:
            self._done = True
            if not core.forced[0]:
                self._curricula.record_one(0, bool(core.success[0]))
        if self.render_mode == "human":
            self.render()
        return core.observe_one(), reward, terminated, False, self._info(terminated)

    def _obs(self) -> dict:
        return self._core.observe_one()

    def action_masks(self) -> np.ndarray:
        """Every action of the space is legal (sb3-contrib's ``MaskablePPO`` format: the
        components' masks concatenated). The moves a head cannot make (left for a forward-only
        head, any move of a stream) are outside the action space, not masked; output before a
        delimiter is legal but wrong, as the task says."""
        return np.ones(int(self.config.nvec.sum()), bool)

    def _info(self, ended: bool = False) -> dict:
        """``length``, ``correct``, ``is_success``; ``target_length`` only once the episode has
        ended (it can reveal what the agent must infer, e.g. RepeatCopy's repeat count)."""
        c = self._core
        info = {
            "length": int(c.length[0]),
            "correct": int(c.correct[0]),
            "is_success": bool(c.success[0]),
        }
        if ended:
            info["target_length"] = int(c.tgt_len[0])
        return info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn(
                f"{self.env_name}: render() without a render_mode: pass render_mode to gym.make"
            )
            return None
        from glimpse_envs import tape_render

        if self.render_mode == "ansi":
            return tape_render.ansi(self._core, 0)
        frame = tape_render.rgb_array(self._core, 0, self.env_name)
        if self.render_mode == "human":
            if self._window is None:
                from glimpse_envs.human import HumanWindow

                self._window = HumanWindow(self.env_name, self.metadata["render_fps"])
            self._window.show(frame)
            return None
        return frame

    def close(self):
        if self._window is not None:
            self._window.close()
            self._window = None


class TapeVectorEnv(VectorEnv):
    """Native batched twin of a :class:`TapeEnv`; a subclass sets ``env_class``.

    Args:
        num_envs: number of sub-envs; sub-env i is reset with ``seed + i``.
        max_episode_steps: truncate an episode after this many steps (``gym.make_vec`` passes the
            registered value), as the ``TimeLimit`` of ``gym.make`` does for a single env.
        render_mode: ``"ansi"`` or ``"rgb_array"``: ``render()`` returns one frame per sub-env.
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"``, as Gymnasium's.
        **env_kwargs: the single env's arguments (task arguments, input_access, memory_size, ...).
    """

    env_class: type[TapeEnv] = TapeEnv

    def __init__(
        self,
        num_envs: int,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **env_kwargs: Any,
    ):
        name = self.env_class.env_name
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"{name}: num_envs must be an int >= 1, got {num_envs!r}")
        if render_mode not in (None, "ansi", "rgb_array"):
            raise ValueError(
                f"{name}: the vector env renders 'ansi' or 'rgb_array', got {render_mode!r}"
            )
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"{name}: autoreset_mode={autoreset_mode!r} is not one of {[m.value for m in AutoresetMode]}"
            ) from None
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, (int, np.integer)) or max_episode_steps < 1
        ):
            raise ValueError(
                f"{name}: max_episode_steps must be None or an int >= 1, got {max_episode_steps!r}"
            )
        self.num_envs = int(num_envs)
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.config = TapeConfig.make(name, self.env_class.task_class, **env_kwargs)
        self.task = self.config.task
        self.metadata = {
            "render_modes": ["ansi", "rgb_array"],
            "render_fps": self.env_class.metadata["render_fps"],
            "autoreset_mode": self.autoreset_mode,
        }
        self.single_observation_space = self.config.observation_space
        self.single_action_space = self.config.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.curricula = self.config.curricula(self.num_envs)
        self._streams = UniformStreams(self.num_envs)
        self._core = TapeCore(self.config, self.num_envs, record=render_mode is not None)
        self._nvec_u = self.config.nvec.astype(np.uint64)
        self._autoreset = np.zeros(self.num_envs, bool)
        self._needs_reset = np.ones(self.num_envs, bool)
        self._ones = np.ones(self.num_envs, bool)

    def _load(self, idx, lengths=None) -> None:
        """New episodes in sub-envs ``idx``, every one at once: each draws its uniforms from its own
        stream (its length from its curriculum unless ``lengths[j]`` forces one), then the task
        builds all the episodes batched (``task.generate``) and the core loads them."""
        idx = np.asarray(idx, np.int64)
        take = self._streams.taker(idx)
        curricula = self.curricula
        if lengths is None:
            forced = np.zeros(idx.shape[0], bool)
            counts = curricula.draw_counts(idx)
            if counts.any():
                lens = curricula.lengths(idx, take(counts), counts)
            else:  # every range is one length: nothing to draw
                lens = np.full(idx.shape[0], curricula.min_length, np.int64)
        else:
            forced = np.array([n is not None for n in lengths], bool)
            given = np.array([self.config.check_length(n) if n is not None else 0 for n in lengths])
            counts = np.where(forced, 0, curricula.draw_counts(idx))
            lens = np.where(forced, given, curricula.lengths(idx, take(counts), counts))
        inputs, li, targets, lt = self.task.generate(take, lens)
        self._core.load_flat(idx, inputs, li, targets, lt, lens, forced)
        self._needs_reset[idx] = False

    def reset(self, *, seed: int | list | None = None, options: dict | None = None):
        options = _check_options(options, self.config.env_name, self.num_envs)
        if seed is None or isinstance(seed, (int, np.integer)):
            super().reset(seed=seed)
        mask = options.pop("reset_mask", None)
        idx = np.arange(self.num_envs) if mask is None else np.flatnonzero(np.asarray(mask, bool))
        seeds = per_env_seeds(seed, self.num_envs, self.config.env_name)
        lengths = options.get("length")
        if lengths is None or np.ndim(lengths) == 0:
            lengths = [lengths] * self.num_envs
        elif len(lengths) != self.num_envs:
            raise ValueError(
                f"{self.config.env_name}: options['length'] needs one int or {self.num_envs} ints"
            )
        for i in idx:
            if seeds[i] is not None:
                self._streams.set_rng(int(i), seeding.np_random(seeds[i])[0])
        if len(idx) and options.get("split") is not None:
            # fixed evaluation episodes: env j plays index[j] (an int i means i + j)
            episodes, lens = [], []
            for i in idx:
                opts = {**options, "length": lengths[i]}
                length, index = _fixed_options(self.config, self.curricula[i], opts, int(i))
                rng = np.random.default_rng(fixed_seed(options["split"], length, index))
                episodes.append(self.task.sample_one(rng, length))
                lens.append(length)
            self._core.load(idx, episodes, lens, [True] * len(idx))
            self._needs_reset[idx] = False
        elif len(idx):
            self._load(idx, [None if lengths[i] is None else int(lengths[i]) for i in idx])
        self._autoreset[idx] = False
        return self._obs(), self._info()

    def step(self, actions):
        a = np.asarray(actions)
        if (
            a.shape != (self.num_envs, 4)
            or a.dtype.kind not in "iu"
            or (a.astype(np.uint64) >= self._nvec_u).any()
        ):
            raise self.config.action_error(actions)
        if self._needs_reset.any():
            raise RuntimeError(
                f"{self.config.env_name}: step() on sub-envs {np.flatnonzero(self._needs_reset).tolist()} that "
                "need a reset (call reset(), or reset(options={'reset_mask': ...}) with autoreset_mode Disabled)"
            )
        core = self._core
        reward, terminated = core.step(a.astype(np.int64, copy=False))
        truncated = (
            (core.t >= self.max_episode_steps)
            if self.max_episode_steps
            else np.zeros(self.num_envs, bool)
        )
        mode = self.autoreset_mode
        if mode == AutoresetMode.NEXT_STEP and self._autoreset.any():
            self._load(np.flatnonzero(self._autoreset))
            keep = ~self._autoreset
            reward *= keep
            terminated &= keep
            truncated &= keep
        counted = np.flatnonzero(terminated & ~core.forced)
        if len(counted):
            self.curricula.record(counted, core.success[counted])
        ended = terminated | truncated
        infos = self._info(ended)
        if mode == AutoresetMode.NEXT_STEP:
            self._autoreset = ended
        elif mode == AutoresetMode.SAME_STEP and ended.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            obs = self._obs()
            done = np.flatnonzero(ended)
            for i in done:
                final_obs[i] = {k: v[i] for k, v in obs.items()}
            final_info = {}
            for k, v in infos.items():
                if not k.startswith("_"):
                    final_info[k] = np.where(ended, v, np.zeros_like(v))
                    final_info["_" + k] = ended.copy()
            self._load(done)
            infos = self._info()
            infos["final_obs"], infos["_final_obs"] = final_obs, ended.copy()
            infos["final_info"], infos["_final_info"] = final_info, ended.copy()
        elif mode == AutoresetMode.DISABLED:
            self._needs_reset |= ended
        return self._obs(), reward, terminated, truncated, infos

    def teacher_symbols(self) -> np.ndarray:
        """The output symbol each sub-env's task expects next (-1 where none is due): a teacher
        signal for agents that learn their outputs by supervision (the tape agent's hybrid mode, as
        RAM learns its classifier from the label), never part of the observation."""
        core = self._core
        slot = core.t if core.aligned else core.correct
        width = core.targets.shape[1]
        expected = core.targets[np.arange(core.n), np.minimum(slot, width - 1)]
        return np.where(slot < width, expected, -1)

    def episode_record(self, i: int) -> tuple[np.ndarray, np.ndarray, list]:
        """``(inputs, targets, history)`` of sub-env ``i``'s current episode; ``history`` has one
        ``(input position, memory position after the moves, emitted symbol or -1, correct, cell
        written or -1)`` per step. Recorded only when the env has a ``render_mode``."""
        if not self._core.record:
            raise RuntimeError(
                f"{self.config.env_name}: episode_record() needs a render_mode "
                "('ansi' or 'rgb_array'): the history is only kept then"
            )
        inputs, targets = self._core.episodes[i]
        return inputs, targets, list(self._core.history[i])

    @property
    def memory_size(self) -> int:
        """Cells of each memory tape."""
        return self._core.m

    def action_masks(self) -> np.ndarray:
        """(num_envs, sum(nvec)): see :meth:`TapeEnv.action_masks`."""
        return np.ones((self.num_envs, int(self.config.nvec.sum())), bool)

    def _obs(self) -> dict:
        inp, mem, done = self._core.observe()
        return {"input": inp, "memory": mem, "input_done": done}

    def _info(self, ended: np.ndarray | None = None) -> dict:
        """As the single env's: ``target_length`` (masked by ``_target_length``) only for the
        sub-envs whose episode ended at this step."""
        c = self._core
        info = {
            "length": c.length.copy(),
            "correct": c.correct.copy(),
            "is_success": c.success.copy(),
        }
        for k in list(info):
            info["_" + k] = self._ones.copy()
        if ended is not None and ended.any():
            info["target_length"] = np.where(ended, c.tgt_len, 0)
            info["_target_length"] = ended.copy()
        return info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn(f"{self.config.env_name}: render() without a render_mode")
            return None
        from glimpse_envs import tape_render

        if self.render_mode == "ansi":
            return tuple(tape_render.ansi(self._core, i) for i in range(self.num_envs))
        return tuple(
            tape_render.rgb_array(self._core, i, self.config.env_name) for i in range(self.num_envs)
        )
