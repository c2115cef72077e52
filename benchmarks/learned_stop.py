"""Error against glimpses: RAM with a learned stop (``--stop learned``) for a sweep of the env's
``glimpse_cost``, beside fixed-budget RAM at 2, 4, 6 and 8 glimpses (the RAM paper's rows).

Every run is RAM (``agents/ram.py``, its defaults, 64 episodes per update) trained for the same
budget of env steps (one glimpse each; the learned-stop runs count the glimpses their episodes
took) through the one training loop (``agents/run.py``), then scored on the first ``--test``
canvases of the fixed test split: test error against mean glimpses per decision. The fixed runs
set the env's budget (``glimpses``); the learned-stop runs keep the id's budget of 8 and set
``glimpse_cost``, which the env subtracts per glimpse from the answer's reward (the agent's
REINFORCE return). ``--equal-episodes`` adds fixed runs at T < 8 trained on as many updates (64
episodes each) as T = 8 gets, ``budget * T / 8`` env steps: at the same env steps a smaller T
sees proportionally more episodes. A short-budget curve, not the paper's (1M env steps per run,
not tens of millions)::

    python benchmarks/learned_stop.py --budget 1000000 --equal-episodes  # the committed results
    python benchmarks/learned_stop.py --budget 20000 --test 500 --name learned_stop__smoke

Writes ``benchmarks/results/NAME.{json,md,png}`` after every run (the command, machine, date, git
revision and budget with them); a run already in ``NAME.json`` with the same budget, seed and test
size is not run again, so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hard_bench import RESULTS, header, table, train_with_curve, write

ENVS = ("glimpse_envs/TranslatedMNIST-v0", "glimpse_envs/ClutteredMNIST-v0")


def _runs(args) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, env id, settings) of every run, in the order they are trained."""
    out = []
    for env in args.envs:
        for t in args.fixed:
            out.append((f"{env}|fixed|{t}", env, {"glimpses": t}))
        for c in args.costs:
            out.append((f"{env}|learned|{c:g}", env, {"glimpses": args.max_glimpses, "cost": c}))
        for t in args.fixed if args.equal_episodes else ():
            if t != args.max_glimpses:  # (at the learned stop's budget: the fixed run above)
                steps = args.budget * t // args.max_glimpses
                out.append((f"{env}|fixed_episodes|{t}", env, {"glimpses": t, "steps": steps}))
    return out


