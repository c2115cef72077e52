"""benchmarks/torch_retina.py: the device path's rates beside numpy's, env steps included."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
import torch_retina as tr  # noqa: E402

from tests.conftest import real_data_available  # noqa: E402

pytestmark = pytest.mark.skipif(not real_data_available(), reason="needs MNIST (GLIMPSE_ENVS_DATA)")


def test_cli_rows_hold_every_rate_and_the_equality_check(tmp_path):
    out = tmp_path / "tr"
    record = tr.main(
        ["--ids", "MNIST-v0", "--n", "16", "--seconds", "0.02", "--threads", "1", "--out", str(out)]
    )
    numpy_row, torch_row = record["rows"]
    assert (numpy_row["backend"], torch_row["backend"]) == ("numpy", "torch")
    for row in record["rows"]:
        assert all(row[k] > 0 for k in tr.KEYS)
    assert torch_row["equal"] == {"canvas": "bit-identical", "glimpses": "bit-identical"}
    md = out.with_suffix(".md").read_text()
    assert "env steps/s, random" in md and md.count("| MNIST-v0 |") == 2
    assert json.loads(out.with_suffix(".json").read_text())["rows"][0]["n"] == 16


def test_env_steps_look_runs_whole_episodes_random_resets():
    # looking keeps every episode going, so a step is a glimpse; random actions mostly answer,
    # so about half the rows reset on each step: slower per step than looking
    rates = tr.env_steps("MNIST-v0", 64, 0.1, lambda: None, "numpy", "cpu")
    assert set(rates) == {"env_steps_per_s_look", "env_steps_per_s_random"}
    assert rates["env_steps_per_s_random"] < rates["env_steps_per_s_look"]
