"""RAM's learned stop (``--stop learned``): the stop head's shapes and gradients, that the env's
``glimpse_cost`` makes it answer early and no cost keeps it looking, that a short run beats chance,
and that train.py resumes, evaluates and renders it; the default (``--stop fixed``) is RAM as it
was."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import needs_mnist
from test_ram import _grads
from test_train import _rows, _run_dir

from agents import cli as train
from agents.base import RunConfig
from agents.ram import Config, RAMTrainer

pytestmark = needs_mnist
MNIST = "glimpse_envs/MNIST-v0"  # budget T = 6 glimpses


def _trainer(steps: int = 10**6, cost: float = 0.0, **cfg) -> RAMTrainer:
    torch.set_num_threads(1)
    run = RunConfig(env=MNIST, seed=0, num_envs=64, steps=steps, env_kwargs={"glimpse_cost": cost})
    return RAMTrainer(run, Config(stop="learned", **cfg))


def test_shapes_and_gradients():
    tr = _trainer(stop_warmup=0.0, stop_init=0.3)
    ep, losses = tr.episode_losses(0)
    n, T, L = 64, tr.glimpses, ep["step_logits"].shape[1]
    assert 1 < L <= T and ep["step_logits"].shape == (n, L, 10)
    assert ep["stop_logp"].shape == ep["loc_logp"].shape == (n, min(L, T - 1))
    assert (
        ep["alive"].shape == (n, L + 1) and ep["alive"][:, 0].all() and not ep["alive"][:, -1].any()
    )
    # every episode answered once, after the glimpses it was alive for
    np.testing.assert_array_equal(ep["glimpses"], ep["alive"].sum(1))
    assert 1 <= ep["glimpses"].min() and ep["glimpses"].max() <= T and ep["glimpses"].min() < T
    assert (ep["pixels"] == ep["glimpses"] * 64).all()
    stop_params = {"stop_head.weight", "stop_head.bias"}
    loc_params = {"location.weight", "location.bias"}

    g = _grads(tr.model, losses["stop"])
    assert {k for k, v in g.items() if v} == stop_params, "the stop term trains the stop head only"
    g = _grads(tr.model, losses["reinforce"])
    assert {k for k, v in g.items() if v} == stop_params | loc_params
    g = _grads(tr.model, losses["classifier"])
    assert not any(g[k] for k in stop_params | loc_params | {"baseline.weight"})
    assert g["classifier.weight"] > 0 and g["fc_glimpse.weight"] > 0
    g = _grads(tr.model, losses["baseline"])
    assert {k for k, v in g.items() if v} == {"baseline.weight", "baseline.bias"}


def test_the_default_is_ram_unchanged_and_old_configs_load():
    torch.set_num_threads(1)
    run = RunConfig(env=MNIST, seed=0, num_envs=8, steps=1000)
    fixed = RAMTrainer(run, Config())
    assert not hasattr(fixed.model, "stop_head") and not fixed.learned_stop
    learned = RAMTrainer(run, Config(stop="learned"))
    fixed_sd, learned_sd = fixed.model.state_dict(), learned.model.state_dict()
    assert set(learned_sd) - set(fixed_sd) == {"stop_head.weight", "stop_head.bias"}
    for k, v in fixed_sd.items():  # the stop head is made last: every other layer starts the same
        torch.testing.assert_close(learned_sd[k], v, rtol=0, atol=0, msg=k)
    old = {k: v for k, v in vars(Config()).items() if not k.startswith("stop")}
    assert Config(**old).stop == "fixed"  # a checkpoint written before the option


def test_impossible_combinations_are_refused():
    with pytest.raises(ValueError, match="pure-rl"):
        _trainer(pure_rl=True)
    with pytest.raises(ValueError, match="stop must be"):
        RAMTrainer(RunConfig(env=MNIST, num_envs=4), Config(stop="sometimes"))
    with pytest.raises(ValueError, match="at least 2 glimpses"):
        RAMTrainer(
            RunConfig(env=MNIST, num_envs=4, env_kwargs={"glimpses": 1}), Config(stop="learned")
        )


@pytest.mark.parametrize(
    "cost,most,least",
    [(0.2, 0.0, 2.0), (0.0, 5.0, 6.0)],  # (a cost, fewest and most mean test glimpses allowed)
)
def test_cost_sets_the_glimpses_and_a_short_run_beats_chance(cost, most, least):
    """60,000 env steps (half of them the warm-up, every glimpse taken; ~10 s on one thread), then
    500 test canvases. A cost of 0.2 per glimpse (a right answer after 5 glimpses earns nothing)
    makes it answer early (measured, seed 0: 1.03 glimpses); no cost keeps it looking (6.0 of 6).
    Both beat chance (90 % error) by 15 points at least (measured: 39.6 and 44.4 %)."""
    tr = _trainer(steps=60_000, cost=cost)
    while tr.env_steps < tr.run.steps:
        tr.train_iteration()
    res = tr.evaluate("test", 500)
    assert most <= res["glimpses"] <= least, res
    assert res["pixels"] == res["glimpses"] * 64
    assert res["error"] < 75.0, res


def _interrupted_at(update: int):
    """RAM's ``train_iteration``, but Ctrl-C at update ``update``."""
    step = RAMTrainer.train_iteration

    def patched(self):
        if self.iteration == update:
            raise KeyboardInterrupt
        return step(self)

    return patched


def test_resume_evaluate_and_render_through_train_py(tmp_path, monkeypatch):
    """An interrupted learned-stop run resumed with train.py writes the same train.csv as the
    uninterrupted one (its warm-up ends between the interruption and the end)."""
    torch.set_num_threads(1)
    common = [
        *("--agent", "ram", "--env", "MNIST-v0", "--stop", "learned", "--stop-warmup", "0.3"),
        *("--glimpse-cost", "0.05", "--steps", "1500", "--num-envs", "32"),
        *("--eval-every", "0", "--test-episodes", "40", "--no-progress"),
    ]
    assert train.main([*common, "--out", str(tmp_path / "a")]) == 0
    with monkeypatch.context() as m:
        m.setattr(RAMTrainer, "train_iteration", _interrupted_at(2))
        assert train.main([*common, "--out", str(tmp_path / "b")]) == 130
    b = _run_dir(tmp_path / "b")
    assert train.main(["--resume", str(b), "--no-progress"]) == 0
    full, resumed = _rows(_run_dir(tmp_path / "a")), _rows(b)
    assert len(full) == len(resumed) > 3 and full == resumed
    glimpses = [float(r["charts/glimpses"]) for r in full]
    assert glimpses[0] == 6.0 and min(glimpses) < 6.0, "the warm-up takes every glimpse, then not"

    results = json.loads((b / "results.json").read_text())
    assert {"error", "glimpses", "pixels"} <= set(results["test"])
    e = tmp_path / "e.json"
    assert (
        train.main(["evaluate", "--checkpoint", str(b), "--episodes", "40", "--json", str(e)]) == 0
    )
    assert json.loads(e.read_text()) == results["test"]
    out = tmp_path / "renders"
    assert train.main(["render", "--checkpoint", str(b), "--episodes", "2", "--out", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 2
