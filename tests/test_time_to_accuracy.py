"""benchmarks/time_to_accuracy.py: the first point at a target, and a clear error without the peer
(the side-by-side run itself needs the peer's code, fetched by hand: see the module docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
import time_to_accuracy as tta


def _meta(task: str, epochs: int) -> dict:
    """A report header as :func:`time_to_accuracy.main` writes it."""
    return {
        "command": "python benchmarks/time_to_accuracy.py --peer PEER",
        "date": "2026-11-30T00:00:00+00:00",
        "git": "abc1234",
        "peer": {"commit": "a38ac89"},
        "machine": {"cpus": 2},
        "budget": {"epochs": epochs},
        "wall_s": 12.5,
        "env": tta.TASKS[task][0],
        "glimpses": {"mnist": 6, "cluttered": 8}[task],
        "targets": tta.TASKS[task][1],
    }


def test_time_to_a_target_is_the_first_point_at_or_below_it():
    curve = [
        {"train_s": 10, "test_error": 5.0},
        {"train_s": 20, "test_error": 2.9},
        {"train_s": 30, "test_error": 3.1},
        {"train_s": 40, "test_error": 1.5},
    ]
    assert tta.time_to(curve, 3.0)["train_s"] == 20
    assert tta.time_to(curve, 2.0)["train_s"] == 40
    assert tta.time_to(curve, 1.0) is None


def test_without_the_peer_it_says_where_to_get_it(tmp_path, capsys):
    with pytest.raises(SystemExit):
        tta.main(["--peer", str(tmp_path)])
    assert "clone the peer at a38ac89" in capsys.readouterr().err


def test_a_run_cut_short_leaves_a_partial_report(tmp_path, monkeypatch):
    monkeypatch.setattr(tta, "RESULTS", tmp_path)
    meta = _meta("cluttered", 10)
    ours = [
        {"epoch": 1.0, "images": 55_000, "train_s": 20.0, "test_error": 40.0},
        {"epoch": 2.0, "images": 110_000, "train_s": 40.0, "test_error": 9.5},
    ]
    tta.write_report("cut", 10, meta, {"ours": ours, "peer": []}, final=False)
    md = (tmp_path / "cut.md").read_text()
    assert "so far (of 10 epochs planned; partial results)" in md
    assert "40 s, 110,000 images (epoch 2.0)" in md  # ours reached 10 % at epoch 2
    assert "not reached in 0 epochs" in md and "(still running)" in md
    assert (tmp_path / "cut.json").exists() and (tmp_path / "cut.png").exists()
    assert not list(tmp_path.glob("*.tmp"))
    tta.write_report("cut", 10, meta, {"ours": ours, "peer": ours}, final=True)
    md = (tmp_path / "cut.md").read_text()
    assert "partial" not in md and "1.00x" in md


def test_each_run_of_ours_is_timed_to_each_target(tmp_path, monkeypatch):
    monkeypatch.setattr(tta, "RESULTS", tmp_path)
    meta = _meta("mnist", 4)  # targets 3 % and 2 %

    def curve(*points):
        return [
            {"epoch": float(e), "images": 55_000 * e, "train_s": s, "test_error": err}
            for e, s, err in points
        ]

    curves = {
        "ours, 2 epochs": curve((1, 10.0, 4.0), (2, 20.0, 2.9)),  # 3 % at 20 s, never 2 %
        "ours, 3 epochs": curve((1, 10.0, 5.0), (2, 20.0, 3.5), (3, 30.0, 1.9)),  # both at 30 s
        "peer": curve((1, 15.0, 6.0), (2, 30.0, 2.95), (3, 45.0, 2.5), (4, 60.0, 1.99)),
    }
    assert tta.our_runs(curves) == ["ours, 2 epochs", "ours, 3 epochs"]
    tta.write_report("per_run", 4, meta, curves, final=True)
    rows = {
        line.split("|")[1].strip(): line
        for line in (tmp_path / "per_run.md").read_text().splitlines()
        if line.startswith("| ")
    }
    assert "20 s" in rows["3 % (ours, 2 epochs)"] and "1.50x" in rows["3 % (ours, 2 epochs)"]
    assert "30 s" in rows["3 % (ours, 3 epochs)"] and "1.00x" in rows["3 % (ours, 3 epochs)"]
    assert "not reached in 2 epochs" in rows["2 % (ours, 2 epochs)"]
    assert "-" == rows["2 % (ours, 2 epochs)"].split("|")[4].strip()
    assert "2.00x" in rows["2 % (ours, 3 epochs)"]
    assert "1.90 (epoch 3)" in rows["test error % at the last epoch scored, ours, 3 epochs"]


def test_our_config_reaches_our_ram():
    """--our-config's options go to our RAMTrainer (a bad one is refused by RAM itself)."""
    with pytest.raises(ValueError, match="step-ce"):
        tta.ours("mnist", 1, 0, 640, "random", [], print, config={"step_ce": -1.0})
    with pytest.raises(TypeError, match="no_such_option"):
        tta.ours("mnist", 1, 0, 640, "random", [], print, config={"no_such_option": 1})
