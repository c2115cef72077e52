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


def test_weights_only_copy_evaluates_alike_and_refuses_resume(tmp_path, capsys):
    """``--weights-only``: the checkpoint without the optimiser's state, a fraction of the size;
    ``evaluate`` scores it exactly as the full one, ``--resume`` refuses it with the fix."""
    import torch

    from agents import cli

    args = ["--agent", "tape-reinforce", "--env", "Copy-v0", "--num-envs", "8"]
    args += ["--env-kwargs", '{"min_length": 1, "max_length": 2}', "--steps", "400"]
    args += ["--eval-episodes", "4", "--test-episodes", "4", "--no-progress", "--threads", "1"]
    assert cli.main([*args, "--out", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    full = pc.publish(run, "full", dest_root=tmp_path / "ckpts")
    light = pc.publish(run, "light", dest_root=tmp_path / "ckpts", weights=True)
    payload = torch.load(light / "checkpoint.pt", weights_only=False)
    assert payload["weights_only"] and "optimizer" not in payload["trainer"]
    assert "global_rng" not in payload and "model" in payload["trainer"]
    size = (light / "checkpoint.pt").stat().st_size
    assert size < 0.6 * (full / "checkpoint.pt").stat().st_size
    scores = [cli.load_trainer(folder)[0].evaluate("test", 16) for folder in (full, light)]
    assert scores[0] == scores[1]
    capsys.readouterr()
    assert cli.main(["--resume", str(light), "--steps", "800", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds weights only" in err and "resume the full run folder" in err


@pytest.mark.parametrize(
    "folder",
    sorted(p.parent.name for p in (ROOT / "benchmarks" / "checkpoints").glob("*/checkpoint.pt")),
)
def test_every_published_checkpoint_loads_and_plays(folder):
    """Published checkpoints stay loadable by ``train.py evaluate``: each one's trainer is built
    from its options, its weights loaded, and a few fixed test episodes played."""
    from agents import cli
    from tests.conftest import real_data_available

    path = ROOT / "benchmarks" / "checkpoints" / folder
    if "MNIST" in folder and not real_data_available():
        pytest.skip("needs MNIST (GLIMPSE_ENVS_DATA)")
    trainer, ckpt = cli.load_trainer(path)
    try:
        assert ckpt["env_steps"] > 0 and trainer.num_parameters() > 0
        assert trainer.evaluate("test", 4)
    finally:
        trainer.close()
