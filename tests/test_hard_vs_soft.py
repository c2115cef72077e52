"""benchmarks/hard_vs_soft.py: the sweep, resumption, failures, the report, presets, Ray.

Most tests swap ``train.py`` for a stub script (``--train-cmd``) that writes a results.json as
train.py does, so the harness itself is tested in seconds; one test runs the smoke preset through
the real ``train.py`` (two tiny configurations, two seeds).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_mnist

ROOT = Path(__file__).resolve().parent.parent
import hard_vs_soft as hvs

#: stands in for train.py: same flags, writes OUT/ENV__AGENT__SEED__TIME/results.json; fails (exit
#: 1, a traceback's last line on stderr) for the agents listed in $FAKE_FAIL; logs each call
FAKE_TRAIN = r"""
import argparse, json, os, pathlib, sys
p = argparse.ArgumentParser()
for flag in ("--env", "--agent", "--out", "--resume"):
    p.add_argument(flag)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--steps", type=int, default=0)
a, _ = p.parse_known_args()
with open(os.environ["FAKE_CALLS"], "a") as fh:
    fh.write(" ".join(sys.argv[1:]) + "\n")
if a.resume:
    run_dir = pathlib.Path(a.resume)
    a.env, a.agent, a.seed, a.steps = json.loads((run_dir / "args.json").read_text())
else:
    run_dir = pathlib.Path(a.out) / f"{a.env.split('/')[-1]}__{a.agent}__{a.seed}__stamp"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "args.json").write_text(json.dumps([a.env, a.agent, a.seed, a.steps]))
if a.agent in os.environ.get("FAKE_FAIL", "").split(","):
    sys.exit("Traceback (most recent call last):\nValueError: boom on purpose")
if "Copy" in a.env:
    test = {"success": 0.5, "success@3": 1.0 - 0.1 * a.seed, "success@6": 0.0, "memory_cells": 128.0}
else:
    test = {"error": 10.0 + a.seed, "glimpses": 6.0, "pixels": 384.0}
key = "val/success" if "Copy" in a.env else "val/error"
(run_dir / "eval.csv").write_text(f"env_steps,train_s,{key}\n50,0.5,0.5\n100,1.0,0.25\n")
(run_dir / "results.json").write_text(json.dumps({
    "env": a.env, "agent": a.agent, "seed": a.seed, "env_steps": a.steps, "train_wall_s": 1.5,
    "train_steps_per_s": 100.0, "test_wall_s": 0.1, "test_episodes": 100, "test": test,
    "parameters": 1234, "git": "x", "date": "d", "command": sys.argv}))
"""

CONFIGS = [hvs.Config("MNIST-v0", "ram", 100), hvs.Config("Copy-v0", "ntm", 100, label="short")]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """The stub's command, with its call log and failure list in the environment."""
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAIN)
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.setenv("FAKE_FAIL", "")

    def n_calls() -> int:
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    return {"cmd": [sys.executable, str(script)], "calls": calls, "n_calls": n_calls}


def _preset(configs=CONFIGS) -> hvs.Preset:
    return hvs.Preset(list(configs), (0, 1), "test preset", ("--eval-every", "0"))


