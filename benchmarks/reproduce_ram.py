"""RAM (agents/ram.py) on MNIST-v0 (6 glimpses), TranslatedMNIST-v0 and ClutteredMNIST-v0 (8 glimpses)
against the RAM paper's test errors (NIPS 2014, Tables 1a, 1b, 2a: 1.12 / 1.20 / 4.04 %).

RAM trains through each env's native vector env (continuous locations) and is scored on the whole
fixed test split (10,000 canvases, ``canvas.fixed("test", i)``) with one greedy pass per image
(mean location, argmax class); ``--mc K`` also reports K-sample Monte Carlo averaging, labelled as
such. Validation every ``--eval-every`` steps on the first 1,000 validation canvases gives the curve.

    python benchmarks/reproduce_ram.py --preset smoke       # ~1 min: the harness works
    python benchmarks/reproduce_ram.py                      # cpu preset: ~3M steps per task
    python benchmarks/reproduce_ram.py --budget 20000000 --tasks mnist
    python benchmarks/reproduce_ram.py --device cuda --full # the paper-scale run, one GPU

Budget: env steps per task (one glimpse each: an episode of T glimpses is T steps); epochs =
episodes / 55,000 training images. Writes ``benchmarks/results/reproduce_ram__PRESET.{json,md}``
(command, budget, machine, date, git revision, curve) and prints the table.
"""

from __future__ import annotations

import argparse
import time

from hard_bench import add_common_args, header, resolve_preset, table, train_with_curve, write

TASKS = {  # name: (env id, glimpses, paper error %, paper table)
    "mnist": ("glimpse_envs/MNIST-v0", 6, 1.12, "Table 1a, RAM 6 glimpses"),
    "translated": ("glimpse_envs/TranslatedMNIST-v0", 8, 1.20, "Table 1b, RAM 8 glimpses"),
    "cluttered": ("glimpse_envs/ClutteredMNIST-v0", 8, 4.04, "Table 2a, RAM 8 glimpses"),
}
PRESETS = {
    # smoke and cpu use agents/ram.py's defaults (linear decay of the learning rate to 1e-5)
    "smoke": {"budget": 60_000, "num_envs": 64, "eval_every": 30_000, "test": 1000},
    "cpu": {"budget": 3_000_000, "num_envs": 64, "eval_every": 500_000, "test": 10_000},
    # ~300 epochs of MNIST at 6 glimpses; linear decay of the learning rate to 3e-5
    "full": {
        "budget": 100_000_000,
        "num_envs": 256,
        "eval_every": 5_000_000,
        "test": 10_000,
        "lr_final": 3e-5,
    },
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, PRESETS, "task")
    p.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    p.add_argument("--num-envs", type=int, default=0, help="batch of episodes (0: the preset's)")
    p.add_argument("--core", default="rnn", choices=["rnn", "lstm"], help="RAM's recurrent core")
    p.add_argument("--mc", type=int, default=1, help="also report K-sample Monte Carlo test error")
    args = p.parse_args()
    preset_name, preset, budget = resolve_preset(args, PRESETS)
    num_envs = args.num_envs or preset["num_envs"]
    from agents.base import RunConfig
    from agents.ram import Config, RAMTrainer

    record = header(
        args.device, {"env_steps_per_task": budget, "num_envs": num_envs, "preset": preset_name}
    )
    record["tasks"] = {}
    rows = []
    for name in args.tasks:
        env_id, glimpses, paper, where = TASKS[name]
        run = RunConfig(
            env=env_id,
            agent="ram",
            seed=args.seed,
            steps=budget,
            num_envs=num_envs,
            device=args.device,
        )
        cfg = Config(core=args.core, mc_samples=args.mc)
        if "lr_final" in preset:
            cfg.lr_final = preset["lr_final"]
        trainer = RAMTrainer(run, cfg)
        assert trainer.glimpses == glimpses, (env_id, trainer.glimpses)
        print(f"{name}: RAM on {env_id}, {glimpses} glimpses, {budget:,} env steps", flush=True)
        res = train_with_curve(
            trainer, budget, preset["eval_every"], 1000, time_limit=args.time_limit, label=name
        )
        t0 = time.perf_counter()
        test = trainer.evaluate("test", preset["test"])
        res["test_wall_s"] = round(time.perf_counter() - t0, 1)
        res["test"] = test
        res["epochs"] = res["env_steps"] / glimpses / 55_000
        res["paper_error"] = paper
        res["paper_table"] = where
        res["parameters"] = trainer.num_parameters()
        record["tasks"][name] = res
        trainer.close()
        rows.append(
            [
                env_id.split("/")[1],
                glimpses,
                f"{res['env_steps']:,}",
                round(res["epochs"], 2),
                res["train_wall_s"],
                test["error"],
                test.get("error_mc", "-"),
                paper,
                where,
            ]
        )
    md = table(
        [
            "env",
            "glimpses",
            "env steps",
            "epochs",
            "train s",
            "test error %",
            f"MC{args.mc} error %" if args.mc > 1 else "MC error %",
            "paper %",
            "paper table",
        ],
        rows,
    )
    name = f"reproduce_ram__{preset_name}"
    if args.budget:  # a budget other than the preset's gets its own result files
        name += f"__{budget}"
    path = write(name, record, md)
    print("\n" + md + f"\n\nwritten: {path}")


if __name__ == "__main__":
    main()
