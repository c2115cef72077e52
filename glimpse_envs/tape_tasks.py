"""Seeded, batched task generators of the tape family (the NTM's tasks and Gym's old algorithmic ones).

Every task has the same interface::

    task = CopyTask(bits=8)                      # alphabet V = 2**bits data symbols
    inputs, targets = task.sample(rng, batch, length)
    # inputs  int64 (batch, task.input_length(length)), input code
    # targets int64 (batch, task.target_length(length)), output code, -1 pads (RepeatCopy only)

Codes. Input symbol 0 is the blank, data symbol ``s`` is ``s + 1`` (1..V), the task's input markers
(delimiter, query, repeat counts, priorities, ...) follow at ``V + 1 ..``. Output symbol ``s`` is data
symbol ``s`` (0..V-1); output markers (RepeatCopy's end marker) follow at ``V ..``.

``length`` is the task's size parameter: the sequence length for copy-like tasks, the number of
items for AssociativeRecall and PrioritySort, the number of digit columns for ReversedAddition, the
number of bits for DynamicNGrams. The soft NTM and LSTM baselines train on exactly these sequences
through :func:`to_bits` (or ``task.input_bits`` / ``task.target_bits``).

Memory: ``task.memory_cells(length, access)`` is the number of memory cells the reference solution
needs under an input access (``"tape"`` revisitable, ``"forward"`` forward-only, ``"stream"``); a tape
env refuses lengths that need more cells than its memory has. ``task.time_limit(in_len, tgt_len)``
is the number of steps an episode may take; every oracle in ``tests/oracles.py`` fits in it.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from glimpse_envs.data import SPLIT_CODE

ACCESSES = ("tape", "forward", "stream")
"""Input accesses: revisitable tape (moves stay/right/left), forward-only tape (stay/right), stream."""

LENGTH_CAP = 1000
"""The largest ``length`` any task accepts, whatever the memory (keeps time limits finite)."""

PAD = -1
"""Fills target rows shorter than the batch's widest (RepeatCopy, whose repeat count varies)."""


def to_bits(
    symbols,
    bits: int,
    num_markers: int = 1,
    *,
    num_symbols: int | None = None,
    blank: bool = True,
) -> np.ndarray:
    """Symbols to the NTM's bit vectors: ``bits`` data channels then one channel per marker.

    Args:
        symbols: integer array of any shape, in input code (``blank=True``: 0 blank, ``s + 1`` data,
            markers after ``num_symbols``) or output code (``blank=False``: ``s`` data, markers after).
            Negative values (``PAD``) give all-zero vectors.
        bits: data channels; data symbol ``s`` is written in binary, most significant bit first.
        num_markers: marker channels; marker ``m`` sets channel ``bits + m``.
        num_symbols: data alphabet size V (default ``2**bits``); must be at most ``2**bits``.

    Returns:
        float32 array of shape ``symbols.shape + (bits + num_markers,)``.
    """
    symbols = np.asarray(symbols)
    if not np.issubdtype(symbols.dtype, np.integer):
        raise TypeError(f"to_bits needs integer symbols, got dtype {symbols.dtype}")
    v = 2**bits if num_symbols is None else int(num_symbols)
    if v > 2**bits:
        raise ValueError(
            f"num_symbols={v} does not fit in bits={bits}: pass bits>={math.ceil(math.log2(v))}"
        )
    data = symbols - 1 if blank else symbols.copy()
    top = v + num_markers - 1
    if symbols.size and data.max() > top:
        raise ValueError(
            f"symbol {int(symbols.max())} is past the {num_markers} marker(s) after {v} data symbols: "
            "pass num_markers (task.input_size - 1 - V for inputs) or use task.input_bits()"
        )
    out = np.zeros(symbols.shape + (bits + num_markers,), np.float32)
    is_data = (data >= 0) & (data < v)
    shifts = np.arange(bits - 1, -1, -1)
    out[..., :bits] = ((np.where(is_data, data, 0)[..., None] >> shifts) & 1) * is_data[..., None]
    is_marker = data >= v
    marker = np.where(is_marker, data - v, 0)
    if num_markers:
        np.put_along_axis(
            out[..., bits:], marker[..., None], is_marker[..., None].astype(np.float32), -1
        )
    return out


