"""The backprop agents through train.py: every one trains, checkpoints and reports on its family."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("soft-tiles", "glimpse_envs/TiledMNIST-v0", ["--hidden", "32"], "error"),
    ("draw", "glimpse_envs/ClutteredMNIST-v0", ["--glimpses", "2", "--hidden", "32"], "error"),
    ("mlp", "glimpse_envs/MultiMNIST-v0", ["--hidden", "32"], "error"),
    ("cnn", "glimpse_envs/TranslatedMNIST-v0", ["--hidden", "32"], "error"),
    (
        "ntm",
        "glimpse_envs/Copy-v0",
        ["--eval-lengths", "[3,5]", "--max-length", "3"],
        "bit_errors@5",
    ),
    ("lstm", "glimpse_envs/RepeatCopy-v0", ["--hidden", "16", "--layers", "1"], "bit_errors@20"),
]


@pytest.mark.parametrize(("agent", "env", "extra", "key"), CASES, ids=[c[0] for c in CASES])
def test_train_py_runs_the_agent(agent, env, extra, key, tmp_path):
    cmd = [
        sys.executable,
        "train.py",
        "--agent",
        agent,
        "--env",
        env,
        "--steps",
        "400",
        "--eval-every",
        "0",
        "--test-episodes",
        "20",
        "--out",
        str(tmp_path),
        *extra,
    ]
    env_vars = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env_vars, check=False
    )
    if proc.returncode and "DataError" in proc.stderr:
        pytest.skip("MNIST not available; set GLIMPSE_ENVS_DATA")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert key in results["test"] and results["env_steps"] >= 400
    assert (run_dir / "checkpoint.pt").exists()


def test_lr_final_decays_linearly_over_the_budget_and_resumes():
    """--lr-final: the backprop agents' learning rate follows RAM's linear schedule over --steps;
    the clock (env steps) is in the checkpoint, and the default keeps a constant rate."""
    import copy

    from _supervised_helpers import make_trainer

    from agents.baselines import MLPTrainer

    def lr(tr):
        return tr.optimizer.param_groups[0]["lr"]

    tr = make_trainer(MLPTrainer, "glimpse_envs/MNIST-v0", hidden=16, batch_size=8, lr_final=1e-5)
    tr.run.steps = 8 * 10  # ten updates of 8 canvases (MLP: one env step per canvas)
    seen = [(tr.train_iteration(), lr(tr))[1] for _ in range(4)]
    # the rate of update k is set from the k * 8 steps spent before it
    expect = [1e-3 + (k / 10) * (1e-5 - 1e-3) for k in range(4)]
    assert seen == pytest.approx(expect, rel=1e-9)
    state = copy.deepcopy(tr.state_dict())
    assert state["env_steps"] == 32
    a = tr.train_iteration()
    tr.load_state_dict(state)
    b = tr.train_iteration()
    assert a == b and lr(tr) == pytest.approx(1e-3 + 0.4 * (1e-5 - 1e-3))
    for _ in range(10):  # past the budget: held at lr_final
        tr.train_iteration()
    assert lr(tr) == pytest.approx(1e-5)
    plain = make_trainer(MLPTrainer, "glimpse_envs/MNIST-v0", hidden=16, batch_size=8)
    plain.run.steps = 80
    for _ in range(3):
        plain.train_iteration()
    assert lr(plain) == 1e-3


def test_curriculum_on_a_visual_id_is_refused():
    from _supervised_helpers import make_trainer

    from agents.baselines import LSTMPixelTrainer

    with pytest.raises(ValueError, match="--curriculum is for the tape ids"):
        make_trainer(LSTMPixelTrainer, "glimpse_envs/MNIST-v0", curriculum=True)
