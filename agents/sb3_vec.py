"""An adapter from a Gymnasium 1.x ``VectorEnv`` to stable-baselines3's ``VecEnv``.

SB3 cannot take a Gymnasium vector env directly: it expects its own ``VecEnv`` interface, infos as
a *list* of per-env dicts, and "same step" autoreset with the last observation of a finished
episode in ``info["terminal_observation"]``. Gymnasium 1.x vector envs return infos as a dict of
batched arrays with ``_key`` masks and, by default, reset a finished sub-env on the *next* call.

This is the documented path for SB3 on the suite's native batched envs::

    from agents.sb3_vec import make_sb3_vec_env
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("glimpse_envs/ClutteredMNIST-v0", num_envs=64, seed=0)
    PPO("MultiInputPolicy", venv).learn(10_000)

or, for a vector env you built yourself (it must use the ``SameStep`` or ``Disabled`` autoreset
mode; ``NextStep`` cannot give SB3 the next episode's first observation in the same call)::

    vec = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP)
    venv = GymnasiumVecEnv(vec)

Mapping:

* ``reset()`` calls ``vec.reset(seed=..., options=...)`` with the seeds of ``venv.seed(s)``
  (sub-env ``i`` gets ``s + i``, as SB3's ``DummyVecEnv``) and returns the batched observation.
* ``step_wait()`` returns ``obs, rewards, dones, infos`` with ``dones = terminated | truncated``;
  for a finished sub-env ``i``, ``infos[i]["terminal_observation"]`` is its last observation,
  ``infos[i]`` holds the finished episode's info (``final_info``) and
  ``infos[i]["TimeLimit.truncated"]`` is ``truncated and not terminated``, as SB3 expects, while
  ``obs[i]`` is already the first observation of its next episode.
* ``SameStep`` vector envs reset finished sub-envs themselves; for ``Disabled`` ones the adapter
  calls ``vec.reset(options={"reset_mask": dones})``.
* A native vector env has no sub-env objects: ``get_attr`` reads the vector env's attribute once
  for every index, ``env_method`` calls the vector env's method once, ``env_is_wrapped`` is False.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

BATCHED_METHODS = frozenset({"action_masks"})
"""Vector-env methods whose result has one row per sub-env (``env_method`` gives row i to env i)."""


def _autoreset_mode(vec: VectorEnv) -> AutoresetMode:
    mode = vec.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    return mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)


def _index(value: Any, i: int) -> Any:
    """Entry ``i`` of a batched value: an array, an object array or a dict of those."""
    if isinstance(value, dict):
        return {k: _index(v, i) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return value[i]
    return value


def split_infos(infos: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's batched ``infos`` (dict of arrays with ``_key`` masks) as one dict per env.

    Nested dicts (``final_info``) are split recursively; a key without a mask counts for every env.
    """
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in infos.items():
        if key.startswith("_") and key[1:] in infos:
            continue
        mask = infos.get(f"_{key}")
        if isinstance(value, dict):
            parts = split_infos(value, num_envs)
            for i in range(num_envs):
                if mask is None or mask[i]:
                    out[i][key] = parts[i]
            continue
        for i in range(num_envs):
            if mask is None or mask[i]:
                out[i][key] = _index(value, i)
    return out


