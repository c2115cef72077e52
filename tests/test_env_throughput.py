"""benchmarks/env_throughput.py --reset-costs: the parts of a visual reset, timed per canvas."""

from __future__ import annotations

import json

import env_throughput as et
import pytest

from tests.conftest import real_data_available

pytestmark = pytest.mark.skipif(not real_data_available(), reason="needs MNIST (GLIMPSE_ENVS_DATA)")


def test_reset_costs_of_a_visual_id_and_none_for_a_tape():
    row = et.reset_costs("glimpse_envs/ClutteredMNIST-v0", 16, seconds=0.06)
    parts = ("render_us", "first_glimpse_us")
    assert all(row[k] > 0 for k in parts + ("prepare_us", "glimpse_us", "look_step_us"))
    # the native env's reset reads its first glimpse straight: no integral image in it
    assert row["lazy"] and row["reset_us"] == pytest.approx(sum(row[k] for k in parts))
    assert not et.reset_costs("glimpse_envs/MNIST-v0", 16, seconds=0.06)["lazy"]  # one scale
    # a step where every row resets does the look step's bookkeeping plus a whole reset: slower
    assert row["reset_step_us"] > row["look_step_us"]
    assert row["look_over_reset_step"] == pytest.approx(row["look_step_us"] / row["reset_step_us"])
    assert et.reset_costs("glimpse_envs/Copy-v0", 16, seconds=0.06) is None


def test_reset_costs_cli_writes_its_table(tmp_path):
    out = tmp_path / "rc"
    et.main(["--reset-costs", "8", "--seconds", "0.03", "--ids", "MNIST-v0", "--out", str(out)])
    record = json.loads(out.with_suffix(".json").read_text())
    assert {r["id"] for r in record["rows"]} >= {"glimpse_envs/MNIST-v0"}
    assert "Copy-v0" not in out.with_suffix(".md").read_text()
    assert "look step / reset step" in out.with_suffix(".md").read_text()


def test_against_a_revision_alternates_single_and_native_envs(tmp_path):
    """--against REV: the single and the native env of REV (a temporary worktree, subprocesses)
    beside this tree's, in one table."""
    out = tmp_path / "ab"
    record = et.main(
        ["--quick", "--seconds", "0.02", "--ids", "TiledMNIST", "--against", "HEAD"]
        + ["--out", str(out)]
    )
    (look, random) = record["rows"]
    for row in (look, random):
        assert row["single_old"] > 0 and row["native_old"] > 0 and row["native_256_ab"] > 0
        assert row["native_new_over_old"] == pytest.approx(row["native_256_ab"] / row["native_old"])
    assert "native 256 @HEAD" in out.with_suffix(".md").read_text()