def _sweep_and_report(preset, tmp_path, fake, **kwargs):
    runs_dir = tmp_path / "runs"
    results = hvs.sweep(
        preset.runs(),
        runs_dir,
        preset=preset,
        preset_name="test",
        train_cmd=fake["cmd"],
        jobs=2,
        log=lambda _: None,
        **kwargs,
    )
    meta = hvs.provenance("pytest hard_vs_soft", "cpu", "test")
    paths = hvs.report(preset, runs_dir, tmp_path / "out" / "hvs", meta)
    return results, paths


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_sweep_writes_table_csv_and_plots(tmp_path, fake):
    results, paths = _sweep_and_report(_preset(), tmp_path, fake)
    assert len(results) == 4 and all(r["status"] == "ok" for r in results)
    assert fake["n_calls"]() == 4
    for key in ("MNIST-v0__ram__s0", "MNIST-v0__ram__s1", "Copy-v0__ntm__short__s1"):
        res = json.loads((tmp_path / "runs" / key / "result.json").read_text())
        assert res["status"] == "ok" and res["results"]["test"]
        assert {"command", "machine", "date", "git"} <= set(res)
        assert "--seed" in res["command"] and (tmp_path / "runs" / key / "train.log").exists()
    md = paths["md"].read_text()
    for text in (
        "## MNIST-v0",
        "## Copy-v0",
        "RAM (REINFORCE)",
        "NTM",
        "RAM NIPS 2014 Table 1a",
        "pytest hard_vs_soft",
        "git:",
        "machine:",
        "date:",
        "L=3",
        "__copy_length.png",
    ):
        assert text in md, text
    rows = {r["agent"]: r for r in _csv_rows(paths["csv"])}
    assert float(rows["ram"]["error_mean"]) == pytest.approx(10.5)  # seeds 0, 1: 10 and 11
    assert float(rows["ram"]["error_std"]) == pytest.approx(0.7071, abs=1e-3)
    assert float(rows["ram"]["paper_error"]) == 1.12  # MNIST-v0 has 6 glimpses: Table 1a
    assert float(rows["ntm"]["error_mean"]) == pytest.approx(50.0)  # 100 x (1 - success)
    assert float(rows["ntm"]["memory_cells"]) == 128 and rows["ram"]["status"] == "ok"
    assert json.loads(rows["ntm"]["error_by_length"]) == {"3": pytest.approx(5.0), "6": 100.0}
    assert paths["csv"].read_text().startswith("# command: pytest hard_vs_soft")
    for key in (
        "error vs glimpses",
        "error vs pixels",
        "copy error vs length",
        "MNIST-v0 learning curves",
        "Copy-v0 learning curves",
    ):
        assert paths[key].suffix == ".png" and paths[key].stat().st_size > 5000, key
    curves = hvs.curves(_preset(), tmp_path / "runs")
    assert [(c.agent, seed) for c, seed, _ in curves["MNIST-v0"]] == [("ram", 0), ("ram", 1)]
    (_, _, curve), _ = curves["Copy-v0"]
    assert curve == {"env_steps": [50.0, 100.0], "train_s": [0.5, 1.0], "error": [50.0, 75.0]}
    from PIL import Image

    info = Image.open(paths["error vs glimpses"]).info
    assert "pytest hard_vs_soft" in info["Description"] and "git" in info["Description"]


def test_resumption_skips_finished_runs_and_resumes_interrupted(tmp_path, fake):
    preset = _preset()
    _sweep_and_report(preset, tmp_path, fake)
    assert fake["n_calls"]() == 4
    results, _ = _sweep_and_report(preset, tmp_path, fake)
    assert fake["n_calls"]() == 4 and len(results) == 4  # nothing run again
    # an interrupted run: a checkpoint, no results.json, no result.json -> train.py --resume
    rdir = tmp_path / "runs" / "MNIST-v0__ram__s1"
    (rdir / "result.json").unlink()
    (train_dir,) = (rdir / "train").iterdir()
    (train_dir / "results.json").unlink()
    (train_dir / "checkpoint.pt").write_bytes(b"")
    results, _ = _sweep_and_report(preset, tmp_path, fake)
    assert fake["n_calls"]() == 5
    last = fake["calls"].read_text().splitlines()[-1]
    assert f"--resume {train_dir}" in last
    res = json.loads((rdir / "result.json").read_text())
    assert res["status"] == "ok" and res["resumed"]


def test_failing_run_is_reported_and_the_others_go_on(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "cnn")
    preset = _preset([*CONFIGS, hvs.Config("MNIST-v0", "cnn", 100)])
    results, paths = _sweep_and_report(preset, tmp_path, fake)
    status = {r["key"]: r["status"] for r in results}
    assert status["MNIST-v0__cnn__s0"] == status["MNIST-v0__cnn__s1"] == "failed"
    assert sum(s == "ok" for s in status.values()) == 4
    res = json.loads((tmp_path / "runs" / "MNIST-v0__cnn__s0" / "result.json").read_text())
    assert res["error"] == "exit 1: ValueError: boom on purpose"
    md = paths["md"].read_text()
    (line,) = [ln for ln in md.splitlines() if ln.startswith("| CNN")]
    assert "| failed |" in line and "boom on purpose" in line
    assert "4 ok, 2 failed" in md
    rows = {r["agent"]: r for r in _csv_rows(paths["csv"])}
    assert rows["cnn"]["status"].startswith("failed") and rows["cnn"]["error_mean"] == ""
    # failed runs are run again next time (the successful ones are not)
    monkeypatch.setenv("FAKE_FAIL", "")
    before = fake["n_calls"]()
    results, _ = _sweep_and_report(preset, tmp_path, fake)
    assert fake["n_calls"]() == before + 2 and all(r["status"] == "ok" for r in results)


