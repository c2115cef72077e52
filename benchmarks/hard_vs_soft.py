"""Hard against soft attention: every agent on the same envs and seeds, one table beside the papers.

A preset is a declared list of (env, agent, budget) configurations and a list of seeds. Every
(configuration, seed) is one ``train.py`` run in its own process, run in parallel up to the cores
available (``--jobs``), each in its own folder with its own result file::

    benchmarks/results/hard_vs_soft/runs/PRESET/ENV__AGENT[__LABEL]__sSEED/
        result.json     status ("ok" / "failed" + the error), the command, machine, date, git
                        revision, and train.py's results.json (test metrics, parameters, wall time)
        train.log       the run's stdout and stderr
        train/          train.py's run folder (checkpoint.pt, train.csv, TensorBoard events, ...)

The sweep is resumable: a run whose ``result.json`` says "ok" is never run again; a failed or
interrupted one is run again (from its checkpoint, with ``train.py --resume``, when it left one).
A failing run is recorded as failed with its error and the others go on. The report step gathers
the result files into ``benchmarks/results/NAME.md`` and ``NAME.csv`` (NAME is ``hard_vs_soft``
for ``--quick``, ``hard_vs_soft__PRESET`` otherwise) and three PNG plots beside them:
``NAME__error_vs_glimpses.png``, ``NAME__error_vs_pixels.png`` and ``NAME__copy_length.png``
(the copy task's error against sequence length). Every output records the command, machine,
date and git revision.

    python benchmarks/hard_vs_soft.py plan --quick         # the runs, which are done, estimated time
    python benchmarks/hard_vs_soft.py --quick              # run what is missing, then report
    python benchmarks/hard_vs_soft.py report --quick       # only gather the results
    python benchmarks/hard_vs_soft.py --preset smoke       # 2 tiny configurations x 2 seeds, ~1 min
    python benchmarks/hard_vs_soft.py --quick --scale 0.1  # every quick configuration, 1/10 budget
    python benchmarks/hard_vs_soft.py --standard --jobs 2 --hours 2   # a 2-hour piece
    python benchmarks/hard_vs_soft.py speeds --standard   # measure the speeds it lacks
    python benchmarks/hard_vs_soft.py --full --device cuda --jobs 4      # the papers' budgets
    python benchmarks/hard_vs_soft.py --full --backend ray --ray-address auto  # on a Ray cluster

``--only ram cnn`` (or ``--only ClutteredMNIST``, any substring of a run's name) restricts what is
run; the report always covers the whole preset and shows runs not made yet as such. Ctrl-C stops
the sweep: the running ``train.py`` processes write a checkpoint, and the same command resumes them.
``--backend ray`` hands the runs to Ray Tune instead (``benchmarks/ray_backend.py``), one trial per
run, with the same result files.

The standard preset (every hard, soft and no-attention agent on MNIST, translated, cluttered and
100x100 cluttered MNIST, copy, repeat copy and associative recall, 2 seeds) takes about 5 hours
on 2 cores; ``--hours H`` starts no run after H hours, and the same command later continues with
the runs not made. Its finished runs' small files (``result.json``, ``results.json``,
``config.json``, ``eval.csv``, ``train.log``) are committed under ``runs/standard/`` (git ignores
the checkpoints, ``train.csv`` and events), so a piece made in one working period counts in the
next, on any machine. Every run validates 10 times: ``NAME__curves__ENV.png`` draws validation
error against env steps and against training seconds (``eval.csv``'s ``train_s``), every agent
of an env on one plot.

``--preset ppo-budgets`` is issue 12's PPO comparison: PPO (MaskablePPO) and RecurrentPPO against
RAM at the same env steps (RAM's 30 epochs) on TiledMNIST, MNIST and TranslatedMNIST, the PPO
agents with ``benchmarks/hyperparams/ppo.yml`` (held to every glimpse, as RAM); its report adds,
per env, every agent's validation error at RAM's training seconds (equal wall-clock). Its
RecurrentPPO runs take 5-6 hours of one core each: every run writes a checkpoint 20 times, and
at the end of a working period the unfinished runs' ``checkpoint.pt`` files are committed with
``git add -f`` beside the small files, so the same command resumes them on any machine.

The quick and standard presets' budgets are computed, not guessed: ``QUICK_TRAIN_S`` seconds of training times
each agent's single-thread speed measured on this 2-core CPU (``CPU_SPS``, read from
``hard_vs_soft_speeds.json``, which ``speeds`` writes); ``plan --quick`` prints
the estimated wall time (about 25 minutes on an otherwise idle machine). The estimate does not
hold on a CPU shared with other work: run it on a quiet machine.

Error is the test error in percent on the fixed test split (``canvas.fixed("test", i)``: the same
images for every agent); on tape envs it is 100 x (1 - success) over the agents' common
evaluation lengths, set equal for every agent of an env. Budgets are env steps as ``train.py``
counts them (one glimpse, one canvas for whole-image baselines, one sequence step on tapes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.provenance import available_cores, git_rev, machine, now
from agents.provenance import provenance as _provenance
from agents.tape_eval import eval_lengths as _tape_eval_lengths
from glimpse_envs import tape as _tape
from glimpse_envs import visual as _visual

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "benchmarks" / "results"
RUNS = RESULTS / "hard_vs_soft" / "runs"
TRAIN_PY = ROOT / "train.py"
RESULT_FILE = "result.json"

# ----------------------------------------------------------------------------------------------
# what the table knows about agents, envs and the papers
# ----------------------------------------------------------------------------------------------
#: agent name -> row name; also the row order within an env (the attention kind is the
#: trainer's own ``attention``, see :func:`agent_row`)
AGENT_NAMES: dict[str, str] = {
    "ram": "RAM (REINFORCE)",
    "dram": "DRAM (REINFORCE)",
    "tape-reinforce": "tape agent (REINFORCE)",
    "ppo": "PPO",
    "maskable-ppo": "MaskablePPO",
    "recurrent-ppo": "RecurrentPPO",
    "soft-tiles": "soft tiles",
    "draw": "DRAW attention",
    "ntm": "NTM",
    "transformer": "transformer",
    "universal-transformer": "Universal Transformer (ACT)",
    "vit": "vision transformer",
    "mlp": "MLP",
    "cnn": "CNN",
    "lstm": "LSTM",
}


def agent_row(agent: str) -> tuple[str, str]:
    """(row name, attention kind) of an agent; the kind comes from its Trainer class."""
    from agents import AGENTS, get_trainer

    kind = get_trainer(agent).attention if agent in AGENTS else "?"
    return AGENT_NAMES.get(agent, agent), kind


#: visual env -> its default glimpse budget T, and the tape envs: read from the env classes
ENV_GLIMPSES = {t.id.split("/")[-1]: t.config.glimpses for t in _visual.TASKS.values()}
TAPE_ENVS = {t.env_name for t in _tape.TASKS.values()}

_T1A = "RAM NIPS 2014 Table 1a"
_T1B = "RAM NIPS 2014 Table 1b"
_T2A = "RAM NIPS 2014 Table 2a"
_T2B = "RAM NIPS 2014 Table 2b"
_DRAW = "DRAW ICML 2015 Table 1"
_DRAM = "DRAM ICLR 2015 (MNIST pairs, sequence error)"
#: (env, agent, glimpses or None) -> (test error %, where it comes from); see ../shared/REFERENCE.md (beside the repository)
PAPER: dict[tuple[str, str, int | None], tuple[float, str]] = {
    **{
        ("MNIST-v0", "ram", g): (e, f"{_T1A}, RAM {g} glimpses")
        for g, e in zip(range(2, 8), (3.79, 1.51, 1.54, 1.34, 1.12, 1.07))
    },
    ("MNIST-v0", "mlp", None): (1.69, f"{_T1A}, FC 2 x 256"),
    ("MNIST-v0", "cnn", None): (1.21, f"{_T1A}, conv 2 layers"),
    **{
        ("TranslatedMNIST-v0", "ram", g): (e, f"{_T1B}, RAM {g} glimpses")
        for g, e in zip((4, 6, 8), (1.54, 1.22, 1.20))
    },
    ("TranslatedMNIST-v0", "mlp", None): (2.63, f"{_T1B}, FC 2 x 256"),
    ("TranslatedMNIST-v0", "cnn", None): (1.62, f"{_T1B}, conv 2 layers"),
    **{
        ("ClutteredMNIST-v0", "ram", g): (e, f"{_T2A}, RAM {g} glimpses")
        for g, e in zip((4, 6, 8), (4.96, 4.08, 4.04))
    },
    ("ClutteredMNIST-v0", "mlp", None): (11.96, f"{_T2A}, FC 2 x 256"),
    ("ClutteredMNIST-v0", "cnn", None): (8.09, f"{_T2A}, conv 2 layers"),
    **{
        ("ClutteredMNIST100-v0", "ram", g): (e, f"{_T2B}, RAM {g} glimpses")
        for g, e in zip((4, 6, 8), (9.41, 8.31, 8.11))
    },
    ("ClutteredMNIST100-v0", "cnn", None): (14.35, f"{_T2B}, conv 2 layers"),
    ("ClutteredMNIST100-v0", "draw", 4): (4.18, f"{_DRAW}, 4 glimpses 12x12"),
    ("ClutteredMNIST100-v0", "draw", 8): (3.36, f"{_DRAW}, 8 glimpses 12x12"),
    ("MultiMNIST-v0", "dram", None): (5.0, f"{_DRAM}, DRAM"),
}
#: labelled configurations' paper figures: (env, agent, label) -> (test error %, source)
PAPER_LABELLED: dict[tuple[str, str, str], tuple[float, str]] = {
    ("MultiMNIST-v0", "dram", "no-context"): (7.0, f"{_DRAM}, DRAM without context"),
    ("MultiMNIST-v0", "dram", "ram-like"): (9.0, f"{_DRAM}, RAM"),
}
#: figures the papers give only in words (no number to put in the error column)
PAPER_NOTES: dict[tuple[str, str], str] = {
    ("Copy-v0", "ntm"): "NTM 2014 (copy, Fig. 4): near-perfect to length ~50, mostly right at 120",
    ("Copy-v0", "lstm"): "NTM 2014 (copy): the LSTM fails past length 20",
}


@dataclass(frozen=True)
class Config:
    """One (env, agent, budget) configuration: ``train.py --env ENV --agent AGENT --steps STEPS
    FLAGS``, run once per seed.

    ``label`` tells apart two configurations of the same agent on the same env (e.g. glimpse
    budgets); ``glimpses`` is the nominal glimpse budget used to find the paper's figure (None:
    the env's default, or the agent's own for DRAW).
    """

    env: str
    agent: str
    steps: int
    flags: tuple[str, ...] = ()
    label: str = ""
    glimpses: int | None = None

    @property
    def name(self) -> str:
        return "__".join(p for p in (self.env, self.agent, self.label) if p)

    @property
    def env_id(self) -> str:
        return self.env if "/" in self.env else f"glimpse_envs/{self.env}"

    @property
    def family(self) -> str:
        return "tape" if self.env in TAPE_ENVS else "visual"

    def train_max_length(self) -> int | None:
        """Tapes: the longest training length set through ``--env-kwargs`` (None: the env's)."""
        flags = list(self.flags)
        if "--env-kwargs" in flags:
            return json.loads(flags[flags.index("--env-kwargs") + 1]).get("max_length")
        return None

    def paper(self) -> tuple[float | None, str]:
        """(paper error %, source) for this configuration, or (None, note or "")."""
        g = self.glimpses
        if g is None and self.agent == "ram":
            g = ENV_GLIMPSES.get(self.env)
        if g is None and self.agent == "draw":
            g = 8  # agents/draw.py's default
        if (self.env, self.agent, self.label) in PAPER_LABELLED:
            return PAPER_LABELLED[self.env, self.agent, self.label]
        for key in ((self.env, self.agent, g), (self.env, self.agent, None)):
            if key in PAPER:
                return PAPER[key]
        return None, PAPER_NOTES.get((self.env, self.agent), "")


@dataclass(frozen=True)
class Run:
    """One seed of one configuration."""

    config: Config
    seed: int

    @property
    def key(self) -> str:
        return f"{self.config.name}__s{self.seed}"


@dataclass
class Preset:
    """A named sweep: configurations, seeds, and the flags every run of it gets."""

    configs: list[Config]
    seeds: tuple[int, ...]
    description: str
    common_flags: tuple[str, ...] = ()
    device: str = "cpu"
    #: an agent whose mean training seconds on an env set the wall-clock at which the report also
    #: reads every agent's validation curve (None: no such table)
    equal_time: str | None = None

    def runs(self, seeds: Sequence[int] | None = None) -> list[Run]:
        return [Run(c, s) for c in self.configs for s in (seeds or self.seeds)]


# ----------------------------------------------------------------------------------------------
# presets
# ----------------------------------------------------------------------------------------------
#: single-thread training steps per second of (agent, env) on this 2-core CPU (``train.py
#: --threads 1``), measured by ``python benchmarks/hard_vs_soft.py speeds`` and kept with their
#: provenance in this file; the presets' time-based budgets are these speeds times seconds
SPEEDS_FILE = RESULTS / "hard_vs_soft_speeds.json"


def load_speeds(path: Path = SPEEDS_FILE) -> dict[tuple[str, str], float]:
    """(agent, env) -> measured steps/s, from :data:`SPEEDS_FILE` (empty when absent)."""
    try:
        rows = json.loads(Path(path).read_text())["speeds"]
    except (OSError, ValueError, KeyError):
        return {}
    return {(r["agent"], r["env"]): float(r["steps_per_s"]) for r in rows}


CPU_SPS: dict[tuple[str, str], float] = load_speeds()
#: per run, on top of training: process start, imports, env and data set-up (s)
RUN_OVERHEAD_S = 6.0
#: scoring the whole fixed test split (10,000 canvases; tapes: 300 episodes), one core (s)
TEST_S: dict[str, float] = {"ppo": 12.0, "recurrent-ppo": 12.0, "cnn": 6.0, "ntm": 6.0, "lstm": 4.0}
TEST_S_DEFAULT = 3.0
#: training seconds per quick run: 21 configurations x 2 seeds = 42 runs of ~70 s with the
#: overheads, 2 at a time: ~25 min (``plan --quick``) on an idle machine
QUICK_TRAIN_S = 60.0
QUICK_VISUAL_ENVS = ("MNIST-v0", "ClutteredMNIST-v0")
VISUAL_AGENTS = ("ram", "ppo", "recurrent-ppo", "soft-tiles", "draw", "vit", "mlp", "cnn")
TAPE_AGENTS = ("tape-reinforce", "ntm", "transformer", "universal-transformer", "lstm")
#: tape agents trained on the task generator's sequences (agents/supervised.py): they take the
#: training range and evaluation lengths as their own flags
SEQUENCE_AGENTS = ("ntm", "lstm", "transformer", "universal-transformer")
#: the copy task's evaluation lengths, the same for every agent: tape-reinforce and PPO score at
#: the task's generalisation lengths (``task.eval_lengths``: the training maximum, 2x and 6x),
#: NTM and LSTM are told the same
QUICK_COPY_MAX = 5
QUICK_COPY_EVAL = tuple(_tape.TASKS["Copy"].task_class().eval_lengths(QUICK_COPY_MAX))


def _round_steps(x: float) -> int:
    """Round a budget to 2 significant digits (at least 1,000 steps)."""
    x = max(1_000.0, x)
    scale = 10 ** (int(math.log10(x)) - 1)
    return int(round(x / scale) * scale)


def _copy_flags(
    agent: str, max_length: int | None, eval_lengths: Sequence[int], per_length: int = 0
) -> tuple[str, ...]:
    """Flags that put every tape agent on the same training range, evaluation lengths and number
    of test sequences per length (NTM and LSTM count ``--test-episodes`` per length, the RL tape
    agents in all, split over the lengths: agents/supervised.py, agents/tape_eval.py)."""
    flags: list[str] = []
    if max_length is not None:
        flags += ["--env-kwargs", json.dumps({"max_length": max_length})]
    if agent in SEQUENCE_AGENTS:
        if max_length is not None:
            flags += ["--max-length", str(max_length)]
        flags += ["--eval-lengths", json.dumps(list(eval_lengths))]
    if per_length:
        n = per_length if agent in SEQUENCE_AGENTS else per_length * len(eval_lengths)
        flags += ["--test-episodes", str(n)]
    return tuple(flags)


def quick_configs() -> list[Config]:
    """Every visual agent on MNIST-v0 (Table 1a) and ClutteredMNIST-v0 (Table 2a), and the three
    tape agents on Copy-v0 restricted to lengths 1-5; ``QUICK_TRAIN_S`` of training each."""
    configs = [
        Config(env, agent, _round_steps(QUICK_TRAIN_S * CPU_SPS[(agent, env)]))
        for env in QUICK_VISUAL_ENVS
        for agent in VISUAL_AGENTS
    ]
    configs += [
        Config(
            "Copy-v0",
            agent,
            _round_steps(QUICK_TRAIN_S * CPU_SPS[(agent, "Copy-v0")]),
            _copy_flags(agent, QUICK_COPY_MAX, QUICK_COPY_EVAL, 300),
            label="len1-5",
        )
        for agent in TAPE_AGENTS
    ]
    return configs


def full_configs() -> list[Config]:
    """The papers' budgets, for a GPU.

    Visual: RAM about 100-150 epochs of 55,000 canvases at T glimpses (the paper trains to
    convergence; reproduce_ram.py uses 100M steps for 300 epochs), the RL baselines 20M steps,
    the supervised models 100 epochs (DRAW and soft tiles count T steps a canvas, MLP and CNN one).
    RAM also at 4 and 6 glimpses on the cluttered envs, DRAW at 4 and 8 on 100x100 (Table 1).
    Tapes: copy at lengths 1-20 as the NTM paper; the NTM and LSTM 200k episodes (~5M steps),
    the REINFORCE tape agent 20M steps.
    """
    epochs = 100
    configs: list[Config] = []
    for env in ("MNIST-v0", "TranslatedMNIST-v0", "ClutteredMNIST-v0", "ClutteredMNIST100-v0"):
        t = ENV_GLIMPSES[env]
        configs.append(Config(env, "ram", 50_000_000))
        if env.startswith("Cluttered"):
            configs += [
                Config(
                    env,
                    "ram",
                    50_000_000 * g // t,
                    ("--env-kwargs", json.dumps({"glimpses": g})),
                    label=f"g{g}",
                    glimpses=g,
                )
                for g in (4, 6)
            ]
        configs += [
            Config(env, "ppo", 20_000_000),
            Config(env, "recurrent-ppo", 20_000_000),
            Config(env, "soft-tiles", epochs * 55_000 * t),
        ]
        if env == "ClutteredMNIST100-v0":
            configs += [
                Config(
                    env,
                    "draw",
                    epochs * 55_000 * g,
                    ("--glimpses", str(g)),
                    label=f"g{g}",
                    glimpses=g,
                )
                for g in (4, 8)
            ]
        else:
            configs.append(Config(env, "draw", epochs * 55_000 * 8))
        configs += [Config(env, "mlp", epochs * 55_000), Config(env, "cnn", epochs * 55_000)]
    configs += [
        Config(
            "Copy-v0",
            agent,
            steps,
            _copy_flags(agent, None, _tape_eval_lengths("glimpse_envs/Copy-v0"), 1000),
        )
        for agent, steps in (
            ("tape-reinforce", 20_000_000),
            ("ntm", 5_000_000),
            ("lstm", 5_000_000),
        )
    ]
    return configs


#: the standard preset: seconds of single-thread training per run, by agent (tape agents: the
#: default); chosen so that 47 configurations x 2 seeds fit in about 5 hours on 2 cores
STANDARD_TRAIN_S: dict[str, float] = {
    "ram": 900.0,
    "dram": 600.0,
    "ppo": 360.0,
    "recurrent-ppo": 360.0,
}
STANDARD_TRAIN_S_DEFAULT = 300.0
#: ... but no more epochs of the 55,000 training canvases than this (RAM's MNIST-v0 curve is flat
#: by 30 epochs: benchmarks/results/ram_defaults.md)
STANDARD_MAX_EPOCHS = 30
STANDARD_VISUAL_ENVS = (
    "MNIST-v0",
    "TranslatedMNIST-v0",
    "ClutteredMNIST-v0",
    "ClutteredMNIST100-v0",
)
STANDARD_TAPE_ENVS = ("Copy-v0", "RepeatCopy-v0", "AssociativeRecall-v0")
#: the env read as a sequence of digits, and its agents: DRAM with and without the context
#: network and its RAM-like variant (the paper's three rows), and PPO
STANDARD_SEQUENCE_ENVS = ("MultiMNIST-v0",)
SEQUENCE_VISUAL_CONFIGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dram", "", ()),
    ("dram", "no-context", ("--no-context",)),
    ("dram", "ram-like", ("--no-context", "--core-layers", "1")),
    ("ppo", "", ()),
)
#: validations per run (the learning curves' points) and test sequences per length on tapes
STANDARD_CURVE_POINTS = 10
STANDARD_TAPE_TEST_PER_LENGTH = 500
#: agents that see the whole canvas once per decision (a step is a canvas, not a glimpse)
WHOLE_IMAGE_AGENTS = ("mlp", "cnn", "vit")


