"""What both families share: seeds and reset options of the native vector envs, config fields."""

from __future__ import annotations

from dataclasses import field
from typing import Any

import numpy as np


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a help text: the configs' fields become ``train.py`` flags
    (``agents.cli``) with this help; a ``flag`` (another ``--name``) and a ``type`` (for a field
    whose default is None) may be given."""
    meta = {"help": help, **{k: kwargs.pop(k) for k in ("flag", "type") if k in kwargs}}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kwargs)
    return field(default=default, metadata=meta, **kwargs)


def per_env_seeds(seed, num_envs: int, name: str) -> list[int | None]:
    """The seed of each sub-env, as Gymnasium's ``SyncVectorEnv`` gives them: ``None`` for all,
    ``seed + i`` for an int, or a list of one seed (or ``None``) per env."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(
            f"{name}: {len(seeds)} seeds given for num_envs={num_envs}: give one per env"
        )
    return seeds


def is_int(x) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_reset_options(
    options, allowed: tuple[str, ...], name: str, num_envs: int | None = None
) -> dict:
    """Validate ``reset(options=...)`` for a single env (``num_envs`` None) or a vector env, before
    any work is done; returns a plain dict copy.

    Keys outside ``allowed`` (plus ``reset_mask`` for a vector env) are an error, so a misspelt key
    is never silently ignored. ``index`` and ``length`` are ints >= 0 (``length`` may be None), or
    for a vector env also one per sub-env; ``reset_mask`` is ``num_envs`` booleans.
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"{name}: reset(options=...) takes a dict, got {type(options).__name__}")
    keys = allowed + (("reset_mask",) if num_envs is not None else ())
    unknown = sorted(set(options) - set(keys), key=str)
    if unknown:
        raise ValueError(f"{name}: unknown reset option(s) {unknown}: the options are {list(keys)}")
    out = dict(options)
    for key in ("index", "length"):
        value = out.get(key)
        if value is None:
            continue
        per_env = num_envs is not None and np.ndim(value) == 1
        values = list(value) if per_env else [value]
        if num_envs is not None and np.ndim(value) > 1 or per_env and len(values) != num_envs:
            raise ValueError(
                f"{name}: options[{key!r}] needs one int or {num_envs} ints (one per env), "
                f"got {np.shape(value)}"
            )
        bad = [v for v in values if not (is_int(v) or (key == "length" and v is None))]
        if bad:
            raise TypeError(
                f"{name}: options[{key!r}] must be an int{' or one per env' if num_envs else ''}"
                f", got {bad[0]!r} ({type(bad[0]).__name__}): pass e.g. {{'{key}': 3}}"
            )
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"{name}: options[{key!r}] must be >= 0, got {value!r}")
    mask = out.get("reset_mask")
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != (num_envs,):
            raise ValueError(
                f"{name}: options['reset_mask'] must be a boolean array of shape "
                f"({num_envs},), got dtype {m.dtype} shape {m.shape}"
            )
    return out
