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
        # the wins of the last min(seen, window) results: the new one in, the one it replaces out
        wins = self._wins[rows] + success - (ring[rows, slot] & (seen >= w))
        ring[rows, slot] = success
        seen += 1
        grow = (seen >= w) & (wins >= self.threshold * w)
        if grow.any():
            grow &= self.current[rows] < self.max_length
            self.current[rows[grow]] += 1
            seen[grow] = wins[grow] = 0  # a fresh window
        self._seen[rows] = seen
        self._wins[rows] = wins

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

    @classmethod
    def for_task(cls, task: str, **kwargs: Any) -> TapeConfig:
        """:meth:`make` for the registered task ``task`` (``glimpse_envs.tape.TASKS``)."""
        env_name, task_class, _ = _task_entry(task)
        return cls.make(env_name, task_class, **kwargs)

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
    """The batched state and dynamics of ``num_envs`` tape episodes (numpy arrays, no Python loop).

    The per-env numbers live in two arrays, one row per field (:data:`INT_FIELDS`,
    :data:`FLAG_FIELDS`), each field a contiguous view (``core.in_pos``, ``core.success``, ...)
    that the dynamics update in place, so that starting episodes is two assignments."""

    #: int64 fields; ``gate``: output is scored only once the input head has reached this cell
    #: (the delimiter of a delimited task, else 0)
    INT_FIELDS = (
        "in_pos",
        "mem_pos",
        "correct",
        "t",
        "in_len",
        "tgt_len",
        "limit",
        "length",
        "gate",
    )
    #: bool fields; ``ready``: the input head has reached ``gate``
    FLAG_FIELDS = ("ready", "success", "wrong", "timeout", "forced")

    def __init__(self, config: TapeConfig, num_envs: int, record: bool = False):
        self.config, self.task, self.n = config, config.task, num_envs
        self.m = config.memory_size
        self.aligned = config.task.aligned
        self.delimited = config.task.delimited
        self.access = config.access
        self.record = record
        n = num_envs
        self._ints = np.zeros((len(self.INT_FIELDS), n), np.int64)
        self._flags = np.zeros((len(self.FLAG_FIELDS), n), bool)
        self.mem = np.zeros((n, self.m), np.int64)
        self._mb = np.arange(n, dtype=np.int64) * self.m
        self._views()
        self._alloc(
            config.task.input_length(config.max_length) + 1,
            config.task.target_length(config.max_length) + 1,
        )
        # per step: (in_pos, mem_pos after the moves, emitted, ok, cell written or -1)
        self.history: list[list] = [[] for _ in range(n)]
        self.episodes: list = [None] * n  # (inputs, targets) per env, for rendering

    def _views(self) -> None:
        """The field views and the flat memory view (rebuilt after unpickling)."""
        for k, name in enumerate(self.INT_FIELDS):
            setattr(self, name, self._ints[k])
        for k, name in enumerate(self.FLAG_FIELDS):
            setattr(self, name, self._flags[k])
        self._memf = self.mem.reshape(-1)

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
        self._in_cols, self._tg_cols = np.arange(in_w), np.arange(tg_w)

    def __getstate__(self):
        # views: pickle would detach them from their arrays
        views = {"_memf", "_inf", "_tgf", *self.INT_FIELDS, *self.FLAG_FIELDS}
        return {k: v for k, v in self.__dict__.items() if k not in views}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._views()
        self._inf, self._tgf = self.inputs.reshape(-1), self.targets.reshape(-1)

    def load(self, idx, inputs, li, targets, lt, lengths, forced) -> None:
        """Start new episodes in envs ``idx`` from concatenated episodes (``task.generate``): env
        ``idx[j]`` gets the j-th ``li[j]`` inputs and ``lt[j]`` targets, ``lengths[j]`` its length,
        ``forced[j]`` whether it was forced; every assignment batched over the envs."""
        if li.max() + 1 > self.inputs.shape[1] or lt.max() + 1 > self.targets.shape[1]:
            self._alloc(
                max(int(li.max()) + 1, self.inputs.shape[1]),
                max(int(lt.max()) + 1, self.targets.shape[1]),
            )
        idx = np.asarray(idx, np.int64)
        # the rows, padded (inputs with 0, targets with -1), each written at once
        rows = np.zeros((idx.shape[0], self.inputs.shape[1]), np.int64)
        rows[self._in_cols < li[:, None]] = inputs
        self.inputs[idx] = rows
        rows = np.full((idx.shape[0], self.targets.shape[1]), -1, np.int64)
        rows[self._tg_cols < lt[:, None]] = targets
        self.targets[idx] = rows
        self.mem[idx] = 0
        # in_pos, mem_pos, correct, t = 0; in_len, tgt_len, limit, length, gate
        fresh = np.zeros((len(self.INT_FIELDS), idx.shape[0]), np.int64)
        fresh[4:8] = (li, lt, self.task.time_limit(li, lt), lengths)
        if self.delimited:
            fresh[8] = li - 1
        self._ints[:, idx] = fresh
        self._flags[:, idx] = False
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
        np.remainder(self.mem_pos + MOVE[a[:, 1]], self.m, out=self.mem_pos)
        if self.access == "stream":
            np.minimum(self.in_pos + 1, self.in_len, out=self.in_pos)
        elif self.access == "forward":
            np.minimum(self.in_pos + a[:, 0], self.in_len, out=self.in_pos)
        else:
            np.minimum(np.maximum(self.in_pos + MOVE[a[:, 0]], 0), self.in_len, out=self.in_pos)
        self.t += 1
        if self.aligned:
            terminated = self.t >= self.tgt_len
            np.logical_and(terminated, self.correct == self.tgt_len, out=self.success)
            reward = hit.astype(np.float64)
        else:
            np.not_equal(o > 0, hit, out=self.wrong)
            np.greater_equal(self.correct, self.tgt_len, out=self.success)
            ended = self.success | self.wrong
            np.greater(self.t >= self.limit, ended, out=self.timeout)
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