def standard_steps(agent: str, env: str) -> int:
    """The standard preset's budget of one run: its seconds times the measured speed, capped at
    ``STANDARD_MAX_EPOCHS`` epochs for visual envs (0 when the speed was never measured)."""
    sps = CPU_SPS.get((agent, env), 0.0)
    steps = STANDARD_TRAIN_S.get(agent, STANDARD_TRAIN_S_DEFAULT) * sps
    if env in ENV_GLIMPSES and agent not in ("ppo", "recurrent-ppo"):
        per_canvas = 1 if agent in WHOLE_IMAGE_AGENTS else ENV_GLIMPSES[env]
        steps = min(steps, STANDARD_MAX_EPOCHS * 55_000 * per_canvas)
    return _round_steps(steps) if steps else 0


def _standard(env: str, agent: str, episodes: int, *flags: str, label: str = "") -> Config:
    """One standard run: its budget (:func:`standard_steps`) and ``STANDARD_CURVE_POINTS``
    validations of ``episodes`` episodes each, plus ``flags``."""
    steps = standard_steps(agent, env)
    every = str(max(1, steps // STANDARD_CURVE_POINTS))
    curve = ("--eval-every", every, "--eval-episodes", str(episodes))
    return Config(env, agent, steps, (*curve, *flags), label=label)


def standard_configs() -> list[Config]:
    """Every hard, soft and no-attention agent on four visual and three tape envs, and DRAM (three
    variants) and PPO on MultiMNIST, at budgets that fit 5 hours of a 2-core CPU
    (``STANDARD_TRAIN_S``); each run validates ``STANDARD_CURVE_POINTS`` times for its learning
    curve. Tape agents train on the env's own lengths and are scored at the training maximum, 2x
    and 6x (where the memory allows)."""
    configs = [
        _standard(env, agent, 1000) for env in STANDARD_VISUAL_ENVS for agent in VISUAL_AGENTS
    ]
    configs += [
        _standard(env, agent, 1000, *flags, label=label)
        for env in STANDARD_SEQUENCE_ENVS
        for agent, label, flags in SEQUENCE_VISUAL_CONFIGS
    ]
    for env in STANDARD_TAPE_ENVS:
        lengths = _tape_eval_lengths(f"glimpse_envs/{env}")
        configs += [
            _standard(
                env, agent, 100, *_copy_flags(agent, None, lengths, STANDARD_TAPE_TEST_PER_LENGTH)
            )
            for agent in TAPE_AGENTS
        ]
    return configs


#: the PPO comparison (issue 12): PPO's hyperparameters and every env's budget (RAM's 30 epochs)
#: come from this zoo-style file; PPO (MaskablePPO) and RecurrentPPO are held by it to RAM's
#: every-glimpse episodes (``min_glimpses``)
PPO_HYPERPARAMS = ROOT / "benchmarks" / "hyperparams" / "ppo.yml"
PPO_BUDGET_AGENTS = ("ram", "maskable-ppo", "recurrent-ppo")
PPO_BUDGET_CURVE_POINTS = 20


def ppo_budget_configs() -> list[Config]:
    """RAM, PPO (MaskablePPO) and RecurrentPPO at the same env steps on every env of
    ``PPO_HYPERPARAMS`` (TiledMNIST, MNIST, TranslatedMNIST): RAM with its defaults, the PPO
    agents with the file's options; each run validates ``PPO_BUDGET_CURVE_POINTS`` times and
    writes a checkpoint as often, so a run longer than a working period resumes."""
    import yaml

    zoo = yaml.safe_load(PPO_HYPERPARAMS.read_text())
    configs = []
    for env, entry in zoo.items():
        if env == "defaults":
            continue
        steps = int(float(entry["n_timesteps"]))
        every = str(steps // PPO_BUDGET_CURVE_POINTS)
        curve = ("--eval-every", every, "--eval-episodes", "1000", "--checkpoint-every", every)
        for agent in PPO_BUDGET_AGENTS:
            zoo_flags = () if agent == "ram" else ("--hyperparams", _relative(PPO_HYPERPARAMS))
            configs.append(Config(env, agent, steps, (*curve, *zoo_flags)))
    return configs


def smoke_configs() -> list[Config]:
    """Two tiny configurations (RAM on MNIST-v0, the NTM on copy of lengths 1-3): a harness check."""
    return [
        Config("MNIST-v0", "ram", 768, ("--num-envs", "32")),
        Config("Copy-v0", "ntm", 400, ("--batch-size", "4", *_copy_flags("ntm", 3, (3, 6)))),
    ]


PRESETS: dict[str, Callable[[], Preset]] = {
    "smoke": lambda: Preset(
        smoke_configs(),
        (0, 1),
        "harness check: 2 tiny configurations x 2 seeds (~1 min)",
        ("--eval-every", "0", "--test-episodes", "40", "--checkpoint-every", "0"),
    ),
    "quick": lambda: Preset(
        quick_configs(),
        (0, 1),
        f"every agent for ~{QUICK_TRAIN_S:.0f} s of training on one core of a 2-core CPU "
        "(under 30 min in all): whether the pipeline works and which way the numbers lean, "
        "not the papers' accuracy",
        ("--eval-every", "0", "--checkpoint-every", "0"),
    ),
    "standard": lambda: Preset(
        standard_configs(),
        (0, 1),
        "every agent on MNIST, translated, cluttered and 100x100 cluttered MNIST, copy, repeat "
        "copy and associative recall, 2 seeds, RAM 15 min, PPO 6 min, the others 5 min of one "
        f"core each (visual: at most {STANDARD_MAX_EPOCHS} epochs): about 5 hours on 2 cores, "
        "run in pieces (--hours)",
        ("--checkpoint-every", "0"),
    ),
    "ppo-budgets": lambda: Preset(
        ppo_budget_configs(),
        (0, 1),
        "PPO (MaskablePPO) and RecurrentPPO against RAM at RAM's budgets (30 epochs of env "
        "steps) on TiledMNIST, MNIST and TranslatedMNIST, the PPO agents held to every glimpse "
        "(benchmarks/hyperparams/ppo.yml); compared at equal env steps and at RAM's wall-clock. "
        "About 12 hours of one core per seed: run it in pieces (--hours), --seeds 0 first",
        equal_time="ram",
    ),
    "full": lambda: Preset(
        full_configs(),
        (0, 1, 2),
        "the papers' budgets (GPU): RAM ~100-150 epochs, supervised models 100 epochs, RL "
        "baselines 20M steps, copy 1-20 as the NTM paper",
        ("--eval-every", "1000000", "--eval-episodes", "1000", "--checkpoint-every", "1000000"),
        device="cuda",
    ),
}


# ----------------------------------------------------------------------------------------------
# provenance
# ----------------------------------------------------------------------------------------------
def provenance(command: str, device: str, preset: str) -> dict[str, Any]:
    """What every output records: command, date, git revision, machine (agents/provenance.py),
    and the preset."""
    return {**_provenance(device, command), "preset": preset}


# ----------------------------------------------------------------------------------------------
# running one run
# ----------------------------------------------------------------------------------------------
def run_dir(runs_dir: Path, run: Run) -> Path:
    return Path(runs_dir) / run.key


def read_result(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(path) / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return None


def is_done(runs_dir: Path, run: Run) -> bool:
    res = read_result(run_dir(runs_dir, run))
    return bool(res) and res.get("status") == "ok"


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _error_line(text: str) -> str:
    """The line of a failed run's output that names the error (a traceback's last line)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        head = ln.split(":")[0]
        if ln.startswith("train.py: error:") or head.endswith(("Error", "Exception", "Interrupt")):
            return ln[:300]
    return lines[-1][:300] if lines else "no output"


def execute(job: dict[str, Any]) -> dict[str, Any]:
    """Run one ``train.py`` process and write its ``result.json``; returns what it wrote.

    ``job`` is plain JSON (so a Ray worker can take it): ``key``, ``dir``, ``train_cmd`` (the
    command prefix, e.g. ``[python, train.py]``), ``args`` (train.py flags without ``--out``),
    ``threads``, ``timeout`` (s, 0: none), ``meta`` (copied into the result). Resumes from the
    checkpoint a previous attempt left when there is one and no results.json beside it.
    """
    if job.get("deadline") and time.time() > job["deadline"]:
        return {
            "key": job["key"],
            **job["meta"],
            "status": "not started",
            "error": "the sweep's --hours had run out",
        }
    rdir = Path(job["dir"])
    rdir.mkdir(parents=True, exist_ok=True)
    train_out = rdir / "train"
    cmd = list(job["train_cmd"])
    unfinished = sorted(
        (
            p.parent
            for p in train_out.glob("*/checkpoint.pt")
            if not (p.parent / "results.json").exists()
        ),
        key=lambda p: p.stat().st_mtime,
    )
    if unfinished:  # (paths inside the repository relative to it: no machine's paths in files)
        cmd += [
            "--resume",
            _relative(unfinished[-1]),
            "--no-progress",
            "--threads",
            str(job["threads"]),
        ]
        cmd += [a for a in _pick(job["args"], "--device")]
    else:
        cmd += [*job["args"], "--out", _relative(train_out)]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(job["threads"]),
        "MKL_NUM_THREADS": str(job["threads"]),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result: dict[str, Any] = {
        "key": job["key"],
        **job["meta"],
        "command": _shown(cmd),
        "machine": machine(job["meta"].get("device", "cpu")),
        "date": now(),
        "git": git_rev(),
        "resumed": bool(unfinished),
    }
    t0 = time.time()
    log = rdir / "train.log"
    try:
        with open(log, "w") as fh:
            proc = subprocess.run(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=fh,
                stderr=subprocess.PIPE,
                text=True,
                timeout=job.get("timeout") or None,
                check=False,
            )
            fh.write(proc.stderr)
        stderr, rc = proc.stderr, proc.returncode
    except subprocess.TimeoutExpired:
        stderr, rc = f"timed out after {job['timeout']} s", -1
    except OSError as e:
        stderr, rc = f"{type(e).__name__}: {e}", -1
    result["wall_s"] = round(time.time() - t0, 1)
    result["returncode"] = rc
    found = sorted(train_out.glob("*/results.json"), key=lambda p: p.stat().st_mtime)
    if rc == 0 and found:
        result["status"] = "ok"
        result["results"] = json.loads(found[-1].read_text())
        result["train_dir"] = _relative(found[-1].parent)
    else:
        result["status"] = "failed"
        why = (
            "interrupted (a checkpoint is resumed next time)"
            if rc in (130, -2)
            else _error_line(stderr)
            if rc != 0
            else "train.py wrote no results.json"
        )
        result["error"] = f"exit {rc}: {why}" if rc not in (0, -1) else why
        result["stderr_tail"] = stderr[-3000:]
    _write_json(rdir / RESULT_FILE, result)
    return result


def _relative(path: str | Path) -> str:
    """A path inside the repository as relative to it (no machine's paths in committed files)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _shown(cmd: Sequence[str]) -> str:
    """A command as recorded: the interpreter by name, repository paths relative."""
    parts = [
        Path(c).name if c == sys.executable else _relative(c) if os.path.isabs(c) else c
        for c in cmd
    ]
    return shlex.join(parts)


def _pick(args: Sequence[str], flag: str) -> list[str]:
    """``[flag, value]`` from a flag list, or []."""
    args = list(args)
    return args[args.index(flag) : args.index(flag) + 2] if flag in args else []


def make_job(
    run: Run,
    runs_dir: Path,
    *,
    preset: Preset,
    train_cmd: Sequence[str],
    threads: int,
    device: str,
    timeout: float = 0,
    preset_name: str = "",
    deadline: float = 0,
) -> dict[str, Any]:
    """The JSON job of :func:`execute` for one run."""
    c = run.config
    args = [
        "--env",
        c.env_id,
        "--agent",
        c.agent,
        "--seed",
        str(run.seed),
        "--steps",
        str(c.steps),
        "--device",
        device,
        "--threads",
        str(threads),
        "--no-progress",
        *preset.common_flags,
        *c.flags,
    ]
    meta = {
        "env": c.env,
        "agent": c.agent,
        "label": c.label,
        "seed": run.seed,
        "steps": c.steps,
        "config": c.name,
        "preset": preset_name,
        "device": device,
    }
    return {
        "key": run.key,
        "dir": str(run_dir(runs_dir, run)),
        "train_cmd": list(train_cmd),
        "args": args,
        "threads": threads,
        "timeout": timeout,
        "meta": meta,
        "deadline": deadline,
    }


def measure_speed(config: Config, seconds: float, train_cmd: Sequence[str], work: Path) -> float:
    """Single-thread training steps/s of ``config``'s agent on its env: a tiny probe run, then one
    of about ``seconds`` of training; train.py's own ``train_steps_per_s`` of the second."""
    sps = 0.0
    for i, steps in enumerate((2_000, None)):
        steps = steps or max(2_000, int(seconds * sps))
        out = work / f"{config.name}__{i}"
        args = [
            "--env",
            config.env_id,
            "--agent",
            config.agent,
            "--steps",
            str(steps),
            "--threads",
            "1",
            "--no-progress",
            "--eval-every",
            "0",
            "--checkpoint-every",
            "0",
            "--test-episodes",
            "10",
            *_tape_range_flags(config),
            "--out",
            str(out),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.run(
            [*train_cmd, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        found = list(out.glob("*/results.json"))
        if proc.returncode != 0 or not found:
            raise RuntimeError(f"{config.name}: {_error_line(proc.stderr)}")
        sps = float(json.loads(found[0].read_text())["train_steps_per_s"])
    return sps


def _tape_range_flags(config: Config) -> list[str]:
    """The flags of a configuration that set what is trained on (not budgets or evaluation)."""
    flags = list(config.flags)
    return [*_pick(flags, "--env-kwargs"), *_pick(flags, "--max-length")]


def speeds(
    preset: Preset,
    *,
    seconds: float,
    remeasure: bool,
    train_cmd: Sequence[str],
    path: Path = SPEEDS_FILE,
    log: Callable[[str], Any] = print,
) -> dict:
    """Measure the (agent, env) speeds a preset needs and has not got (all with ``remeasure``),
    one run at a time, and merge them into ``path`` with their date, revision and machine."""
    import tempfile

    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        doc = {
            "about": "single-thread training steps per second of train.py (agent, env); "
            "written by `python benchmarks/hard_vs_soft.py speeds`",
            "speeds": [],
        }
    have = {(r["agent"], r["env"]) for r in doc["speeds"]}
    pairs = {(c.agent, c.env): c for c in preset.configs}
    todo = [c for key, c in pairs.items() if remeasure or key not in have]
    log(f"measuring {len(todo)} (agent, env) speeds, about {seconds:g} s each, one at a time")
    with tempfile.TemporaryDirectory() as tmp:
        for c in todo:
            try:
                sps = measure_speed(c, seconds, train_cmd, Path(tmp))
            except RuntimeError as e:  # one pair's trouble does not stop the others
                log(f"FAILED {e}")
                continue
            doc["speeds"] = [r for r in doc["speeds"] if (r["agent"], r["env"]) != (c.agent, c.env)]
            doc["speeds"].append(
                {
                    "agent": c.agent,
                    "env": c.env,
                    "steps_per_s": round(sps, 1),
                    "date": now(),
                    "git": git_rev(),
                    "machine": machine("cpu"),
                    "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                    "how": f"train.py --threads 1, about {seconds:g} s of training",
                }
            )
            _write_json(Path(path), doc)
            log(f"{c.agent:22s} {c.env:22s} {sps:10.1f} steps/s")
    return doc


# ----------------------------------------------------------------------------------------------
# the sweep
# ----------------------------------------------------------------------------------------------
def estimate_s(config: Config) -> float:
    """Estimated wall time of one run on one core of this CPU (s); 0 when nothing is known."""
    sps = CPU_SPS.get((config.agent, config.env))
    if not sps:
        return 0.0
    return RUN_OVERHEAD_S + TEST_S.get(config.agent, TEST_S_DEFAULT) + config.steps / sps


def schedule_s(durations: Iterable[float], jobs: int) -> float:
    """Wall time of running tasks longest first on ``jobs`` workers (what :func:`sweep` does)."""
    workers = [0.0] * max(1, jobs)
    for d in sorted(durations, reverse=True):
        workers[workers.index(min(workers))] += d
    return max(workers)


def sweep(
    runs: Sequence[Run],
    runs_dir: Path,
    *,
    preset: Preset,
    preset_name: str = "",
    train_cmd: Sequence[str] | None = None,
    jobs: int = 0,
    device: str = "cpu",
    timeout: float = 0,
    rerun_failed: bool = True,
    backend: str = "local",
    ray_address: str | None = None,
    log: Callable[[str], Any] = print,
    hours: float = 0,
) -> list[dict[str, Any]]:
    """Run every run not done yet, ``jobs`` at a time (0: the cores available); returns their
    result dicts (the skipped ones read back from their files). ``hours`` > 0: start no run
    after that many hours (the ones running finish), so a long preset runs in pieces."""
    deadline = time.time() + 3600 * hours if hours > 0 else 0
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    train_cmd = list(train_cmd or [sys.executable, _relative(TRAIN_PY)])  # run from ROOT
    cores = available_cores()
    jobs = jobs or (cores if device == "cpu" else max(1, min(cores, 4)))
    threads = max(1, cores // jobs) if device == "cpu" else 1
    todo, out = [], []
    for run in runs:
        res = read_result(run_dir(runs_dir, run))
        if res and (res.get("status") == "ok" or not rerun_failed):
            out.append(res)
        else:
            todo.append(run)
    log(
        f"{len(runs) - len(todo)} of {len(runs)} runs already done; running {len(todo)} "
        f"({jobs} at a time, {threads} thread(s) each, backend {backend})"
    )
    todo.sort(key=lambda r: -estimate_s(r.config))  # longest first
    jobs_json = [
        make_job(
            r,
            runs_dir,
            preset=preset,
            train_cmd=train_cmd,
            threads=threads,
            device=device,
            timeout=timeout,
            preset_name=preset_name,
            deadline=deadline,
        )
        for r in todo
    ]
    if not jobs_json:
        return out
    if backend == "ray":
        from ray_backend import run_jobs_with_ray

        done = run_jobs_with_ray(
            jobs_json,
            runs_dir,
            execute=execute,
            max_concurrent=jobs,
            address=ray_address,
            log=log,
            gpus_per_trial=0 if device == "cpu" else 1 / max(1, jobs),
        )
        return out + [r for r in done if r.get("status") != "not started"]
    start = time.time()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(execute, j): j for j in jobs_json}
        for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # noqa: BLE001 - one run's trouble never stops the others
                res = {
                    "key": job["key"],
                    **job["meta"],
                    "status": "failed",
                    "error": f"harness: {type(e).__name__}: {e}",
                }
                _write_json(Path(job["dir"]) / RESULT_FILE, res)
            if res["status"] == "not started":
                continue
            out.append(res)
            what = f"error {_headline(res)}" if res["status"] == "ok" else f"FAILED: {res['error']}"
            log(
                f"[{i}/{len(jobs_json)} {time.time() - start:6.0f} s] {job['key']} "
                f"({res.get('wall_s', 0):.0f} s): {what}"
            )
    except KeyboardInterrupt:
        # Ctrl-C reaches the train.py processes too: they write a checkpoint and stop; start no
        # new run, and the next invocation resumes the interrupted ones from their checkpoints
        pool.shutdown(wait=True, cancel_futures=True)
        log("interrupted: run the same command again to resume")
        raise
    finally:
        pool.shutdown(wait=True)
    if deadline and len(out) < len(runs):
        log(
            f"--hours {hours:g} ran out: {len(runs) - len(out)} runs not started; the same "
            "command continues with them"
        )
    return out


def _headline(res: dict[str, Any]) -> str:
    test = res.get("results", {}).get("test", {})
    err = error_of(test)
    return "?" if err is None else f"{err:.2f} %"


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------
def error_of(test: dict[str, float]) -> float | None:
    """Test error in percent: ``error`` (visual) or 100 x (1 - ``success``) (tapes)."""
    if "error" in test:
        return float(test["error"])
    if "success" in test:
        return 100.0 * (1.0 - float(test["success"]))
    return None


def length_errors(test: dict[str, float]) -> dict[int, float]:
    """{L: error % at length L} from ``success@L``."""
    return {
        int(k.split("@")[1]): 100.0 * (1.0 - float(v))
        for k, v in test.items()
        if k.startswith("success@")
    }


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _std(xs: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def gather(
    preset: Preset, runs_dir: Path, seeds: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """One row per configuration of the preset, over its seeds (see the module docstring)."""
    rows = []
    env_order = {c.env: i for i, c in reversed(list(enumerate(preset.configs)))}
    agent_order = {a: i for i, a in enumerate(AGENT_NAMES)}
    for c in preset.configs:
        results = {s: read_result(run_dir(runs_dir, Run(c, s))) for s in (seeds or preset.seeds)}
        ok = {s: r for s, r in results.items() if r and r.get("status") == "ok"}
        failed = {s: r for s, r in results.items() if r and r.get("status") != "ok"}
        tests = [r["results"].get("test", {}) for r in ok.values()]
        errs = [e for e in (error_of(t) for t in tests) if e is not None]
        name, attention = agent_row(c.agent)
        paper, source = c.paper()

        def metric(key: str, tests: list[dict] = tests) -> float | None:
            return _mean([float(t[key]) for t in tests if key in t])

        memory = metric("memory_cells")
        if memory is None and c.family == "tape" and attention == "hard" and tests:
            memory = 1.0  # a hard head reads and writes the one cell under it
        by_len: dict[int, list[float]] = {}
        for t in tests:
            for length, e in length_errors(t).items():
                by_len.setdefault(length, []).append(e)
        if ok and failed:
            status = f"{len(failed)} of {len(results)} seeds failed: " + next(
                iter(failed.values())
            ).get("error", "")
        elif failed:
            status = "failed: " + next(iter(failed.values())).get("error", "")
        elif not ok:
            status = "not run"
        else:
            status = "ok"
        rows.append(
            {
                "env": c.env,
                "agent": c.agent,
                "label": c.label,
                "row": name + (f" [{c.label}]" if c.label else ""),
                "attention": attention,
                "family": c.family,
                "seeds": len(results),
                "seeds_ok": len(ok),
                "error_mean": _mean(errs),
                "error_std": _std(errs),
                "paper_error": paper,
                "paper_source": source,
                "glimpses": metric("glimpses"),
                "pixels": metric("pixels"),
                "memory_cells": memory,
                "parameters": _mean(
                    [float(r["results"].get("parameters", 0)) for r in ok.values()]
                ),
                "train_wall_s": _mean(
                    [float(r["results"].get("train_wall_s", 0)) for r in ok.values()]
                ),
                "wall_s": _mean([float(r.get("wall_s", 0)) for r in ok.values()]),
                "env_steps": _mean([float(r["results"].get("env_steps", 0)) for r in ok.values()]),
                "test_episodes": _mean(
                    [float(r["results"].get("test_episodes", 0)) for r in ok.values()]
                ),
                "budget_steps": c.steps,
                "error_by_length": {n: _mean(v) for n, v in sorted(by_len.items())},
                "train_max_length": c.train_max_length(),
                "status": status,
                "_order": (env_order[c.env], agent_order.get(c.agent, 99), c.label),
            }
        )
    rows.sort(key=lambda r: r["_order"])
    return rows


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


MD_COLUMNS = [
    "agent",
    "attention",
    "test error % (mean)",
    "std",
    "seeds",
    "paper %",
    "paper source",
    "glimpses / decision",
    "pixels / decision",
    "memory cells / step",
    "parameters",
    "train s / seed",
    "env steps",
    "status",
]


def markdown(
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    plots: dict[str, Path],
    at_time: dict[str, dict[str, Any]] | None = None,
) -> str:
    lines = [
        f"# Hard vs soft attention: {meta['preset']} preset",
        "",
        f"- command: `{meta['command']}`",
        f"- date: {meta['date']}",
        f"- git: {meta['git']}",
        f"- machine: {json.dumps(meta['machine'])}",
        f"- preset: {meta['description']}",
        f"- runs: {meta['runs_ok']} ok, {meta['runs_failed']} failed, "
        f"{meta['runs_missing']} not run, of {meta['runs']} ({meta['seeds']} seeds each)"
        + (f"; this sweep took {meta['sweep_wall_s']:.0f} s" if "sweep_wall_s" in meta else ""),
        "",
        (
            "Test error in percent on the fixed test split (the same canvases for every agent; "
            "tapes: 100 x (1 - success) over the evaluation lengths), mean and sample standard "
            "deviation over the seeds that finished. Paper figures are from the tables named "
            "(../shared/REFERENCE.md; RAM: the NIPS 2014 camera-ready); they were reached with "
            "far larger budgets than a quick preset. Compute per decision: glimpses, pixels "
            "sensed (hard: k g^2 retina values per glimpse; soft and whole-image models: every "
            "canvas pixel per glimpse, as their filters or weights touch them all), memory cells "
            "touched per step (soft NTM heads: all of them; a hard head: one)."
        ),
        "",
    ]
    for env in dict.fromkeys(r["env"] for r in rows):
        env_rows = [r for r in rows if r["env"] == env]
        lines += [
            f"## {env}",
            "",
            "| " + " | ".join(MD_COLUMNS) + " |",
            "|" + "---|" * len(MD_COLUMNS),
        ]
        for r in env_rows:
            err = (
                "failed"
                if r["status"].startswith("failed")
                else "not run"
                if r["status"] == "not run"
                else _fmt(r["error_mean"])
            )
            cells = [
                r["row"],
                r["attention"],
                err,
                _fmt(r["error_std"]),
                f"{r['seeds_ok']}/{r['seeds']}",
                _fmt(r["paper_error"], 4),
                _md_escape(r["paper_source"] or "-"),
                _fmt(r["glimpses"]),
                _fmt(r["pixels"]),
                _fmt(r["memory_cells"]),
                _fmt(r["parameters"]),
                _fmt(r["train_wall_s"]),
                _fmt(r["env_steps"]),
                _md_escape(r["status"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lengths = sorted({n for r in env_rows for n in r["error_by_length"]})
        if lengths:
            lines += [
                "",
                f"Error % by evaluation length on {env}:",
                "",
                "| agent | " + " | ".join(f"L={n}" for n in lengths) + " |",
                "|" + "---|" * (len(lengths) + 1),
            ]
            for r in env_rows:
                lines.append(
                    f"| {r['row']} | "
                    + " | ".join(_fmt(r["error_by_length"].get(n)) for n in lengths)
                    + " |"
                )
        if at_time and env in at_time:
            lines += [
                "",
                f"At equal wall-clock on {env}: validation error % at "
                f"{at_time[env]['seconds']:.0f} s of training, the mean training time of "
                f"{agent_row(meta['equal_time'])[0]}'s runs (each curve's last validation by then, "
                "1,000 validation canvases, mean over the seeds validated by then):",
                "",
                "| agent | validation error % | env steps by then | seeds |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {name} | {_fmt(err)} | {_fmt(steps)} | {n} |"
                if n
                else f"| {name} | not validated by then | - | 0 |"
                for name, err, steps, n in at_time[env]["rows"]
            ]
        lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{k}]({p.name})" for k, p in plots.items()] + [""]
    return "\n".join(lines)


CSV_COLUMNS = [
    "env",
    "agent",
    "label",
    "attention",
    "seeds",
    "seeds_ok",
    "error_mean",
    "error_std",
    "paper_error",
    "paper_source",
    "glimpses",
    "pixels",
    "memory_cells",
    "parameters",
    "train_wall_s",
    "wall_s",
    "env_steps",
    "budget_steps",
    "test_episodes",
    "error_by_length",
    "status",
]


def write_csv(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """The rows as CSV, after ``# key: value`` lines with the provenance (``comment="#"``)."""
    with open(path, "w", newline="") as fh:
        for k in ("command", "date", "git", "machine", "preset"):
            v = meta[k] if isinstance(meta[k], str) else json.dumps(meta[k])
            fh.write(f"# {k}: {v}\n")
        w = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            row = {k: ("" if r[k] is None else r[k]) for k in CSV_COLUMNS}
            row["error_by_length"] = (
                json.dumps(r["error_by_length"]) if r["error_by_length"] else ""
            )
            w.writerow(row)


MARKERS = {"hard": "o", "soft": "s", "none": "^"}


def _color(agent: str) -> str:
    """One colour per agent in every panel and plot."""
    names = list(AGENT_NAMES)
    return f"C{names.index(agent) % 10}" if agent in names else "0.3"


def _stamp(fig, meta: dict[str, Any]) -> None:
    text = (
        f"{meta['command']}\n{meta['date']}  git {meta['git']}  "
        f"{meta['machine'].get('host', '')} {meta['machine'].get('device', '')} "
        f"{meta['machine'].get('gpu', '')}".rstrip()
    )
    fig.text(0.01, 0.005, text, fontsize=5.5, color="0.4", va="bottom", ha="left", wrap=True)


def _save(fig, path: Path, meta: dict[str, Any]) -> None:
    _stamp(fig, meta)
    fig.savefig(
        path,
        dpi=120,
        metadata={
            "Software": "benchmarks/hard_vs_soft.py",
            "Description": json.dumps({k: meta[k] for k in ("command", "date", "git", "machine")}),
        },
    )


def plot_visual(
    rows: list[dict[str, Any]], x_key: str, xlabel: str, path: Path, meta: dict[str, Any]
) -> None:
    """Error against ``x_key`` (glimpses or pixels per decision), one panel per visual env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    visual = [r for r in rows if r["family"] == "visual"]
    envs = list(dict.fromkeys(r["env"] for r in visual)) or ["(no visual results)"]
    legend_w = 2.8  # inches on the right for the legend
    width = 4.6 * len(envs) + legend_w
    fig, axes = plt.subplots(1, len(envs), figsize=(width, 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs):
        pts = [
            r
            for r in visual
            if r["env"] == env and r["error_mean"] is not None and r[x_key] is not None
        ]
        for r in pts:
            color = _color(r["agent"])
            ax.errorbar(
                r[x_key],
                r["error_mean"],
                yerr=r["error_std"] or 0,
                fmt=MARKERS.get(r["attention"], "x"),
                capsize=3,
                label=r["row"],
                color=color,
            )
            if r["paper_error"] is not None:
                ax.plot(r[x_key], r["paper_error"], "+", color=color, ms=10, mew=2)
        if x_key == "glimpses":  # the paper's RAM curve against glimpse count
            ram = sorted(
                (g, e)
                for (e_, a, g), (e, _) in PAPER.items()
                if e_ == env and a == "ram" and g is not None
            )
            if ram:
                ax.plot(*zip(*ram), "k:", lw=1, label="RAM paper (NIPS 2014)")
        if not pts:
            ax.text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=ax.transAxes)
        if x_key == "pixels":
            ax.set_xscale("log")
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error %")
        ax.set_title(env)
        ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if any(r["paper_error"] is not None for r in visual):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="k", marker="+", ls="", ms=10, mew=2))
        labels.append("paper figure (same model, its colour)")
    if handles:
        fig.legend(handles, labels, loc="center right", fontsize=7)
    fig.suptitle(
        f"Hard vs soft ({meta['preset']}): error against {xlabel} (o hard, s soft, ^ no attention)",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.05, 1 - legend_w / width if handles else 1, 0.95))
    _save(fig, path, meta)
    plt.close(fig)


def plot_copy(rows: list[dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    """The copy task's error against sequence length (NTM, LSTM, tape agent, ...)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    copy = [r for r in rows if r["env"] == "Copy-v0" and r["error_by_length"]]
    for r in copy:
        lengths = sorted(r["error_by_length"])
        ax.plot(
            lengths,
            [r["error_by_length"][n] for n in lengths],
            MARKERS.get(r["attention"], "x") + "-",
            label=r["row"],
            color=_color(r["agent"]),
        )
    train_max = [r["train_max_length"] for r in copy if r["train_max_length"]]
    ax.axvspan(1, max(train_max) if train_max else 20, color="0.9", label="training lengths")
    if not copy:
        ax.text(0.5, 0.5, "no finished copy runs", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("sequence length")
    ax.set_ylabel("error % (sequences not copied exactly)")
    ax.set_ylim(-3, 103)
    ax.set_title(f"Copy-v0 ({meta['preset']}): error against sequence length", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path, meta)
    plt.close(fig)


def learning_curve(path: Path) -> dict[str, list[float]]:
    """A run's ``eval.csv`` as ``env_steps``, ``train_s`` (empty for runs before that column)
    and ``error`` (%: ``val/error``, or 100 x (1 - ``val/success``) on tapes)."""
    out: dict[str, list[float]] = {"env_steps": [], "train_s": [], "error": []}
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            err = error_of({k[4:]: v for k, v in r.items() if k.startswith("val/") and v})
            if err is None:
                continue
            out["env_steps"].append(float(r["env_steps"]))
            out["error"].append(err)
            if r.get("train_s"):
                out["train_s"].append(float(r["train_s"]))
    if len(out["train_s"]) != len(out["error"]):
        out["train_s"] = []
    return out


def curves(
    preset: Preset, runs_dir: Path, seeds: Sequence[int] | None = None
) -> dict[str, list[tuple[Config, int, dict[str, list[float]]]]]:
    """env -> [(configuration, seed, learning curve)] of every run that left an ``eval.csv``."""
    out: dict[str, list] = {}
    for c in preset.configs:
        for seed in seeds or preset.seeds:
            for path in sorted((run_dir(runs_dir, Run(c, seed)) / "train").glob("*/eval.csv")):
                curve = learning_curve(path)
                if curve["error"]:
                    out.setdefault(c.env, []).append((c, seed, curve))
    return out


def equal_time(
    preset: Preset, runs_dir: Path, seeds: Sequence[int] | None = None
) -> dict[str, dict[str, Any]]:
    """env -> ``{"seconds": s, "rows": [(row, error %, env steps, seeds read)]}``: every agent's
    validation curve read at ``s``, the mean training seconds of the preset's ``equal_time``
    agent on that env (its runs' last validation), each curve at its last validation at or before
    ``s`` (mean over the seeds validated by then; ``None`` where none was)."""
    if preset.equal_time is None:
        return {}
    out = {}
    for env, runs in curves(preset, runs_dir, seeds).items():
        # (runs from before eval.csv had a train_s column have none: left out)
        ref = [
            c["train_s"][-1]
            for cfg, _, c in runs
            if cfg.agent == preset.equal_time and c["train_s"]
        ]
        if not ref:
            continue
        seconds = sum(ref) / len(ref)
        read: dict[str, list[tuple[float, float]]] = {}
        for cfg, _, c in runs:
            name = agent_row(cfg.agent)[0] + (f" [{cfg.label}]" if cfg.label else "")
            by_then = [i for i, t in enumerate(c["train_s"]) if t <= seconds]
            read.setdefault(name, [])
            if by_then:
                read[name].append((c["error"][by_then[-1]], c["env_steps"][by_then[-1]]))
        out[env] = {
            "seconds": seconds,
            "rows": [
                (
                    name,
                    _mean([e for e, _ in points]),
                    _mean([n for _, n in points]),
                    len(points),
                )
                for name, points in read.items()
            ],
        }
    return out


def plot_curves(env: str, runs: list, path: Path, meta: dict[str, Any]) -> None:
    """Validation error of every run on ``env`` against env steps and against training seconds
    (one colour per agent, one line per seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    seen: set[str] = set()
    for c, seed, curve in runs:
        name, attention = agent_row(c.agent)
        label = name + (f" [{c.label}]" if c.label else "")
        style = dict(
            color=_color(c.agent),
            marker=MARKERS.get(attention, "x"),
            ms=3,
            lw=1,
            alpha=0.9 if seed == min(s for cc, s, _ in runs if cc == c) else 0.5,
            label=None if label in seen else label,
        )
        seen.add(label)
        axes[0].plot(curve["env_steps"], curve["error"], **style)
        if curve["train_s"]:
            axes[1].plot(curve["train_s"], curve["error"], **{**style, "label": None})
    for ax, xlabel in zip(axes, ("env steps", "training seconds (one core)")):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation error %")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"{env} ({meta['preset']}): learning curves, every seed (o hard, s soft, ^ no attention)",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    _save(fig, path, meta)
    plt.close(fig)


def report(
    preset: Preset,
    runs_dir: Path,
    out_stem: Path,
    meta: dict[str, Any],
    seeds: Sequence[int] | None = None,
) -> dict[str, Path]:
    """Gather the result files into ``OUT_STEM.md``, ``.csv`` and the three PNGs; returns paths."""
    rows = gather(preset, runs_dir, seeds)
    n_seeds = len(seeds or preset.seeds)
    meta = {
        **meta,
        "description": preset.description,
        "seeds": n_seeds,
        "runs": len(rows) * n_seeds,
        "runs_ok": sum(r["seeds_ok"] for r in rows),
    }
    meta["runs_failed"] = sum(
        1
        for c in preset.configs
        for s in (seeds or preset.seeds)
        if (read_result(run_dir(runs_dir, Run(c, s))) or {}).get("status", "ok") != "ok"
    )
    meta["runs_missing"] = meta["runs"] - meta["runs_ok"] - meta["runs_failed"]
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    plots = {
        "error vs glimpses": out_stem.with_name(out_stem.name + "__error_vs_glimpses.png"),
        "error vs pixels": out_stem.with_name(out_stem.name + "__error_vs_pixels.png"),
        "copy error vs length": out_stem.with_name(out_stem.name + "__copy_length.png"),
    }
    plot_visual(rows, "glimpses", "glimpses per decision", plots["error vs glimpses"], meta)
    plot_visual(rows, "pixels", "pixels sensed per decision", plots["error vs pixels"], meta)
    plot_copy(rows, plots["copy error vs length"], meta)
    for env, runs in curves(preset, runs_dir, seeds).items():
        plots[f"{env} learning curves"] = out_stem.with_name(f"{out_stem.name}__curves__{env}.png")
        plot_curves(env, runs, plots[f"{env} learning curves"], meta)
    md = out_stem.with_name(out_stem.name + ".md")
    at_time = equal_time(preset, runs_dir, seeds)
    md.write_text(markdown(rows, {**meta, "equal_time": preset.equal_time}, plots, at_time))
    csv_path = out_stem.with_name(out_stem.name + ".csv")
    write_csv(csv_path, rows, meta)
    return {"md": md, "csv": csv_path, **plots}


# ----------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/hard_vs_soft.py",
        description="Hard against soft attention: sweep, resume, report (see the module docstring).",
    )
    p.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "report", "plan", "speeds"],
        help="run (what is missing, then report; default), report, plan (list the "
        "runs, which are done, and the estimated wall time), or speeds (measure "
        "the training speeds a preset's budgets need and lack)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="preset",
        help="the CPU preset (under 30 min on 2 cores; the default)",
    )
    g.add_argument(
        "--standard",
        action="store_const",
        const="standard",
        dest="preset",
        help="every agent on 7 envs, 2 seeds, about 5 hours on 2 cores (use --hours "
        "to run it in pieces)",
    )
    g.add_argument(
        "--full",
        action="store_const",
        const="full",
        dest="preset",
        help="the papers' budgets, for a GPU (use with --device cuda)",
    )
    g.add_argument("--preset", choices=sorted(PRESETS), dest="preset")
    p.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="seeds (default: the preset's)"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every budget by this (a look at a preset's configurations in "
        "less time; the runs go to runs/PRESET-xSCALE and the report is named so)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="TEXT",
        help="run only the runs whose name (ENV__AGENT[__LABEL]) contains one of these",
    )
    p.add_argument("--jobs", type=int, default=0, help="runs at a time (0: the cores available)")
    p.add_argument(
        "--device",
        default=None,
        help="torch device (default: the preset's: cpu, or cuda for --full)",
    )
    p.add_argument("--timeout", type=float, default=0, help="wall-clock cap per run, s (0: none)")
    p.add_argument(
        "--hours",
        type=float,
        default=0,
        help="start no run after this many hours (running ones finish): a long preset "
        "in pieces; 0: no limit",
    )
    p.add_argument(
        "--seconds", type=float, default=20.0, help="speeds: seconds of training per measurement"
    )
    p.add_argument(
        "--remeasure",
        action="store_true",
        help="speeds: measure every pair of the preset again, not only missing ones",
    )
    p.add_argument(
        "--no-rerun-failed",
        action="store_true",
        help="keep failed runs as they are (default: run them again)",
    )
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local processes, or one Ray Tune trial per run (pip install 'glimpse-envs[ray]')",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (e.g. auto); default: start a local Ray instance",
    )
    p.add_argument(
        "--train-cmd",
        default=None,
        help="command that replaces 'python train.py' (e.g. a wrapper or a stub)",
    )
    p.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help="folder of the report (NAME.md/.csv/png) and of hard_vs_soft/runs/",
    )
    p.add_argument(
        "--name",
        default=None,
        help="report name (default: hard_vs_soft for --quick, hard_vs_soft__PRESET)",
    )
    args = p.parse_args(argv)
    args.preset = args.preset or "quick"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    preset = PRESETS[args.preset]()
    tag = args.preset
    if args.scale != 1.0:
        preset.configs = [
            dataclasses.replace(c, steps=max(1, round(c.steps * args.scale)))
            for c in preset.configs
        ]
        tag = f"{args.preset}-x{args.scale:g}"
    device = args.device or preset.device
    runs_dir = args.results_dir / "hard_vs_soft" / "runs" / tag
    name = args.name or ("hard_vs_soft" if tag == "quick" else f"hard_vs_soft__{tag}")
    runs = preset.runs(args.seeds)
    if args.only:
        runs = [r for r in runs if any(t in r.key for t in args.only)]
    command = (
        shlex.join([Path(sys.executable).name, *sys.argv])
        if argv is None
        else shlex.join(["python", "benchmarks/hard_vs_soft.py", *argv])
    )
    meta = provenance(command, device, tag)

    if args.command == "speeds":
        train_cmd = (
            shlex.split(args.train_cmd) if args.train_cmd else [sys.executable, str(TRAIN_PY)]
        )
        speeds(preset, seconds=args.seconds, remeasure=args.remeasure, train_cmd=train_cmd)
        return 0
    if args.command == "plan":
        jobs = args.jobs or available_cores()
        print(f"preset {args.preset}: {preset.description}")
        print(f"{'run':58s} {'steps':>12s} {'est. s':>7s}  state")
        for r in runs:
            res = read_result(run_dir(runs_dir, r))
            state = res["status"] if res else "to run"
            print(f"{r.key:58s} {r.config.steps:12,d} {estimate_s(r.config):7.0f}  {state}")
        todo = [estimate_s(r.config) for r in runs if not is_done(runs_dir, r)]
        print(
            f"{len(todo)} runs to make; estimated wall time with {jobs} at a time on an otherwise "
            f"idle 2-core CPU like this one: {schedule_s(todo, jobs) / 60:.1f} min (longest "
            "first; runs without a measured speed count 0)"
        )
        return 0
    if args.command == "run":
        unbudgeted = sorted({r.config.name for r in runs if r.config.steps <= 0})
        if unbudgeted:
            print(
                f"no measured speed, so no budget, for {', '.join(unbudgeted)}: run "
                f"'python benchmarks/hard_vs_soft.py speeds --preset {args.preset}' first",
                file=sys.stderr,
            )
            return 2
        train_cmd = shlex.split(args.train_cmd) if args.train_cmd else None
        t0 = time.time()
        results = sweep(
            runs,
            runs_dir,
            preset=preset,
            preset_name=tag,
            train_cmd=train_cmd,
            jobs=args.jobs,
            device=device,
            timeout=args.timeout,
            rerun_failed=not args.no_rerun_failed,
            backend=args.backend,
            ray_address=args.ray_address,
            hours=args.hours,
        )
        failed = [r for r in results if r.get("status") != "ok"]
        print(
            f"sweep: {len(results) - len(failed)} ok, {len(failed)} failed, "
            f"{time.time() - t0:.0f} s"
        )
        meta["sweep_wall_s"] = round(time.time() - t0, 1)
    paths = report(preset, runs_dir, args.results_dir / name, meta, args.seeds)
    print(Path(paths["md"]).read_text())
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