def test_hours_start_no_run_after_the_deadline_and_the_next_piece_goes_on(tmp_path, fake):
    preset = _preset()
    runs_dir = tmp_path / "runs"
    lines: list[str] = []
    results = hvs.sweep(
        preset.runs(),
        runs_dir,
        preset=preset,
        train_cmd=fake["cmd"],
        jobs=1,
        hours=1e-9,
        log=lines.append,
    )
    assert results == [] and fake["n_calls"]() == 0 and "4 runs not started" in lines[-1]
    assert not any(runs_dir.glob("*/result.json"))  # nothing recorded as failed
    results = hvs.sweep(
        preset.runs(),
        runs_dir,
        preset=preset,
        train_cmd=fake["cmd"],
        jobs=2,
        hours=1.0,
        log=lambda _: None,
    )
    assert len(results) == 4 and all(r["status"] == "ok" for r in results)


def test_a_preset_without_measured_speeds_is_refused_with_the_fix(
    tmp_path, fake, monkeypatch, capsys
):
    monkeypatch.setitem(hvs.PRESETS, "tiny", lambda: _preset([hvs.Config("MNIST-v0", "ram", 0)]))
    assert (
        hvs.main(
            [
                "--preset",
                "tiny",
                "--results-dir",
                str(tmp_path),
                "--train-cmd",
                " ".join(fake["cmd"]),
            ]
        )
        == 2
    )
    assert "speeds --preset tiny" in capsys.readouterr().err and fake["n_calls"]() == 0


def test_speeds_are_measured_once_and_merged(tmp_path, fake):
    path = tmp_path / "speeds.json"
    doc = hvs.speeds(
        _preset(), seconds=1, remeasure=False, train_cmd=fake["cmd"], path=path, log=lambda _: None
    )
    assert {(r["agent"], r["env"]): r["steps_per_s"] for r in doc["speeds"]} == {
        ("ram", "MNIST-v0"): 100.0,
        ("ntm", "Copy-v0"): 100.0,
    }
    assert hvs.load_speeds(path) == {("ram", "MNIST-v0"): 100.0, ("ntm", "Copy-v0"): 100.0}
    assert fake["n_calls"]() == 4  # a probe and a measurement per pair
    hvs.speeds(
        _preset(), seconds=1, remeasure=False, train_cmd=fake["cmd"], path=path, log=lambda _: None
    )
    assert fake["n_calls"]() == 4  # nothing missing, nothing measured again
    assert hvs._shown([sys.executable, str(ROOT / "train.py"), "--out", str(ROOT / "x")]) == (
        "python train.py --out x".replace("python", Path(sys.executable).name)
    )