def _task_entry(task: str) -> tuple[str, type[TapeTask], str]:
    """(env_name, task generator class, page) of the registered tape task ``task``."""
    from glimpse_envs.tape import TASKS

    if task not in TASKS:
        raise ValueError(f"task={task!r} unknown: use one of {sorted(TASKS)}")
    entry = TASKS[task]
    return entry.env_name, entry.task_class, entry.page


class _TapeEpisodes:
    """What the single and the vector tape env share, so that the single env is literally the
    batch of one: the core, the curricula and streams of its rows, starting episodes in some rows,
    checking and applying actions. Sets ``_curricula``, ``_streams``, ``_core`` (``config`` and
    ``task`` come first)."""

    def _setup(self, num_envs: int, record: bool) -> None:
        self._curricula = self.config.curricula(num_envs)
        self._streams = UniformStreams(num_envs)  # each row: its env's generator, buffered
        self._core = TapeCore(self.config, num_envs, record=record)
        self._nvec_u = self.config.nvec.astype(np.uint64)

    def _start(self, idx: np.ndarray, options: dict, lengths: list | None = None) -> None:
        """New episodes in rows ``idx``, every one at once. With ``options["split"]``, the fixed
        episodes that ``options`` name (each drawn from its own ``fixed_seed`` generator); else each
        row takes its uniforms from its own stream, its length from its curriculum unless
        ``lengths[j]`` forces one. The task builds all the episodes batched (``task.generate``)."""
        n = idx.shape[0]
        if options.get("split") is not None:
            take = UniformStreams(n)
            lens = np.zeros(n, np.int64)
            for j, i in enumerate(idx.tolist()):
                opts = {**options, "length": None if lengths is None else lengths[j]}
                lens[j], index = _fixed_options(self.config, self._curricula[i], opts, i)
                rng = np.random.default_rng(fixed_seed(options["split"], int(lens[j]), index))
                take.set_rng(j, rng)
            take, forced = take.taker(np.arange(n)), np.ones(n, bool)
        else:
            take, curricula = self._streams.taker(idx), self._curricula
            counts = curricula.draw_counts(idx)
            if lengths is None:
                forced = np.zeros(n, bool)
            else:
                forced = np.array([length is not None for length in lengths], bool)
                counts[forced] = 0
            if counts.any():
                lens = curricula.lengths(idx, take(counts), counts)
            else:  # every range is one length (or forced): nothing to draw
                lens = np.full(n, curricula.min_length, np.int64)
            if forced.any():
                given = [self.config.check_length(lengths[j]) for j in np.flatnonzero(forced)]
                lens[forced] = given
        inputs, li, targets, lt = self.task.generate(take, lens)
        self._core.load(idx, inputs, li, targets, lt, lens, forced)

    def _checked(self, actions, shape: tuple) -> np.ndarray:
        """``actions`` as int64 (rows, 4), or the ValueError naming it: exactly ``shape`` (``(4,)``
        single, ``(num_envs, 4)`` vector), integers inside the action space."""
        a = np.asarray(actions)
        if (
            a.shape != shape
            or a.dtype.kind not in "iu"
            or (a.astype(np.uint64) >= self._nvec_u).any()
        ):
            raise self.config.action_error(actions)
        return a.reshape(-1, 4).astype(np.int64, copy=False)

    def _count(self, terminated: np.ndarray) -> None:
        """Record the curriculum episodes (not forced) that ended in ``terminated``."""
        if terminated.any():
            counted = np.flatnonzero(terminated & ~self._core.forced)
            self._curricula.record(counted, self._core.success[counted])


