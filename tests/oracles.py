"""Scripted oracle policies for the tape envs, written from the task definitions (not from targets).

An oracle sees only the observations; it may keep small counters (a length, a position, a carry,
the query item, n-gram counts). Under ``"stream"`` and ``"forward"`` access the copy-like oracles
store the input on the memory tape and read it back from there; under ``"tape"`` access they use the
input tape itself as the store.

    policy = make_oracle("Copy-v0", env.unwrapped.task, "stream")
    action = policy.start(obs)          # first action
    action = policy.act(obs)            # every later one

``run_single`` and ``run_vector`` play whole episodes (the vector one many lengths at once).
"""

from __future__ import annotations

import abc

import numpy as np

STAY, RIGHT, LEFT = 0, 1, 2
_DELTA = {STAY: 0, RIGHT: 1, LEFT: -1}


class Oracle(abc.ABC):
    """Base: ``run()`` is a generator of actions; ``do`` is one step, the storage head helpers move it."""

    def __init__(self, task, access: str):
        self.task, self.access = task, access
        self.use_mem = access != "tape"
        self.adv = 0 if access == "stream" else RIGHT  # input move while streaming the input in
        self.v = task.num_symbols
        self.pos = 0  # storage head position (memory head, or input head under tape access)
        self.obs = None
        self._gen = None

    # -- driver ----------------------------------------------------------------------------------
    def start(self, obs) -> np.ndarray:
        self.obs = obs
        self._gen = self.run()
        return next(self._gen)

    def act(self, obs) -> np.ndarray:
        try:
            return self._gen.send(obs)
        except StopIteration:
            return np.zeros(4, np.int64)

    # -- primitives ------------------------------------------------------------------------------
    def do(self, inp=STAY, mem=STAY, write=0, out=0):
        self.obs = yield np.array([inp, mem, write, out], np.int64)

    def read(self) -> int:
        return int(self.obs["memory"] if self.use_mem else self.obs["input"])

    def inp(self) -> int:
        return int(self.obs["input"])

    def move(self, d, out=0, write=0):
        self.pos += _DELTA[d]
        if self.use_mem:
            yield from self.do(mem=d, out=out, write=write)
        else:
            yield from self.do(inp=d, out=out)

    def store(self):
        """Store the current input symbol and advance (memory: write and move right; tape: move right)."""
        self.pos += 1
        if self.use_mem:
            yield from self.do(inp=self.adv, mem=RIGHT, write=self.inp() + 1)
        else:
            yield from self.do(inp=RIGHT)

    def goto(self, cell: int):
        while self.pos != cell:
            yield from self.move(RIGHT if cell > self.pos else LEFT)

    @abc.abstractmethod
    def run(self):
        """The task's scripted solution: a generator of actions."""


class CopyOracle(Oracle):
    """Store until the delimiter, go back, read out."""

    def run(self):
        n = 0
        while self.inp() != self.v + 1:
            yield from self.store()
            n += 1
        yield from self.goto(0)
        for _ in range(n):
            yield from self.move(RIGHT, out=self.read())


class RepeatCopyOracle(Oracle):
    """Store until the count marker, then n times: go back, read out; then the end marker."""

    def run(self):
        n = 0
        while self.inp() <= self.v:
            yield from self.store()
            n += 1
        repeats = self.inp() - self.v
        for _ in range(repeats):
            yield from self.goto(0)
            for _ in range(n):
                yield from self.move(RIGHT, out=self.read())
        yield from self.do(out=self.v + 1)


class ReverseOracle(Oracle):
    """Store until the input is exhausted, then read out leftwards."""

    def run(self):
        n = 0
        while not self.obs["input_done"]:
            yield from self.store()
            n += 1
        yield from self.move(LEFT)
        for _ in range(n):
            yield from self.move(LEFT, out=self.read())


class DuplicatedInputOracle(Oracle):
    """Emit the first symbol of every group of ``duplication`` (no memory)."""

    def run(self):
        k = 0
        while True:
            out = self.inp() if k % self.task.duplication == 0 else 0
            yield from self.do(inp=self.adv if self.use_mem else RIGHT, out=out)
            k += 1


class AssociativeRecallOracle(Oracle):
    """Store the items, remember the query, scan the store for it, read out the next item."""

    def run(self):
        k, item_delim, query_delim = self.task.item_length, self.v + 1, self.v + 2
        n_cells = 0
        while self.inp() != query_delim:
            yield from self.store()
            n_cells += 1
        query = []
        # read the query (k symbols) and the closing delimiter; memory mode walks back meanwhile
        for j in range(k + 1):
            if self.use_mem:
                d = LEFT if self.pos > 0 else STAY
                self.pos += _DELTA[d]
                yield from self.do(inp=self.adv, mem=d)
            else:
                yield from self.move(RIGHT)
            if j < k:
                query.append(self.inp())
        yield from self.goto(0)
        while True:
            assert self.read() == item_delim
            yield from self.move(RIGHT)
            item = []
            for _ in range(k):
                item.append(self.read())
                yield from self.move(RIGHT)
            if item == query:
                break
        yield from self.move(RIGHT)  # over the next item's delimiter
        for _ in range(k):
            yield from self.move(RIGHT, out=self.read())


