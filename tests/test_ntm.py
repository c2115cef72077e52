"""NTM addressing on hand-made vectors, finite-difference gradients, and stability."""

import pytest
import torch

from agents.ntm import (
    NTM,
    address,
    content_weights,
    interpolate,
    read_memory,
    sharpen,
    shift,
    write_memory,
)

torch.set_num_threads(1)


def one_hot(i, n=8):
    w = torch.zeros(1, n)
    w[0, i] = 1.0
    return w


def test_shift_by_plus_one_moves_one_hot_by_one_cell():
    s = torch.tensor([[0.0, 0.0, 1.0]])  # shifts -1, 0, +1
    assert torch.equal(shift(one_hot(3), s), one_hot(4))
    assert torch.equal(shift(one_hot(7), s), one_hot(0))  # circular
    assert torch.equal(shift(one_hot(0), torch.tensor([[1.0, 0.0, 0.0]])), one_hot(7))
    assert torch.equal(shift(one_hot(5), torch.tensor([[0.0, 1.0, 0.0]])), one_hot(5))


def test_sharpening_with_large_gamma_approaches_one_hot():
    w = torch.tensor([[0.1, 0.2, 0.4, 0.3]])
    assert torch.allclose(sharpen(w, torch.tensor([[1.0]])), w)
    s = sharpen(w, torch.tensor([[60.0]]))
    assert torch.allclose(s, torch.tensor([[0.0, 0.0, 1.0, 0.0]]), atol=1e-6)
    # no 0/0 even when every weight underflows w^gamma
    tiny = torch.full((1, 4), 1e-30)
    assert torch.isfinite(sharpen(tiny, torch.tensor([[50.0]]))).all()


def test_content_addressing_picks_most_similar_row():
    memory = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]])
    key = torch.tensor([[0.0, 0.0, 5.0]])  # cosine ignores magnitudes
    w = content_weights(memory, key, torch.tensor([[50.0]]))
    assert torch.allclose(w, torch.tensor([[0.0, 0.0, 1.0]]), atol=1e-6)
    uniform = content_weights(memory, key, torch.tensor([[0.0]]))
    assert torch.allclose(uniform, torch.full((1, 3), 1 / 3))


def test_interpolation():
    a, b = one_hot(1, 4), one_hot(2, 4)
    assert torch.equal(interpolate(a, b, torch.tensor([[1.0]])), a)
    assert torch.equal(interpolate(a, b, torch.tensor([[0.0]])), b)


def test_erase_one_then_add_writes_exactly_the_add_vector():
    torch.manual_seed(0)
    memory = torch.randn(1, 8, 5)
    add = torch.randn(1, 5)
    new = write_memory(memory, one_hot(2), torch.ones(1, 5), add)
    assert torch.equal(new[0, 2], add[0])
    assert torch.equal(new[0, [0, 1, 3, 4, 5, 6, 7]], memory[0, [0, 1, 3, 4, 5, 6, 7]])
    assert torch.equal(read_memory(new, one_hot(2)), add)


def test_addressing_gradcheck():
    torch.manual_seed(0)
    d = {"dtype": torch.float64}
    args = (
        torch.randn(2, 6, 4, **d),  # memory
        torch.softmax(torch.randn(2, 6, **d), -1),  # previous weighting
        torch.randn(2, 4, **d),  # key
        torch.rand(2, 1, **d) * 3,  # beta
        torch.rand(2, 1, **d),  # gate
        torch.softmax(torch.randn(2, 3, **d), -1),  # shifts
        1 + torch.rand(2, 1, **d) * 2,  # gamma
    )
    args = tuple(a.requires_grad_(True) for a in args)
    assert torch.autograd.gradcheck(address, args)


def test_write_read_gradcheck():
    torch.manual_seed(0)
    d = {"dtype": torch.float64}
    m, w = torch.randn(2, 5, 3, **d), torch.softmax(torch.randn(2, 5, **d), -1)
    e, a = torch.rand(2, 3, **d), torch.randn(2, 3, **d)
    args = tuple(t.requires_grad_(True) for t in (m, w, e, a))
    assert torch.autograd.gradcheck(
        lambda m, w, e, a: read_memory(write_memory(m, w, e, a), w), args
    )


def test_ntm_is_finite_on_long_extreme_inputs_and_gradients():
    torch.manual_seed(0)
    for controller in ("lstm", "feedforward"):
        model = NTM(10, 9, controller=controller)
        x = torch.randint(0, 2, (4, 150, 10)).float() * 50  # long and large: no NaN, no inf
        out, r, w = model(x, return_trace=True)
        assert out.shape == (4, 150, 9) and r.shape == (4, 150, 128) and w.shape == (4, 150, 128)
        assert torch.isfinite(out).all()
        assert torch.allclose(r.sum(-1), torch.ones(4, 150), atol=1e-4)
        out.square().mean().backward()
        for p in model.parameters():
            assert p.grad is None or torch.isfinite(p.grad).all()


