"""DRAM (agents/dram.py) on MultiMNIST-v0: shapes, where each loss's gradient goes, the context
network, clear errors, learning beyond chance, resume, evaluate and render through train.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import needs_mnist

from agents import cli as train
from agents import render
from agents.base import RunConfig
from agents.dram import Config, DRAMTrainer

MULTI = "glimpse_envs/MultiMNIST-v0"
SMALL = dict(glimpse_hidden=16, loc_hidden=16, glimpse_out=32, core_hidden=32, eval_batch=16)
TINY_CLI = [
    "--agent",
    "dram",
    "--env",
    "MultiMNIST-v0",
    "--num-envs",
    "16",
    "--core-hidden",
    "32",
    "--glimpse-out",
    "32",
    "--eval-batch",
    "16",
    "--threads",
    "1",
    "--no-progress",
]


def _trainer(tiny, num_envs=8, env_kwargs=None, **cfg) -> DRAMTrainer:
    torch.set_num_threads(1)
    run = RunConfig(
        env=MULTI,
        agent="dram",
        num_envs=num_envs,
        steps=10_000,
        env_kwargs={"dataset": tiny, **(env_kwargs or {})},
    )
    return DRAMTrainer(run, Config(**{**SMALL, **cfg}))


def _grads(model: torch.nn.Module, loss: torch.Tensor) -> dict[str, bool]:
    """Which top-level parts of the model ``loss`` sends a nonzero gradient to."""
    model.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    reached: dict[str, bool] = {}
    for name, p in model.named_parameters():
        part = name.split(".")[0]
        reached[part] = reached.get(part, False) or (
            p.grad is not None and bool(p.grad.abs().sum() > 0)
        )
    return reached


def test_shapes_and_where_each_loss_goes(tiny):
    t = _trainer(tiny)
    assert (t.n_digits, t.glimpses, t.per_digit) == (2, 6, 3)
    ep, losses = t.episode_losses(0)
    B = 8
    assert ep["logits"].shape == (B, 2, 10) and ep["answer"].shape == (B, 2)
    assert ep["label"].shape == (B, 2) and ep["locations"].shape == (B, 6, 2)
    # 5 placed glimpses (the env takes the first), 2 answers: 7 env steps
    assert ep["loc_logp"].shape == ep["baselines"].shape == (B, 5)
    assert ep["rewards"].shape == (B, 7) and ep["looks"].tolist() == [1, 1, 0, 1, 1, 1, 0]
    assert set(np.unique(ep["rewards"][:, ~ep["looks"]])) <= {0.0, 1.0}
    assert not ep["rewards"][:, ep["looks"]].any()
    # the env's reward is the digits answered right, in their positions
    right = ep["answer"].numpy() == ep["label"]
    np.testing.assert_array_equal(ep["rewards"].sum(1), right.sum(1))
    for v in losses.values():
        assert torch.isfinite(v)
    cls = _grads(t.model, losses["classifier"])
    assert cls["fc_glimpse"] and cls["r1"] and cls["classifier"]
    assert not (cls["r2"] or cls["location"] or cls["context_net"] or cls["baseline"])
    rl = _grads(t.model, losses["reinforce"])
    assert rl["location"] and rl["r2"] and rl["context_net"]
    assert not (rl["r1"] or rl["fc_glimpse"] or rl["classifier"] or rl["baseline"])
    base = _grads(t.model, losses["baseline"])
    assert base["baseline"] and not any(v for k, v in base.items() if k != "baseline")
    # --reinforce-core: the location pathway reaches r1 and the glimpse net too
    t2 = _trainer(tiny, reinforce_core=True)
    rl = _grads(t2.model, t2.episode_losses(0)[1]["reinforce"])
    assert rl["r1"] and rl["fc_glimpse"] and not rl["classifier"]
    m = t.train_iteration()
    assert m["env_steps"] == B * 6 and 0 <= m["charts/accuracy"] <= m["charts/digit_accuracy"] <= 1


def test_context_on_reads_this_episodes_canvas_and_off_starts_at_zero(tiny):
    on, off = _trainer(tiny), _trainer(tiny, context=False)
    assert hasattr(on.model, "context_net") and not hasattr(off.model, "context_net")
    assert on.num_parameters() > off.num_parameters()
    # the coarse view is of the canvases the env is playing: those of the fixed split
    obs, _ = on.vec.reset(options={"split": "test", "index": np.arange(8)})
    images, _ = on.vec.unwrapped.canvas.fixed("test", np.arange(8))
    np.testing.assert_array_equal(on.vec.canvases(), images)
    coarse = on.model.coarse(torch.as_tensor(images))
    assert coarse.shape == (8, 1, 15, 15)
    np.testing.assert_allclose(
        coarse[:, 0].numpy(), images.reshape(8, 15, 4, 15, 4).mean((2, 4)) / 255, atol=1e-5
    )
    h1, c1, h2, c2 = on.model.initial_state(8, on.device, torch.as_tensor(images))
    assert not h1.any() and not c1.any() and not c2.any()
    assert h2.abs().sum() > 0 and not torch.allclose(h2[0], h2[1])  # canvas-dependent
    assert not off.model.initial_state(8, off.device)[2].any()
    # the context's coarse values count in the pixels read; it changes nothing else of the env's
    e_on, e_off = on.evaluate("test", 16), off.evaluate("test", 16)
    assert e_on["glimpses"] == e_off["glimpses"] == 6
    assert e_on["pixels"] == e_off["pixels"] + 15 * 15 == 6 * 3 * 12 * 12 + 225
    assert 0 <= e_on["digit_error"] <= e_on["error"] <= 100
    with pytest.raises(ValueError, match="--no-context"):
        _trainer(tiny, core_layers=1)
    one = _trainer(tiny, core_layers=1, context=False)  # RAM's single core, answering a sequence
    assert not hasattr(one.model, "r2") and torch.isfinite(one.episode_losses(0)[1]["total"])


def test_trace_colours_the_path_per_digit(tiny):
    t = _trainer(tiny)
    tr = t.trace("test", 3)
    assert tr["image"].shape == (60, 60) and tr["locations"].shape == (6, 2)
    assert (
        tr["digits"].tolist() == [0, 0, 0, 1, 1, 1]
        and len(tr["label"]) == len(tr["prediction"]) == 2
    )
    assert tr["label"] == t.vec.unwrapped.canvas.fixed("test", [3])[1][0].tolist()
    img = render.VisualEpisode(tr, t.vec.unwrapped.sensor, title="DRAM").frame()
    for color in render.DIGIT_COLORS[:2]:
        assert (img == color).all(-1).any(), color  # each digit's path in its own colour
    frames = render.VisualEpisode(tr, t.vec.unwrapped.sensor).frames()
    assert len(frames) == 6 and len({f.shape for f in frames}) == 1


def test_bad_configurations_name_the_fix(tiny):
    with pytest.raises(ValueError, match="multiple of the digits"):
        _trainer(tiny, env_kwargs={"glimpses": 5})
    with pytest.raises(ValueError, match="--core-layers"):
        _trainer(tiny, core_layers=3, context=False)
    with pytest.raises(ValueError, match="--context-size"):
        _trainer(tiny, context_size=1)
    from agents.ram import Config as RAMConfig
    from agents.ram import RAMTrainer

    with pytest.raises(ValueError, match="use dram"):
        RAMTrainer(RunConfig(env=MULTI, env_kwargs={"dataset": tiny}), RAMConfig())


@pytest.mark.slow
@needs_mnist
def test_short_run_beats_chance_on_multimnist():
    """300 updates of 64 canvases (115k glimpses; 20-40 s on one CPU thread) at a constant rate of
    3e-3, validation on 500 canvases. Chance: 99 % sequence error, 90 % digit error. Measured
    (sequence / digit error %): seed 0 94.0 / 74.0, seed 1 95.8 / 75.9, seed 2 93.8 / 73.4
    (after 400 updates: 93.4 / 73.6, 91.0 / 67.5, 92.4 / 70.3)."""
    torch.set_num_threads(1)
    updates = 300
    run = RunConfig(env=MULTI, agent="dram", seed=0, num_envs=64, steps=updates * 64 * 6)
    t = DRAMTrainer(run, Config(lr=3e-3, lr_final=0.0))
    for _ in range(updates):
        t.train_iteration()
    res = t.evaluate("validation", 500)
    assert res["digit_error"] < 84.0, res  # chance 90
    assert res["error"] < 97.5, res  # chance 99


def _run_dir(out):
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


@needs_mnist
def test_resume_evaluate_and_render_through_train_py(tmp_path):
    torch.set_num_threads(1)
    common = [*TINY_CLI, "--eval-every", "0", "--test-episodes", "32", "--lr-final", "0"]

    def run(out, steps):
        assert train.main([*common, "--steps", str(steps), "--out", str(out)]) == 0

    run(tmp_path / "a", 384)
    run(tmp_path / "b", 192)
    b = _run_dir(tmp_path / "b")
    assert train.main(["--resume", str(b), "--steps", "384", "--no-progress"]) == 0
    rows = [(_run_dir(tmp_path / "a") / "train.csv"), (b / "train.csv")]
    full, resumed = (
        [
            {k: v for k, v in r.items() if k not in train.TIMING_COLUMNS}
            for r in __import__("csv").DictReader(open(p))
        ]
        for p in rows
    )
    assert len(full) == len(resumed) == 4 and full == resumed
    results = json.loads((b / "results.json").read_text())
    assert {"error", "digit_error", "glimpses", "pixels"} <= set(results["test"])
    assert (
        train.main(
            [
                "evaluate",
                "--checkpoint",
                str(b),
                "--episodes",
                "32",
                "--json",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "e.json").read_text()) == results["test"]
    out = tmp_path / "renders"
    assert train.main(["render", "--checkpoint", str(b), "--episodes", "2", "--out", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 2 and len(list(out.glob("*.gif"))) == 2
    assert "dram" in (out / "index.md").read_text()