def emit_read(symbols, num_symbols: int) -> np.ndarray:
    """The output action that emits symbols read in input code: data symbol d is input symbol
    d + 1, which is also the output action emitting d; a blank or a marker gives 0 (emit nothing).
    For agents whose output copies what a head reads."""
    s = np.asarray(symbols)
    return np.where((s >= 1) & (s <= num_symbols), s, 0)


def fixed_seed(split: str, length: int, index: int) -> int:
    """The seed of evaluation episode ``index`` at ``length`` of ``split`` (a pure function)."""
    if split not in SPLIT_CODE:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLIT_CODE)}")
    ss = np.random.SeedSequence([int(index), int(length), SPLIT_CODE[split], 2015])
    return int(ss.generate_state(1, np.uint32)[0])


class TapeTask(abc.ABC):
    """Base of the task generators; subclasses set the class attributes and ``_sample``."""

    default_access = "stream"
    accesses: tuple[str, ...] = ACCESSES
    min_length = 1
    default_lengths = (1, 20)
    aligned = False
    """True for prediction tasks (DynamicNGrams): output at step t is scored against target t."""
    delimited = False
    """True for the NTM's tasks whose output phase starts after the input (Copy, RepeatCopy,
    AssociativeRecall, PrioritySort): their input ends with a delimiter, and a symbol emitted before
    the input head has reached it is a wrong output. False for Gym's tasks on a revisitable or
    forward tape, where reading and writing overlap by design."""
    input_markers = 1
    output_markers = 0
    test_lengths: tuple[int, ...] = ()
    """The lengths the task's paper tests its models at (the NTM paper's, beyond the training
    range), where it has them: the sequence models' default evaluation lengths."""

    def eval_lengths(self, max_length: int) -> list[int]:
        """Generalisation lengths: the training maximum, 2x and 6x (the RL-NTM's and issue 12's
        measure); the tape envs keep those their memory holds (``agents.tape_eval``)."""
        return [max_length, 2 * max_length, 6 * max_length]

    def default_eval_lengths(self, max_length: int) -> list[int]:
        """The sequence models' evaluation lengths: :attr:`test_lengths`, else
        :meth:`eval_lengths` without 6x (their memory of a long sequence is the slow part)."""
        return list(self.test_lengths) or self.eval_lengths(max_length)[:2]

    def __init__(self, num_symbols: int):
        if not isinstance(num_symbols, (int, np.integer)) or num_symbols < 2:
            raise ValueError(
                f"{type(self).__name__}: the alphabet needs at least 2 symbols, got {num_symbols!r}"
            )
        self.num_symbols = int(num_symbols)

    # -- sizes -----------------------------------------------------------------------------------
    @property
    def input_size(self) -> int:
        """Input symbols: blank, V data symbols, the task's markers."""
        return 1 + self.num_symbols + self.input_markers

    @property
    def output_size(self) -> int:
        """Output symbols: V data symbols, the task's output markers."""
        return self.num_symbols + self.output_markers

    @property
    def bits(self) -> int:
        """Data channels of :meth:`input_bits` (``ceil(log2 V)``)."""
        return max(1, math.ceil(math.log2(self.num_symbols)))

    @abc.abstractmethod
    def input_length(self, length: int) -> int:
        """Width of the input array of an episode of ``length``."""

    @abc.abstractmethod
    def target_length(self, length: int) -> int:
        """Width of the target array (the longest target of this length)."""

    def memory_cells(self, length: int, access: str) -> int:
        """Memory cells the reference solution needs under ``access`` (0: memory is not needed)."""
        return 0 if access == "tape" else length

    def time_limit(self, input_length, target_length):
        """Steps allowed: ``3 * input_length + 2 * target_length + 4`` (the oracles need at most
        ``3 * input_length``: store the stream, go back, read it out)."""
        return 3 * input_length + 2 * target_length + 4

    def max_length(self, memory_size: int, access: str) -> int:
        """The largest length whose reference solution fits in ``memory_size`` cells (<= LENGTH_CAP)."""
        if self.memory_cells(LENGTH_CAP, access) <= memory_size:
            return LENGTH_CAP
        lo, hi = self.min_length - 1, LENGTH_CAP
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self.memory_cells(mid, access) <= memory_size else (lo, mid)
        return lo

    def check_length(
        self, length, memory_size: int | None = None, access: str | None = None
    ) -> int:
        """Validate a length (and that the memory holds it); returns it as an int."""
        if not isinstance(length, (int, np.integer)) or isinstance(length, bool):
            raise TypeError(f"{type(self).__name__}: length must be an int, got {length!r}")
        length = int(length)
        if not self.min_length <= length <= LENGTH_CAP:
            raise ValueError(
                f"{type(self).__name__}: length {length} is outside [{self.min_length}, {LENGTH_CAP}]"
            )
        if memory_size is not None:
            need = self.memory_cells(length, access)
            if need > memory_size:
                raise ValueError(
                    f"{type(self).__name__}: length {length} needs {need} memory cells under "
                    f"input_access={access!r} but memory_size={memory_size}: pass memory_size>={need} "
                    f"or a length <= {self.max_length(memory_size, access)}"
                )
        return length

    # -- sampling --------------------------------------------------------------------------------
    @abc.abstractmethod
    def generate(self, take, lengths: np.ndarray):
        """Episodes of ``lengths`` (int64 (B,)) from uniforms: the task's definition.

        ``take(counts)`` returns the next ``counts[j]`` uniforms in [0, 1) of episode j for every j,
        concatenated (float64); a task calls it once or a few times (AssociativeRecall redraws the
        episodes whose items repeat). Returns ``(inputs, input lengths, targets, target lengths)``,
        int64 1-D arrays, the episodes concatenated. Every draw is ``floor(u * high)`` of a uniform
        u, exactly uniform on 0 .. high - 1 for the sizes used here (high < 2**53).
        """

    def sample(self, rng: np.random.Generator, batch: int, length: int):
        """``batch`` episodes of size ``length``: ``(inputs, targets)`` int64 arrays, the targets
        padded with ``PAD`` to ``target_length(length)``. Episode after episode, every uniform comes
        from ``rng.random``, so ``sample(rng, 1, length)`` is the episode a tape env with this
        generator state plays."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        length = self.check_length(length)
        batch = int(batch)
        inputs, _, targets, lt = self.generate(GeneratorTaker(rng), np.full(batch, length))
        width = self.target_length(length)
        padded = np.full((batch, width), PAD, np.int64)
        padded[np.arange(width) < lt[:, None]] = targets
        return inputs.reshape(batch, self.input_length(length)), padded

    def fixed(self, split: str, length: int, indices):
        """Episodes ``indices`` of the fixed evaluation set of ``split`` at ``length``:
        ``(inputs, targets)`` as :meth:`sample` gives them.

        Episode i is a pure function of (task config, split, length, i): ``sample(rng, 1,
        length)`` with ``rng = numpy.random.default_rng(fixed_seed(split, length, i))``, which is
        also the episode a tape env plays after ``reset(options={"split": split, "index": i,
        "length": length})``. Hard agents (through the env) and soft baselines (through this) are
        scored on the same sequences in every process.
        """
        length = self.check_length(length)
        pairs = [
            self.sample(np.random.default_rng(fixed_seed(split, length, int(i))), 1, length)
            for i in np.atleast_1d(indices)
        ]
        return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])

    def target_lengths(self, targets: np.ndarray) -> np.ndarray:
        """Each row's target length (targets are padded with ``PAD`` = -1)."""
        return (np.asarray(targets) >= 0).sum(-1)

    def input_bits(self, inputs) -> np.ndarray:
        """Inputs as the NTM's bit vectors: ``bits`` data channels then one per input marker."""
        return to_bits(inputs, self.bits, self.input_markers, num_symbols=self.num_symbols)

    def target_bits(self, targets) -> np.ndarray:
        """Targets as bit vectors: ``bits`` data channels then one per output marker (pads are 0)."""
        return to_bits(
            targets, self.bits, self.output_markers, num_symbols=self.num_symbols, blank=False
        )

    def __repr__(self):
        return (
            f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._config().items())})"
        )

    def _config(self) -> dict:
        return {"num_symbols": self.num_symbols}


