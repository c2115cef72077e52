"""DRAW read attention ("differentiable RAM") on ClutteredMNIST100-v0 against the DRAW paper, with
the MLP and CNN baselines on the same canvases against the RAM paper's rows.

Every model trains through its Trainer (agents/draw.py, agents/baselines.py) on the env's own
canvas generator and is scored on the env's fixed test canvases (``canvas.fixed("test", i)``),
the images the hard agents are scored on. The no-attention baselines run in the same process.

Budget: ``--budget`` env steps per model, counted as ``train.py`` counts them: DRAW one step per
glimpse (T per canvas), MLP and CNN one step per canvas, so for equal budgets the baselines see T
times more canvases (a conservative comparison for the attention model). ``--time-limit`` caps
each model's training wall-clock.

    python benchmarks/reproduce_draw.py --preset smoke        # ~1 min on a CPU: the harness works
    python benchmarks/reproduce_draw.py --preset cpu          # hours on 2 cores: a rough table
    python benchmarks/reproduce_draw.py --preset gpu          # the paper-scale run, on one GPU
    python benchmarks/reproduce_draw.py --budget 2000000 --device cuda --models draw8 cnn

Writes ``benchmarks/results/reproduce_draw__ENV__PRESET.{json,md}`` (command, budget, machine,
date, git revision) and prints the table.
"""

from __future__ import annotations

import argparse
import time

from supervised_bench import header, train_for, write

#: test error (%) reported by the papers for 100x100 cluttered MNIST (REFERENCE.md)
PAPER = {
    "glimpse_envs/ClutteredMNIST100-v0": {
        "draw4": ("4.18", "DRAW paper table 1, differentiable RAM, 4 glimpses 12x12"),
        "draw8": ("3.36", "DRAW paper table 1, differentiable RAM, 8 glimpses 12x12"),
        "cnn": ("14.35", "RAM paper (NIPS 2014) table 2b, convolutional 2 layers"),
        "mlp": ("-", "not reported at 100x100"),
    },
    "glimpse_envs/ClutteredMNIST-v0": {
        "draw4": ("-", "not reported"),
        "draw8": ("-", "not reported"),
        "cnn": ("8.09", "RAM paper table 2a, convolutional 2 layers"),
        "mlp": ("11.96", "RAM paper table 2a, FC 2 x 256"),
    },
    "glimpse_envs/TranslatedMNIST-v0": {
        "draw4": ("-", "not reported"),
        "draw8": ("-", "not reported"),
        "cnn": ("1.62", "RAM paper table 1b, convolutional 2 layers"),
        "mlp": ("2.63", "RAM paper table 1b, FC 2 x 256"),
    },
}

PRESETS = {
    # budget (env steps per model), test canvases, wall-clock cap per model (s), batch
    "smoke": {"budget": 20_000, "test": 500, "time_limit": 60, "batch": 32},
    "cpu": {"budget": 2_000_000, "test": 10_000, "time_limit": 3 * 3600, "batch": 64},
    "gpu": {"budget": 40_000_000, "test": 10_000, "time_limit": 0, "batch": 128},
}


def make(model: str, env: str, seed: int, device: str, batch: int, lr: float, steps: int):
    from agents.base import RunConfig
    from agents.baselines import CNNTrainer, MLPTrainer
    from agents.draw import DRAWTrainer

    run = RunConfig(env=env, agent=model, seed=seed, device=device, lr=lr, steps=steps)
    if model.startswith("draw"):
        cfg = DRAWTrainer.Config(glimpses=int(model[4:]), batch_size=batch)
        return DRAWTrainer(run, cfg)
    cls = {"mlp": MLPTrainer, "cnn": CNNTrainer}[model]
    return cls(run, cls.Config(batch_size=batch))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke")
    p.add_argument("--budget", type=int, default=0, help="env steps per model (0: the preset's)")
    p.add_argument("--env", default="glimpse_envs/ClutteredMNIST100-v0")
    p.add_argument(
        "--models",
        nargs="+",
        default=["draw4", "draw8", "mlp", "cnn"],
        help="draw<T> (any T), mlp, cnn",
    )
    p.add_argument("--device", default="", help="torch device (default: cuda for the gpu preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.0, help="0: each agent's default")
    p.add_argument("--test-episodes", type=int, default=0, help="0: the preset's")
    p.add_argument(
        "--time-limit", type=float, default=-1, help="s per model (-1: preset's, 0: none)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    budget = args.budget or preset["budget"]
    test_n = args.test_episodes or preset["test"]
    limit = preset["time_limit"] if args.time_limit < 0 else args.time_limit
    device = args.device or ("cuda" if args.preset == "gpu" else "cpu")
    record = header(
        device,
        {
            "preset": args.preset,
            "env_steps_per_model": budget,
            "test_canvases": test_n,
            "time_limit_s": limit,
            "batch": preset["batch"],
        },
    )
    record["env"] = args.env
    record["rows"] = []
    paper = PAPER.get(args.env, {})
    for model in args.models:
        print(f"{model}: training for {budget:,d} env steps on {args.env} ({device})", flush=True)
        trainer = make(model, args.env, args.seed, device, preset["batch"], args.lr, budget)
        trained = train_for(trainer, budget, limit, label=model)
        t0 = time.perf_counter()
        test = trainer.evaluate("test", test_n)
        row = {
            "model": model,
            "parameters": trainer.num_parameters(),
            **trained,
            "test_wall_s": round(time.perf_counter() - t0, 1),
            "test": test,
            "canvases_seen": trained["env_steps"] // trainer.steps_per_example,
            "paper_error": paper.get(model, ("-", ""))[0],
            "paper_source": paper.get(model, ("-", ""))[1],
        }
        record["rows"].append(row)
        print(
            f"  {model}: test error {test['error']:.2f} % ({row['paper_error']} in the paper)",
            flush=True,
        )

    lines = [
        (
            "| model | test error % | paper % | canvases seen | env steps | pixels / decision "
            "| params | train s | source |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        lines.append(
            f"| {r['model']} | {r['test']['error']:.2f} | {r['paper_error']} | {r['canvases_seen']:,d} "
            f"| {r['env_steps']:,d} | {r['test']['pixels']:,.0f} | {r['parameters']:,d} "
            f"| {r['train_wall_s']:.0f}{' (capped)' if r['stopped_by'] == 'time_limit' else ''} "
            f"| {r['paper_source']} |"
        )
    table = "\n".join(lines)
    note = (
        f"Test error on the first {test_n} fixed test canvases of {args.env}. Budget: env "
        "steps per model (DRAW: one per glimpse; MLP/CNN: one per canvas)."
    )
    name = f"reproduce_draw__{args.env.split('/')[-1]}__{args.preset}" + (
        f"_{budget}" if args.budget else ""
    )
    path = write(name, record, note + "\n\n" + table)
    print(table)
    print(f"written {path} and .md")


if __name__ == "__main__":
    main()