def _train(env: str, settings: dict[str, Any], args) -> dict[str, Any]:
    from agents import get_trainer
    from agents.base import RunConfig

    cls = get_trainer("ram")
    kwargs = {"glimpses": settings["glimpses"]}
    cfg = cls.Config()
    if "cost" in settings:
        kwargs["glimpse_cost"] = settings["cost"]
        cfg = cls.Config(stop="learned")
    steps = settings.get("steps", args.budget)
    run = RunConfig(
        env=env,
        agent="ram",
        seed=args.seed,
        num_envs=args.num_envs,
        steps=steps,
        env_kwargs=kwargs,
    )
    trainer = cls(run, cfg)
    label = f"{env.split('/')[-1]} " + (
        f"learned cost {settings['cost']:g}"
        if "cost" in settings
        else f"fixed {kwargs['glimpses']}" + (", same updates" if "steps" in settings else "")
    )
    try:
        res = train_with_curve(trainer, steps, steps // 4, args.val, label=label)
        res["test"] = trainer.evaluate("test", args.test)
    finally:
        trainer.close()
    res.update(env=env, env_kwargs=kwargs, stop=cfg.stop, seed=args.seed, test_episodes=args.test)
    res["same_episodes"] = "steps" in settings
    res["updates"] = trainer.iteration
    print(f"  [{label}] test {res['test']}", flush=True)
    return res


def _rows(record: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for res in record["runs"].values():
        learned = res["stop"] == "learned"
        kind = "fixed, same updates as T=8" if res.get("same_episodes") else "fixed"
        rows.append(
            [
                res["env"].split("/")[-1],
                "learned stop" if learned else kind,
                res["env_kwargs"]["glimpses"],
                res["env_kwargs"].get("glimpse_cost", 0.0) if learned else "-",
                f"{res['env_steps']:,}",
                res["train_wall_s"],
                res["test"]["error"],
                res["test"]["glimpses"],
            ]
        )
    return rows


def plot(record: dict[str, Any], path) -> None:
    """Test error against mean glimpses per decision, one panel per env: the fixed budgets as one
    line, the learned stop as points labelled by their cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in record["runs"].values()))
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs):
        runs = [r for r in record["runs"].values() if r["env"] == env]
        fixed = [r for r in runs if r["stop"] == "fixed" and not r.get("same_episodes")]
        for line, style, name in (
            (fixed, "o-", "RAM, fixed budget T (same env steps)"),
            (
                [r for r in runs if r.get("same_episodes")]
                + [
                    r
                    for r in fixed
                    if r["env_kwargs"]["glimpses"] == record["budget"]["max_glimpses"]
                ],
                "^--",
                "RAM, fixed budget T (same updates as T=8)",
            ),
        ):
            points = sorted((r["test"]["glimpses"], r["test"]["error"]) for r in line)
            if len(points) > 1 or (points and line is fixed):
                ax.plot(*zip(*points), style, color="tab:blue", label=name)
        for g, e in sorted((r["test"]["glimpses"], r["test"]["error"]) for r in fixed):
            ax.annotate(f"T={g:g}", (g, e), textcoords="offset points", xytext=(4, 4))
        learned = [r for r in runs if r["stop"] == "learned"]
        for i, r in enumerate(learned):
            g, e = r["test"]["glimpses"], r["test"]["error"]
            ax.plot(g, e, "s", color="tab:red", label="RAM, learned stop (T=8)" if not i else None)
            cost = r["env_kwargs"]["glimpse_cost"]
            ax.annotate(f"c={cost:g}", (g, e), textcoords="offset points", xytext=(4, -12))
        ax.set_title(f"{env.split('/')[-1]}, {record['budget']['env_steps_per_run']:,} env steps")
        ax.set_xlabel("mean glimpses per decision (test)")
        ax.set_ylabel(f"test error % (first {record['budget']['test_canvases']:,} canvases)")
        ax.set_xlim(0, record["budget"]["max_glimpses"] + 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", nargs="+", default=list(ENVS))
    p.add_argument("--budget", type=int, default=1_000_000, help="env steps per run")
    p.add_argument("--fixed", type=int, nargs="+", default=[2, 4, 6, 8], help="fixed budgets T")
    p.add_argument("--costs", type=float, nargs="+", default=[0.0, 0.005, 0.02, 0.05])
    p.add_argument("--max-glimpses", type=int, default=8, help="the learned stop's budget")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--val", type=int, default=1000, help="validation canvases per curve point")
    p.add_argument("--test", type=int, default=10_000, help="test canvases scored")
    p.add_argument(
        "--equal-episodes",
        action="store_true",
        help="also train each fixed T < the learned stop's budget on as many updates (episodes) as "
        "T = that budget gets: budget * T / max-glimpses env steps",
    )
    p.add_argument("--name", default="learned_stop")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    budget = {
        "env_steps_per_run": args.budget,
        "envs": args.envs,
        "fixed_glimpses": args.fixed,
        "glimpse_costs": args.costs,
        "max_glimpses": args.max_glimpses,
        "seed": args.seed,
        "num_envs": args.num_envs,
        "test_canvases": args.test,
        "equal_episodes": args.equal_episodes,
    }
    path = RESULTS / f"{args.name}.json"
    done: dict[str, Any] = {}
    if path.exists():
        old = json.loads(path.read_text())
        same = {k: old["budget"].get(k) for k in ("env_steps_per_run", "seed", "test_canvases")}
        if same == {k: budget[k] for k in same}:
            done = old.get("runs", {})
    record = header("cpu", budget)
    record["runs"] = {}
    for key, env, settings in _runs(args):
        record["runs"][key] = done[key] if key in done else _train(env, settings, args)
        md = table(
            [
                "env",
                "agent",
                "budget T",
                "glimpse_cost",
                "env steps",
                "train s",
                "test error %",
                "glimpses / decision",
            ],
            _rows(record),
        )
        write(args.name, record, md + f"\n\n![error against glimpses]({args.name}.png)")
        plot(record, RESULTS / f"{args.name}.png")
    print("\n" + md + f"\n\nwritten: {path}")


if __name__ == "__main__":
    main()
