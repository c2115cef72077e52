"""benchmarks/time_to_accuracy.py: the first point at a target, and a clear error without the peer
(the side-by-side run itself needs the peer's code, fetched by hand: see the module docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
import time_to_accuracy as tta


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