class TapeEnv(_TapeEpisodes, gym.Env):
    """A memory task: heads over tapes whose moves are the action (the RL-NTM's setting).

    Every tape id is this class with ``kwargs={"task": NAME}``: the entry
    ``glimpse_envs.tape.TASKS[NAME]`` names the task generator (:mod:`glimpse_envs.tape_tasks`),
    and ``env.unwrapped.__doc__`` is the id's page (its description, time limit and reward
    threshold, then this text). A subclass may set ``task_class`` and ``env_name`` instead.

    ## Action Space

    ``MultiDiscrete([I, 3, input_size + 1, output_size + 1])``:

    | index | meaning | values |
    |-------|---------|--------|
    | 0 | input head move | ``input_access="tape"``: I = 3 (0 stay, 1 right, 2 left); ``"forward"``: I = 2 (0 stay, 1 right); ``"stream"``: I = 1 (0; the stream advances by itself) |
    | 1 | memory head move | 0 stay, 1 right, 2 left (the memory is circular) |
    | 2 | write at the memory head | 0 none, j + 1 writes input symbol j (so 1 erases) |
    | 3 | output | 0 none, s + 1 emits output symbol s |

    A forbidden move (a left move of a forward-only head, any move of a stream) is outside ``nvec``,
    so it is an out-of-range action: ``step`` raises a ``ValueError`` naming the component.
    Step order: write at the memory head, emit, move the memory head, move the input head.

    ## Observation Space

    | key | space | meaning |
    |-----|-------|---------|
    | ``"input"`` | Discrete(input_size) | symbol under the input head (stream: the current symbol; 0 once exhausted) |
    | ``"memory"`` | Discrete(input_size) | symbol under the memory head, in input code (0 blank) |
    | ``"input_done"`` | Discrete(2) | 1 when the input head is past the last input symbol |

    The input head moves over ``[0, input_length]``; cell ``input_length`` is the blank after the input
    and moves past either end are stays. A stream head advances one cell per step.

    ## Rewards

    +1 per correct output symbol (in order); a wrong symbol: -0.5 and the episode ends; the time limit:
    -1 and the episode ends. Emitting nothing costs nothing.

    **When output counts.** On the NTM's tasks (Copy, RepeatCopy, AssociativeRecall, PrioritySort:
    the task's ``delimited`` is True) the output phase starts after the input, as in the paper: a
    symbol emitted before the input head has reached the delimiter (the last input symbol) is a
    wrong output, whatever it is. Under ``"stream"`` access the delimiter is read at step
    ``input_length - 1``, the first step at which output may count; with a revisitable
    ``"tape"`` the head may walk back once it has read the delimiter. So echoing the input
    (``action = [0, 0, 0, obs["input"]]``) fails at every length: the sequence must be stored.
    On Gym's tasks (Reverse, DuplicatedInput, ForwardReverse, ReversedAddition) reading and writing
    overlap by design and output counts at any step; DynamicNGrams scores one prediction per step.

    ## Starting State

    The heads at cell 0, the memory blank, a fresh episode from the task generator with the
    curriculum's length (or ``options={"length": n}``).

    ## Episode End

    Terminated when the whole target has been emitted (``is_success``), at a wrong symbol, or at the
    time limit: ``task.time_limit(input_length, target_length)`` steps (see Time Limit). Every
    episode ends by itself, at any length and memory size, so no ``TimeLimit`` is registered;
    ``gym.make(..., max_episode_steps=n)`` truncates earlier if wanted.

    ## Info

    ``length`` (the episode's size parameter: the input shows it before any output may count, and it
    holds no symbol of the target), ``correct`` (symbols emitted correctly so far, as the rewards
    already tell) and ``is_success``, at every step; ``target_length`` only in the info of the step
    that ends the episode (vector env: under the mask ``_target_length``), since it would give away
    what the agent must infer (RepeatCopy's repeat count before its marker arrives).

    ## Arguments

    * ``input_access``: ``"tape"``, ``"forward"`` or ``"stream"`` (default: the task's, below).
    * ``memory_size``: memory cells (default 128, the NTM's); lengths whose solution needs more
      cells than this under the chosen access are refused with a ``ValueError``.
    * ``min_length``, ``max_length``, ``window`` (100), ``threshold`` (0.9): the per-instance
      curriculum: lengths uniform over ``[min_length, current]``, ``current`` starting at
      ``min_length`` and growing by one when the success rate of the last ``window`` episodes reaches
      ``threshold``. ``reset(options={"length": n})`` forces a length (not counted by the curriculum).
    * ``render_mode``: ``"ansi"`` (tapes with the heads marked, output with right/wrong marked),
      ``"rgb_array"`` (tapes as images and the heads' positions over time), ``"human"``.

    ## Vectorized environment

    ``gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`` gives the native batched
    twin (``TapeVectorEnv``; ``NextStep``, ``SameStep`` and ``Disabled`` autoreset), equal to N single
    envs seeded ``seed + i``. ``reset(options={"length": [n_0, ..., n_N-1]})`` forces one length per env.

    ## Version History

    * v0: initial version. Before the first release the delimited tasks scored output emitted
      before the delimiter and ``target_length`` was reported at reset; tape figures measured then
      are void (see CHANGELOG).
    """

    metadata: ClassVar[dict] = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 8}
    task_class: type[TapeTask] = TapeTask
    env_name = "Tape-v0"

    def __init__(self, render_mode: str | None = None, task: str | None = None, **kwargs: Any):
        if task is not None:
            self.env_name, self.task_class, self.__doc__ = _task_entry(task)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"{self.env_name}: render_mode={render_mode!r} is not one of {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.config = TapeConfig.make(self.env_name, self.task_class, **kwargs)
        self.task = self.config.task
        self.observation_space = self.config.observation_space
        self.action_space = self.config.action_space
        self._setup(1, record=render_mode is not None)
        self.curriculum = self._curricula[0]
        self._rows = np.zeros(1, np.int64)
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
        length = options.get("length")
        self._start(self._rows, options, None if length is None else [length])
        self._done = False
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action):
        if self._done:
            raise RuntimeError(
                f"{self.env_name}: step() after the episode ended (or before reset()): call reset()"
            )
        reward, terminated = self._core.step(self._checked(action, (4,)))
        self._count(terminated)
        done = self._done = bool(terminated[0])
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward[0]), done, False, self._info(done)

    def _obs(self) -> dict:
        inp, mem, done = self._core.observe()
        return {"input": inp[0], "memory": mem[0], "input_done": done[0]}

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


