"""The tape task generators: shapes, codes, targets from the definitions, to_bits, the Bayes predictor."""

from __future__ import annotations

import numpy as np
import pytest

from glimpse_envs import tape_tasks as tt

LENGTHS = [1, 2, 7, 20]


def _tasks():
    return [(name, cls()) for name, cls in tt.TASKS.items()]


@pytest.mark.parametrize("name,task", _tasks(), ids=[n for n, _ in _tasks()])
def test_shapes_codes_and_determinism(name, task):
    for length in LENGTHS:
        length = max(length, task.min_length)
        a_in, a_tg = task.sample(np.random.default_rng(3), 5, length)
        b_in, b_tg = task.sample(np.random.default_rng(3), 5, length)
        assert a_in.dtype == np.int64 and a_tg.dtype == np.int64
        assert a_in.shape == (5, task.input_length(length))
        assert a_tg.shape == (5, task.target_length(length))
        np.testing.assert_array_equal(a_in, b_in)
        np.testing.assert_array_equal(a_tg, b_tg)
        assert a_in.min() >= 1 and a_in.max() < task.input_size  # no blank inside an input
        valid = a_tg[a_tg >= 0]
        assert valid.max() < task.output_size
        assert (task.target_lengths(a_tg) >= 1).all()
        assert task.input_bits(a_in).shape == a_in.shape + (task.bits + task.input_markers,)
        assert task.target_bits(a_tg).shape == a_tg.shape + (task.bits + task.output_markers,)
    assert repr(task).startswith(type(task).__name__)


def test_copy_reverse_duplicated_targets():
    rng = np.random.default_rng(0)
    x, y = tt.CopyTask(bits=3).sample(rng, 4, 9)
    np.testing.assert_array_equal(y, x[:, :-1] - 1)
    assert (x[:, -1] == 9).all()
    x, y = tt.ReverseTask(base=4).sample(rng, 4, 9)
    np.testing.assert_array_equal(y, x[:, ::-1] - 1)
    x, y = tt.DuplicatedInputTask(base=5, duplication=3).sample(rng, 4, 6)
    np.testing.assert_array_equal(x[:, ::3] - 1, y)
    np.testing.assert_array_equal(x[:, 1::3], x[:, ::3])


def test_repeat_copy_targets():
    task = tt.RepeatCopyTask(bits=2, max_repeats=4)
    x, y = task.sample(np.random.default_rng(1), 20, 3)
    for row_in, row_tg in zip(x, y):
        n = row_in[-1] - task.num_symbols
        assert 1 <= n <= 4
        expect = list(np.tile(row_in[:-1] - 1, n)) + [task.num_symbols]
        assert list(row_tg[: len(expect)]) == expect
        assert (row_tg[len(expect) :] == tt.PAD).all()


def test_repeat_copy_capped_keeps_the_encoding_and_caps_the_counts():
    task = tt.RepeatCopyTask(bits=2, max_repeats=4)
    cap = task.capped(2)
    x, y = cap.sample(np.random.default_rng(3), 200, 3)
    counts = x[:, -1] - task.num_symbols
    assert set(counts.tolist()) == {1, 2}  # both counts drawn, none above the cap
    assert y.shape == (200, 2 * 3 + 1)  # targets padded to the cap's length
    bits = cap.input_bits(x)
    assert bits.shape[-1] == task.input_bits(x).shape[-1]  # the full task's channels
    np.testing.assert_array_equal(bits, task.input_bits(x))
    for bad in (0, 5):
        with pytest.raises(ValueError, match="max_repeats"):
            task.capped(bad)


def test_associative_recall_targets():
    task = tt.AssociativeRecallTask(bits=2, item_length=2)
    x, y = task.sample(np.random.default_rng(2), 30, 5)
    k, v = 2, task.num_symbols
    for row_in, row_tg in zip(x, y):
        items = row_in[: 5 * (k + 1)].reshape(5, k + 1)
        assert (items[:, 0] == v + 1).all()
        assert row_in[5 * (k + 1)] == v + 2 and row_in[-1] == v + 2
        query = list(row_in[5 * (k + 1) + 1 : -1])
        vectors = [list(r[1:]) for r in items]
        assert len({tuple(r) for r in vectors}) == 5  # distinct items
        j = vectors.index(query)
        assert j < 4 and list(row_tg + 1) == vectors[j + 1]


