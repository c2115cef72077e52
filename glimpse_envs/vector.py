"""What the native vector envs of both families share."""

from __future__ import annotations

import numpy as np


def per_env_seeds(seed, num_envs: int, name: str) -> list[int | None]:
    """The seed of each sub-env, as Gymnasium's ``SyncVectorEnv`` gives them: ``None`` for all,
    ``seed + i`` for an int, or a list of one seed (or ``None``) per env."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"{name}: {len(seeds)} seeds given for num_envs={num_envs}: give one per env")
    return seeds
