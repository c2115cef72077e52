"""train.py end to end: tiny runs of every hard agent, checkpoints, --resume, clear errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import needs_mnist

ROOT = Path(__file__).resolve().parent.parent
from agents import cli as train  # the code of train.py

COPY_SHORT = '{"min_length": 1, "max_length": 2}'
TINY = {  # a few seconds each, most of it imports
    "ram": [
        "--env",
        "MNIST-v0",
        "--steps",
        "768",
        "--num-envs",
        "32",
        "--eval-every",
        "384",
        "--eval-episodes",
        "20",
        "--test-episodes",
        "40",
    ],
    "tape-reinforce": [
        "--env",
        "Copy-v0",
        "--env-kwargs",
        COPY_SHORT,
        "--steps",
        "100",
        "--num-envs",
        "16",
        "--eval-every",
        "50",
        "--eval-episodes",
        "6",
        "--test-episodes",
        "12",
    ],
    "ppo": [
        "--env",
        "TiledMNIST-v0",
        "--steps",
        "64",
        "--num-envs",
        "4",
        "--n-steps",
        "16",
        "--batch-size",
        "32",
        "--eval-every",
        "32",
        "--eval-episodes",
        "10",
        "--test-episodes",
        "20",
    ],
    "recurrent-ppo": [
        "--env",
        "MNIST-v0",
        "--steps",
        "64",
        "--num-envs",
        "4",
        "--n-steps",
        "16",
        "--batch-size",
        "32",
        "--eval-every",
        "32",
        "--eval-episodes",
        "10",
        "--test-episodes",
        "20",
    ],
}


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def _run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "train.csv", newline="") as fh:
        return [
            {k: v for k, v in r.items() if k not in train.TIMING_COLUMNS}
            for r in csv.DictReader(fh)
        ]


@needs_mnist
@pytest.mark.parametrize("agent", list(TINY))
def test_tiny_run_through_the_cli(agent, tmp_path):
    out = tmp_path / "runs"
    res = _cli("--agent", agent, *TINY[agent], "--out", str(out), "--threads", "1", "--no-progress")
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = _run_dir(out)
    for name in ("checkpoint.pt", "results.json", "train.csv", "eval.csv", "config.json"):
        assert (run_dir / name).exists(), name
    assert list(run_dir.glob("events.out.tfevents.*"))
    results = json.loads((run_dir / "results.json").read_text())
    key = "success" if agent == "tape-reinforce" else "error"
    assert key in results["test"] and results["env_steps"] >= int(
        TINY[agent][TINY[agent].index("--steps") + 1]
    )
    assert "test split" in res.stdout and str(run_dir) in res.stdout
    header = (run_dir / "train.csv").read_text().splitlines()[0]
    assert "charts/" in header and "losses/" in header
    assert "val/" in (run_dir / "eval.csv").read_text()
    assert (run_dir / "model.zip").exists() == (agent in ("ppo", "recurrent-ppo"))  # SB3's format
    if agent in ("ram", "ppo"):  # checkpoint round trip: evaluate gives the final table again
        res = _cli(
            "evaluate",
            "--checkpoint",
            str(run_dir),
            "--episodes",
            str(results["test_episodes"]),
            "--json",
            str(tmp_path / "e.json"),
        )
        assert res.returncode == 0, res.stderr[-3000:]
        assert json.loads((tmp_path / "e.json").read_text()) == results["test"]


@needs_mnist
@pytest.mark.parametrize(
    "agent,halves", [("ram", (384, 768)), ("tape-reinforce", (50, 100)), ("ppo", (64, 128))]
)
def test_resume_continues_the_same_curve(agent, halves, tmp_path):
    torch.set_num_threads(1)
    args = [a for a in TINY[agent]]
    i = args.index("--steps")
    common = (
        args[:i] + args[i + 2 :] + ["--eval-every", "0", "--no-progress", "--test-episodes", "4"]
    )
    if agent == "ram":  # its default rate decays over --steps, which this resume changes
        common += ["--lr-final", "0"]

    def run(out, steps, extra=()):
        assert (
            train.main(
                ["--agent", agent, *common, "--steps", str(steps), "--out", str(out), *extra]
            )
            == 0
        )

    run(tmp_path / "a", halves[1])
    run(tmp_path / "b", halves[0])
    b = _run_dir(tmp_path / "b")
    assert train.main(["--resume", str(b), "--steps", str(halves[1]), "--no-progress"]) == 0
    full, resumed = _rows(_run_dir(tmp_path / "a")), _rows(b)
    assert len(full) == len(resumed) > 1
    assert full == resumed


@needs_mnist
def test_interrupted_ram_resumes_on_its_decaying_schedule(tmp_path, monkeypatch):
    """An interrupted run resumed with its own budget keeps RAM's learning-rate decay exactly."""
    from agents.ram import RAMTrainer

    torch.set_num_threads(1)
    common = [
        "--agent",
        "ram",
        *TINY["ram"],
        "--eval-every",
        "0",
        "--no-progress",
        "--test-episodes",
        "4",
    ]
    assert train.main([*common, "--out", str(tmp_path / "a")]) == 0
    step = RAMTrainer.train_iteration

    def stop_half_way(self):
        if self.iteration == 2:  # after 2 of the 4 updates (32 episodes x 6 glimpses each)
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(RAMTrainer, "train_iteration", stop_half_way)
    assert train.main([*common, "--out", str(tmp_path / "b")]) == 130
    monkeypatch.setattr(RAMTrainer, "train_iteration", step)
    b = _run_dir(tmp_path / "b")
    assert train.main(["--resume", str(b), "--no-progress"]) == 0
    full, resumed = _rows(_run_dir(tmp_path / "a")), _rows(b)
    rates = {r["charts/learning_rate"] for r in full}
    assert len(rates) == len(full) == 4, "the default schedule lowers the rate every update"
    assert full == resumed