def test_cli_with_a_stub_runner_and_only(tmp_path, fake, monkeypatch, capsys):
    monkeypatch.setitem(hvs.PRESETS, "tiny", _preset)
    argv = [
        "--preset",
        "tiny",
        "--results-dir",
        str(tmp_path),
        "--jobs",
        "2",
        "--train-cmd",
        " ".join(fake["cmd"]),
        "--only",
        "ram",
    ]
    assert hvs.main(argv) == 0
    assert fake["n_calls"]() == 2  # only the RAM runs
    md = (tmp_path / "hard_vs_soft__tiny.md").read_text()
    assert "not run" in md and "--only ram" in md  # the report covers the whole preset
    assert hvs.main(["plan", "--preset", "tiny", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MNIST-v0__ram__s0" in out and "2 runs to make" in out


def test_presets_cover_every_row_fit_the_budget_and_parse_as_train_flags(tmp_path):
    quick = hvs.PRESETS["quick"]()
    pairs = {(c.env, c.agent) for c in quick.configs}
    for env in ("MNIST-v0", "ClutteredMNIST-v0"):
        for agent in ("ram", "ppo", "recurrent-ppo", "soft-tiles", "draw", "vit", "mlp", "cnn"):
            assert (env, agent) in pairs
    assert {a for e, a in pairs if e == "Copy-v0"} == {
        "tape-reinforce",
        "ntm",
        "transformer",
        "universal-transformer",
        "lstm",
    }
    durations = [hvs.estimate_s(r.config) for r in quick.runs()]
    assert all(d > 0 for d in durations)  # every quick run has a measured speed
    assert hvs.schedule_s(durations, 2) < 30 * 60  # the preset's promise: under 30 minutes
    full = hvs.PRESETS["full"]()
    assert full.device == "cuda" and len(full.seeds) >= 3
    assert {c.env for c in full.configs} >= {"MNIST-v0", "ClutteredMNIST100-v0", "Copy-v0"}
    assert hvs.Config("ClutteredMNIST100-v0", "draw", 1, glimpses=4).paper()[0] == 4.18

    from agents import cli as train

    standard = hvs.PRESETS["standard"]()
    pairs = {(c.env, c.agent) for c in standard.configs}
    assert pairs == {(e, a) for e in hvs.STANDARD_VISUAL_ENVS for a in hvs.VISUAL_AGENTS} | {
        (e, a) for e in hvs.STANDARD_TAPE_ENVS for a in hvs.TAPE_AGENTS
    } | {(e, a) for e in hvs.STANDARD_SEQUENCE_ENVS for a, _, _ in hvs.SEQUENCE_VISUAL_CONFIGS}
    dram = {c.label: c.paper()[0] for c in standard.configs if c.agent == "dram"}
    assert dram == {"": 5.0, "no-context": 7.0, "ram-like": 9.0}  # Ba et al.'s three rows
    assert len(standard.seeds) >= 2
    for c in standard.configs:  # a budget wherever a speed was measured, and only there
        assert (c.steps > 0) == ((c.agent, c.env) in hvs.CPU_SPS), c.name
    durations = [hvs.estimate_s(r.config) for r in standard.runs()]
    assert hvs.schedule_s(durations, 2) < 5.5 * 3600  # the preset's promise: about 5 hours
    for c in (c for c in standard.configs if c.steps):  # learning curves of 10 points
        assert c.steps // int(hvs._pick(c.flags, "--eval-every")[1]) == hvs.STANDARD_CURVE_POINTS
        if c.family == "visual" and c.agent not in ("ppo", "recurrent-ppo"):  # <= 30 epochs
            per_canvas = 1 if c.agent in hvs.WHOLE_IMAGE_AGENTS else hvs.ENV_GLIMPSES[c.env]
            assert c.steps <= 1.05 * 30 * 55_000 * per_canvas
    for env in hvs.STANDARD_TAPE_ENVS:  # one set of evaluation lengths per tape env
        lengths = {
            json.dumps(json.loads(hvs._pick(c.flags, "--eval-lengths")[1]))
            for c in standard.configs
            if c.env == env and c.agent in hvs.SEQUENCE_AGENTS
        }
        assert len(lengths) == 1
    ppo = hvs.PRESETS["ppo-budgets"]()
    envs = {c.env for c in ppo.configs}
    assert envs == {"TiledMNIST-v0", "MNIST-v0", "TranslatedMNIST-v0"} and ppo.equal_time == "ram"
    for env in envs:  # every agent at the same env steps: RAM's 30 epochs
        runs = [c for c in ppo.configs if c.env == env]
        assert {c.agent for c in runs} == {"ram", "maskable-ppo", "recurrent-ppo"}
        assert {c.steps for c in runs} == {30 * 55_000 * hvs.ENV_GLIMPSES[env]}
    for preset in (quick, full, standard, ppo, hvs.PRESETS["smoke"]()):
        for config in (c for c in preset.configs if c.steps):
            job = hvs.make_job(
                hvs.Run(config, 0), tmp_path, preset=preset, train_cmd=[], threads=1, device="cpu"
            )
            run, _, _, _ = train.parse_train_args([*job["args"], "--out", str(tmp_path)])
            assert (run.env, run.agent, run.steps) == (config.env_id, config.agent, config.steps)
            if preset is ppo and config.agent != "ram":  # held to every glimpse, as RAM
                assert run.env_kwargs == {"min_glimpses": hvs.ENV_GLIMPSES[config.env]}


def test_equal_time_reads_every_curve_at_the_reference_agents_training_seconds(tmp_path):
    configs = [hvs.Config("MNIST-v0", "ram", 100), hvs.Config("MNIST-v0", "maskable-ppo", 100)]
    preset = hvs.Preset(configs, (0, 1), "test preset", equal_time="ram")
    curves = {  # (agent, seed): (env steps, training seconds, validation error %) per validation
        ("ram", 0): [(10, 10.0, 20.0), (20, 20.0, 5.0)],
        ("ram", 1): [(10, 10.0, 30.0), (20, 30.0, 4.0)],  # RAM's mean training time: 25 s
        ("maskable-ppo", 0): [(5, 5.0, 90.0), (15, 15.0, 80.0), (24, 24.0, 70.0), (40, 40.0, 1.0)],
        ("maskable-ppo", 1): [(30, 30.0, 60.0)],  # not validated by 25 s
    }
    for c in configs:
        for seed in (0, 1):
            folder = hvs.run_dir(tmp_path, hvs.Run(c, seed)) / "train" / "stamp"
            folder.mkdir(parents=True)
            (folder / "eval.csv").write_text(
                "env_steps,train_s,val/error\n"
                + "".join(f"{n},{t},{e}\n" for n, t, e in curves[c.agent, seed])
            )
    at = hvs.equal_time(preset, tmp_path)["MNIST-v0"]
    assert at["seconds"] == 25.0
    rows = {name: (err, steps, n) for name, err, steps, n in at["rows"]}
    ram, ppo = hvs.agent_row("ram")[0], hvs.agent_row("maskable-ppo")[0]
    assert rows[ram] == (17.5, 15.0, 2) and rows[ppo] == (70.0, 24.0, 1)  # RAM s1 at 10 s
    for c in configs:  # finished runs, so that the report has their rows
        for seed in (0, 1):
            hvs._write_json(
                hvs.run_dir(tmp_path, hvs.Run(c, seed)) / hvs.RESULT_FILE,
                {"status": "ok", "results": {"test": {"error": 3.0}, "train_wall_s": 25.0}},
            )
    meta = hvs.provenance("pytest hard_vs_soft", "cpu", "test")
    md = hvs.report(preset, tmp_path, tmp_path / "out" / "hvs", meta)["md"].read_text()
    assert "At equal wall-clock on MNIST-v0: validation error % at 25 s of training" in md
    assert f"| {ppo} | 70 | 24 | 1 |" in md and f"| {ram} | 17.5 | 15 | 2 |" in md
    assert hvs.equal_time(hvs.Preset(configs, (0, 1), "no reference"), tmp_path) == {}


@pytest.mark.slow
@needs_mnist
def test_smoke_preset_through_real_train_py(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "hard_vs_soft.py"),
        "--preset",
        "smoke",
        "--results-dir",
        str(tmp_path),
        "--jobs",
        "2",
    ]
    res = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "sweep: 4 ok, 0 failed" in res.stdout
    rows = {r["agent"]: r for r in _csv_rows(tmp_path / "hard_vs_soft__smoke.csv")}
    assert set(rows) == {"ram", "ntm"} and all(r["status"] == "ok" for r in rows.values())
    assert 0 <= float(rows["ram"]["error_mean"]) <= 100 and float(rows["ram"]["pixels"]) == 384
    assert float(rows["ram"]["env_steps"]) >= 768 and int(float(rows["ntm"]["parameters"])) > 0
    assert set(json.loads(rows["ntm"]["error_by_length"])) == {"3", "6"}
    for suffix in ("error_vs_glimpses", "error_vs_pixels", "copy_length"):
        assert (tmp_path / f"hard_vs_soft__smoke__{suffix}.png").exists()


@pytest.mark.slow
def test_ray_backend_on_a_local_instance(tmp_path, fake, monkeypatch):
    if os.environ.get("CI"):  # the dev extra installs ray[tune]: in CI this test always runs
        import ray.tune  # noqa: F401
    else:
        pytest.importorskip(
            "ray.tune",
            reason="the Ray backend needs ray[tune] (pip install -e "
            "'.[dev]' or 'glimpse-envs[ray]')",
        )
    monkeypatch.setenv("FAKE_FAIL", "cnn")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    preset = _preset([*CONFIGS, hvs.Config("MNIST-v0", "cnn", 100)])
    results, paths = _sweep_and_report(preset, tmp_path, fake, backend="ray")
    status = {r["key"]: r["status"] for r in results}
    assert len(status) == 6 and fake["n_calls"]() == 6
    assert sorted(k for k, s in status.items() if s != "ok") == [
        "MNIST-v0__cnn__s0",
        "MNIST-v0__cnn__s1",
    ]
    res = json.loads((tmp_path / "runs" / "MNIST-v0__ram__s1" / "result.json").read_text())
    assert res["status"] == "ok" and res["results"]["test"]["error"] == 11.0
    rows = {r["agent"]: r for r in _csv_rows(paths["csv"])}
    assert float(rows["ram"]["error_mean"]) == pytest.approx(10.5)
    assert rows["cnn"]["status"] == "failed: exit 1: ValueError: boom on purpose"


def test_recorded_commands_can_be_pasted_into_a_shell():
    """A results file's command quotes JSON options (as --our-config or --env-kwargs take them)."""
    import shlex

    from agents.provenance import command_line

    argv = ["benchmarks/time_to_accuracy.py", "--our-config", '{"step_ce": 0.5}', "--epochs", "5"]
    assert shlex.split(command_line(argv))[1:] == argv