class GeneratorTaker:
    """``take(counts)`` for :meth:`TapeTask.generate` from one generator, episode after episode
    (the envs take from :class:`glimpse_envs.streams.UniformStreams` instead, one stream per env)."""

    __slots__ = ("rng",)

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def __call__(self, counts) -> np.ndarray:
        return self.rng.random(int(np.sum(counts)))


def _ints(u: np.ndarray, high) -> np.ndarray:
    """``floor(u * high)``: uniforms in [0, 1) to integers uniform on 0 .. high - 1."""
    return (u * high).astype(np.int64)


def _runs(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of ``lengths`` laid end to end: (run of each position, position within its run)."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    return np.repeat(np.arange(lengths.shape[0]), lengths), np.arange(total) - np.repeat(
        starts, lengths
    )


def _end_marked(x: np.ndarray, lengths: np.ndarray, marker) -> tuple[np.ndarray, np.ndarray]:
    """Runs ``x`` of ``lengths``, each followed by ``marker`` (int or one per run): (flat, lengths + 1)."""
    li = lengths + 1
    ends = np.cumsum(li) - 1
    out = np.empty(int(li.sum()), np.int64)
    data = np.ones(out.shape[0], bool)
    data[ends] = False
    out[data] = x
    out[ends] = marker
    return out, li


