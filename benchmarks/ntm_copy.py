"""NTM against an LSTM (and transformers) on copy: trained on lengths 1-20, tested far beyond (the NTM
paper's figure), then the NTM on repeat copy and associative recall beyond their training ranges.

``--models`` picks the models: ``ntm``, ``lstm``, ``transformer-POSITIONS`` (POSITIONS one of
learned, sinusoidal, rope, alibi: agents/transformer.py) and ``universal-transformer`` (sinusoidal
positions, ACT); a run with other models than the default two writes its own result files.

Both models are ``train.py``'s trainers (agents/ntm.py, agents/baselines.py) on the tape envs' own
task generators (``Copy-v0``: 8-bit vectors; ``RepeatCopy-v0``: lengths 1-10, 1-10 repeats;
``AssociativeRecall-v0``: 2-6 items of three 6-bit vectors), through ``to_bits``. Errors are wrong
bits per sequence on fixed evaluation sequences (the same for both models); the LSTM baseline
(3 x 256, the paper's) runs in the same process.

Budget: ``--budget`` env steps per model, one per sequence step (input + output), as ``train.py``
counts them: 100k copy episodes of lengths 1-20 are about 2.2M steps. ``--time-limit`` caps each
model's training wall-clock.

    python benchmarks/ntm_copy.py --preset smoke      # ~1 min: the harness works
    python benchmarks/ntm_copy.py --preset cpu        # about an hour on 2 cores
    python benchmarks/ntm_copy.py --preset gpu        # the paper's scale on one GPU

Writes ``benchmarks/results/ntm_copy__PRESET.{json,md,png}`` (command, budget, machine, date, git
revision; the PNG plots bit errors per sequence against length) and prints the tables.
"""

from __future__ import annotations

import argparse
import time

from supervised_bench import RESULTS, header, train_for, write

from glimpse_envs.tape_tasks import AssociativeRecallTask, CopyTask, RepeatCopyTask

COPY_LENGTHS = list(CopyTask.test_lengths)
PLOT_LENGTHS = [1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120]
EXTRA = {
    # env id: (evaluation lengths beyond the training range, training range in the task's unit)
    "glimpse_envs/RepeatCopy-v0": (list(RepeatCopyTask.test_lengths), "lengths 1-10, repeats 1-10"),
    "glimpse_envs/AssociativeRecall-v0": (list(AssociativeRecallTask.test_lengths), "2-6 items"),
}

PRESETS = {
    # env steps per model on copy, on each extra task, sequences per evaluation length, batch, cap (s)
    "smoke": {"budget": 20_000, "extra": 10_000, "episodes": 50, "batch": 16, "time_limit": 60},
    "cpu": {
        "budget": 2_500_000,
        "extra": 1_500_000,
        "episodes": 500,
        "batch": 16,
        "time_limit": 1500,
    },
    "gpu": {
        "budget": 20_000_000,
        "extra": 10_000_000,
        "episodes": 1000,
        "batch": 64,
        "time_limit": 0,
    },
}


def make(model: str, env: str, seed: int, device: str, batch: int, lr: float, lengths, args):
    from agents.base import RunConfig
    from agents.baselines import LSTMTrainer
    from agents.ntm import NTMTrainer
    from agents.transformer import TransformerTrainer, UniversalTransformerTrainer

    run = RunConfig(env=env, agent=model, seed=seed, device=device, lr=lr)
    if model.startswith("transformer-") or model == "universal-transformer":
        cls = (
            UniversalTransformerTrainer if model == "universal-transformer" else TransformerTrainer
        )
        run.agent = cls.name
        positions = "sinusoidal" if cls is UniversalTransformerTrainer else model.split("-", 1)[1]
        return cls(run, cls.Config(batch_size=batch, eval_lengths=lengths, positions=positions))
    if model == "ntm":
        cfg = NTMTrainer.Config(
            batch_size=batch,
            eval_lengths=lengths,
            controller=args.controller,
            optimizer=args.optimizer,
        )
        if not lr:
            run.lr = 1e-4 if args.optimizer == "rmsprop" else 1e-3
        return NTMTrainer(run, cfg)
    return LSTMTrainer(run, LSTMTrainer.Config(batch_size=batch, eval_lengths=lengths))


