"""train.py under bad flags and faults: clear one-line errors before any work, and interruptions
(SIGTERM, Ctrl-C in a validation pass, a half-written log row, a second --resume, a killed
checkpoint write) that a resume turns into exactly the uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
from agents import cli as train  # the code of train.py

COPY = [
    "--agent",
    "tape-reinforce",
    "--env",
    "Copy-v0",
    "--env-kwargs",
    '{"min_length": 1, "max_length": 2}',
    "--num-envs",
    "8",
    "--eval-episodes",
    "4",
    "--test-episodes",
    "4",
    "--no-progress",
    "--threads",
    "1",
]


def _cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def _run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return [
            {k: v for k, v in r.items() if k not in train.TIMING_COLUMNS}
            for r in csv.DictReader(fh)
        ]


BAD_FLAGS = [
    (["--steps", "0"], "--steps 0"),
    (["--steps", "-5"], "--steps -5"),
    (["--checkpoint-every", "-5"], "--checkpoint-every -5"),
    (["--seed", "-1"], "--seed -1"),
    (["--eval-episodes", "-1"], "--eval-episodes -1"),
    (["--test-episodes", "-1"], "--test-episodes -1"),
    (["--num-envs", "0"], "--num-envs 0"),
    (["--eval-every", "-1"], "--eval-every -1"),
    (
        ["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "nonsense"],
        "--device",
    ),
]


@pytest.mark.parametrize("flags,words", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flags_fail_before_any_work(flags, words, tmp_path, capsys):
    out = tmp_path / "runs"
    assert train.main([*COPY, "--steps", "100", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train.py: error: ") and words in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())  # no run folder left behind


def test_evaluate_negative_episodes(tmp_path, capsys):
    assert train.main(["evaluate", "--checkpoint", str(tmp_path), "--episodes", "-5"]) == 2
    assert "--episodes -5" in capsys.readouterr().err


def test_failed_start_leaves_no_run_folder(tmp_path, capsys):
    out = tmp_path / "runs"
    # memory_size too small for the lengths: the env refuses it while the trainer is built
    assert (
        train.main(
            [
                *COPY[:5],
                '{"max_length": 50, "memory_size": 10}',
                *COPY[6:],
                "--steps",
                "100",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "cannot build tape-reinforce" in err and "memory_size" in err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_sigterm_checkpoints_and_resume_gives_the_same_curve(tmp_path):
    args = [*COPY, "--steps", "6000", "--eval-every", "1500", "--checkpoint-every", "0"]
    assert _cli(*args, "--out", str(tmp_path / "a")).returncode == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args, "--out", str(tmp_path / "b")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until it is training (some rows logged)
        runs = list((tmp_path / "b").glob("*/train.csv")) if (tmp_path / "b").exists() else []
        if runs and len(runs[0].read_text().splitlines()) > 3:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err[-2000:]
    assert "checkpoint written" in out
    b = _run_dir(tmp_path / "b")
    res = _cli("--resume", str(b), "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    a = _run_dir(tmp_path / "a")
    assert _rows(a / "train.csv") == _rows(b / "train.csv")
    assert _rows(a / "eval.csv") == _rows(b / "eval.csv")


def test_ctrl_c_in_validation_and_half_written_row_resume_exactly(tmp_path, monkeypatch):
    from agents.tape_reinforce import TapeReinforceTrainer

    torch.set_num_threads(1)
    args = [*COPY, "--steps", "3000", "--eval-every", "1000", "--checkpoint-every", "0"]
    assert train.main([*args, "--out", str(tmp_path / "a")]) == 0
    evaluate = TapeReinforceTrainer.evaluate
    calls = {"n": 0}

    def interrupted_second_validation(self, split, episodes):
        if split == "validation":
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
        return evaluate(self, split, episodes)

    monkeypatch.setattr(TapeReinforceTrainer, "evaluate", interrupted_second_validation)
    assert train.main([*args, "--out", str(tmp_path / "b")]) == 130
    monkeypatch.setattr(TapeReinforceTrainer, "evaluate", evaluate)
    b = _run_dir(tmp_path / "b")
    assert len(_rows(b / "eval.csv")) == 1  # the second validation was cut short
    with open(b / "train.csv", "a") as fh:  # and a kill mid-write left half a row
        fh.write("999999,0.5")
    assert train.main(["--resume", str(b), "--no-progress"]) == 0
    a = _run_dir(tmp_path / "a")
    assert _rows(a / "train.csv") == _rows(b / "train.csv")
    assert _rows(a / "eval.csv") == _rows(b / "eval.csv")
    assert len(_rows(a / "eval.csv")) == 3
    # eval.csv's training clock runs on across the resume: the rows after it do not restart at 0
    with open(b / "eval.csv", newline="") as fh:
        clock = [float(r["train_s"]) for r in csv.DictReader(fh)]
    assert clock[0] > 0 and clock == sorted(clock) and clock[-1] > clock[0]


def test_second_resume_of_a_run_in_use_is_refused(tmp_path, capsys):
    args = [*COPY, "--steps", "200", "--eval-every", "0"]
    assert train.main([*args, "--out", str(tmp_path)]) == 0
    run_dir = _run_dir(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = run_dir / f".checkpoint.pt.{dead}.tmp"
    stale.write_bytes(b"half a checkpoint")
    capsys.readouterr()
    held = train._lock_run(run_dir)  # as another train.py resuming it would hold it
    try:
        assert train.main(["--resume", str(run_dir), "--steps", "400", "--no-progress"]) == 2
        assert "in use by another train.py" in capsys.readouterr().err
    finally:
        held.close()
    assert train.main(["--resume", str(run_dir), "--steps", "400", "--no-progress"]) == 0
    assert not stale.exists()  # the killed write's temporary file was cleaned up


def test_cli_manners(tmp_path, capsys):
    """--total-timesteps is --steps; a usage mistake is one line with a hint; --help names the
    other commands; without a terminal, progress is a line per 10 % (no carriage returns)."""
    assert train.main([*COPY, "--bogus-flag", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--bogus-flag" in err and "--help" in err
    with pytest.raises(SystemExit):
        train.main(["--help"])
    text = capsys.readouterr().out
    assert "evaluate" in text and "render" in text
    res = _cli(
        *[a for a in COPY if a != "--no-progress"],
        "--total-timesteps",
        "400",
        "--eval-every",
        "0",
        "--out",
        str(tmp_path / "runs"),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    progress = [ln for ln in res.stdout.splitlines() if ln.startswith("[") and "env steps," in ln]
    assert 1 <= len(progress) <= 11 and progress[-1].startswith("[400/400 env steps, 100%]")
    assert "\r" not in res.stderr and "\r" not in res.stdout
