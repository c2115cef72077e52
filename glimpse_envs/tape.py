"""The tape envs: one small :class:`~glimpse_envs.tape_env.TapeEnv` subclass per task, and their ids.

Every class docstring is the env's documentation page. The sections shared by every tape env
(spaces, rewards, episode end, arguments, vector env) are written once, in ``_COMMON``, and appended.
"""

from __future__ import annotations

import math

import gymnasium as gym

from glimpse_envs import tape_tasks as tt
from glimpse_envs.tape_env import TapeEnv, TapeVectorEnv

_COMMON = """
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


SOLVED_SHARE = 0.95
"""A tape id's ``reward_threshold`` is this share of its oracle's mean return (see :func:`_page`)."""


def reward_threshold(oracle_return: float) -> float:
    """``SOLVED_SHARE`` of ``oracle_return``, rounded down to one decimal."""
    return math.floor(SOLVED_SHARE * oracle_return * 10 + 1e-9) / 10


def _page(cls):
    """Append the sections every tape env shares, and its reward threshold, to ``cls``'s page."""
    threshold = (
        "\n    ## Reward Threshold\n\n"
        f"    ``reward_threshold = {reward_threshold(cls.oracle_return)}`` is registered (the spec's,\n"
        f"    for the default arguments): {SOLVED_SHARE:.0%} of the mean return of the task's oracle,\n"
        f"    {cls.oracle_return}, with lengths uniform over the default training range as the finished\n"
        "    curriculum draws them. A mean return over 100 episodes at or above it needs the curriculum\n"
        "    at its end and nearly every episode solved.\n"
    )
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + threshold + _COMMON
    return cls


@_page
class CopyEnv(TapeEnv):
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
    takes 3L, a hard head needs at least ``2 L + 1`` (store, then at least L outputs).
    """

    task_class = tt.CopyTask
    env_name = "Copy-v0"
    #: the oracle's mean return over the default lengths (mean target length: (1 + 20) / 2)
    oracle_return = 10.5


@_page
class RepeatCopyEnv(TapeEnv):
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

    ``3 (L + 1) + 2 (n L + 1) + 4`` steps; the reference takes ``L + 2 n L + 1``.
    """

    task_class = tt.RepeatCopyTask
    env_name = "RepeatCopy-v0"
    #: the oracle's mean return over the default lengths (L n + 1 symbols, n uniform in 1-10, L in 1-10: 5.5 * 5.5 + 1)
    oracle_return = 31.25


