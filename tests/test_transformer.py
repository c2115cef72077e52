"""Transformer and Universal Transformer baselines on the tape tasks: shapes, gradients, position
schemes, ACT halting and ponder cost, a short run that beats chance, resume, train.py, render."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _supervised_helpers import check_state_roundtrip, train

from agents.base import RunConfig
from agents.transformer import (
    POSITIONS,
    SequenceTransformer,
    TransformerConfig,
    TransformerTrainer,
    UniversalTransformerConfig,
    UniversalTransformerTrainer,
    alibi_bias,
    rotate,
)
from glimpse_envs.tape_tasks import CopyTask


@pytest.mark.parametrize("positions", POSITIONS)
@pytest.mark.parametrize("universal", [False, True])
def test_shapes_and_gradients(positions, universal):
    torch.manual_seed(0)
    cfg = TransformerConfig(
        d_model=16, heads=2, layers=2, ff=32, positions=positions, max_positions=64, act_max_steps=3
    )
    model = SequenceTransformer(5, 4, cfg, universal)
    x = torch.randn(3, 11, 5)
    out = model(x)
    assert out.shape == (3, 11, 4) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all()
        for n, p in model.named_parameters()
        if not n.startswith("pos")
    )
    if universal:
        assert model.ponder.shape == (3, 11)
        assert ((model.ponder >= 1) & (model.ponder <= 3 + 1)).all()  # N + R within the budget


def test_relative_schemes_depend_on_offsets_only():
    q = torch.randn(1, 1, 6, 8)
    r = rotate(q)
    shifted = rotate(torch.cat([torch.randn(1, 1, 3, 8), q], 2))[:, :, 3:]
    # the score of a pair depends on its offset: shifting both by 3 keeps every dot product
    assert torch.allclose(r @ r.transpose(-1, -2), shifted @ shifted.transpose(-1, -2), atol=1e-4)
    b = alibi_bias(4, 5)
    assert b.shape == (4, 5, 5) and (b.diagonal(dim1=1, dim2=2) == 0).all()
    assert torch.allclose(b[:, 0, 2], b[:, 2, 4]) and (b[0] <= 0).all()


def test_learned_positions_refuse_longer_sequences():
    model = SequenceTransformer(
        3,
        2,
        TransformerConfig(
            d_model=8, heads=2, layers=1, ff=8, positions="learned", max_positions=10
        ),
    )
    with pytest.raises(ValueError, match="max_positions=10"):
        model(torch.zeros(1, 11, 3))


@pytest.mark.parametrize(
    "cls,cfg_cls",
    [
        (TransformerTrainer, TransformerConfig),
        (UniversalTransformerTrainer, UniversalTransformerConfig),
    ],
)
def test_short_run_on_copy_beats_chance_and_resumes(cls, cfg_cls):
    torch.set_num_threads(1)
    cfg = cfg_cls(
        d_model=32,
        heads=2,
        ff=64,
        max_length=3,
        eval_lengths=[3],
        batch_size=16,
        lr=3e-3,
        act_max_steps=3,
    )
    tr = cls(RunConfig(env="x", agent=cls.name, seed=0), cfg, task=CopyTask(bits=4))
    metrics = train(tr, 300)
    result = tr.evaluate("test", 200)
    assert result["bit_errors@3"] < 4.0, result  # chance: 6 of 12 bits
    if cls is UniversalTransformerTrainer:
        assert 1 <= metrics["charts/ponder_steps"] <= 4 and "ponder_steps@3" in result
    trace = tr.trace("test", 0)
    assert trace["read"].shape == (4 + 3, 4 + 3)
    assert np.allclose(trace["read"].sum(1), 1, atol=1e-5)
    check_state_roundtrip(tr)


def test_ponder_cost_lowers_the_steps_taken():
    """With a large ponder cost the halting unit learns to stop sooner."""
    torch.set_num_threads(1)
    steps = {}
    for cost in (0.0, 1.0):
        cfg = UniversalTransformerConfig(
            d_model=16,
            heads=2,
            ff=32,
            max_length=3,
            eval_lengths=[3],
            batch_size=16,
            lr=3e-3,
            act_max_steps=6,
            ponder_cost=cost,
        )
        tr = UniversalTransformerTrainer(
            RunConfig(env="x", agent="universal-transformer", seed=0), cfg, task=CopyTask(bits=4)
        )
        steps[cost] = train(tr, 100)["charts/ponder_steps"]
    assert steps[1.0] < steps[0.0] - 0.5, steps


@pytest.mark.parametrize("agent", ["transformer", "universal-transformer"])
def test_through_train_py_evaluate_and_render(agent, tmp_path, capsys):
    from agents import cli

    torch.set_num_threads(1)
    out = tmp_path / "runs"
    assert (
        cli.main(
            [
                "--agent",
                agent,
                "--env",
                "glimpse_envs/Copy-v0",
                "--steps",
                "3000",
                "--d-model",
                "16",
                "--heads",
                "2",
                "--ff",
                "16",
                "--max-length",
                "3",
                "--eval-lengths",
                "[3, 6]",
                "--eval-every",
                "0",
                "--test-episodes",
                "20",
                "--positions",
                "alibi",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    (run_dir,) = list(out.iterdir())
    assert cli.main(["evaluate", "--checkpoint", str(run_dir), "--episodes", "10"]) == 0
    assert (
        cli.main(
            [
                "render",
                "--checkpoint",
                str(run_dir),
                "--episodes",
                "1",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert list((tmp_path / "r").glob("*.png"))
    assert cli.main(["--list"]) == 0
    assert agent in capsys.readouterr().out


def test_vit_patches_shapes_and_attention_map():
    from agents.transformer import VisionTransformer, ViTConfig

    cfg = ViTConfig(patch=7, d_model=16, heads=2, layers=2, ff=16)
    model = VisionTransformer(60, cfg, num_classes=10, n_targets=2)
    images = torch.rand(3, 60, 60)
    p = model.patches(images)
    assert p.shape == (3, 81, 49)  # 60 padded to 63: 9 x 9 patches
    assert torch.equal(p[1, 10].view(7, 7), images[1, 7:14, 7:14])  # patch (row 1, col 1)
    assert torch.count_nonzero(p[:, -1].view(3, 7, 7)[:, :, 4:]) == 0  # the padding
    assert model(images).shape == (3, 2, 10)


def test_vit_beats_chance_and_traces(tiny):
    from _supervised_helpers import make_trainer

    from agents.transformer import ViTTrainer

    tr = make_trainer(ViTTrainer, "glimpse_envs/MNIST-v0", d_model=32, layers=2, batch_size=32)
    assert tr.compute_per_decision() == {"pixels": 784.0}
    train(tr, 150)
    result = tr.evaluate("test", 500)
    assert result["error"] < 60.0, result  # chance: 90 % (measured: 36.6 after 150 updates)
    trace = tr.trace("test", 0)
    assert trace["filters"].shape == (1, 28, 28)
    assert np.isclose(trace["filters"].sum(), 1.0, atol=1e-4) and (trace["filters"] >= 0).all()
    check_state_roundtrip(tr)
