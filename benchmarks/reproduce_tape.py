"""The REINFORCE tape agent (agents/tape_reinforce.py) on Copy, Reverse, RepeatCopy, ForwardReverse,
DuplicatedInput and ReversedAddition (the RL-NTM's tasks): the longest length it solves, and its
success at 2x and 6x its training length.

The agent trains with each env's own per-instance curriculum (lengths grow from the task's minimum
when 90% of a window of episodes succeed, up to the task's training maximum, e.g. 20 for Copy).
Its *training length* is the longest curriculum length it reached. Evaluation uses the fixed
episodes of ``agents.tape_eval`` (seed a pure function of split, length and index), greedy actions:

* longest solved length: the largest L such that every length 1..L is solved in >= 90% of
  ``--episodes`` test episodes (lengths past the training maximum are tried while they pass, up
  to what the memory allows);
* success at 2x and 6x the training length (where the memory allows).

    python benchmarks/reproduce_tape.py --preset smoke     # ~1 min: the harness works
    python benchmarks/reproduce_tape.py                    # cpu preset (2M steps per task)
    python benchmarks/reproduce_tape.py --device cuda --full

Writes ``benchmarks/results/reproduce_tape__PRESET.{json,md}`` (command, budget, machine, date,
git revision, curves) and prints the table.
"""

from __future__ import annotations

import argparse

from hard_bench import add_common_args, header, resolve_preset, table, train_with_curve, write

TASKS = ["Copy", "Reverse", "RepeatCopy", "ForwardReverse", "DuplicatedInput", "ReversedAddition"]
PRESETS = {
    "smoke": {"budget": 30_000, "eval_every": 15_000, "episodes": 50, "num_envs": 64},
    "cpu": {"budget": 2_000_000, "eval_every": 250_000, "episodes": 100, "num_envs": 64},
    "full": {"budget": 50_000_000, "eval_every": 2_000_000, "episodes": 200, "num_envs": 256},
}
SOLVED = 0.9


def success_at(trainer, length: int, episodes: int) -> float | None:
    """Test success at ``length`` (None when the env's memory cannot hold it)."""
    from agents.tape_eval import evaluate_tape_policy

    config = trainer.vec.unwrapped.config
    try:
        config.check_length(length)
    except ValueError:
        return None
    res = evaluate_tape_policy(
        trainer.run.env,
        trainer.run.env_kwargs,
        trainer._greedy_policy,
        "test",
        episodes,
        lengths=[length],
        batch=min(episodes, 100),
    )
    return res["success"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, PRESETS, "task")
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS)
    p.add_argument("--pure-rl", action="store_true", help="sample the outputs too (no supervision)")
    args = p.parse_args()
    preset_name, preset, budget = resolve_preset(args, PRESETS)
    from agents.base import RunConfig
    from agents.tape_reinforce import Config, TapeReinforceTrainer

    record = header(
        args.device,
        {
            "env_steps_per_task": budget,
            "preset": preset_name,
            "num_envs": preset["num_envs"],
            "pure_rl": args.pure_rl,
        },
    )
    record["tasks"] = {}
    rows = []
    episodes = preset["episodes"]
    for task in args.tasks:
        env_id = f"glimpse_envs/{task}-v0"
        run = RunConfig(
            env=env_id,
            agent="tape-reinforce",
            seed=args.seed,
            steps=budget,
            num_envs=preset["num_envs"],
            device=args.device,
        )
        trainer = TapeReinforceTrainer(run, Config(pure_rl=args.pure_rl))
        config = trainer.vec.unwrapped.config
        print(
            f"{task}: curriculum {config.min_length}..{config.max_length}, access "
            f"{config.access}, {budget:,} env steps",
            flush=True,
        )
        res = train_with_curve(
            trainer, budget, preset["eval_every"], 50, time_limit=args.time_limit, label=task
        )
        reached = max(c.current for c in trainer.vec.unwrapped.curricula)
        ladder: dict[int, float] = {}
        longest = 0
        length = 1
        while True:
            s = success_at(trainer, length, episodes)
            if s is None:
                break
            ladder[length] = s
            if s < SOLVED:
                break
            longest = length
            length = length + 1 if length < config.max_length else length * 2
        at2 = success_at(trainer, 2 * reached, episodes)
        at6 = success_at(trainer, 6 * reached, episodes)
        res.update(
            training_length=reached,
            curriculum_max=config.max_length,
            ladder=ladder,
            longest_solved=longest,
            success_2x=at2,
            success_6x=at6,
            parameters=trainer.num_parameters(),
        )
        record["tasks"][task] = res
        trainer.close()
        rows.append(
            [
                f"{task}-v0",
                config.access,
                f"{res['env_steps']:,}",
                res["train_wall_s"],
                f"{reached} / {config.max_length}",
                longest,
                "-" if at2 is None else at2,
                "-" if at6 is None else at6,
            ]
        )
    md = table(
        [
            "env",
            "input",
            "env steps",
            "train s",
            "training length (reached / max)",
            "longest solved",
            "success @2x",
            "success @6x",
        ],
        rows,
    )
    path = write(f"reproduce_tape__{preset_name}", record, md)
    print("\n" + md + f"\n\nwritten: {path}")


if __name__ == "__main__":
    main()