class GymnasiumVecEnv(VecEnv):
    """SB3 ``VecEnv`` view of a Gymnasium ``VectorEnv`` (``SameStep`` or ``Disabled`` autoreset).

    :param vec: the Gymnasium vector env; the adapter owns it and closes it.
    """

    def __init__(self, vec: VectorEnv):
        self.vec = vec
        self.autoreset_mode = _autoreset_mode(vec)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            raise ValueError(
                "GymnasiumVecEnv needs a vector env whose autoreset mode is SameStep or Disabled "
                "(SB3 wants the next episode's first observation in the step that ends one); "
                "make it with gym.make_vec(..., autoreset_mode=AutoresetMode.SAME_STEP) for a "
                "native vector env or vector_kwargs={'autoreset_mode': ...} for SyncVectorEnv, "
                "or use agents.sb3_vec.make_sb3_vec_env"
            )
        super().__init__(vec.num_envs, vec.single_observation_space, vec.single_action_space)
        self._actions: np.ndarray | None = None

    # -- core API -------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        seeds = self._seeds
        seed: list[int | None] | None = None if all(s is None for s in seeds) else list(seeds)
        if seed is not None and any(s is None for s in seed):
            raise ValueError(f"seed either every sub-env or none, got {seed}")
        options = self._options[0] if self._options else {}
        if any(o != options for o in self._options):
            raise ValueError("a native vector env takes one options dict for every sub-env")
        if seed is not None and seed == list(range(seed[0], seed[0] + self.num_envs)):
            seed = seed[0]  # the vector env seeds sub-env i with seed + i itself
        obs, infos = self.vec.reset(seed=seed, options=options or None)
        self.reset_infos = split_infos(infos, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        assert self._actions is not None, "step_async must come before step_wait"
        obs, rewards, terminated, truncated, infos = self.vec.step(self._actions)
        self._actions = None
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        dones = terminated | truncated
        if self.autoreset_mode == AutoresetMode.DISABLED and dones.any():
            final_obs = _copy_obs(obs)
            list_infos = split_infos(infos, self.num_envs)
            obs, reset_infos = self.vec.reset(options={"reset_mask": dones})
            reset_split = split_infos(reset_infos, self.num_envs)
            for i in np.flatnonzero(dones):
                list_infos[i]["terminal_observation"] = _index(final_obs, int(i))
                self.reset_infos[i] = reset_split[i]
        else:
            list_infos = split_infos(infos, self.num_envs)
            for i in np.flatnonzero(dones):
                info = list_infos[i]
                final_info = info.pop("final_info", None)
                final_obs = info.pop("final_obs", None)
                self.reset_infos[i] = info
                if final_obs is None:
                    raise RuntimeError(
                        f"sub-env {i} finished but the vector env gave no final_obs; "
                        "is its autoreset mode really SameStep?"
                    )
                merged = dict(final_info) if final_info is not None else {}
                merged["terminal_observation"] = final_obs
                list_infos[i] = merged
        for i in np.flatnonzero(dones):
            list_infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, np.asarray(rewards, dtype=np.float32), dones, list_infos

    def close(self) -> None:
        self.vec.close()

    # -- sub-env access (a native vector env has none) ------------------------------------------
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.vec, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.vec, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        result = getattr(self.vec, method_name)(*method_args, **method_kwargs)
        if method_name in BATCHED_METHODS:  # one row per sub-env
            return [result[i] for i in self._get_indices(indices)]
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.vec.render()
        if frames is None:
            return [None for _ in range(self.num_envs)]
        return list(frames)


def _copy_obs(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


def make_sb3_vec_env(
    env_id: str, num_envs: int, seed: int | None = None, monitor: bool = True, **env_kwargs: Any
) -> VecEnv:
    """The native vector env of ``env_id`` (``SameStep`` autoreset) as an SB3 ``VecEnv``.

    Ids without a ``vector_entry_point`` fall back to Gymnasium's ``SyncVectorEnv``.
    ``seed`` seeds the first ``reset()`` (sub-env ``i`` gets ``seed + i``). With ``monitor`` (the
    default) it is wrapped in SB3's ``VecMonitor``, so SB3 logs ``rollout/ep_rew_mean`` and
    ``ep_len_mean`` (and ``success_rate`` from ``info["is_success"]``) as it does for its own envs.
    """
    import glimpse_envs  # noqa: F401  (registers the ids)

    spec = gym.spec(env_id)
    if spec.vector_entry_point is not None:
        vec = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP,
            **env_kwargs,
        )
    else:
        vec = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **env_kwargs,
        )
    venv: VecEnv = GymnasiumVecEnv(vec)
    if monitor:
        from stable_baselines3.common.vec_env import VecMonitor

        venv = VecMonitor(venv)
    if seed is not None:
        venv.seed(seed)
    return venv