MAX_BITS = 16
"""The widest symbols a task takes: ``2**bits`` data symbols must fit the envs' Discrete spaces and
the agents' embeddings (the NTM's tasks use 6 or 8)."""


def _check_bits(bits, cls) -> int:
    bits = _check_int("bits", bits, 1, cls)
    if bits > MAX_BITS:
        raise ValueError(f"{cls}: bits={bits} gives 2**{bits} symbols: use bits <= {MAX_BITS}")
    return bits


def _check_int(name, value, low, cls):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{cls}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class CopyTask(TapeTask):
    """NTM copy: ``x_1 .. x_L`` then a delimiter; output ``x_1 .. x_L``.

    Input ``(L + 1,)``: data ``x + 1``, delimiter ``V + 1``. Target ``(L,)``. Paper: 8-bit vectors,
    L in 1-20 for training. Memory: L cells under stream/forward access, none with a tape.
    """

    test_lengths = (10, 20, 30, 50, 120)

    delimited = True

    def __init__(self, bits: int = 8):
        self.data_bits = _check_bits(bits, "CopyTask")
        super().__init__(2**self.data_bits)

    def _config(self):
        return {"bits": self.data_bits}

    def input_length(self, length):
        return length + 1

    def target_length(self, length):
        return length

    def generate(self, take, lengths):
        x = _ints(take(lengths), self.num_symbols)
        inputs, li = _end_marked(x + 1, lengths, self.num_symbols + 1)
        return inputs, li, x, lengths.copy()


class RepeatCopyTask(TapeTask):
    """NTM repeat copy: ``x_1 .. x_L`` then a repeat-count marker; output x n times, then an end marker.

    Input ``(L + 1,)``: data, then marker ``V + n`` (n in ``min_repeats .. max_repeats``, drawn
    uniformly per episode; it is also the delimiter). Target ``(max_repeats * L + 1,)``: x repeated n
    times, the end marker (output symbol V), then ``PAD`` (-1). Paper: 8-bit vectors, L in 1-10,
    n in 1-10, the count a normalised scalar on its own channel (here one marker per count).
    """

    test_lengths = (5, 10, 15, 20)

    delimited = True
    default_lengths = (1, 10)
    output_markers = 1

    def __init__(self, bits: int = 8, min_repeats: int = 1, max_repeats: int = 10):
        self.data_bits = _check_bits(bits, "RepeatCopyTask")
        self.min_repeats = _check_int("min_repeats", min_repeats, 1, "RepeatCopyTask")
        self.max_repeats = _check_int("max_repeats", max_repeats, 1, "RepeatCopyTask")
        if self.min_repeats > self.max_repeats:
            raise ValueError(
                f"RepeatCopyTask: min_repeats={min_repeats} > max_repeats={max_repeats}"
            )
        self.input_markers = self.max_repeats
        super().__init__(2**self.data_bits)

    def _config(self):
        return {
            "bits": self.data_bits,
            "min_repeats": self.min_repeats,
            "max_repeats": self.max_repeats,
        }

    def capped(self, max_repeats: int) -> RepeatCopyTask:
        """This task with the repeat counts drawn from ``min_repeats .. max_repeats`` only (a
        training curriculum's stage): the same symbols and count markers, so a model that learns
        on it reads the full task's inputs unchanged; targets are padded to the cap's length."""
        if not self.min_repeats <= int(max_repeats) <= self.max_repeats:
            raise ValueError(
                f"RepeatCopyTask.capped: max_repeats={max_repeats} is outside "
                f"[{self.min_repeats}, {self.max_repeats}]"
            )
        task = RepeatCopyTask(self.data_bits, self.min_repeats, int(max_repeats))
        task.input_markers = self.input_markers
        return task

    def input_length(self, length):
        return length + 1

    def target_length(self, length):
        return self.max_repeats * length + 1

    def generate(self, take, lengths):
        # per episode L + 1 uniforms: the L data symbols, then the repeat count
        li = lengths + 1
        u = take(li)
        count_at = np.cumsum(li) - 1
        n = self.min_repeats + _ints(u[count_at], self.max_repeats - self.min_repeats + 1)
        # the input has the uniforms' layout: data symbols, then the count marker in its place
        inputs = _ints(u, self.num_symbols)
        is_data = np.ones(u.shape[0], bool)
        is_data[count_at] = False
        x = inputs[is_data]
        inputs += 1
        inputs[count_at] = self.num_symbols + n
        # target: x repeated n times, then the end marker V
        reps = n * lengths
        run, local = _runs(reps)
        source = (np.cumsum(lengths) - lengths)[run] + local % lengths[run]
        targets, lt = _end_marked(x[source], reps, self.num_symbols)
        return inputs, li, targets, lt


