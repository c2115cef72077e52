"""benchmarks/ram_diagnose.py: the overlap rule, and a real checkpoint diagnosed end to end."""

from __future__ import annotations

import pytest
import ram_diagnose as rd

from agents import cli as train


def test_overlap_is_the_share_of_the_square_on_the_box():
    assert rd.overlap((0, 0, 10), (0, 0, 28, 28)) == 1.0
    assert rd.overlap((23, 0, 10), (0, 0, 28, 28)) == 0.5  # 5 of 10 columns
    assert rd.overlap((23, 23, 10), (0, 0, 28, 28)) == 0.25
    assert rd.overlap((40, 40, 10), (0, 0, 28, 28)) == 0.0
    assert rd.overlap((-5, -5, 10), (0, 0, 28, 28)) == 0.25  # off the canvas's corner


@pytest.mark.slow
def test_diagnose_a_checkpoint(tmp_path):
    """A briefly trained RAM on translated MNIST: the shares add up, and a glimpse path that
    starts at the centre of a 60x60 canvas finds the 28x28 digit on some canvases, not on all."""
    args = ["--env", "glimpse_envs/TranslatedMNIST-v0", "--agent", "ram", "--steps", "2048"]
    args += ["--num-envs", "32", "--eval-every", "0", "--test-episodes", "16", "--threads", "1"]
    assert train.main([*args, "--out", str(tmp_path), "--no-progress"]) == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    r = rd.diagnose(str(run), "test", 40)
    assert r["canvases"] == 40 and 0 < r["found_share"] < 100
    assert sum(v["canvases"] for v in r["by_first_glimpse_on_digit"].values()) == 40
    errors = sum(v["canvases"] * v["error"] / 100 for v in r["by_first_glimpse_on_digit"].values())
    assert errors == pytest.approx(r["error"] * 40 / 100)
