"""UniformStreams: each row is exactly its generator's ``random()`` sequence, however it is taken."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from glimpse_envs.streams import UniformStreams
from glimpse_envs.tape_tasks import TASKS, GeneratorTaker


def test_rows_are_their_generators_sequences():
    """Ragged takes, zero counts, refills and a widening keep every row's sequence unbroken."""
    n = 4
    streams = UniformStreams(n, width=8)
    for i in range(n):
        streams.set_rng(i, np.random.default_rng(10 + i))
    rng = np.random.default_rng(0)
    got = [[] for _ in range(n)]
    for step in range(60):
        rows = np.flatnonzero(rng.random(n) < 0.6)
        if not rows.shape[0]:
            continue
        counts = rng.integers(0, 6, rows.shape[0])
        if step == 30:
            counts[0] = 21  # more than a block: the blocks widen
        if step % 3 == 0:  # one int for every row: the 2-D gather
            u = streams.take(rows, int(counts[0]))
            counts[:] = counts[0]
        else:
            u = streams.take(rows, counts)
        assert u.shape == (counts.sum(),) and u.dtype == np.float64
        for part, i in zip(np.split(u, np.cumsum(counts)[:-1]), rows.tolist()):
            got[i].extend(part.tolist())
    assert streams.width >= 21
    for i in range(n):
        want = np.random.default_rng(10 + i).random(len(got[i]))
        np.testing.assert_array_equal(np.array(got[i]), want)


def test_one_row_taker_and_reseeding_and_pickling():
    streams = UniformStreams(2, width=5)
    streams.set_rng(0, np.random.default_rng(1))
    take = streams.taker(np.array([0]))
    first = np.concatenate([take(3), take(np.array([4])), take(0)])
    np.testing.assert_array_equal(first, np.random.default_rng(1).random(7))
    copy = pickle.loads(pickle.dumps(streams))
    np.testing.assert_array_equal(copy.take([0], 6), streams.take([0], 6))
    streams.set_rng(0, np.random.default_rng(1))  # a new generator drops what was buffered
    np.testing.assert_array_equal(streams.take([0], 2), np.random.default_rng(1).random(2))
    assert streams.take([1], 3).shape == (3,)  # never seeded: a fresh unpredictable generator


@pytest.mark.parametrize("name", list(TASKS))
def test_batched_episodes_equal_one_at_a_time(name):
    """task.generate over many envs of mixed lengths, each from its own stream, gives every env the
    episode sample(rng, 1, length) draws from the same generator: what makes the vector env equal
    single envs."""
    task = TASKS[name]()
    lengths = np.array([max(task.min_length, n) for n in (1, 5, 2, 9, 3, 12)])
    n = lengths.shape[0]
    streams = UniformStreams(n, width=16)
    refs = []
    for i in range(n):
        streams.set_rng(i, np.random.default_rng(100 + i))
        refs.append(np.random.default_rng(100 + i))
    for _ in range(4):
        inputs, li, targets, lt = task.generate(streams.taker(np.arange(n)), lengths)
        xs, ys = np.split(inputs, np.cumsum(li)[:-1]), np.split(targets, np.cumsum(lt)[:-1])
        for i in range(n):
            x, y = task.sample(refs[i], 1, int(lengths[i]))
            np.testing.assert_array_equal(xs[i], x[0])
            np.testing.assert_array_equal(ys[i], y[0][y[0] >= 0])


def test_associative_recall_redraws_repeated_items_per_episode():
    """Four possible items and two per episode: repeats are common, every episode ends distinct,
    and the batched redraw takes exactly what a one-episode redraw takes."""
    task = TASKS["AssociativeRecall"](bits=1, item_length=2)
    lengths = np.full(40, 2)
    streams = UniformStreams(40)
    for i in range(40):
        streams.set_rng(i, np.random.default_rng(i))
    inputs, li, _, _ = task.generate(streams.taker(np.arange(40)), lengths)
    items = inputs.reshape(40, -1)[:, :6].reshape(40, 2, 3)[:, :, 1:]
    assert (items[:, 0] != items[:, 1]).any(1).all()
    for i in range(40):
        x, _ = task.sample(np.random.default_rng(i), 1, 2)
        np.testing.assert_array_equal(inputs.reshape(40, -1)[i], x[0])
    first_draws = [(np.random.default_rng(i).random(2) * 4).astype(int) for i in range(40)]
    redrawn = sum(int(c[0] == c[1]) for c in first_draws)
    assert redrawn >= 1


def test_generator_taker_is_sample():
    task = TASKS["Copy"]()
    a, _ = task.sample(np.random.default_rng(3), 2, 4)
    inputs, _, _, _ = task.generate(GeneratorTaker(np.random.default_rng(3)), np.array([4, 4]))
    np.testing.assert_array_equal(a.reshape(-1), inputs)