class ReverseTask(TapeTask):
    """Gym's reverse: ``x_1 .. x_L`` (then blanks); output ``x_L .. x_1``.

    Input ``(L,)``, no delimiter: the end of the input is the first blank (``input_done``). Target
    ``(L,)``. Gym: 2 symbols, revisitable tape. Memory: L cells under stream/forward access.
    """

    default_access = "tape"
    input_markers = 0

    def __init__(self, base: int = 2):
        super().__init__(_check_int("base", base, 2, type(self).__name__))

    def _config(self):
        return {"base": self.num_symbols}

    def input_length(self, length):
        return length

    def target_length(self, length):
        return length

    def generate(self, take, lengths):
        x = _ints(take(lengths), self.num_symbols)
        starts = np.cumsum(lengths) - lengths
        # position p of the run starting at s with length l holds x[s + l - 1 - (p - s)]
        reverse = np.repeat(2 * starts + lengths - 1, lengths) - np.arange(x.shape[0])
        return x + 1, lengths.copy(), x[reverse], lengths.copy()


class ForwardReverseTask(ReverseTask):
    """Reverse with a forward-only input head (default ``input_access="forward"``): memory is needed."""

    default_access = "forward"


class DuplicatedInputTask(TapeTask):
    """Gym's duplicated input: each of ``x_1 .. x_L`` appears ``duplication`` times; output each once.

    Input ``(duplication * L,)``, no delimiter; target ``(L,)``. Gym: 5 symbols, duplication 2.
    No memory is needed under any access (count to ``duplication``).
    """

    default_access = "tape"
    input_markers = 0

    def __init__(self, base: int = 5, duplication: int = 2):
        super().__init__(_check_int("base", base, 2, "DuplicatedInputTask"))
        self.duplication = _check_int("duplication", duplication, 1, "DuplicatedInputTask")

    def _config(self):
        return {"base": self.num_symbols, "duplication": self.duplication}

    def memory_cells(self, length, access):
        return 0

    def input_length(self, length):
        return self.duplication * length

    def target_length(self, length):
        return length

    def generate(self, take, lengths):
        x = _ints(take(lengths), self.num_symbols)
        return np.repeat(x + 1, self.duplication), self.duplication * lengths, x, lengths.copy()


