"""PPO (SB3, GlimpseStack) and RecurrentPPO (sb3-contrib, LSTM) against RAM at the same number of
environment steps, on TiledMNIST-v0 and TranslatedMNIST-v0.

All three are scored on the env's fixed test canvases (error %, mean glimpses and pixels sensed
per decision). The PPO agents use the env's default MultiDiscrete action (a grid location and a
decision, so they may answer early); RAM uses the continuous variant and always takes every
glimpse. Budgets are env steps (one glimpse or one answer each), the same for every agent.

    python benchmarks/reproduce_ppo.py --preset smoke      # ~2 min: the harness works
    python benchmarks/reproduce_ppo.py                     # cpu preset (1M steps per agent)
    python benchmarks/reproduce_ppo.py --device cuda --full

Writes ``benchmarks/results/reproduce_ppo__PRESET.{json,md}`` (command, budget, machine, date, git
revision, curves) and prints the table.
"""

from __future__ import annotations

import argparse
import time

from hard_bench import add_common_args, header, resolve_preset, table, train_with_curve, write

ENVS = ["glimpse_envs/TiledMNIST-v0", "glimpse_envs/TranslatedMNIST-v0"]
AGENTS = ["ppo", "recurrent-ppo", "ram"]
PRESETS = {
    "smoke": {"budget": 20_000, "eval_every": 10_000, "test": 500, "num_envs": 16},
    "cpu": {"budget": 1_000_000, "eval_every": 250_000, "test": 10_000, "num_envs": 16},
    "full": {"budget": 20_000_000, "eval_every": 2_000_000, "test": 10_000, "num_envs": 64},
}


def make(agent: str, env_id: str, seed: int, device: str, num_envs: int, steps: int):
    from agents import get_trainer
    from agents.base import RunConfig

    cls = get_trainer(agent)
    n = 64 if agent == "ram" else num_envs
    run = RunConfig(env=env_id, agent=agent, seed=seed, device=device, num_envs=n, steps=steps)
    return cls(run, cls.Config())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, PRESETS, "agent")
    p.add_argument("--envs", nargs="+", default=ENVS)
    p.add_argument("--agents", nargs="+", choices=AGENTS, default=AGENTS)
    args = p.parse_args()
    preset_name, preset, budget = resolve_preset(args, PRESETS)
    record = header(
        args.device,
        {
            "env_steps_per_agent": budget,
            "preset": preset_name,
            "num_envs_ppo": preset["num_envs"],
            "num_envs_ram": 64,
        },
    )
    record["runs"] = {}
    rows = []
    for env_id in args.envs:
        for agent in args.agents:
            label = f"{agent} {env_id.split('/')[1]}"
            print(f"{label}: {budget:,} env steps", flush=True)
            trainer = make(agent, env_id, args.seed, args.device, preset["num_envs"], budget)
            res = train_with_curve(
                trainer, budget, preset["eval_every"], 1000, time_limit=args.time_limit, label=label
            )
            t0 = time.perf_counter()
            res["test"] = test = trainer.evaluate("test", preset["test"])
            res["test_wall_s"] = round(time.perf_counter() - t0, 1)
            res["parameters"] = trainer.num_parameters()
            trainer.close()
            record["runs"][f"{agent}|{env_id}"] = res
            rows.append(
                [
                    env_id.split("/")[1],
                    agent,
                    f"{res['env_steps']:,}",
                    res["train_wall_s"],
                    round(res["env_steps"] / max(res["train_wall_s"], 1e-9)),
                    test["error"],
                    test["glimpses"],
                    test["pixels"],
                ]
            )
    md = table(
        ["env", "agent", "env steps", "train s", "steps/s", "test error %", "glimpses", "pixels"],
        rows,
    )
    path = write(f"reproduce_ppo__{preset_name}", record, md)
    print("\n" + md + f"\n\nwritten: {path}")


if __name__ == "__main__":
    main()
