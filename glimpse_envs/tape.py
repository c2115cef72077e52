"""The tape tasks' registration: one :class:`TapeTaskEntry` per id, in :data:`TASKS`.

Every tape id is :class:`~glimpse_envs.tape_env.TapeEnv` (vector:
:class:`~glimpse_envs.tape_env.TapeVectorEnv`) registered with ``kwargs={"task": NAME}``; the entry
names the task generator (:mod:`glimpse_envs.tape_tasks`), the oracle's mean return (the reward
threshold's basis) and the id's own page, which ``env.unwrapped.__doc__`` shows before the
family's (``TapeEnv``'s). A new tape task is its generator class plus one entry here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym

from glimpse_envs import tape_tasks as tt
from glimpse_envs.tape_env import TapeEnv

SOLVED_SHARE = 0.95
"""A tape id's ``reward_threshold`` is this share of its oracle's mean return."""


def reward_threshold(oracle_return: float) -> float:
    """``SOLVED_SHARE`` of ``oracle_return``, rounded down to one decimal."""
    return math.floor(SOLVED_SHARE * oracle_return * 10 + 1e-9) / 10


@dataclass(frozen=True)
class TapeTaskEntry:
    """One registered tape id, ``glimpse_envs/{name}-v0``."""

    name: str
    task_class: type[tt.TapeTask]
    #: the oracle's mean return over the default lengths (the reward threshold's basis)
    oracle_return: float
    #: the id's own page: description and time limit
    doc: str

    @property
    def env_name(self) -> str:
        return f"{self.name}-v0"

    @property
    def id(self) -> str:
        return f"glimpse_envs/{self.env_name}"

    @property
    def reward_threshold(self) -> float:
        return reward_threshold(self.oracle_return)

    @property
    def page(self) -> str:
        """The id's documentation: its own page, its reward threshold, then the family's."""
        threshold = (
            "## Reward Threshold\n\n"
            f"``reward_threshold = {self.reward_threshold}`` is registered (the spec's, for the "
            f"default arguments): {SOLVED_SHARE:.0%} of the mean return of the task's oracle, "
            f"{self.oracle_return}, with lengths uniform over the default training range as the "
            "finished curriculum draws them. A mean return over 100 episodes at or above it needs "
            "the curriculum at its end and nearly every episode solved."
        )
        return "\n\n".join([self.doc, threshold, TapeEnv.__doc__ or ""])


TASKS: dict[str, TapeTaskEntry] = {
    e.name: e
    for e in (
        TapeTaskEntry(
            "Copy",
            tt.CopyTask,
            10.5,  # (mean target length: (1 + 20) / 2)
            """NTM copy: read a sequence, then reproduce it.

## Description

The input is ``x_1 .. x_L`` (random symbols of ``bits`` bits, V = 2**bits) then a delimiter;
the target is ``x_1 .. x_L``. Graves et al. (2014): 8-bit vectors, L in 1-20 for training, tested
to 120 (near-perfect to about 50 for the NTM; the LSTM fails past 20). Defaults: ``bits=8``
(input_size 258, output_size 256), ``input_access="stream"``, lengths 1-20.

Output counts from the step at which the delimiter is read (stream: step L, counting from 0);
an earlier symbol is wrong (see Rewards), so echoing the input solves nothing.

Memory: under ``"stream"`` or ``"forward"`` access the memory tape must hold the sequence
(L cells, so L <= memory_size); with ``"tape"`` access the input can be read again after the
delimiter.

## Time Limit

``3 (L + 1) + 2 L + 4 = 5 L + 7`` steps; the reference (stream: store L, go back L, read out L)
takes 3L, a hard head needs at least ``2 L + 1`` (store, then at least L outputs).""",
        ),
        TapeTaskEntry(
            "RepeatCopy",
            tt.RepeatCopyTask,
            31.25,  # (L n + 1 symbols, n uniform in 1-10, L in 1-10: 5.5 * 5.5 + 1)
            """NTM repeat copy: reproduce a sequence n times, then an end marker.

## Description

The input is ``x_1 .. x_L`` then one repeat-count marker (input symbol ``V + n``, which also ends
the sequence); the target is x repeated n times followed by the end marker (output symbol V).
Graves et al.: 8-bit vectors, L in 1-10, n in 1-10 (the count a normalised scalar on its own
channel; here a marker per count). Defaults: ``bits=8``, ``min_repeats=1``, ``max_repeats=10``
(input_size 267, output_size 257), ``input_access="stream"``, lengths 1-10.

