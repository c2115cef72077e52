"""Length generalisation on the tape tasks: which of NTM, LSTM and transformers (learned, sinusoidal,
RoPE and ALiBi positions, the Universal Transformer with ACT) generalises past its training lengths?

Every model is ``train.py``'s trainer, built by ``ntm_copy.make``, trained on exactly the task
generator's sequences of the env's own training range (the env config's ``min_length`` -
``max_length``, i.e. the task's ``default_lengths``), for the same env-step budget on every task
(one env step per sequence step, as ``train.py`` counts them), then scored on the same fixed test
sequences (``task.fixed("test", L, range(episodes))``) at the training maximum, twice it and six
times it, each kept only where the env's memory holds it (``task.check_length(L, memory_size,
input_access)``: associative recall at 6x needs more than the 128 cells). The hard tape agent's
figures come from ``reproduce_tape``'s result file (``--hard``), where it has them.

    python benchmarks/tape_generalisation.py --budget 100000 --episodes 100 --threads 1

Results go to ``benchmarks/results/tape_generalisation__BUDGET.{json,md}``, rewritten as each
(task, model) ends, so an interrupted run leaves its finished rows (``--rewrite NAME`` redraws
the Markdown from the JSON). ``--speeds`` trains each pair for a few seconds and prints env
steps per second (to size a budget), writing nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ntm_copy import make
from supervised_bench import RESULTS, ROOT, header, train_for, write

TASKS = ["RepeatCopy-v0", "Reverse-v0", "AssociativeRecall-v0"]
MODELS = [
    "ntm",
    "lstm",
    "transformer-learned",
    "transformer-sinusoidal",
    "transformer-rope",
    "transformer-alibi",
    "universal-transformer",
]
MULTIPLES = (1, 2, 6)


def test_lengths(env_id: str) -> tuple[int, int, dict[int, int], dict[int, str]]:
    """``(min, max)`` training lengths of the env, ``{multiple: length}`` kept and
    ``{length: why}`` left out because the env's memory does not hold them."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401  (registers the ids)

    env = gym.make(env_id).unwrapped
    cfg, task = env.config, env.task
    env.close()
    kept, skipped = {}, {}
    for m in MULTIPLES:
        n = m * cfg.max_length
        try:
            task.check_length(n, cfg.memory_size, cfg.input_access)
            kept[m] = n
        except ValueError as e:
            skipped[n] = str(e)
    return cfg.min_length, cfg.max_length, kept, skipped


def scored_bits(env_id: str, length: int, episodes: int) -> float:
    """Mean bits scored per fixed test sequence of ``length`` (padding left out): a model that
    guesses every bit gets half of them wrong."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401

    env = gym.make(env_id).unwrapped
    task = env.task
    env.close()
    _, targets = task.fixed("test", length, range(episodes))
    return float((targets >= 0).sum() * task.target_bits(targets).shape[-1] / len(targets))


def hard_rows(path: Path) -> dict[str, dict]:
    """The hard tape agent's figures per env name (``reproduce_tape`` result file), if any."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {f"{name}-v0": r for name, r in data.get("tasks", {}).items()}


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}"


def markdown(record: dict) -> str:
    """The summary table (success % at each multiple of the training maximum) and the details."""
    tasks = record["tasks"]
    head = ["model"]
    for env, t in tasks.items():
        head += [f"{env.split('-')[0]} @{n} ({m})" for m, n in t["lengths"].items()]
    lines = [
        "Sequences right (every bit) in % of the fixed test sequences, at the training maximum, "
        "2x and 6x it (where the env's memory holds it); trained on the env's own lengths "
        f"for {record['budget']['env_steps_per_model']:,d} env steps per model per task.",
        "",
        "| " + " | ".join(head) + " |",
        "|---" * len(head) + "|",
    ]
    for model in record["budget"]["models"]:
        row = [model]
        for t in tasks.values():
            r = t["models"].get(model)
            row += [pct(r["test"][f"success@{n}"]) if r else "-" for n in t["lengths"].values()]
        lines.append("| " + " | ".join(row) + " |")
    episodes = record["budget"]["sequences_per_length"]
    lines += [
        "",
        "Wrong bits per sequence on the same sequences (in brackets: the bits scored per sequence; "
        "guessing gets half of them wrong):",
        "",
        "| "
        + " | ".join(
            [head[0]]
            + [
                f"{h} [{scored_bits(f'glimpse_envs/{env}', n, episodes):.0f}]"
                for h, (env, n) in zip(
                    head[1:],
                    [(e, n) for e, t in tasks.items() for n in t["lengths"].values()],
                )
            ]
        )
        + " |",
        "|---" * len(head) + "|",
    ]
    for model in record["budget"]["models"]:
        row = [model]
        for t in tasks.values():
            r = t["models"].get(model)
            row += [
                f"{r['test'][f'bit_errors@{n}']:.1f}" if r else "-" for n in t["lengths"].values()
            ]
        lines.append("| " + " | ".join(row) + " |")
    for env, t in tasks.items():
        ns = list(t["lengths"].values())
        lines += [
            "",
            f"## {env} (trained on {t['train_lengths'][0]}-{t['train_lengths'][1]})",
            "",
        ]
        for n, why in t["skipped"].items():
            lines += [f"Length {n} left out: {why}", ""]
        lines += [
            "| model | "
            + " | ".join(f"success % @{n}" for n in ns)
            + " | "
            + " | ".join(f"bits wrong @{n}" for n in ns)
            + " | ponder steps / position | env steps | train s | stopped by | params |",
            "|---" * (2 * len(ns) + 6) + "|",
        ]
        for model, r in t["models"].items():
            te = r["test"]
            ponder = " / ".join(
                f"{te[f'ponder_steps@{n}']:.2f}" for n in ns if f"ponder_steps@{n}" in te
            )
            lines.append(
                f"| {model} | "
                + " | ".join(pct(te[f"success@{n}"]) for n in ns)
                + " | "
                + " | ".join(f"{te[f'bit_errors@{n}']:.2f}" for n in ns)
                + f" | {ponder or '-'} | {r['env_steps']:,d} | {r['train_wall_s']:.0f} "
                f"| {r['stopped_by']} | {r['parameters']:,d} |"
            )
        hard = t.get("hard")
        if hard:
            ladder = ", ".join(f"{k}: {100 * v:.0f}" for k, v in hard["ladder"].items())
            lines += [
                "",
                f"Hard tape agent (`tape-reinforce`, {hard['env_steps']:,d} env steps, from "
                f"`{hard['source']}`): curriculum reached {hard['training_length']} of "
                f"{hard['curriculum_max']}; success % by length {{{ladder}}}; "
                f"success at 2x / 6x the reached length: {pct(hard['success_2x'])} / "
                f"{pct(hard['success_6x'])}.",
            ]
    return "\n".join(lines)


