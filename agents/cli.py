"""The one entry point: train, evaluate, render any agent on any glimpse-envs id.

Run as ``python train.py ...`` in a checkout or ``glimpse-train ...`` after ``pip install``
(both call :func:`main`). Commands::

    python train.py                                   # the default demo: RAM on MNIST-v0, minutes
    python train.py --list                            # env ids and agents, one line each
    python train.py [train] --env ID --agent NAME [options]      # see --agent NAME --help
    python train.py [train] --resume RUN_DIR_OR_CHECKPOINT [--steps N]
    python train.py evaluate --checkpoint PATH [--split test] [--episodes N]
    python train.py render --checkpoint PATH [...]    # agents/render.py main(argv, load_trainer)

Options come from two dataclasses, every field a flag with its help text: ``RunConfig``
(agents/base.py: seed, steps, envs, device, output folder, learning rate, ...) and the agent's own
``Config`` (``python train.py --agent ram --help`` lists both), and the env's config fields
(``GlimpseConfig`` or ``TapeConfig``: ``--glimpses 4``, ``--memory-size 64``; merged into
``--env-kwargs``, a flag winning over the same JSON key). An agent field whose name is also a
``RunConfig`` field (``lr``) is set through the ``RunConfig`` flag; an env field named like a run or
agent option has no flag (set it with ``--env-kwargs``).

A run writes to ``OUT/ENV__AGENT__SEED__TIME/``: ``config.json``, ``checkpoint.pt`` (atomic:
a temporary file then ``os.replace``), ``train.csv`` and ``eval.csv`` (``charts/*``, ``losses/*``,
``val/*``), TensorBoard event files, and ``results.json`` (the final test table) beside the
checkpoint. ``--resume`` continues a run in its folder with the same curve: trainers draw every
iteration's randomness from ``(seed, iteration)``, and the CLI also restores the global
generators; rows logged after the checkpoint by an interrupted run are dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import datetime as _dt
import importlib
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agents.provenance import git_rev, now
from agents.run import Progress, train_updates
from glimpse_envs.data import remove_stale_parts

CHECKPOINT_FORMAT = "glimpse-envs-checkpoint"
CHECKPOINT_VERSION = 1
DEFAULT_RUN = {  # what `python train.py` with no arguments does
    "env": "glimpse_envs/MNIST-v0",
    "agent": "ram",
    "steps": 1_500_000,
    "num_envs": 32,
    "eval_every": 500_000,
    "checkpoint_every": 500_000,
}
#: RunConfig fields that --resume may change (the rest must match the checkpoint)
RESUME_OVERRIDABLE = {
    "steps",
    "eval_every",
    "eval_episodes",
    "test_episodes",
    "checkpoint_every",
    "device",
    "threads",
    "out",
}
COMMANDS = ("train", "evaluate", "render", "compare", "list")
#: training metrics shown beside the progress (bar or lines)
SHOWN_METRICS = ("charts/reward", "charts/accuracy", "charts/success")


class UsageError(Exception):
    """A user mistake: printed without a traceback, exit status 2."""


class CheckpointError(UsageError):
    """A checkpoint that cannot be used (corrupt, not ours, or for another run)."""


def check_run(run) -> None:
    """Refuse impossible run options before any work is done (one line naming the flag)."""
    import torch

    rules = [
        ("steps", 1),
        ("num_envs", 1),
        ("seed", 0),
        ("eval_every", 0),
        ("eval_episodes", 0),
        ("test_episodes", 0),
        ("checkpoint_every", 0),
        ("threads", 0),
    ]
    for name, low in rules:
        value = getattr(run, name)
        if not isinstance(value, int) or value < low:
            raise UsageError(f"--{name.replace('_', '-')} {value!r}: must be an integer >= {low}")
    try:
        device = torch.device(run.device)
    except (RuntimeError, TypeError):
        raise UsageError(
            f"--device {run.device!r}: not a torch device (cpu, cuda, cuda:1, ...)"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            f"--device {run.device}: this torch build has no usable CUDA "
            f"(torch {torch.__version__}); use --device cpu"
        )


# ----------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------
def env_ids() -> list[str]:
    import glimpse_envs

    return glimpse_envs.registered_ids()


def check_env_id(env_id: str) -> str:
    ids = env_ids()
    if env_id in ids:
        return env_id
    if f"glimpse_envs/{env_id}" in ids:  # accept the short form MNIST-v0
        return f"glimpse_envs/{env_id}"
    raise UsageError(f"unknown env {env_id!r}; valid envs:\n  " + "\n  ".join(ids))


def trainer_class(agent: str):
    from agents import AGENTS, get_trainer

    if agent not in AGENTS:
        raise UsageError(f"unknown agent {agent!r}; valid agents:\n  " + "\n  ".join(AGENTS))
    return get_trainer(agent)


def check_family(cls, env_id: str) -> None:
    from agents.base import env_family

    family = env_family(env_id)
    if family not in cls.families:
        raise UsageError(
            f"agent {cls.name!r} works on {'/'.join(cls.families)} envs; {env_id} is a {family} env"
        )


def list_all() -> None:
    import glimpse_envs
    from agents import AGENTS, get_trainer

    print("envs (--env):")
    for env_id in env_ids():
        try:
            page = glimpse_envs.page(env_id)
            line = page.strip().splitlines()[0].strip("# ").strip()
        except Exception as e:  # noqa: BLE001 - a listing never fails on one entry
            line = f"({type(e).__name__})"
        print(f"  {env_id:40s} {line}")
    print("agents (--agent):")
    for name in AGENTS:
        try:
            cls = get_trainer(name)
            line = f"[{cls.attention}, {'/'.join(cls.families)}] {cls.description}"
        except Exception as e:  # noqa: BLE001
            line = f"(not available: {type(e).__name__}: {e})"
        print(f"  {name:16s} {line}")


# ----------------------------------------------------------------------------------------------
# flags from dataclasses
# ----------------------------------------------------------------------------------------------
def _add_fields(
    parser: argparse.ArgumentParser,
    cls: type,
    skip: set[str],
    title: str,
    defaults: Any = None,
    dest_prefix: str = "",
) -> list[str]:
    """One flag per field of the dataclass ``cls`` (not in ``skip``, not derived), with its help
    text; ``defaults``, an instance, gives the defaults shown (an env id's own config). A field's
    ``flag`` metadata adds another spelling, its ``type`` types a field whose default is None."""
    group = parser.add_argument_group(title)
    names = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if defaults is not None:
            default = getattr(defaults, f.name)
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata.get("help", "")
        if not help_text:
            raise TypeError(
                f"{cls.__qualname__}.{f.name} has no help text (use agents.base.option)"
            )
        flags = [f"--{f.name.replace('_', '-')}"]  # --num_envs works too (normalise_flags)
        flags += [f.metadata["flag"]] if "flag" in f.metadata else []
        kwargs: dict[str, Any] = {
            "dest": dest_prefix + f.name,
            "default": argparse.SUPPRESS,
            "help": f"{help_text} (default: {json.dumps(default, default=str)})",
        }
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, (dict, list)):
            kwargs["type"] = json.loads
            kwargs["metavar"] = "JSON"
        else:
            kwargs["type"] = f.metadata.get("type") if default is None else type(default)
            kwargs["metavar"] = f.name.upper()
        group.add_argument(*flags, **kwargs)
        names.append(f.name)
    return names


#: where the env options' flags put their values in the parsed namespace
ENV_DEST = "env_option:"
#: fields of the env config dataclasses that are not flags (tapes: set by the id, or --env-kwargs)
ENV_NOT_FLAGS = {"env_name", "task_class", "task_kwargs"}


def env_config(env_id: str) -> tuple[str, type, Any]:
    """``(family, config dataclass, the id's own config)`` of a registered id, from its spec:
    visual ids are ``GlimpseConfig`` (the task's defaults), tape ids ``TapeConfig`` (the task's
    defaults), without building an env."""
    import gymnasium as gym

    from glimpse_envs.glimpse_env import GlimpseConfig, GlimpseEnv
    from glimpse_envs.tape_env import TapeConfig, TapeEnv

    spec = gym.spec(env_id)
    entry = spec.entry_point
    if isinstance(entry, str):
        module, name = entry.split(":")
        entry = getattr(importlib.import_module(module), name)
    task = spec.kwargs.get("task")
    if isinstance(entry, type) and issubclass(entry, GlimpseEnv):
        from glimpse_envs.visual import TASKS

        return "visual", GlimpseConfig, TASKS[task].config if task else entry.CONFIG
    if isinstance(entry, type) and issubclass(entry, TapeEnv):
        return "tape", TapeConfig, TapeConfig.for_task(task)
    raise UsageError(f"{env_id}: not a glimpse-envs env class ({entry!r})")


def env_flags(env_cls: type, skip: set[str]) -> dict[str, str]:
    """``{--flag: field}`` of an env config dataclass's options (both spellings of each)."""
    out = {}
    for f in dataclasses.fields(env_cls):
        if f.init and f.name not in skip | ENV_NOT_FLAGS:
            for flag in [f"--{f.name.replace('_', '-')}", f.metadata.get("flag")]:
                if flag:
                    out[flag] = f.name
                    out["--no-" + flag[2:]] = f.name
    return out


def check_env_flags(
    argv: list[str], env_id: str, family: str, own: set[str], skip: set[str]
) -> None:
    """A flag of the other family's env options (``--memory-size`` on a visual id) is a one-line
    UsageError naming the family, not argparse's 'unrecognized arguments'."""
    from glimpse_envs.glimpse_env import GlimpseConfig
    from glimpse_envs.tape_env import TapeConfig

    other, other_cls = ("tape", TapeConfig) if family == "visual" else ("visual", GlimpseConfig)
    foreign = set(env_flags(other_cls, skip)) - own
    for token in argv:
        flag = token.partition("=")[0]
        if flag in foreign:
            raise UsageError(
                f"{flag} is an option of {other} envs; {env_id} is a {family} env "
                f"(pass other arguments with --env-kwargs JSON; see: python train.py "
                f"--env {env_id} --help)"
            )


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line and a hint, not the whole usage text."""

    def error(self, message: str):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_train_parser(cfg_cls: type | None, env_id: str | None = None) -> argparse.ArgumentParser:
    """The train command's parser: ``RunConfig``'s flags, the agent ``Config``'s, and, given an
    env id, its env config's fields (``--glimpses``, ``--memory-size``, ...; dest
    ``ENV_DEST + field``) except those an agent or run option already names."""
    from agents.base import RunConfig

    parser = _Parser(
        prog="python train.py [train]",
        description="Train an agent on a glimpse-envs id (no arguments: a short RAM demo). "
        "Other commands: 'python train.py evaluate --checkpoint RUN' scores a checkpoint on a "
        "fixed split, 'python train.py render --checkpoint RUN' draws what its agent looked at, "
        "'python train.py compare --checkpoint RUN_A RUN_B ...' draws several agents on one canvas, "
        "'python train.py list' lists the env ids and agents (each has its own --help).",
    )
    parser.add_argument("--list", action="store_true", help="list env ids and agents, then exit")
    parser.add_argument(
        "--resume",
        metavar="PATH",
        default=None,
        help="continue the run of this checkpoint or run folder",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    parser.add_argument(
        "--hyperparams",
        metavar="YAML",
        default=None,
        help="take the options of the env's entry in this rl-baselines3-zoo-style "
        "file (flags given on the command line win); e.g. "
        "benchmarks/hyperparams/ppo.yml",
    )
    run_fields = {f.name for f in dataclasses.fields(RunConfig)}
    _add_fields(parser, RunConfig, set(), "run options (RunConfig)")
    if cfg_cls is not None:
        _add_fields(parser, cfg_cls, run_fields, f"agent options ({cfg_cls.__module__}.Config)")
    if env_id is not None:
        family, env_cls, defaults = env_config(env_id)
        _add_fields(
            parser,
            env_cls,
            env_skip(cfg_cls) | ENV_NOT_FLAGS,
            f"env options of {env_id} ({env_cls.__name__}; merged into --env-kwargs, "
            "these flags winning)",
            defaults,
            ENV_DEST,
        )
    return parser


def env_skip(cfg_cls: type | None) -> set[str]:
    """Env fields that get no flag: the names of run and agent options (``--lr``, DRAW's
    ``--glimpses``, the soft tape baselines' ``--max-length``): those flags are the agent's, and
    the env's field is then set with ``--env-kwargs``."""
    from agents.base import RunConfig

    names = {f.name for f in dataclasses.fields(RunConfig)}
    return names | ({f.name for f in dataclasses.fields(cfg_cls)} if cfg_cls else set())


FLAG_ALIASES = {"--total-timesteps": "--steps"}
"""Other spellings users bring from SB3 and CleanRL."""


def normalise_flags(argv: list[str]) -> list[str]:
    """``--num_envs 8`` and ``--num_envs=8`` as ``--num-envs``: both spellings are accepted, and
    the :data:`FLAG_ALIASES` (``--total-timesteps`` for ``--steps``)."""
    out = []
    for token in argv:
        if token.startswith("--"):
            name, eq, value = token.partition("=")
            name = name.replace("_", "-")
            token = FLAG_ALIASES.get(name, name) + eq + value
        out.append(token)
    return out


#: rl-baselines3-zoo's names of train.py's options in a ``--hyperparams`` file
ZOO_KEYS = {"n_envs": "num_envs", "n_timesteps": "steps", "learning_rate": "lr"}


def hyperparam_flags(path: str | os.PathLike, env: str, cfg_cls: type) -> list[str]:
    """The flags of ``env``'s entry in an rl-baselines3-zoo-style YAML file: top-level keys are
    env ids (``glimpse_envs/MNIST-v0`` or ``MNIST-v0``), each a mapping of option names (the zoo's
    ``n_envs``, ``n_timesteps``, ``learning_rate``, or any train.py option in snake_case, the
    env's config fields (``glimpses``) included; ``env_kwargs`` as a mapping). A UsageError names a missing file or entry, or an unknown key."""
    import yaml

    from agents.base import RunConfig

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise UsageError(f"--hyperparams {path}: cannot read it ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise UsageError(f"--hyperparams {path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"--hyperparams {path}: expected a mapping of env ids to options")
    short = env.split("/")[-1]
    entry = doc.get(env, doc.get(short))
    if not isinstance(entry, dict):
        raise UsageError(
            f"--hyperparams {path} has no entry for {env} (it has: "
            f"{', '.join(map(str, doc))}); add one or pick another --env"
        )
    known = (
        {f.name for f in dataclasses.fields(RunConfig)}
        | {f.name for f in dataclasses.fields(cfg_cls)}
        | set(env_flags(env_config(env)[1], set()).values())
    )
    flags: list[str] = []
    for key, value in entry.items():
        name = ZOO_KEYS.get(key, key)
        if name not in known or name in ("env", "agent", "resume"):
            raise UsageError(
                f"--hyperparams {path}, {env}: unknown option {key!r}; use "
                f"train.py's options ({', '.join(sorted(ZOO_KEYS))} as in the zoo)"
            )
        if name == "env_kwargs":
            value = json.dumps(value)
        elif isinstance(value, bool):
            flags.append(f"--{'' if value else 'no-'}{name.replace('_', '-')}")
            continue
        elif isinstance(value, float) and value.is_integer() and name in ("steps", "num_envs"):
            value = int(value)
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


def parse_train_args(argv: list[str]):
    """``(RunConfig, agent Config, parsed namespace, checkpoint or None)`` from the command line.

    With ``--resume`` the options come from the checkpoint; only ``RESUME_OVERRIDABLE`` fields may
    be given differently (a clear error otherwise)."""
    from agents.base import RunConfig

    argv = normalise_flags(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--agent", default=None)
    pre.add_argument("--resume", default=None)
    pre.add_argument("--hyperparams", default=None)
    pre.add_argument("--env", default=None)
    known, _ = pre.parse_known_args(argv)
    agent = known.agent
    ckpt = None
    if known.resume:
        ckpt = load_checkpoint(known.resume)
        if ckpt.get("weights_only"):
            raise CheckpointError(
                f"{ckpt['_path']} holds weights only (a published copy for evaluate, render and "
                "compare), not the optimiser's state: it cannot continue training; resume the "
                "full run folder it was made from"
            )
        agent = agent or ckpt["agent"]
    if agent is None:
        agent = DEFAULT_RUN["agent"] if not argv else RunConfig.agent
    cls = trainer_class(agent)
    env_id = check_env_id(known.env or (ckpt["run"]["env"] if ckpt else RunConfig.env))
    if known.hyperparams:  # the file's flags first: the command line's own flags win
        if known.resume:
            raise UsageError("--hyperparams with --resume: a resumed run keeps its own options")
        argv = [*hyperparam_flags(known.hyperparams, env_id, cls.Config), *argv]
    parser = build_train_parser(cls.Config, env_id)
    family, env_cls, _ = env_config(env_id)
    skip = env_skip(cls.Config)
    check_env_flags(argv, env_id, family, set(env_flags(env_cls, skip)), skip)
    args = parser.parse_args(argv)
    given = vars(args)
    run_names = {f.name for f in dataclasses.fields(RunConfig)}
    cfg_names = {f.name for f in dataclasses.fields(cls.Config)} - run_names
    run_given = {k: v for k, v in given.items() if k in run_names}
    cfg_given = {k: v for k, v in given.items() if k in cfg_names}
    env_given = {k[len(ENV_DEST) :]: v for k, v in given.items() if k.startswith(ENV_DEST)}
    if env_given:  # typed env flags win over the same keys in --env-kwargs
        base = run_given.get("env_kwargs", ckpt["run"].get("env_kwargs", {}) if ckpt else {})
        run_given["env_kwargs"] = {**base, **env_given}
    if ckpt is not None:
        base_run, base_cfg = dict(ckpt["run"]), dict(ckpt["agent_config"])
        clash = {
            k: (base_run.get(k), v)
            for k, v in run_given.items()
            if k not in RESUME_OVERRIDABLE and base_run.get(k) != v
        }
        if "env" in clash and check_env_id(run_given["env"]) == base_run["env"]:
            clash.pop("env")
        clash.update(
            {k: (base_cfg.get(k), v) for k, v in cfg_given.items() if base_cfg.get(k) != v}
        )
        if clash:
            lines = [f"  {k}: checkpoint {a!r}, asked {b!r}" for k, (a, b) in clash.items()]
            raise CheckpointError(
                f"checkpoint {ckpt['_path']} does not match the options given:\n"
                + "\n".join(lines)
                + f"\n(only {', '.join(sorted(RESUME_OVERRIDABLE))} may change on --resume)"
            )
        try:
            run = RunConfig(**{**base_run, **run_given})
            cfg = cls.Config(**base_cfg)
        except TypeError as e:
            raise CheckpointError(
                f"checkpoint {ckpt['_path']} was written by another version of "
                f"the options ({e}); start a new run"
            ) from None
        return run, cfg, args, ckpt
    if not argv:
        run_given = {k: v for k, v in DEFAULT_RUN.items()}
    run = RunConfig(**run_given)
    run.agent = agent
    run.env = check_env_id(run.env)
    cfg = cls.Config(**cfg_given)
    return run, cfg, args, None


# ----------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------
def _checkpoint_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p / "checkpoint.pt" if p.is_dir() else p


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically: a temporary file in the same folder, fsync, ``os.replace``."""
    import torch

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; a clear error if it cannot be used."""
    import torch

    p = _checkpoint_path(path)
    if not p.exists():
        raise CheckpointError(f"no checkpoint at {p}")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(
            f"checkpoint {p} is corrupt or truncated and cannot be read "
            f"({type(e).__name__}: {e}); use an earlier checkpoint or start a new run"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{p} is not a glimpse-envs train.py checkpoint")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{p} has checkpoint version {payload.get('version')}, this train.py reads "
            f"version {CHECKPOINT_VERSION}"
        )
    missing = {"run", "agent_config", "agent", "trainer", "env_steps"} - set(payload)
    if missing:
        raise CheckpointError(f"checkpoint {p} lacks {sorted(missing)}; it is damaged")
    payload["_path"] = str(p)
    return payload


def weights_only(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of checkpoint ``payload`` that keeps what ``evaluate``, ``render`` and ``compare``
    read (weights, options, counters) and drops the optimiser's state and the generators: about a
    third of a RAM checkpoint. Marked ``weights_only``: ``--resume`` refuses it."""
    out = {k: v for k, v in payload.items() if k not in ("global_rng", "_path")}
    out["trainer"] = {k: v for k, v in payload["trainer"].items() if k != "optimizer"}
    out["weights_only"] = True
    return out


def load_trainer(path: str | os.PathLike, device: str | None = None):
    """The trainer of a checkpoint, weights loaded (used by ``evaluate`` and the renders)."""
    from agents.base import RunConfig

    ckpt = load_checkpoint(path)
    cls = trainer_class(ckpt["agent"])
    try:
        run = RunConfig(**ckpt["run"])
        cfg = cls.Config(**ckpt["agent_config"])
    except TypeError as e:
        raise CheckpointError(
            f"checkpoint {ckpt['_path']} was written by another version of the options ({e})"
        ) from None
    if device:
        run.device = device
    trainer = cls(run, cfg)
    _load_state(trainer, ckpt)
    return trainer, ckpt


def _load_state(trainer, ckpt: dict[str, Any]) -> None:
    """The checkpoint's trainer state into ``trainer``, or a CheckpointError saying why not."""
    try:
        trainer.load_state_dict(ckpt["trainer"])
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(
            f"checkpoint {ckpt['_path']} does not fit agent {trainer.name!r} on {trainer.run.env} "
            f"({type(e).__name__}: {e})"
        ) from None


# ----------------------------------------------------------------------------------------------
# logging
# ----------------------------------------------------------------------------------------------
#: the log columns that measure time, not learning: equal runs differ only there
TIMING_COLUMNS = ("charts/SPS", "train_s")


class CsvLog:
    """Append-only CSV whose columns are fixed by the first row (later new keys are dropped).

    On resume, rows past ``resume_at`` env steps are dropped, and so is a row cut short by a kill
    mid-write (no final newline, or fields missing)."""

    def __init__(self, path: Path, resume_at: int | None):
        self.path = path
        self.fields: list[str] | None = None
        if resume_at is not None and path.exists():
            text = path.read_text()
            if text and not text.endswith("\n"):
                text = text[: text.rfind("\n") + 1]  # the last row was cut short
            rows = list(csv.DictReader(text.splitlines()))
            if rows:
                self.fields = list(rows[0].keys())
                rows = [
                    r
                    for r in rows
                    if None not in r.values()
                    and None not in r
                    and _is_number(r["env_steps"])
                    and float(r["env_steps"]) <= resume_at
                ]
            with open(path, "w", newline="") as fh:
                if self.fields:
                    writer = csv.DictWriter(fh, self.fields)
                    writer.writeheader()
                    writer.writerows(rows)

    def write(self, row: dict[str, Any]) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row)
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e12 else f"{v:.4g}"
    return str(v)


def print_table(title: str, metrics: dict[str, Any]) -> None:
    print(f"\n{title}")
    width = max((len(k) for k in metrics), default=4)
    for k, v in metrics.items():
        print(f"  {k:<{width}}  {_fmt(v)}")


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------
def _seed_globals(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _global_rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }


def _restore_global_rng(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def train(argv: list[str]) -> int:
    held: list = []  # the run folder's lock, released when train() returns
    try:
        return _train(argv, held)
    finally:
        for fh in held:
            fh.close()


def _train(argv: list[str], held: list) -> int:
    import torch

    demo = not argv
    run, cfg, args, ckpt = parse_train_args(argv)
    if getattr(args, "list", False):
        list_all()
        return 0
    cls = trainer_class(run.agent)
    check_family(cls, run.env)
    check_run(run)
    if run.threads > 0:
        torch.set_num_threads(run.threads)

    if ckpt is not None:
        run_dir = Path(ckpt["_path"]).parent
        held.append(_lock_run(run_dir))
        remove_stale_parts(run_dir, ".*.tmp")  # checkpoint writes of killed processes
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        env_short = run.env.split("/")[-1]
        run_dir = Path(run.out) / f"{env_short}__{run.agent}__{run.seed}__{stamp}"
        suffix = 1
        while run_dir.exists():
            run_dir = run_dir.with_name(f"{run_dir.name.split('.')[0]}.{suffix}")
            suffix += 1
    ckpt_path = run_dir / "checkpoint.pt"

    if demo:
        print(
            f"No arguments: the demo run trains RAM (agents/ram.py) on {run.env} for "
            f"{run.steps:,} env steps ({run.num_envs} episodes per update, {run.device}; 1-5 "
            "minutes on one CPU core), then scores the 10,000 fixed test canvases.\n"
            "Options: python train.py --help; envs and agents: python train.py --list"
        )

    _seed_globals(run.seed)
    try:  # a failed start leaves no run folder: it is made after this
        trainer = cls(run, cfg)
    except (ValueError, TypeError) as e:  # an impossible env or agent configuration
        raise UsageError(f"cannot build {run.agent} on {run.env}: {e}") from None
    prog = Progress()  # env steps, updates and seconds in updates, over every piece of the run
    pending_validation = False
    if ckpt is None:
        run_dir.mkdir(parents=True)
        held.append(_lock_run(run_dir))
    else:
        _load_state(trainer, ckpt)
        prog.env_steps = int(ckpt["env_steps"])
        pending_validation = bool(ckpt.get("pending_validation", False))
        prog.train_s = float(ckpt.get("train_s", 0.0))  # checkpoints before this clock: from here
        if "global_rng" in ckpt:
            _restore_global_rng(ckpt["global_rng"])
        print(f"resuming {run_dir} at {prog.env_steps:,} env steps (budget {run.steps:,})")
    config = {
        "run": dataclasses.asdict(run),
        "agent_config": dataclasses.asdict(cfg),
        "command": [Path(sys.executable).name, *sys.argv],
        "git": git_rev(),
        "parameters": trainer.num_parameters(),
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=2, default=str))

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir), purge_step=prog.env_steps if ckpt is not None else None)
    train_log = CsvLog(run_dir / "train.csv", prog.env_steps if ckpt is not None else None)
    # a validation interrupted at this checkpoint's step is run again: drop any row of it
    eval_log = CsvLog(
        run_dir / "eval.csv", None if ckpt is None else prog.env_steps - pending_validation
    )

    def checkpoint(p: Progress = prog) -> None:
        save_checkpoint(
            ckpt_path,
            {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                "agent": run.agent,
                "env": run.env,
                "run": dataclasses.asdict(run),
                "agent_config": dataclasses.asdict(cfg),
                "trainer": trainer.state_dict(),
                "env_steps": p.env_steps,
                "pending_validation": pending_validation,
                "train_s": p.train_s,
                "global_rng": _global_rng_state(),
                "time": time.time(),
            },
        )

    bar = None
    lines = not args.no_progress and not sys.stderr.isatty()  # a log file: a line per 10 %
    if not args.no_progress and not lines:
        from tqdm import tqdm

        bar = tqdm(
            total=run.steps,
            initial=min(prog.env_steps, run.steps),
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            desc=f"{run.agent} {run.env.split('/')[-1]}",
        )
    last_val: dict[str, float] = {}

    def validate(p: Progress = prog) -> None:
        nonlocal pending_validation, last_val
        pending_validation = True  # due at this step until its row is written
        episodes = run.eval_episodes or trainer.default_episodes("validation")
        last_val = trainer.evaluate("validation", episodes)
        for k, v in last_val.items():
            writer.add_scalar(f"val/{k}", v, p.env_steps)
        eval_log.write(
            {
                "env_steps": p.env_steps,
                "train_s": round(p.train_s, 2),
                **{f"val/{k}": v for k, v in last_val.items()},
            }
        )
        pending_validation = False
        msg = "  ".join(f"{k} {_fmt(v)}" for k, v in last_val.items())
        (bar.write if bar is not None else print)(f"[{p.env_steps:,} steps] validation: {msg}")

    def log_update(p: Progress, before: int) -> None:  # inside the update's all-or-nothing block
        for k, v in p.metrics.items():
            writer.add_scalar(k, v, p.env_steps)
        train_log.write({"env_steps": p.env_steps, **p.metrics})

    def show_update(p: Progress, before: int) -> None:
        shown = {k.split("/")[-1]: v for k, v in p.metrics.items() if k in SHOWN_METRICS}
        done = min(p.env_steps, run.steps)
        if lines and before * 10 // run.steps != done * 10 // run.steps:
            print(
                f"[{done:,}/{run.steps:,} env steps, {100 * done // run.steps}%] "
                + "  ".join(f"{k} {v:.3f}" for k, v in shown.items()),
                flush=True,
            )
        if bar is not None:
            bar.update(max(0, done - before))
            post = {k: f"{v:.3f}" for k, v in shown.items()}
            if last_val:
                key = "error" if "error" in last_val else next(iter(last_val))
                post[f"val_{key}"] = f"{last_val[key]:.3g}"
            bar.set_postfix(post, refresh=False)

    start = time.time()
    start_steps = prog.env_steps
    try:
        with _GracefulStop() as stop:  # SIGTERM as Ctrl-C: checkpoint, exit 130
            if pending_validation:  # the validation an interrupt cut short, at the same weights
                validate()
            train_updates(
                trainer,
                run.steps,
                prog,
                eval_every=run.eval_every,
                validate=validate,
                checkpoint_every=run.checkpoint_every,
                checkpoint=checkpoint,
                on_update=log_update,
                after_update=show_update,
                guard=stop.deferred,
            )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        checkpoint()
        print(
            f"\ninterrupted at {prog.env_steps:,} steps; checkpoint written; continue with:\n"
            f"  python train.py --resume {run_dir}"
        )
        return 130
    if bar is not None:
        bar.close()
    wall = time.time() - start
    checkpoint()
    exported = [Path(p).name for p in trainer.export(run_dir)]

    test_episodes = run.test_episodes or trainer.default_episodes("test")
    t0 = time.time()
    test = trainer.evaluate("test", test_episodes)
    eval_wall = time.time() - t0
    env_steps = prog.env_steps
    for k, v in test.items():
        writer.add_scalar(f"test/{k}", v, env_steps)
    writer.close()
    results = {
        "env": run.env,
        "agent": run.agent,
        "seed": run.seed,
        "env_steps": env_steps,
        "train_wall_s": wall,
        "train_steps_per_s": (env_steps - start_steps) / max(wall, 1e-9),
        "train_s": prog.train_s,
        "test_wall_s": eval_wall,
        "test_episodes": test_episodes,
        "test": test,
        "parameters": trainer.num_parameters(),
        "git": git_rev(),
        "date": now(),
        "command": [Path(sys.executable).name, *sys.argv],
    }
    (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    trainer.close()
    print_table(
        f"{run.agent} on {run.env}: test split, {test_episodes} episodes, after {env_steps:,} env "
        f"steps ({wall:.0f} s training)",
        test,
    )
    logs = ", eval.csv" if (run_dir / "eval.csv").exists() else ""  # only when a validation ran
    print(
        f"\noutputs in {run_dir}/: checkpoint.pt, {''.join(f + ', ' for f in exported)}"
        f"results.json, train.csv{logs}, TensorBoard events (tensorboard --logdir {run.out})"
    )
    if demo:
        print(f"evaluate again: python train.py evaluate --checkpoint {ckpt_path}")
    return 0


# ----------------------------------------------------------------------------------------------
# evaluate / render
# ----------------------------------------------------------------------------------------------
class _GracefulStop:
    """SIGINT (Ctrl-C) and SIGTERM raise ``KeyboardInterrupt``, the run's cue to checkpoint and
    exit, but never in the middle of an update: inside :meth:`deferred` the signal is remembered
    and raised when the block ends, so a checkpoint never holds half an update (a second signal
    stops at once). Validation passes stay interruptible: they change no weights, and an
    interrupted one is run again on resume."""

    def __init__(self):
        self.requested = self.deferring = False
        self.old: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        return False

    def _handle(self, signum, frame):
        if self.deferring and not self.requested:
            self.requested = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self):
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        if self.requested:
            raise KeyboardInterrupt


def _lock_run(run_dir: Path):
    """An exclusive lock on ``run_dir`` for this process's lifetime, or a UsageError naming it."""
    import fcntl

    fh = open(run_dir / ".lock", "w")  # noqa: SIM115  (held open: the lock lives with it)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise UsageError(
            f"{run_dir} is in use by another train.py (a second --resume of the same "
            "run?): wait for it to finish or stop it first"
        ) from None
    return fh


def evaluate_cmd(argv: list[str]) -> int:
    parser = _Parser(
        prog="python train.py evaluate", description="Score a checkpoint on a fixed split."
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    parser.add_argument(
        "--split",
        default="test",
        choices=["test", "validation"],
        help="fixed split to score (default: test)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=0,
        help="first N items of the split (0: the agent's full evaluation set)",
    )
    parser.add_argument("--device", default=None, help="torch device (default: the run's)")
    parser.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    if args.episodes < 0:
        raise UsageError(f"--episodes {args.episodes}: must be >= 0 (0: the full evaluation set)")
    trainer, ckpt = load_trainer(args.checkpoint, args.device)
    episodes = args.episodes or trainer.default_episodes(args.split)
    metrics = trainer.evaluate(args.split, episodes)
    trainer.close()
    print_table(
        f"{ckpt['agent']} on {ckpt['env']} ({ckpt['env_steps']:,} env steps): "
        f"{args.split} split, {episodes} episodes",
        metrics,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2))
    return 0


RENDER_MODULES = ("agents.render", "renders")


def render_cmd(argv: list[str]) -> int:
    """Hook for issue 6: ``main(argv, load_trainer)`` of the first of :data:`RENDER_MODULES`
    that has one draws ``Trainer.trace`` of a checkpoint's agent."""
    for name in RENDER_MODULES:
        try:
            main = importlib.import_module(name).main
        except (ImportError, AttributeError):
            continue
        return int(main(argv, load_trainer) or 0)
    raise UsageError(
        f"render is not available: none of {', '.join(RENDER_MODULES)} has "
        "main(argv, load_trainer) (issue 6)"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            command, argv = argv[0], argv[1:]
        else:
            command = "train"
        if command == "list" or (command == "train" and "--list" in argv):
            list_all()
            return 0
        if command == "evaluate":
            return evaluate_cmd(argv)
        if command == "render":
            return render_cmd(argv)
        if command == "compare":  # several checkpoints' attention in one figure
            from agents.compare import main as compare_main

            return int(compare_main(argv, load_trainer) or 0)
        return train(argv)
    except UsageError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
