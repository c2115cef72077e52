"""Does masking help PPO? PPO against MaskablePPO at the same env steps, same seeds.

The visual envs' ``action_masks()`` rule out "keep looking" at the last glimpse (only an answer is
legal there); plain PPO may pick it and the env then counts the episode wrong. MaskablePPO
(sb3-contrib) never samples a masked action, in training or evaluation. Everything else is the
same: ``agents/sb3_agents.py``'s defaults, its DictFeatures extractor over the GlimpseStack history,
the same env steps and seeds, scored on the fixed test split. (The tape envs' masks allow every
action of their space, so the two agents are the same algorithm there and are not compared.)

    python benchmarks/masking.py                       # MNIST-v0, 300k env steps, seeds 0 and 1
    python benchmarks/masking.py --budget 20000 --seeds 0 --test 500   # smoke

Writes ``benchmarks/results/masking.{json,md}`` (command, machine, date, revision, budget) and
prints the table.
"""

from __future__ import annotations

import argparse

from hard_bench import header, table, train_with_curve, write

AGENTS = ("ppo", "maskable-ppo")


def main(argv: list[str] | None = None) -> None:
    import torch

    from agents import get_trainer
    from agents.base import RunConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="glimpse_envs/MNIST-v0")
    p.add_argument("--budget", type=int, default=300_000, help="env steps per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--test", type=int, default=10_000, help="test canvases scored")
    p.add_argument("--name", default="masking")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    record = header(
        "cpu",
        {
            "env_steps_per_run": args.budget,
            "env": args.env,
            "seeds": args.seeds,
            "num_envs": args.num_envs,
        },
    )
    record["runs"] = {}
    rows = []
    for agent in AGENTS:
        for seed in args.seeds:
            cls = get_trainer(agent)
            run = RunConfig(
                env=args.env, agent=agent, seed=seed, num_envs=args.num_envs, steps=args.budget
            )
            trainer = cls(run, cls.Config())
            res = train_with_curve(
                trainer, args.budget, args.budget // 4, 1000, label=f"{agent} s{seed}"
            )
            res["test"] = test = trainer.evaluate("test", args.test)
            trainer.close()
            record["runs"][f"{agent}|{seed}"] = res
            rows.append(
                [
                    agent,
                    seed,
                    f"{res['env_steps']:,}",
                    res["train_wall_s"],
                    test["error"],
                    test["glimpses"],
                ]
            )
    md = table(
        ["agent", "seed", "env steps", "train s", "test error %", "glimpses / decision"], rows
    )
    path = write(args.name, record, md)
    print("\n" + md + f"\n\nwritten: {path}")


if __name__ == "__main__":
    main()