class PrioritySortOracle(Oracle):
    """Store the items, then a selection sort: one sweep per output for the next (priority, index)."""

    def run(self):
        delim = self.v + self.task.priority_levels + 1
        n_cells = 0
        while self.inp() != delim:
            yield from self.store()
            n_cells += 1
        items = n_cells // 2
        last = None  # (priority, index) of the last emitted item
        for _ in range(items):
            yield from self.goto(0)
            best = None
            for j in range(items):
                p = self.read()
                after = last is None or p < last[0] or (p == last[0] and j > last[1])
                if after and (best is None or p > best[0]):
                    best = (p, j)
                yield from self.move(RIGHT)
                yield from self.move(RIGHT)
            yield from self.goto(2 * best[1] + 1)
            yield from self.do(out=self.read())
            last = best


class ReversedAdditionOracle(Oracle):
    """Read each column, emit (sum + carry) mod base at its last digit; the final carry at the end."""

    def run(self):
        base, rows = self.v, self.task.rows
        carry, col, r = 0, 0, 0
        move = self.adv if self.use_mem else RIGHT
        while not self.obs["input_done"]:
            col += self.inp() - 1
            r += 1
            out = 0
            if r == rows:
                s = col + carry
                out, carry, col, r = s % base + 1, s // base, 0, 0
            yield from self.do(inp=move, out=out)
        yield from self.do(out=carry + 1)


class NGramBayesOracle(Oracle):
    """The Bayes-optimal predictor: Beta(1/2, 1/2) counts per context of the previous n - 1 bits."""

    def run(self):
        c = self.task.n - 1
        counts = np.zeros((2**c, 2))
        history: list[int] = []
        while True:
            b = self.inp() - 1
            if len(history) >= c:  # count this bit under its context
                ctx = int("".join(map(str, history[len(history) - c :])) or "0", 2) if c else 0
                counts[ctx, b] += 1
            history.append(b)
            pred = 0
            if len(history) >= c:
                ctx = int("".join(map(str, history[len(history) - c :])) or "0", 2) if c else 0
                n1, n0 = counts[ctx, 1], counts[ctx, 0]
                pred = int((n1 + 0.5) / (n1 + n0 + 1) > 0.5)
            yield from self.do(out=pred + 1)


ORACLES = {
    "Copy-v0": CopyOracle,
    "RepeatCopy-v0": RepeatCopyOracle,
    "Reverse-v0": ReverseOracle,
    "ForwardReverse-v0": ReverseOracle,
    "DuplicatedInput-v0": DuplicatedInputOracle,
    "AssociativeRecall-v0": AssociativeRecallOracle,
    "PrioritySort-v0": PrioritySortOracle,
    "ReversedAddition-v0": ReversedAdditionOracle,
    "DynamicNGrams-v0": NGramBayesOracle,
}


def make_oracle(env_name: str, task, access: str) -> Oracle:
    """The oracle of a tape env (``env_name`` with or without the ``glimpse_envs/`` namespace)."""
    return ORACLES[env_name.split("/")[-1]](task, access)


def run_single(env, env_name: str, length: int | None = None, seed: int | None = None):
    """One oracle episode on a single env; returns (return, last info, steps)."""
    base = env.unwrapped
    obs, info = env.reset(seed=seed, options=None if length is None else {"length": length})
    policy = make_oracle(env_name, base.task, base.config.access)
    action, total, steps = policy.start(obs), 0.0, 0
    while True:
        obs, r, term, trunc, info = env.step(action)
        total, steps = total + r, steps + 1
        if term or trunc:
            return total, info, steps
        action = policy.act(obs)


def run_vector(venv, env_name: str, lengths, seed: int = 0):
    """One oracle episode per sub-env with the given lengths; returns (returns, target_lengths,
    successes, steps) arrays. ``venv`` is a TapeVectorEnv with ``num_envs == len(lengths)``."""
    n = venv.num_envs
    obs, info = venv.reset(seed=seed, options={"length": list(lengths)})
    task, access = venv.task, venv.config.access
    policies = [make_oracle(env_name, task, access) for _ in range(n)]
    actions = np.stack([p.start({k: v[i] for k, v in obs.items()}) for i, p in enumerate(policies)])
    returns, steps = np.zeros(n), np.zeros(n, np.int64)
    tgt = np.full(n, -1, np.int64)  # reported at each episode's end
    success = np.zeros(n, bool)
    active = np.ones(n, bool)
    while active.any():
        obs, r, term, trunc, info = venv.step(actions)
        returns += r * active
        steps += active
        ended = active & (term | trunc)
        success[ended] = info["is_success"][ended]
        if ended.any():
            tgt[ended] = info["target_length"][ended]
        active &= ~ended
        actions = np.zeros((n, 4), np.int64)
        for i in np.flatnonzero(active):
            actions[i] = policies[i].act({k: v[i] for k, v in obs.items()})
    return returns, tgt, success, steps
