"""Buffered per-env streams of uniform numbers, so that many envs can draw their episodes at once.

Every tape episode is a pure function of uniforms in [0, 1) (see :meth:`TapeTask.generate`). Env
``i`` takes them from its own ``numpy.random.Generator`` ``rng_i``, always in the order
``rng_i.random()`` produces them, whatever the chunking: ``rng.random(a)`` then ``rng.random(b)`` gives
the same numbers as ``rng.random(a + b)``. :class:`UniformStreams` keeps a block of the next uniforms of
every env in one ``(n, width)`` array, so that when many envs reset together their uniforms are
gathered with a few batched numpy operations instead of one generator call per env. A block is
refilled from its generator only when it runs short (once every ``width / need`` episodes).

Because each row is exactly its generator's sequence, a vector env of N rows draws the same episodes
as N single envs (streams of one row) seeded alike, which is the contract of the native vector envs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium.utils import seeding


class UniformStreams:
    """``n`` streams of uniforms, row ``i`` the sequence of ``rngs[i].random()``.

    Args:
        n: the number of streams (sub-envs).
        width: uniforms buffered per stream (grows when one episode needs more).
    """

    def __init__(self, n: int, width: int = 512):
        self.n = int(n)
        self.width = int(width)
        self.rngs: list[np.random.Generator | None] = [None] * self.n
        self._buf = np.empty((self.n, self.width))
        self._flat = self._buf.reshape(-1)
        self._base = np.arange(self.n, dtype=np.int64) * self.width
        self._pos = np.full(self.n, self.width, np.int64)  # every block empty

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_flat"]  # a view: pickle would detach it from the buffer
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._flat = self._buf.reshape(-1)

    def set_rng(self, i: int, rng: np.random.Generator) -> None:
        """Use ``rng`` for stream ``i`` from now on (what was buffered from the old one is dropped)."""
        self.rngs[i] = rng
        self._pos[i] = self.width

    def _refill(self, rows: np.ndarray, counts: np.ndarray) -> None:
        """Make sure row ``rows[j]`` holds ``counts[j]`` unread uniforms (one generator call per row
        that runs short; the unread ones move to the front, so the row's sequence is unbroken)."""
        short = self._pos[rows] + counts > self.width
        if not short.any():
            return
        need = int(counts[short].max())
        if need > self.width:  # one episode needs more than a block: widen every block
            self._widen(max(need, 2 * self.width))
        for i in rows[short].tolist():
            rng = self.rngs[i]
            if rng is None:  # never seeded: an unpredictable generator, as Gymnasium's envs do
                rng = self.rngs[i] = seeding.np_random(None)[0]
            p = int(self._pos[i])
            left = self.width - p
            row = self._buf[i]
            row[:left] = row[p:]
            row[left:] = rng.random(self.width - left)
            self._pos[i] = 0

    def _widen(self, width: int) -> None:
        buf = np.empty((self.n, width))
        left = self.width - self._pos
        for i in np.flatnonzero(left).tolist():  # keep the unread uniforms, at the end
            buf[i, width - left[i] :] = self._buf[i, self._pos[i] :]
        self._buf, self._flat, self.width = buf, buf.reshape(-1), width
        self._base = np.arange(self.n, dtype=np.int64) * width
        self._pos = width - left

    def taker(self, rows: np.ndarray):
        """``take`` bound to ``rows``: the ``take(counts)`` callable of :meth:`TapeTask.generate`."""
        rows = np.asarray(rows, np.int64)
        if rows.shape[0] == 1:
            return _OneRow(self, int(rows[0]))
        return _Rows(self, rows)

    def take(self, rows: Sequence[int] | np.ndarray, counts) -> np.ndarray:
        """The next ``counts[j]`` uniforms of stream ``rows[j]`` for every j, concatenated (float64).

        ``rows`` must not repeat; ``counts`` is an int or one int per row (0 takes nothing).
        """
        return self.taker(rows)(counts)


class _OneRow:
    """``take(counts)`` of a single stream: a slice of its block (the single envs' reset path)."""

    __slots__ = ("streams", "i", "row")

    def __init__(self, streams: UniformStreams, i: int):
        self.streams, self.i, self.row = streams, i, np.array([i], np.int64)

    def __call__(self, counts) -> np.ndarray:
        st, i = self.streams, self.i
        c = int(counts) if isinstance(counts, (int, np.integer)) else int(counts[0])
        p = int(st._pos[i])
        if p + c > st.width:
            st._refill(self.row, np.array([c], np.int64))
            p = 0
        st._pos[i] = p + c
        return st._buf[i, p : p + c].copy()


class _Rows:
    """``take(counts)`` of several distinct streams ``rows`` (the vector envs' reset path)."""

    __slots__ = ("streams", "rows", "base")

    def __init__(self, streams: UniformStreams, rows: np.ndarray):
        self.streams, self.rows, self.base = streams, rows, streams._base[rows]

    def __call__(self, counts) -> np.ndarray:
        st, rows = self.streams, self.rows
        same = isinstance(counts, (int, np.integer))  # one count for every row: a 2-D gather
        c = int(counts) if same else np.asarray(counts, np.int64)
        pos = st._pos[rows]
        end = pos + c
        if end.max() > st.width:
            st._refill(rows, np.broadcast_to(c, rows.shape))
            self.base = st._base[rows]  # (a widening moves the blocks)
            pos = st._pos[rows]
            end = pos + c
        st._pos[rows] = end
        if same:
            return st._flat[(self.base + pos)[:, None] + np.arange(c)].reshape(-1)
        # position k of the concatenation belongs to row j = the row whose run covers k
        first = np.cumsum(c)
        index = np.repeat(self.base + pos - (first - c), c) + np.arange(first[-1] if len(c) else 0)
        return st._flat[index]