def plot(rows: dict[str, dict[str, float]], lengths: list[int], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for model, test in rows.items():
        ax.plot(lengths, [test[f"bit_errors@{n}"] for n in lengths], "o-", label=model)
    ax.axvspan(1, 20, color="0.9", label="training lengths")
    ax.set_xlabel("sequence length")
    ax.set_ylabel("wrong bits per sequence")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_title(f"Copy-v0: {', '.join(rows)}, trained on lengths 1-20")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke")
    p.add_argument("--budget", type=int, default=0, help="env steps per model on copy (0: preset)")
    p.add_argument(
        "--extra-budget",
        type=int,
        default=-1,
        help="env steps for the NTM on each extra task (-1: preset, 0: skip them)",
    )
    p.add_argument("--models", nargs="+", default=["ntm", "lstm"])
    p.add_argument("--no-copy", action="store_true", help="skip copy: only the NTM's extra tasks")
    p.add_argument("--controller", default="lstm", help="NTM controller: lstm or feedforward")
    p.add_argument("--optimizer", default="adam", help="NTM optimiser: adam or rmsprop")
    p.add_argument(
        "--lr",
        type=float,
        default=0.0,
        help="0: rmsprop 1e-4 / adam 1e-3 for the NTM, the LSTM's own default",
    )
    p.add_argument("--episodes", type=int, default=0, help="sequences per length (0: preset)")
    p.add_argument("--device", default="", help="torch device (default: cuda for the gpu preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=-1, help="s per model (-1: preset, 0: none)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    budget = args.budget or preset["budget"]
    extra = preset["extra"] if args.extra_budget < 0 else args.extra_budget
    episodes = args.episodes or preset["episodes"]
    limit = preset["time_limit"] if args.time_limit < 0 else args.time_limit
    device = args.device or ("cuda" if args.preset == "gpu" else "cpu")
    record = header(
        device,
        {
            "preset": args.preset,
            "copy_env_steps_per_model": budget,
            "extra_env_steps": extra,
            "sequences_per_length": episodes,
            "batch": preset["batch"],
            "time_limit_s": limit,
            "ntm": {"controller": args.controller, "optimizer": args.optimizer},
        },
    )
    record["copy"], record["extra"] = [], []
    lengths = sorted(set(COPY_LENGTHS + PLOT_LENGTHS))
    curves = {}
    for model in [] if args.no_copy else args.models:
        print(f"{model}: Copy-v0 for {budget:,d} env steps ({device})", flush=True)
        tr = make(
            model,
            "glimpse_envs/Copy-v0",
            args.seed,
            device,
            preset["batch"],
            args.lr,
            lengths,
            args,
        )
        trained = train_for(tr, budget, limit, label=model)
        t0 = time.perf_counter()
        test = tr.evaluate("test", episodes)
        curves[model] = test
        record["copy"].append(
            {
                "model": model,
                "parameters": tr.num_parameters(),
                **trained,
                "test_wall_s": round(time.perf_counter() - t0, 1),
                "test": test,
            }
        )
        print("  " + "  ".join(f"@{n}: {test[f'bit_errors@{n}']:.2f}" for n in COPY_LENGTHS))
    if "ntm" in args.models or args.no_copy:
        for env, (ev, trained_on) in EXTRA.items():
            if not extra:
                break
            print(f"ntm: {env} for {extra:,d} env steps", flush=True)
            tr = make("ntm", env, args.seed, device, preset["batch"], args.lr, ev, args)
            trained = train_for(tr, extra, limit, label=env.split("/")[-1])
            test = tr.evaluate("test", episodes)
            record["extra"].append({"env": env, "trained_on": trained_on, **trained, "test": test})
            print("  " + "  ".join(f"@{n}: {test[f'bit_errors@{n}']:.2f}" for n in ev))

    name = f"ntm_copy__{args.preset}" + (f"_{budget}" if args.budget else "")
    name += "_extra" if args.no_copy else ""
    if not args.no_copy and args.models != ["ntm", "lstm"]:
        name += "__" + "_".join(args.models)
    png = RESULTS / f"{name}.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if curves:
        plot(curves, lengths, png)
    lines: list[str] = []
    if record["copy"]:
        lines = [
            (
                "Wrong bits per sequence (8-bit vectors, fixed test sequences) after training on "
                "copy lengths 1-20; success = fraction of sequences with no wrong bit."
            ),
            "",
            "| model | "
            + " | ".join(f"bits wrong @{n}" for n in COPY_LENGTHS)
            + " | success @20 | success @120 | env steps | train s | params |",
            "|---" * (len(COPY_LENGTHS) + 6) + "|",
        ]
    for r in record["copy"]:
        t = r["test"]
        lines.append(
            f"| {r['model']} | "
            + " | ".join(f"{t[f'bit_errors@{n}']:.2f}" for n in COPY_LENGTHS)
            + f" | {t['success@20']:.2f} | {t['success@120']:.2f} | {r['env_steps']:,d} "
            f"| {r['train_wall_s']:.0f} | {r['parameters']:,d} |"
        )
    for r in record["extra"]:
        ev = EXTRA[r["env"]][0]
        lines += [
            "",
            f"NTM on {r['env']} (trained on {r['trained_on']}, {r['env_steps']:,d} env steps):",
            "",
            "| length | " + " | ".join(str(n) for n in ev) + " |",
            "|---" * (len(ev) + 1) + "|",
            "| bits wrong | "
            + " | ".join(f"{r['test'][f'bit_errors@{n}']:.2f}" for n in ev)
            + " |",
            "| success | " + " | ".join(f"{r['test'][f'success@{n}']:.2f}" for n in ev) + " |",
        ]
    if curves:
        lines += ["", f"Plot: `{png.name}`."]
    table = "\n".join(lines)
    path = write(name, record, table)
    print(table)
    print(f"written {path} and .md" + (f" and {png.name}" if curves else ""))


if __name__ == "__main__":
    main()