def speeds(args) -> None:
    """Env steps per second of every (task, model) pair over ``args.speeds`` seconds."""
    for env in args.tasks:
        for model in args.models:
            tr = make(model, f"glimpse_envs/{env}", args.seed, "cpu", args.batch, 0.0, [1], args)
            r = train_for(tr, 10**9, args.speeds, log_every=0)
            print(f"{env:22s} {model:24s} {r['env_steps'] / r['train_wall_s']:9.0f} steps/s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=int, default=100_000, help="env steps per model per task")
    p.add_argument("--tasks", nargs="+", default=TASKS, help="tape env names (without namespace)")
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--episodes", type=int, default=100, help="fixed test sequences per length")
    p.add_argument("--batch", type=int, default=16, help="sequences per update")
    p.add_argument("--eval-batch", type=int, default=25, help="sequences per evaluation batch")
    p.add_argument("--time-limit", type=float, default=0, help="cap per model and task (s)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--controller", default="lstm", help="NTM controller: lstm or feedforward")
    p.add_argument("--optimizer", default="adam", help="NTM optimiser: adam or rmsprop")
    p.add_argument(
        "--hard",
        default="benchmarks/results/reproduce_tape__cpu.json",
        help="reproduce_tape result file for the hard tape agent's rows ('' for none)",
    )
    p.add_argument("--speeds", type=float, default=0, help="only measure speeds for this many s")
    p.add_argument("--name", default="", help="result file name (default from the budget)")
    p.add_argument(
        "--rewrite", default="", help="only rewrite the Markdown of this result name from its JSON"
    )
    args = p.parse_args()
    if args.rewrite:
        record = json.loads((RESULTS / f"{args.rewrite}.json").read_text())
        print(markdown(record))
        write(args.rewrite, record, markdown(record))
        return

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.speeds:
        speeds(args)
        return
    record = header(
        "cpu",
        {
            "env_steps_per_model": args.budget,
            "models": args.models,
            "sequences_per_length": args.episodes,
            "batch": args.batch,
            "time_limit_s": args.time_limit,
            "seed": args.seed,
        },
    )
    hard = hard_rows(ROOT / args.hard) if args.hard else {}
    record["tasks"] = {}
    name = args.name or f"tape_generalisation__{args.budget}"
    for env in args.tasks:
        lo, hi, kept, skipped = test_lengths(f"glimpse_envs/{env}")
        t = record["tasks"][env] = {
            "train_lengths": [lo, hi],
            "lengths": {f"{m}x": n for m, n in kept.items()},
            "skipped": skipped,
            "models": {},
        }
        if env in hard:
            t["hard"] = {
                "source": args.hard,
                **{k: v for k, v in hard[env].items() if k != "curve"},
            }
        for model in args.models:
            print(f"{model}: {env} for {args.budget:,d} env steps", flush=True)
            tr = make(
                model,
                f"glimpse_envs/{env}",
                args.seed,
                "cpu",
                args.batch,
                0.0,
                list(kept.values()),
                args,
            )
            tr.cfg.eval_batch = args.eval_batch
            trained = train_for(tr, args.budget, args.time_limit, label=f"{env} {model}")
            t0 = time.perf_counter()
            test = tr.evaluate("test", args.episodes)
            t["models"][model] = {
                "parameters": tr.num_parameters(),
                **trained,
                "test_wall_s": round(time.perf_counter() - t0, 1),
                "test": test,
            }
            print(
                "  "
                + "  ".join(
                    f"@{n}: {test[f'success@{n}']:.2f} ({test[f'bit_errors@{n}']:.1f} bits)"
                    for n in kept.values()
                ),
                flush=True,
            )
            write(name, record, markdown(record))  # partial results as each model ends
    print(markdown(record))
    print(f"written {RESULTS / name}.json and .md")


if __name__ == "__main__":
    main()