class AssociativeRecallTask(TapeTask):
    """NTM associative recall: items of ``item_length`` vectors, then a query item; output its successor.

    Input ``(n (k + 1) + k + 2,)`` for n = ``length`` items of k vectors: each item is the item
    delimiter ``V + 1`` then its k data symbols; then the query delimiter ``V + 2``, the query item
    (one of the first n - 1 items, uniformly), the query delimiter again. Target ``(k,)``: the item that
    followed the query. Items of an episode are distinct. Paper: 6-bit vectors, k = 3, 2-6 items in
    training. Memory: n (k + 1) cells under stream/forward access.
    """

    test_lengths = (3, 6, 9, 12, 15)

    delimited = True
    default_lengths = (2, 6)
    min_length = 2
    input_markers = 2

    def __init__(self, bits: int = 6, item_length: int = 3):
        self.data_bits = _check_bits(bits, "AssociativeRecallTask")
        self.item_length = _check_int("item_length", item_length, 1, "AssociativeRecallTask")
        super().__init__(2**self.data_bits)
        self._shifts = self.data_bits * np.arange(self.item_length - 1, -1, -1)

    def _config(self):
        return {"bits": self.data_bits, "item_length": self.item_length}

    def memory_cells(self, length, access):
        return 0 if access == "tape" else length * (self.item_length + 1)

    def input_length(self, length):
        return length * (self.item_length + 1) + self.item_length + 2

    def target_length(self, length):
        return self.item_length

    def check_length(self, length, memory_size=None, access=None):
        length = super().check_length(length, memory_size, access)
        if self.num_symbols**self.item_length < 2 * length:
            raise ValueError(
                f"AssociativeRecallTask: {length} distinct items need more than "
                f"{self.num_symbols}**{self.item_length} possible items: raise bits or item_length"
            )
        return length

    def generate(self, take, lengths):
        v, k = self.num_symbols, self.item_length
        B, high = lengths.shape[0], v**k
        run = np.repeat(np.arange(B), lengths)  # the episode of each item
        codes = _ints(take(lengths), high)  # item codes, k base-v digits each
        while True:  # redraw the episodes whose items repeat (rare for the default sizes)
            key = np.sort(run * high + codes)
            dup = key[1:] == key[:-1]
            if not dup.any():
                break
            bad = np.zeros(B, bool)
            bad[key[1:][dup] // high] = True
            codes[bad[run]] = _ints(take(np.where(bad, lengths, 0)), high)
        # (items, k), most significant first; v = 2**bits, so digits are bit fields
        digits = (codes[:, None] >> self._shifts) & (v - 1)
        ends = np.cumsum(lengths)
        query = ends - lengths + _ints(take(1), lengths - 1)  # flat item index; not the last item
        # input: per episode n + 1 blocks of k + 1 (each item's delimiter and digits, then the query
        # delimiter and the query item), closed by the query delimiter; episode j's blocks start
        # at block first_item + j, its query block is block ends[j] + j
        blocks = np.empty((codes.shape[0] + B, k + 1), np.int64)
        item_rows = np.arange(codes.shape[0]) + run
        query_rows = ends + np.arange(B)
        blocks[item_rows, 0] = v + 1
        blocks[item_rows, 1:] = digits + 1
        blocks[query_rows, 0] = v + 2
        blocks[query_rows, 1:] = digits[query] + 1
        inputs, li = _end_marked(blocks.reshape(-1), (lengths + 1) * (k + 1), v + 2)
        return inputs, li, digits[query + 1].reshape(-1), np.full(B, k, np.int64)


class PrioritySortTask(TapeTask):
    """NTM priority sort: items (priority, vector); output the vectors of the highest priorities in order.

    Priorities are the paper's U[-1, 1] quantised to ``priority_levels`` levels q (bin
    ``[-1 + 2q/Q, -1 + 2(q+1)/Q)``), so uniform over 0..Q-1; ties keep the input order (stable sort).
    Input ``(2L + 1,)``: for each of the L = ``length`` items its priority marker ``V + 1 + q`` then its
    data symbol; then the delimiter ``V + Q + 1``. Target ``(ceil(keep * L),)``: the vectors of the
    top ``ceil(keep * L)`` items, highest priority first. Paper: 20 items of 8 bits, the 16 highest
    output (keep = 0.8). Memory: 2L cells under stream/forward access.
    """

    test_lengths = (20,)

    delimited = True

    def __init__(self, bits: int = 8, priority_levels: int = 16, keep: float = 0.8):
        self.data_bits = _check_bits(bits, "PrioritySortTask")
        self.priority_levels = _check_int("priority_levels", priority_levels, 1, "PrioritySortTask")
        if not 0 < keep <= 1:
            raise ValueError(f"PrioritySortTask: keep must be in (0, 1], got {keep!r}")
        self.keep = float(keep)
        self.input_markers = self.priority_levels + 1
        super().__init__(2**self.data_bits)

    def _config(self):
        return {"bits": self.data_bits, "priority_levels": self.priority_levels, "keep": self.keep}

    def memory_cells(self, length, access):
        return 0 if access == "tape" else 2 * length

    def input_length(self, length):
        return 2 * length + 1

    def target_length(self, length):
        return max(1, math.ceil(length * self.keep - 1e-9))

    def time_limit(self, input_length, target_length):
        """Steps allowed: ``input_length + target_length * (3 * input_length + 4) + 4`` (selection sort:
        one sweep over the stored items and back per output)."""
        return input_length + target_length * (3 * input_length + 4) + 4

    def generate(self, take, lengths):
        v, Q = self.num_symbols, self.priority_levels
        # per episode 2L uniforms: the L data symbols, then the L priorities
        u = take(2 * lengths)
        run, local = _runs(2 * lengths)
        first_half = local < lengths[run]
        x, q = _ints(u[first_half], v), _ints(u[~first_half], Q)
        li = 2 * lengths + 1
        ends = np.cumsum(li) - 1
        inputs = np.empty(int(li.sum()), np.int64)
        item = np.ones(inputs.shape[0], bool)
        item[ends] = False
        pairs = np.empty((x.shape[0], 2), np.int64)
        pairs[:, 0], pairs[:, 1] = v + 1 + q, x + 1
        inputs[item] = pairs.reshape(-1)
        inputs[ends] = v + Q + 1
        # targets: within each episode, highest priority first, ties in input order (stable)
        item_run, item_local = _runs(lengths)
        order = np.argsort(item_run * Q + (Q - 1 - q), kind="stable")
        lt = np.maximum(1, np.ceil(lengths * self.keep - 1e-9)).astype(np.int64)
        keep = item_local < lt[item_run]  # sorted order keeps the runs in place
        return inputs, li, x[order][keep], lt


class ReversedAdditionTask(TapeTask):
    """Gym's reversed addition: ``rows`` numbers of L base-``base`` digits, least significant first.

    Gym's grid (``rows`` x L) is laid on the 1-D tape column by column: ``a_0 b_0 a_1 b_1 ..`` (digit
    d as input symbol d + 1), no delimiter. Target ``(L + 1,)``: the sum's digits, least significant
    first, always L + 1 of them (the last is the final carry, possibly 0; Gym dropped a zero carry).
    Gym: base 3 (ReversedAddition-v0: 2 rows, ReversedAddition3-v0: 3 rows). No memory is needed
    (the carry is one digit of agent state).
    """

    default_access = "tape"
    input_markers = 0

    def __init__(self, base: int = 3, rows: int = 2):
        super().__init__(_check_int("base", base, 2, "ReversedAdditionTask"))
        self.rows = _check_int("rows", rows, 2, "ReversedAdditionTask")
        if self.rows > self.num_symbols:
            raise ValueError(
                f"ReversedAdditionTask: rows={rows} > base={base} (the carry would not fit a digit)"
            )

    def _config(self):
        return {"base": self.num_symbols, "rows": self.rows}

    def memory_cells(self, length, access):
        return 0

    def input_length(self, length):
        return self.rows * length

    def target_length(self, length):
        return length + 1

    def generate(self, take, lengths):
        b, r = self.num_symbols, self.rows
        d = _ints(take(r * lengths), b)  # column by column: a_0 b_0 a_1 b_1 ..
        col = d.reshape(-1, r).sum(1)
        lt = lengths + 1
        run, local = _runs(lengths)
        grid = np.zeros((lengths.shape[0], int(lengths.max()) + 1), np.int64)
        grid[run, local] = col
        carry = np.zeros(lengths.shape[0], np.int64)
        for i in range(grid.shape[1]):  # the carry ripples column by column, every episode at once
            s = grid[:, i] + carry
            grid[:, i], carry = s % b, s // b
        return d + 1, r * lengths, grid[np.arange(grid.shape[1]) < lt[:, None]], lt


class DynamicNGramsTask(TapeTask):
    """NTM dynamic n-grams: predict each next bit of a sequence drawn from a fresh random n-gram table.

    Per episode a table of ``2**(n-1)`` probabilities ``P(1 | previous n-1 bits)`` is drawn from
    Beta(1/2, 1/2); the first n - 1 bits are uniform, each later bit follows the table. Input ``(L,)``:
    the bits as symbols 1, 2 (stream only). Target ``(L - 1,)``: bit t + 1 for t = 0..L-2, to be
    predicted at the step that shows bit t. Paper: 6-grams, 200-bit sequences. The Bayes-optimal
    predictor is :func:`ngram_bayes_predict`; :meth:`bayes_expected_score` is its expected score.
    """

    test_lengths = (200,)

    default_lengths = (200, 200)
    min_length = 2
    accesses = ("stream",)
    aligned = True
    input_markers = 0

    def __init__(self, n: int = 6):
        self.n = _check_int("n", n, 1, "DynamicNGramsTask")
        super().__init__(2)

    def _config(self):
        return {"n": self.n}

    def memory_cells(self, length, access):
        return 0

    def input_length(self, length):
        return length

    def target_length(self, length):
        return length - 1

    def time_limit(self, input_length, target_length):
        """Exactly one step per prediction: the episode ends with the stream, never by timeout."""
        return target_length

    def generate(self, take, lengths):
        c = self.n - 1
        T, mask = 2**c, 2**c - 1
        # per episode 2**c uniforms for the table (Beta(1/2, 1/2) is sin^2(pi u / 2)), then L bits
        u = take(T + lengths)
        run, local = _runs(T + lengths)
        is_table = local < T
        table = np.sin(0.5 * np.pi * u[is_table]).reshape(-1, T) ** 2
        ub = u[~is_table]
        B, width = lengths.shape[0], int(lengths.max())
        bit_run, bit_local = _runs(lengths)
        grid = np.ones((B, width))  # padding: u = 1 draws 0 bits, never read
        grid[bit_run, bit_local] = ub
        bits = np.zeros((B, width), np.int64)
        bits[:, :c] = grid[:, :c] < 0.5
        ctx = np.zeros(B, np.int64)
        for i in range(min(c, width)):
            ctx = ((ctx << 1) | bits[:, i]) & mask
        rows = np.arange(B)
        for i in range(c, width):  # each bit depends on the previous c: one column at a time
            bits[:, i] = grid[:, i] < table[rows, ctx]
            ctx = ((ctx << 1) | bits[:, i]) & mask
        x = bits[bit_run, bit_local]
        return x + 1, lengths.copy(), x[bit_local > 0], lengths - 1

    def bayes_expected_score(self, length: int = 200, episodes: int = 4000, seed: int = 0) -> float:
        """Expected return of the Bayes-optimal predictor (one point per correct prediction).

        Monte Carlo over ``episodes`` sequences of the generator, summing ``max(p, 1 - p)`` of the
        Bayes predictive probability ``p`` at each prediction (its exact expected accuracy there);
        standard error about 0.1 for the defaults. 200-bit 6-grams: about 152.
        """
        inputs, _ = self.sample(np.random.default_rng(seed), episodes, length)
        p = ngram_bayes_predict(inputs - 1, self.n)
        return float(np.maximum(p, 1 - p).sum(1).mean())


def ngram_bayes_predict(bits, n: int = 6) -> np.ndarray:
    """Bayes-optimal predictions ``P(b_{t+1} = 1 | b_0..b_t)`` for the dynamic n-grams task.

    With a Beta(1/2, 1/2) prior per context (the previous n - 1 bits), the predictive probability is
    ``(N1 + 1/2) / (N1 + N0 + 1)`` where N1, N0 count the ones and zeros seen after this context so
    far; bits before the first full context are uniform (1/2).

    Args:
        bits: int array (B, L) of 0/1 bits.
    Returns:
        float64 (B, L - 1): the probability that bit t + 1 is 1, given bits 0..t.
    """
    bits = np.asarray(bits, np.int64)
    batch, length = bits.shape
    c = n - 1
    counts = np.zeros((batch, 2**c, 2))
    rows = np.arange(batch)
    p = np.full((batch, max(length - 1, 0)), 0.5)
    ctx = np.zeros(batch, np.int64)
    for t in range(length - 1):
        ctx = ((ctx << 1) | bits[:, t]) & (2**c - 1)
        if t + 1 >= c:  # bit t+1 has a full context b_{t+1-c} .. b_t
            n1, n0 = counts[rows, ctx, 1], counts[rows, ctx, 0]
            p[:, t] = (n1 + 0.5) / (n1 + n0 + 1)
            counts[rows, ctx, bits[:, t + 1]] += 1
    return p


TASKS = {
    "Copy": CopyTask,
    "RepeatCopy": RepeatCopyTask,
    "Reverse": ReverseTask,
    "DuplicatedInput": DuplicatedInputTask,
    "ForwardReverse": ForwardReverseTask,
    "AssociativeRecall": AssociativeRecallTask,
    "DynamicNGrams": DynamicNGramsTask,
    "PrioritySort": PrioritySortTask,
    "ReversedAddition": ReversedAdditionTask,
}
"""Task generator class per tape env name."""