@pytest.mark.slow
def test_ntm_trainer_copy_short_beats_chance():
    import numpy as np
    from _supervised_helpers import check_state_roundtrip

    from agents.base import RunConfig
    from agents.ntm import NTMConfig, NTMTrainer
    from glimpse_envs.tape_tasks import CopyTask

    run = RunConfig(env="glimpse_envs/Copy-v0", agent="ntm", seed=0)
    cfg = NTMConfig(optimizer="adam", lr=3e-3, max_length=3, eval_lengths=[3, 5], batch_size=16)
    tr = NTMTrainer(run, cfg, task=CopyTask(bits=4))
    assert tr.input_size == 5 and tr.output_size == 4  # 4 data bits + the delimiter channel
    before = tr.evaluate("test", 200)
    for _ in range(500):
        metrics = tr.train_iteration()
        assert np.isfinite(metrics["losses/bits_per_sequence"])
    after = tr.evaluate("test", 200)
    # length 3: 12 target bits, chance 6 wrong; 500 updates of 16 reach about 1-3
    assert after["bit_errors@3"] < 4.0, (before, after)
    assert after["bit_errors@3"] < before["bit_errors@3"] - 2
    assert after["memory_cells"] == 128
    trace = tr.trace("test", 0)
    steps = len(trace["inputs"]) + len(trace["targets"])
    assert trace["read"].shape == (steps, 128) and trace["write"].shape == (steps, 128)
    assert trace["outputs"].shape == trace["targets"].shape
    check_state_roundtrip(tr)


def test_ntm_trainer_runs_every_ntm_task():
    from agents.base import RunConfig
    from agents.ntm import NTMConfig, NTMTrainer
    from glimpse_envs.tape_tasks import (
        AssociativeRecallTask,
        DynamicNGramsTask,
        PrioritySortTask,
        RepeatCopyTask,
    )

    tasks = [
        (RepeatCopyTask(bits=4, max_repeats=3), 2),
        (AssociativeRecallTask(bits=4), 3),
        (DynamicNGramsTask(), 20),
        (PrioritySortTask(bits=4), 4),
    ]
    for task, length in tasks:
        cfg = NTMConfig(
            max_length=length,
            min_length=length,
            eval_lengths=[length],
            controller="feedforward",
            batch_size=4,
        )
        tr = NTMTrainer(RunConfig(env="x", agent="ntm", seed=0), cfg, task=task)
        m = tr.train_iteration()
        assert torch.isfinite(torch.tensor(m["losses/bits_per_sequence"]))
        r = tr.evaluate("validation", 8)
        assert f"bit_errors@{length}" in r and 0 <= r["success"] <= 1


def test_curriculum_levels_growth_and_checkpoint():
    import numpy as np

    from agents.base import RunConfig
    from agents.ntm import NTMConfig, NTMTrainer
    from glimpse_envs.tape_tasks import RepeatCopyTask

    task = RepeatCopyTask(bits=2, max_repeats=3)
    run = RunConfig(env="x", agent="ntm", seed=0)
    kw = dict(min_length=1, max_length=3, eval_lengths=[2], controller="feedforward", batch_size=4)
    cfg = NTMConfig(curriculum=True, curriculum_window=4, curriculum_threshold=0.5, **kw)
    tr = NTMTrainer(run, cfg, task=task)
    # lengths 1..3 at one repeat (a copy), then 2 and 3 repeats at every length
    assert [(t.max_repeats, n) for t, n in tr.levels] == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)]
    assert tr.levels[-1][0] is task  # the last level is the task itself
    assert tr.level == 1
    m = tr.train_iteration()  # level 1: one repeat of one symbol
    assert m["charts/length"] == 1 and m["charts/curriculum_level"] == 1
    tr.record_curriculum(np.array([True, False, False, False]))  # 1 of 4 < 0.5: stays
    assert tr.level == 1
    tr.record_curriculum(np.array([True, True, True, False]))  # last 4: 3 of 4 right
    assert tr.level == 2
    state = tr.state_dict()
    other = NTMTrainer(run, cfg, task=task)
    other.load_state_dict(state)
    assert other.level == 2
    # a checkpoint trained without the curriculum does not silently resume with it
    plain = NTMTrainer(run, NTMConfig(**kw), task=task)
    assert plain.level == len(plain.levels)
    with pytest.raises(ValueError, match="without --curriculum"):
        other.load_state_dict(plain.state_dict())
    with pytest.raises(ValueError, match="threshold"):
        NTMTrainer(run, NTMConfig(curriculum=True, curriculum_threshold=0, **kw), task=task)


def test_curriculum_moves_up_as_the_ntm_learns():
    from agents.base import RunConfig
    from agents.ntm import NTMConfig, NTMTrainer
    from glimpse_envs.tape_tasks import CopyTask

    cfg = NTMConfig(
        lr=3e-3, min_length=1, max_length=6, eval_lengths=[2], batch_size=16,
        curriculum=True, curriculum_window=32, curriculum_threshold=0.8,
    )  # fmt: skip
    tr = NTMTrainer(RunConfig(env="x", agent="ntm", seed=0), cfg, task=CopyTask(bits=2))
    lengths = [tr.train_iteration()["charts/length"] for _ in range(150)]
    assert lengths[0] == 1 and tr.level >= 3, tr.level
    assert max(lengths) <= tr.level  # never beyond the level's cap