def test_priority_sort_targets_stable_and_quantised():
    task = tt.PrioritySortTask(bits=3, priority_levels=3, keep=0.8)
    x, y = task.sample(np.random.default_rng(4), 30, 10)
    assert y.shape == (30, 8)
    for row_in, row_tg in zip(x, y):
        pr = row_in[0:-1:2] - task.num_symbols - 1
        data = row_in[1::2] - 1
        assert pr.min() >= 0 and pr.max() < 3
        order = sorted(range(10), key=lambda j: (-pr[j], j))[:8]
        assert list(row_tg) == [data[j] for j in order]
    assert tt.PrioritySortTask().target_length(20) == 16  # the paper's 16 of 20


def test_reversed_addition_targets():
    for rows in (2, 3):
        task = tt.ReversedAdditionTask(base=3, rows=rows)
        x, y = task.sample(np.random.default_rng(5), 20, 6)
        for row_in, row_tg in zip(x, y):
            grid = (row_in - 1).reshape(6, rows)
            total = sum(int(grid[i, r]) * 3**i for i in range(6) for r in range(rows))
            assert sum(int(d) * 3**i for i, d in enumerate(row_tg)) == total
            assert len(row_tg) == 7


def test_to_bits():
    sym = np.array([[0, 1, 4, 5, 6]])  # blank, data 0, data 3, marker 0, marker 1 (bits=2)
    b = tt.to_bits(sym, 2, num_markers=2)
    assert b.shape == (1, 5, 4) and b.dtype == np.float32
    np.testing.assert_array_equal(
        b[0], [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    )
    out = tt.to_bits(np.array([2, 4, -1]), 2, num_markers=1, blank=False)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    task = tt.CopyTask(bits=8)
    x, _ = task.sample(np.random.default_rng(0), 2, 5)
    np.testing.assert_array_equal(tt.to_bits(x, 8), task.input_bits(x))  # DESIGN's call
    with pytest.raises(ValueError, match="num_markers"):
        tt.to_bits(np.array([7]), 2, num_markers=1)
    with pytest.raises(TypeError, match="integer"):
        tt.to_bits(np.array([0.5]), 2)
    with pytest.raises(ValueError, match="does not fit"):
        tt.to_bits(np.array([1]), 2, num_symbols=5)


def _bayes_reference(bits, n):
    c, out = n - 1, []
    counts: dict = {}
    for t in range(len(bits) - 1):
        if t + 1 < c:
            out.append(0.5)
            continue
        ctx = tuple(bits[t + 1 - c : t + 1])
        n0, n1 = counts.get(ctx, (0, 0))
        out.append((n1 + 0.5) / (n0 + n1 + 1))
        counts[ctx] = (n0 + (bits[t + 1] == 0), n1 + (bits[t + 1] == 1))
    return out


def test_ngram_bayes_predictor_and_reference():
    task = tt.DynamicNGramsTask()
    x, y = task.sample(np.random.default_rng(6), 3, 60)
    np.testing.assert_array_equal(y, x[:, 1:] - 1)
    p = tt.ngram_bayes_predict(x - 1, 6)
    for row, prow in zip(x - 1, p):
        np.testing.assert_allclose(prow, _bayes_reference(list(row), 6))
    ref = task.bayes_expected_score(200, episodes=500, seed=1)
    assert 148 < ref < 157
    # the Bayes predictor beats always predicting the majority bit of the whole sequence (an oracle)
    x, y = task.sample(np.random.default_rng(7), 500, 200)
    majority = np.maximum(y.sum(1), 199 - y.sum(1)).mean()
    assert ref > majority > 100


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: tt.CopyTask(bits=0), "bits"),
        (lambda: tt.RepeatCopyTask(min_repeats=3, max_repeats=2), "min_repeats"),
        (lambda: tt.PrioritySortTask(keep=0), "keep"),
        (lambda: tt.ReversedAdditionTask(base=2, rows=3), "rows"),
        (lambda: tt.DuplicatedInputTask(duplication=0), "duplication"),
        (lambda: tt.CopyTask().sample(np.random.default_rng(0), 1, 0), "length 0"),
        (lambda: tt.AssociativeRecallTask().sample(np.random.default_rng(0), 1, 1), "length 1"),
        (
            lambda: tt.AssociativeRecallTask(bits=1, item_length=2).sample(
                np.random.default_rng(0), 1, 3
            ),
            "distinct",
        ),
        (lambda: tt.CopyTask().check_length(200, 128, "stream"), "memory_size>=200"),
    ],
)
def test_bad_configuration_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_rng_and_memory_bounds():
    with pytest.raises(TypeError, match="Generator"):
        tt.CopyTask().sample(np.random.RandomState(0), 1, 3)
    assert tt.CopyTask().max_length(128, "stream") == 128
    assert tt.CopyTask().max_length(128, "tape") == tt.LENGTH_CAP
    assert tt.PrioritySortTask().max_length(128, "stream") == 64
    assert tt.AssociativeRecallTask().max_length(128, "stream") == 32
