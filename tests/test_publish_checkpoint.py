"""benchmarks/publish_checkpoint.py: a run folder copied as a small, machine-path-free asset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
import publish_checkpoint as pc


def test_publish_thins_the_log_and_drops_machine_paths(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"\x00weights")
    (run / "config.json").write_text(f'{{"out": "{ROOT}/runs/x", "python": "{sys.executable}"}}')
    (run / "train.csv").write_text(
        "env_steps,loss\n" + "".join(f"{i},{i}\n" for i in range(1, 251))
    )
    (run / "events.out.tfevents.1").write_text("big")
    log = tmp_path / "run.log"
    log.write_text(f"outputs in {ROOT}/runs/x/\n")
    dest = pc.publish(run, "asset", log, every=100, dest_root=tmp_path / "ckpts")
    assert sorted(p.name for p in dest.iterdir()) == [
        "checkpoint.pt",
        "config.json",
        "train.csv",
        "train.log",
    ]
    assert (dest / "checkpoint.pt").read_bytes() == b"\x00weights"
    assert (dest / "train.csv").read_text().splitlines() == [
        "env_steps,loss",
        "100,100",
        "200,200",
        "250,250",
    ]
    for f in ("config.json", "train.log"):
        text = (dest / f).read_text()
        assert str(ROOT) not in text and sys.executable not in text and "runs/x" in text
    with pytest.raises(SystemExit, match="exists; pass --force"):
        pc.publish(run, "asset", dest_root=tmp_path / "ckpts")
    pc.publish(run, "asset", force=True, dest_root=tmp_path / "ckpts")
    assert not list((tmp_path / "ckpts").glob("*.part"))
    with pytest.raises(SystemExit, match="no checkpoint.pt"):
        pc.publish(tmp_path, "other", dest_root=tmp_path / "ckpts")