class TapeVectorEnv(_TapeEpisodes, VectorEnv):
    """The native batched :class:`TapeEnv`: ``num_envs`` episodes of one task as one batch.

    Args:
        num_envs: number of sub-envs; sub-env i is reset with ``seed + i``.
        max_episode_steps: truncate an episode after this many steps (``gym.make_vec`` passes the
            registered value), as the ``TimeLimit`` of ``gym.make`` does for a single env.
        render_mode: ``"ansi"`` or ``"rgb_array"``: ``render()`` returns one frame per sub-env.
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"``, as Gymnasium's.
        task: the registered task's name (``glimpse_envs.tape.TASKS``), as for the single env.
        **env_kwargs: the single env's arguments (task arguments, input_access, memory_size, ...).
    """

    #: a subclass may name a :class:`TapeEnv` subclass (its ``env_name`` and ``task_class``)
    env_class: type[TapeEnv] = TapeEnv

    def __init__(
        self,
        num_envs: int,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        task: str | None = None,
        **env_kwargs: Any,
    ):
        name, task_class = self.env_class.env_name, self.env_class.task_class
        if task is not None:
            name, task_class, self.__doc__ = _task_entry(task)
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
        self.config = TapeConfig.make(name, task_class, **env_kwargs)
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
        self._setup(self.num_envs, record=render_mode is not None)
        self._autoreset = np.zeros(self.num_envs, bool)
        self._needs_reset = np.ones(self.num_envs, bool)
        self._ones = np.ones(self.num_envs, bool)
        self._all = np.arange(self.num_envs)

    @property
    def curricula(self) -> Curricula:
        """The sub-envs' length curricula (``curricula[i]``: sub-env i's :class:`Curriculum`)."""
        return self._curricula

    def _load(self, idx, options: dict | None = None, lengths: list | None = None) -> None:
        self._start(idx, options or {}, lengths)
        self._needs_reset[idx] = False

    def reset(self, *, seed: int | list | None = None, options: dict | None = None):
        options = _check_options(options, self.config.env_name, self.num_envs)
        if seed is None or isinstance(seed, (int, np.integer)):
            super().reset(seed=seed)
        mask = options.pop("reset_mask", None)
        idx = self._all if mask is None else np.flatnonzero(np.asarray(mask, bool))
        seeds = per_env_seeds(seed, self.num_envs, self.config.env_name)
        lengths = options.get("length")
        if lengths is not None and np.ndim(lengths) != 0 and len(lengths) != self.num_envs:
            raise ValueError(
                f"{self.config.env_name}: options['length'] needs one int or {self.num_envs} ints"
            )
        for i in idx:
            if seeds[i] is not None:
                self._streams.set_rng(int(i), seeding.np_random(seeds[i])[0])
        if len(idx):
            if lengths is not None:
                lengths = [lengths if np.ndim(lengths) == 0 else lengths[i] for i in idx]
            self._load(idx, options, lengths)
        self._autoreset[idx] = False
        return self._obs(), self._info()

    def step(self, actions):
        a = self._checked(actions, (self.num_envs, 4))  # a bad action is named first
        if self._needs_reset.any():
            raise RuntimeError(
                f"{self.config.env_name}: step() on sub-envs {np.flatnonzero(self._needs_reset).tolist()} that "
                "need a reset (call reset(), or reset(options={'reset_mask': ...}) with autoreset_mode Disabled)"
            )
        core = self._core
        reward, terminated = core.step(a)
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
        self._count(terminated)
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
