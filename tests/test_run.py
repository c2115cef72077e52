"""agents/run.py: the one training loop under train.py and the benchmarks."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from agents.run import Progress, crossed, train_updates

ROOT = Path(__file__).resolve().parent.parent


class FakeTrainer:
    """Each update uses ``per`` env steps; validation reports the update count."""

    def __init__(self, per: int = 30):
        self.per, self.updates, self.events = per, 0, []

    def train_iteration(self):
        self.updates += 1
        return {"env_steps": self.per, "charts/accuracy": 0.5, "losses/total": 1.0}

    def evaluate(self, split, episodes):
        self.events.append(("evaluate", split, episodes))
        return {"error": 100.0 / self.updates}


def test_crossed():
    assert crossed(90, 120, 100) and not crossed(100, 130, 100) and crossed(99, 100, 100)
    assert not crossed(0, 10**9, 0)


def test_validation_checkpoints_hooks_and_guard_at_the_right_steps():
    tr, calls = FakeTrainer(), []
    entered = []

    @contextlib.contextmanager
    def guard():
        entered.append(True)
        yield

    p, why = train_updates(
        tr,
        300,
        eval_every=100,
        validate=lambda p: calls.append(("val", p.env_steps)),
        checkpoint_every=150,
        checkpoint=lambda p: calls.append(("ckpt", p.env_steps)),
        on_update=lambda p, before: calls.append(("log", before, p.env_steps)),
        guard=guard,
    )
    assert why == "budget" and (p.env_steps, p.updates) == (300, 10)
    assert [c for c in calls if c[0] == "val"] == [("val", 120), ("val", 210), ("val", 300)]
    assert [c for c in calls if c[0] == "ckpt"] == [("ckpt", 150), ("ckpt", 300)]
    assert [c[1:] for c in calls if c[0] == "log"][:2] == [(0, 30), (30, 60)]
    assert len(entered) == 10 + 2  # every update and every checkpoint inside the guard
    assert p.metrics["charts/SPS"] > 0 and p.train_s > 0 and "env_steps" not in p.metrics


def test_a_resumed_progress_continues_and_validate_at_end():
    tr = FakeTrainer(per=40)
    seen = []
    p, _ = train_updates(
        tr,
        100,
        Progress(env_steps=60, train_s=5.0),
        eval_every=1000,
        validate=lambda p: seen.append(p.env_steps),
        validate_at_end=True,
    )
    assert p.env_steps == 100 and p.train_s > 5.0 and p.updates == 1 and seen == [100]


def test_time_limit_stops_early():
    tr = FakeTrainer(per=1)
    p, why = train_updates(tr, 10**9, time_limit=1e-9)
    assert why == "time_limit" and p.updates == 1


@pytest.mark.parametrize("module", ["hard_bench", "supervised_bench"])
def test_benchmark_loops_are_the_same_loop(module, capsys):
    bench = __import__(module)  # benchmarks/ is on the tests' path (pyproject.toml)
    tr = FakeTrainer()
    if module == "hard_bench":
        out = bench.train_with_curve(tr, 300, 100, 7, label="x")
        assert [pt["env_steps"] for pt in out["curve"]] == [120, 210, 300]
        assert out["curve"][-1]["val/error"] == pytest.approx(10.0) and tr.events[0][2] == 7
    else:
        out = bench.train_for(tr, 300, log_every=1e-9, label="x")
        assert out["updates"] == 10 and "[x]" in capsys.readouterr().out
    assert out["env_steps"] == 300 and out["stopped_by"] == "budget"
    assert out["last_train_metrics"]["charts/accuracy"] == 0.5