@_page
class ReverseEnv(TapeEnv):
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

    ``3 L + 2 L + 4`` steps; the reference takes ``2 L + 1``.
    """

    task_class = tt.ReverseTask
    env_name = "Reverse-v0"
    #: the oracle's mean return over the default lengths (mean target length: (1 + 20) / 2)
    oracle_return = 10.5


@_page
class DuplicatedInputEnv(TapeEnv):
    """Gym's duplicated input: every symbol appears ``duplication`` times; output each once.

    ## Description

    The input is ``x_1 .. x_L`` with each symbol repeated ``duplication`` times (neighbouring groups
    may hold the same symbol, so the agent must count); the target is ``x_1 .. x_L``. Gym's
    ``DuplicatedInput-v0``: 5 symbols, duplication 2. Defaults: ``base=5``, ``duplication=2``
    (input_size 6, output_size 5), ``input_access="tape"``, lengths 1-20.

    Output counts at any step: reading and writing overlap by design (Gym's semantics).

    Memory: never needed (a count up to ``duplication``).

    ## Time Limit

    ``3 d L + 2 L + 4`` steps; the reference takes ``d L``.
    """

    task_class = tt.DuplicatedInputTask
    env_name = "DuplicatedInput-v0"
    #: the oracle's mean return over the default lengths (mean target length: (1 + 20) / 2)
    oracle_return = 10.5


@_page
class ForwardReverseEnv(TapeEnv):
    """Reverse with a forward-only input head: the memory tape is required.

    ## Description

    As Reverse-v0 (same generator), but the input head only stays or moves right
    (``input_access="forward"``, I = 2), so the sequence must be stored in memory and read back
    leftwards. Defaults: ``base=2`` (input_size 3, output_size 2), lengths 1-20. Output counts at
    any step, as in Reverse-v0.

    Memory: L cells under forward/stream access.

    ## Time Limit

    ``3 L + 2 L + 4`` steps; the reference takes ``2 L + 1``.
    """

    task_class = tt.ForwardReverseTask
    env_name = "ForwardReverse-v0"
    #: the oracle's mean return over the default lengths (mean target length: (1 + 20) / 2)
    oracle_return = 10.5


@_page
class AssociativeRecallEnv(TapeEnv):
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
    (store, go back, scan for the query, read out) takes at most ``3 input_length``.
    """

    task_class = tt.AssociativeRecallTask
    env_name = "AssociativeRecall-v0"
    #: the oracle's mean return over the default lengths (one item of 3 symbols at every length)
    oracle_return = 3.0


@_page
class DynamicNGramsEnv(TapeEnv):
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

    ``L - 1`` steps, exactly the predictions.
    """

    task_class = tt.DynamicNGramsTask
    env_name = "DynamicNGrams-v0"
    #: the oracle's mean return over the default lengths (the Bayes-optimal predictor's expected score, task.bayes_expected_score())
    oracle_return = 151.6


@_page
class PrioritySortEnv(TapeEnv):
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
    stored items and comes back once per output fits.
    """

    task_class = tt.PrioritySortTask
    env_name = "PrioritySort-v0"
    #: the oracle's mean return over the default lengths (mean target length over lengths 1-20)
    oracle_return = 8.8


@_page
class ReversedAdditionEnv(TapeEnv):
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
    ReversedAddition3 nearly unsolvable); the reference takes ``rows L + 1``.
    """

    task_class = tt.ReversedAdditionTask
    env_name = "ReversedAddition-v0"
    #: the oracle's mean return over the default lengths (mean target length: (2 + 21) / 2)
    oracle_return = 11.5


ENVS = [
    CopyEnv,
    RepeatCopyEnv,
    ReverseEnv,
    DuplicatedInputEnv,
    ForwardReverseEnv,
    AssociativeRecallEnv,
    DynamicNGramsEnv,
    PrioritySortEnv,
    ReversedAdditionEnv,
]
"""Every tape env class, in registration order."""


def _vector_twin(env_cls):
    twin = type(
        env_cls.__name__.replace("Env", "VectorEnv"),
        (TapeVectorEnv,),
        {
            "env_class": env_cls,
            "__doc__": f"Native batched {env_cls.env_name} (see :class:`{env_cls.__name__}` and TapeVectorEnv).",
            "__module__": __name__,
        },
    )
    return twin


CopyVectorEnv = _vector_twin(CopyEnv)
RepeatCopyVectorEnv = _vector_twin(RepeatCopyEnv)
ReverseVectorEnv = _vector_twin(ReverseEnv)
DuplicatedInputVectorEnv = _vector_twin(DuplicatedInputEnv)
ForwardReverseVectorEnv = _vector_twin(ForwardReverseEnv)
AssociativeRecallVectorEnv = _vector_twin(AssociativeRecallEnv)
DynamicNGramsVectorEnv = _vector_twin(DynamicNGramsEnv)
PrioritySortVectorEnv = _vector_twin(PrioritySortEnv)
ReversedAdditionVectorEnv = _vector_twin(ReversedAdditionEnv)


def register_tape_envs() -> None:
    """Register every tape id under the ``glimpse_envs/`` namespace (idempotent)."""
    for env_cls in ENVS:
        env_id = f"glimpse_envs/{env_cls.env_name}"
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=f"{__name__}:{env_cls.__name__}",
            vector_entry_point=f"{__name__}:{env_cls.__name__.replace('Env', 'VectorEnv')}",
            reward_threshold=reward_threshold(env_cls.oracle_return),
        )


TAPE_IDS = [f"glimpse_envs/{c.env_name}" for c in ENVS]
"""Every tape id, in registration order."""