@needs_mnist
def test_bad_names_list_the_valid_ones(capsys):
    res = _cli("--env", "NoSuchEnv-v0")
    assert (
        res.returncode == 2
        and "glimpse_envs/MNIST-v0" in res.stderr
        and "Traceback" not in res.stderr
    )
    assert train.main(["--agent", "no-such-agent"]) == 2
    err = capsys.readouterr().err
    assert "valid agents" in err and "ram" in err and "recurrent-ppo" in err
    assert train.main(["--agent", "ram", "--env", "Copy-v0"]) == 2
    assert "tape env" in capsys.readouterr().err


def test_list(capsys):
    assert train.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "glimpse_envs/ClutteredMNIST-v0" in out and "glimpse_envs/Copy-v0" in out
    for name in ("ram", "tape-reinforce", "ppo", "recurrent-ppo"):
        assert f"  {name} " in out


@needs_mnist
def test_bad_checkpoints_get_clear_errors(tmp_path, capsys):
    out = tmp_path / "runs"
    assert (
        train.main(
            [
                "--agent",
                "ram",
                *TINY["ram"],
                "--steps",
                "96",
                "--num-envs",
                "16",
                "--out",
                str(out),
                "--no-progress",
                "--test-episodes",
                "4",
            ]
        )
        == 0
    )
    run_dir = _run_dir(out)
    ckpt = run_dir / "checkpoint.pt"
    capsys.readouterr()

    assert train.main(["--resume", str(run_dir), "--env", "TranslatedMNIST-v0"]) == 2
    assert "does not match" in capsys.readouterr().err

    good = ckpt.read_bytes()
    ckpt.write_bytes(good[: len(good) // 2])  # truncated
    assert train.main(["--resume", str(run_dir)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert train.main(["evaluate", "--checkpoint", str(ckpt)]) == 2
    assert "corrupt" in capsys.readouterr().err

    torch.save({"weights": 1}, ckpt)
    assert train.main(["--resume", str(ckpt)]) == 2
    assert "not a glimpse-envs" in capsys.readouterr().err

    assert train.main(["evaluate", "--checkpoint", str(tmp_path / "nothing.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert not list(run_dir.glob(".*.tmp")), "a temporary checkpoint file was left behind"


def test_render_hook_passes_argv_and_load_trainer(monkeypatch):
    import types

    seen = {}
    fake = types.SimpleNamespace(main=lambda argv, load: seen.update(argv=argv, load=load) or 0)
    monkeypatch.setitem(sys.modules, "agents.render", fake)
    assert train.main(["render", "--checkpoint", "x", "--episodes", "2"]) == 0
    assert seen == {"argv": ["--checkpoint", "x", "--episodes", "2"], "load": train.load_trainer}


def test_hyperparams_file_sets_options_and_the_command_line_wins(tmp_path):
    from agents.sb3_agents import PPOTrainer

    zoo = ROOT / "benchmarks" / "hyperparams" / "ppo.yml"
    run, cfg, _, _ = train.parse_train_args(
        [
            "--agent",
            "ppo",
            "--env",
            "glimpse_envs/MNIST-v0",
            "--hyperparams",
            str(zoo),
            "--n-steps",
            "32",
        ]
    )
    assert (run.steps, run.num_envs, run.lr, cfg.gamma, cfg.n_steps) == (
        9_900_000,
        16,
        3e-4,
        1.0,
        32,
    )
    # every entry of the committed file parses for the three PPO agents
    import yaml

    from glimpse_envs.visual import TASKS

    for env in (k for k in yaml.safe_load(zoo.read_text()) if k != "defaults"):
        budget = TASKS[env.removesuffix("-v0")].config.glimpses
        for agent in ("ppo", "maskable-ppo", "recurrent-ppo"):
            run, _, _, _ = train.parse_train_args(
                ["--agent", agent, "--env", env, "--hyperparams", str(zoo)]
            )
            assert run.env == f"glimpse_envs/{env}" and run.steps > 1_000_000
            # held to RAM's episodes: every glimpse of the budget before the answer
            assert run.env_kwargs == {"min_glimpses": budget}
    run, _, _, _ = train.parse_train_args(
        ["--agent", "ppo", "--env", "MNIST-v0", "--hyperparams", str(zoo), "--min-glimpses", "1"]
    )
    assert run.env_kwargs == {"min_glimpses": 1}  # the command line lets it answer any time
    bad = tmp_path / "bad.yml"
    bad.write_text("MNIST-v0:\n  n_envs: 4\n  learning_rat: 0.1\n")
    with pytest.raises(train.UsageError, match="unknown option 'learning_rat'"):
        train.hyperparam_flags(bad, "glimpse_envs/MNIST-v0", PPOTrainer.Config)
    with pytest.raises(train.UsageError, match="no entry for glimpse_envs/ClutteredMNIST-v0"):
        train.hyperparam_flags(bad, "glimpse_envs/ClutteredMNIST-v0", PPOTrainer.Config)
    with pytest.raises(train.UsageError, match="cannot read it"):
        train.hyperparam_flags(tmp_path / "missing.yml", "MNIST-v0", PPOTrainer.Config)
    bad.write_text("MNIST-v0:\n  env_kwargs: {glimpses: 3}\n  n_envs: 4\n")
    assert train.hyperparam_flags(bad, "glimpse_envs/MNIST-v0", PPOTrainer.Config) == [
        "--env-kwargs",
        '{"glimpses": 3}',
        "--num-envs",
        "4",
    ]