Output counts from the step at which the count marker (the delimiter) is read: the first copy
too must come from memory. The repeat count is only knowable from that marker
(``target_length`` is reported only at the episode's end).

Memory: L cells under stream/forward access; none with a revisitable tape.

## Time Limit

``3 (L + 1) + 2 (n L + 1) + 4`` steps; the reference takes ``L + 2 n L + 1``.""",
        ),
        TapeTaskEntry(
            "Reverse",
            tt.ReverseTask,
            10.5,  # (mean target length: (1 + 20) / 2)
            """Gym's reverse: read a sequence and output it backwards.

## Description

The input is ``x_1 .. x_L`` followed by blanks (no delimiter: ``input_done`` marks the end);
the target is ``x_L .. x_1``. Gym's ``Reverse-v0``: 2 symbols on a revisitable tape. Defaults:
``base=2`` (input_size 3, output_size 2), ``input_access="tape"``, lengths 1-20.

Output counts at any step (Gym's semantics; the target starts with the last symbol, so it cannot
be emitted before the input's end has been read anyway).

Memory: none with ``"tape"`` access; L cells under ``"forward"`` (see ForwardReverse-v0) or
``"stream"`` access.

## Time Limit

``3 L + 2 L + 4`` steps; the reference takes ``2 L + 1``.""",
        ),
        TapeTaskEntry(
            "DuplicatedInput",
            tt.DuplicatedInputTask,
            10.5,  # (mean target length: (1 + 20) / 2)
            """Gym's duplicated input: every symbol appears ``duplication`` times; output each once.

## Description

The input is ``x_1 .. x_L`` with each symbol repeated ``duplication`` times (neighbouring groups
may hold the same symbol, so the agent must count); the target is ``x_1 .. x_L``. Gym's
``DuplicatedInput-v0``: 5 symbols, duplication 2. Defaults: ``base=5``, ``duplication=2``
(input_size 6, output_size 5), ``input_access="tape"``, lengths 1-20.

Output counts at any step: reading and writing overlap by design (Gym's semantics).

Memory: never needed (a count up to ``duplication``).

## Time Limit

``3 d L + 2 L + 4`` steps; the reference takes ``d L``.""",
        ),
        TapeTaskEntry(
            "ForwardReverse",
            tt.ForwardReverseTask,
            10.5,  # (mean target length: (1 + 20) / 2)
            """Reverse with a forward-only input head: the memory tape is required.

## Description

As Reverse-v0 (same generator), but the input head only stays or moves right
(``input_access="forward"``, I = 2), so the sequence must be stored in memory and read back
leftwards. Defaults: ``base=2`` (input_size 3, output_size 2), lengths 1-20. Output counts at
any step, as in Reverse-v0.

Memory: L cells under forward/stream access.

## Time Limit

``3 L + 2 L + 4`` steps; the reference takes ``2 L + 1``.""",
        ),
        TapeTaskEntry(
            "AssociativeRecall",
            tt.AssociativeRecallTask,
            3.0,  # (one item of 3 symbols at every length)
            """NTM associative recall: after a list of items and a query item, output the item that followed it.

## Description

``L`` items of ``item_length`` symbols, each preceded by the item delimiter; then the query
delimiter, a copy of one of the first L - 1 items, the query delimiter again. The target is the
item that followed the query in the list. ``length`` counts items (at least 2). Graves et al.:
items of 3 six-bit vectors, 2-6 items in training, near-perfect to 12. Defaults: ``bits=6``,
``item_length=3`` (input_size 67, output_size 64), ``input_access="stream"``, 2-6 items.

Output counts from the step at which the closing query delimiter (the last input symbol) is read.

Memory: ``L (item_length + 1)`` cells under stream/forward access (32 items with 128 cells);
none with a revisitable tape.

## Time Limit

``3 input_length + 2 item_length + 4`` steps, ``input_length = L (k + 1) + k + 2``; the reference
(store, go back, scan for the query, read out) takes at most ``3 input_length``.""",
        ),
        TapeTaskEntry(
            "DynamicNGrams",
            tt.DynamicNGramsTask,
            151.6,  # (the Bayes-optimal predictor's expected score, task.bayes_expected_score())
            """NTM dynamic n-grams: predict each next bit of a sequence from a fresh random n-gram table.

## Description

Each episode draws a 6-gram table (32 contexts of 5 bits, ``P(1 | context)`` from
Beta(1/2, 1/2)) and a bit sequence of length L from it (the first 5 bits uniform). The stream
shows bit t at step t, and the output of that step is the prediction of bit t + 1 (output
symbol 0 or 1; 0 = "none" forfeits the point). Graves et al.: 200-bit sequences, scored in bits
per sequence against the Bayes-optimal predictor ``P(1|c) = (N1 + 1/2) / (N1 + N0 + 1)``.
Defaults: ``n=6`` (input_size 3, output_size 2), ``input_access="stream"`` (the only one: a
head could otherwise read ahead), L = 200 (``min_length = max_length = 200``).

## Reward (replaces the common rule)

+1 per correct prediction, 0 for a wrong or missing one; a wrong prediction does **not** end the
episode. The episode ends after the L - 1 predictions (so the time limit never fires), with
``is_success`` only if every prediction was right. Reference: the Bayes-optimal predictor
(``tape_tasks.ngram_bayes_predict``) scores about 152 of 199 on average for L = 200
(``DynamicNGramsTask().bayes_expected_score()``); always predicting one symbol scores about 100.

Memory: not needed by the Bayes predictor as written (64 counts of agent state); an agent may use
the tape to keep counts.

## Time Limit

``L - 1`` steps, exactly the predictions.""",
        ),
        TapeTaskEntry(
            "PrioritySort",
            tt.PrioritySortTask,
            8.8,  # (mean target length over lengths 1-20)
            """NTM priority sort: output the vectors of the highest-priority items in priority order.

## Description

L items, each a priority marker then a data symbol, then a delimiter. Priorities are the
paper's U[-1, 1] quantised to ``priority_levels`` levels (level q for ``[-1 + 2q/Q, -1 + 2(q+1)/Q)``,
so uniform levels); ties keep the input order. The target is the data symbols of the
``ceil(keep L)`` highest-priority items, highest first. Graves et al.: 20 items of 8-bit vectors,
the 16 highest output. Defaults: ``bits=8``, ``priority_levels=16``, ``keep=0.8``
(input_size 274, output_size 256), ``input_access="stream"``, lengths 1-20.

Output counts from the step at which the closing delimiter is read: no item may be emitted
before every priority has been seen.

Memory: 2L cells under stream/forward access (64 items with 128 cells); none with a tape.

## Time Limit

``(2L + 1) + K (3 (2L + 1) + 4) + 4`` steps for K outputs: a selection sort that sweeps the
stored items and comes back once per output fits.""",
        ),
        TapeTaskEntry(
            "ReversedAddition",
            tt.ReversedAdditionTask,
            11.5,  # (mean target length: (2 + 21) / 2)
            """Gym's reversed addition: add numbers written least significant digit first.

## Description

``rows`` numbers of L base-``base`` digits form Gym's ``rows x L`` grid; it is laid on the 1-D
input tape column by column, ``a_0 b_0 a_1 b_1 ...`` (least significant column first, digit d
as input symbol d + 1). The target is the sum's L + 1 digits, least significant first, the last
being the final carry (possibly 0; Gym omitted a zero carry, here every episode of a length has
the same target length). Gym's ``ReversedAddition-v0``: base 3, 2 rows (``ReversedAddition3-v0``:
3 rows, ``rows=3`` here). Defaults: ``base=3``, ``rows=2`` (input_size 4, output_size 3),
``input_access="tape"``, lengths 1-20.

Output counts at any step: each sum digit is due as soon as its column has been read (Gym's
semantics).

Memory: never needed (the carry is agent state).

## Time Limit

``3 rows L + 2 (L + 1) + 4`` steps (Gym allowed ``input + target + 4``, which made
ReversedAddition3 nearly unsolvable); the reference takes ``rows L + 1``.""",
        ),
    )
}
"""Every tape task by name, in registration order."""


def register_tape_envs() -> None:
    """Register every tape id under the ``glimpse_envs/`` namespace (idempotent)."""
    for name, entry in TASKS.items():
        if entry.id in gym.registry:
            continue
        gym.register(
            id=entry.id,
            entry_point="glimpse_envs.tape_env:TapeEnv",
            vector_entry_point="glimpse_envs.tape_env:TapeVectorEnv",
            kwargs={"task": name},
            reward_threshold=entry.reward_threshold,
        )


TAPE_IDS = [entry.id for entry in TASKS.values()]
"""Every tape id, in registration order."""
