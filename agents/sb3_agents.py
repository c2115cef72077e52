"""stable-baselines3 PPO and sb3-contrib RecurrentPPO on every glimpse-envs id.

* ``ppo``: SB3's ``PPO`` with a memoryless policy. On glimpse ids it sees the
  :class:`glimpse_envs.wrappers.GlimpseStack` history (every glimpse and location so far, zero
  padded), on N single envs in SB3's ``DummyVecEnv``; on tape ids it plays the native vector env
  through :mod:`agents.sb3_vec`.
* ``recurrent-ppo``: sb3-contrib's ``RecurrentPPO`` (``MultiInputLstmPolicy``) on the native vector
  env through :mod:`agents.sb3_vec`; its LSTM remembers the glimpses itself.

Both read the Dict observations through :class:`DictFeatures`, the project's
``BaseFeaturesExtractor`` (SB3's own CNN refuses images under 36x36): Discrete keys, which SB3 hands
over one-hot, go through a bias-free linear layer (an embedding); glimpse tensors through a small
MLP shared over the stacked glimpses; other boxes are flattened.

``train_iteration`` is ``rollouts_per_iteration`` rollouts of ``n_steps`` steps in each of
``num_envs`` envs, each followed by SB3's update. Each iteration starts from a fresh reset, with the
env seeds and the global generators set from ``(seed, iteration)``, so ``--resume`` continues the
same curve (episodes running at an iteration's end are cut there, and bootstrapped by SB3).

Evaluation plays the fixed split deterministically: visual ids ``options={"split", "index"}``
(``error``, ``glimpses``, ``pixels``), tape ids the tape protocol of
:mod:`agents.tape_eval` (``success``, ``success@L``).
"""

from __future__ import annotations

import abc
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from torch import nn

from agents.base import RunConfig, Trainer, env_family, iteration_seed, option


class DictFeatures(BaseFeaturesExtractor):
    """Features of a one-level Dict observation of glimpse-envs (any visual or tape id).

    ========================  ==========================================================
    key kind                  encoder
    ========================  ==========================================================
    Discrete(n) (one-hot)     ``Linear(n, embed_dim, bias=False)``: an embedding
    MultiDiscrete (one-hots)  one bias-free linear layer over the concatenated one-hots
    Box, >= glimpse_ndim dims glimpses: ``(..., k, g, g)`` (colour: ``(..., k, g, g, C)``,
                              ``glimpse_ndim=4``); each ``k*g*g(*C)`` glimpse through
                              ``Linear -> ReLU`` (``glimpse_features`` units, shared over a
                              stack), the results concatenated
    other Box                 flattened as is (locations)
    ========================  ==========================================================

    The concatenation goes through ``Linear -> ReLU`` to ``features_dim``.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        features_dim: int = 256,
        glimpse_features: int = 128,
        embed_dim: int = 16,
        glimpse_ndim: int = 3,
    ):
        super().__init__(observation_space, features_dim)
        self.encoders = nn.ModuleDict()
        self.kinds: dict[str, str] = {}
        total = 0
        for key, space in observation_space.spaces.items():
            if isinstance(space, spaces.Discrete):
                self.encoders[key] = nn.Linear(int(space.n), embed_dim, bias=False)
                self.kinds[key] = "flat"
                total += embed_dim
            elif isinstance(space, spaces.MultiDiscrete):
                self.encoders[key] = nn.Linear(int(space.nvec.sum()), embed_dim, bias=False)
                self.kinds[key] = "flat"
                total += embed_dim
            elif isinstance(space, spaces.MultiBinary):
                self.encoders[key] = nn.Flatten()
                self.kinds[key] = "flat"
                total += int(np.prod(space.shape))
            elif isinstance(space, spaces.Box) and len(space.shape) >= glimpse_ndim:
                per = int(np.prod(space.shape[-glimpse_ndim:]))
                stack = int(np.prod(space.shape[:-glimpse_ndim]))
                self.encoders[key] = nn.Sequential(nn.Linear(per, glimpse_features), nn.ReLU())
                self.kinds[key] = "glimpse"
                total += stack * glimpse_features
            elif isinstance(space, spaces.Box):
                self.encoders[key] = nn.Flatten()
                self.kinds[key] = "flat"
                total += int(np.prod(space.shape))
            else:
                raise ValueError(f"DictFeatures cannot encode key {key!r} of space {space}")
        self.head = nn.Sequential(nn.Linear(total, features_dim), nn.ReLU())
        self.glimpse_ndim = glimpse_ndim

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = []
        for key, encoder in self.encoders.items():
            x = observations[key].float()
            if self.kinds[key] == "glimpse":
                space = self._observation_space[key]
                per = int(np.prod(space.shape[-self.glimpse_ndim :]))
                parts.append(encoder(x.reshape(x.shape[0], -1, per)).flatten(1))
            else:
                parts.append(encoder(x.flatten(1) if x.dim() > 2 else x))
        return self.head(torch.cat(parts, 1))


@dataclass
class Config:
    """PPO / RecurrentPPO hyperparameters (``train.py --agent ppo`` flags)."""

    lr: float = option(3e-4, "Adam learning rate (train.py --lr overrides it when > 0)")
    n_steps: int = option(64, "steps per env in each rollout")
    rollouts_per_iteration: int = option(1, "rollouts (each followed by an update) per iteration")
    batch_size: int = option(512, "minibatch size of the PPO update")
    n_epochs: int = option(4, "passes over each rollout")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    clip_range: float = option(0.2, "PPO clipping parameter")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    vf_coef: float = option(0.5, "value loss coefficient")
    max_grad_norm: float = option(0.5, "gradient norm clipping")
    features_dim: int = option(256, "output units of the DictFeatures extractor")
    glimpse_features: int = option(128, "units per glimpse in the DictFeatures extractor")
    embed_dim: int = option(16, "embedding size of each Discrete observation key")
    net_arch: int = option(64, "units of the two hidden layers of the policy and value heads")
    lstm_hidden: int = option(256, "LSTM units (recurrent-ppo only)")
    eval_batch: int = option(100, "episodes played in parallel during evaluation")


class _EpisodeStats(BaseCallback):
    """Returns and successes of the episodes that end during one ``learn`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: list[float] = []
        self.successes: list[float] = []

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"]):
            if done:
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
                if "is_success" in info:
                    self.successes.append(float(info["is_success"]))
        return True


class _SB3Trainer(Trainer):
    """Common plumbing of the two SB3 agents."""

    families = ("visual", "tape")
    attention = "hard"
    Config = Config
    recurrent = False

    def __init__(self, run: RunConfig, cfg: Config):
        super().__init__(run, cfg)
        import glimpse_envs  # noqa: F401

        self.family = env_family(run.env)
        self.device = torch.device(run.device)
        set_random_seed(run.seed)
        self.venv = self._make_train_env()
        self.model = self._make_model()
        # SB3's configure() makes a /tmp/SB3-<date> folder per call; a Logger with no output
        # format keeps the values in memory (name_to_value) and writes nothing
        self.model.set_logger(Logger(None, []))
        self.iteration = 0
        self.env_steps = 0

    # -- envs -----------------------------------------------------------------------------------
    def _stack(self) -> bool:
        return self.family == "visual" and not self.recurrent

    def _single_env(self) -> gym.Env:
        from glimpse_envs.wrappers import GlimpseStack

        env = gym.make(self.run.env, **self.run.env_kwargs)
        return GlimpseStack(env) if self._stack() else env

    def _make_train_env(self) -> VecEnv:
        """The training envs under SB3's ``VecMonitor`` (episode returns and lengths)."""
        if self._stack():
            return VecMonitor(DummyVecEnv([self._single_env for _ in range(self.run.num_envs)]))
        from agents.sb3_vec import make_sb3_vec_env

        return make_sb3_vec_env(self.run.env, self.run.num_envs, **self.run.env_kwargs)

    def _glimpse_ndim(self) -> int:
        """Dimensions of one glimpse: 3, (k, g, g), or 4, (k, g, g, C) on a colour dataset."""
        space = self.venv.observation_space
        if self.family != "visual":
            return 3
        return len(space["glimpses"].shape) - 1 if self._stack() else len(space["glimpse"].shape)

    def _policy_kwargs(self) -> dict[str, Any]:
        return {
            "features_extractor_class": DictFeatures,
            "features_extractor_kwargs": {
                "features_dim": self.cfg.features_dim,
                "glimpse_features": self.cfg.glimpse_features,
                "embed_dim": self.cfg.embed_dim,
                "glimpse_ndim": self._glimpse_ndim(),
            },
            "net_arch": [self.cfg.net_arch, self.cfg.net_arch],
        }

    def _algo_kwargs(self) -> dict[str, Any]:
        cfg = self.cfg
        batch = min(cfg.batch_size, cfg.n_steps * self.run.num_envs)
        return {
            "learning_rate": self.run.lr or cfg.lr,
            "n_steps": cfg.n_steps,
            "batch_size": batch,
            "n_epochs": cfg.n_epochs,
            "gamma": cfg.gamma,
            "gae_lambda": cfg.gae_lambda,
            "clip_range": cfg.clip_range,
            "ent_coef": cfg.ent_coef,
            "vf_coef": cfg.vf_coef,
            "max_grad_norm": cfg.max_grad_norm,
            "seed": self.run.seed,
            "device": self.device,
            "verbose": 0,
        }

    @abc.abstractmethod
    def _make_model(self):
        """The SB3 model (PPO or RecurrentPPO) on ``self.env``."""

    # -- Trainer API ----------------------------------------------------------------------------
    def train_iteration(self) -> dict[str, float]:
        # each iteration starts from a fresh reset of seeded envs (the same curve, resumed or
        # not): learn(reset_num_timesteps=True) resets them itself, with the seeds given here, and
        # marks every episode as starting (an LSTM policy zeroes its state there)
        seed = iteration_seed(self.run.seed, self.iteration) % 2**31
        set_random_seed(seed)
        self.venv.seed(seed)
        steps = self.cfg.rollouts_per_iteration * self.cfg.n_steps * self.run.num_envs
        stats = _EpisodeStats()
        self.model.learn(steps, callback=stats, reset_num_timesteps=True, log_interval=None)
        logged = dict(self.model.logger.name_to_value)
        self.model.logger.name_to_value.clear()
        self.iteration += 1
        self.env_steps += steps
        out: dict[str, float] = {"env_steps": steps}
        if stats.returns:
            out["charts/reward"] = float(np.mean(stats.returns))
            out["charts/episodes"] = float(len(stats.returns))
        if stats.successes:
            key = "charts/accuracy" if self.family == "visual" else "charts/success"
            out[key] = float(np.mean(stats.successes))
        for k, v in logged.items():
            if k.startswith("train/") and k != "train/n_updates":  # SB3's count within a call
                out[f"losses/{k[6:]}"] = float(v)
        return out

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        if self.family == "tape":
            from agents.tape_eval import evaluate_tape_policy

            return evaluate_tape_policy(
                self.run.env, self.run.env_kwargs, self._policy_fn, split, episodes, self.run.seed
            )
        batch = min(self.cfg.eval_batch, episodes)
        totals = {"wrong": 0.0, "glimpses": 0.0, "pixels": 0.0}
        for start in range(0, episodes, batch):
            idx = list(range(start, min(start + batch, episodes)))
            finals = self._play_fixed(split, idx)
            for info in finals:
                totals["wrong"] += float(not info["is_success"])
                totals["glimpses"] += float(info["glimpses"])
                totals["pixels"] += float(info["pixels_sensed"])
        return {
            "error": 100.0 * totals["wrong"] / episodes,
            "glimpses": totals["glimpses"] / episodes,
            "pixels": totals["pixels"] / episodes,
            "episodes": float(episodes),
        }

    #: whether ``predict`` needs the envs' ``action_masks()`` (MaskablePPO)
    needs_masks = False

    def _policy_fn(self):
        """A stateful deterministic policy ``act(obs, episode_start, masks=None) -> actions`` for
        evaluation; ``act.needs_masks`` says whether it must be given the envs' action masks."""
        state = {"lstm": None}

        def act(obs, episode_start, masks=None):
            extra = {"action_masks": masks} if self.needs_masks else {}
            action, state["lstm"] = self.model.predict(
                obs, state=state["lstm"], episode_start=episode_start, deterministic=True, **extra
            )
            return action

        act.needs_masks = self.needs_masks
        return act

    def _play_fixed(self, split: str, indices: list[int], record: bool = False):
        """Play fixed episodes ``indices`` of ``split`` once each; the final info of each."""
        n = len(indices)
        envs = [self._single_env() for _ in range(n)]
        obs_list = [
            env.reset(options={"split": split, "index": i})[0] for env, i in zip(envs, indices)
        ]
        done = np.zeros(n, bool)
        finals: list[dict] = [{} for _ in range(n)]
        locations = [self._location_of(obs_list[0])]
        act = self._policy_fn()
        start = np.ones(n, bool)
        while not done.all():
            obs = {k: np.stack([o[k] for o in obs_list]) for k in obs_list[0]}
            masks = (
                np.stack([e.unwrapped.action_masks() for e in envs]) if self.needs_masks else None
            )
            actions = act(obs, start, masks)
            start = np.zeros(n, bool)
            for j, env in enumerate(envs):
                if done[j]:
                    continue
                o, _, term, trunc, info = env.step(actions[j])
                obs_list[j] = o
                if j == 0 and record and not (term or trunc):
                    locations.append(self._location_of(o))
                if term or trunc:
                    done[j] = True
                    finals[j] = info
        for env in envs:
            env.close()
        return (finals, locations) if record else finals

    @staticmethod
    def _location_of(obs: dict[str, Any]) -> np.ndarray:
        """The location of the glimpse just taken (plain or GlimpseStack observation)."""
        if "location" in obs:
            return np.array(obs["location"], dtype=np.float32)
        return np.array(obs["locations"][int(obs["step"])], dtype=np.float32)

    def export(self, folder) -> list:
        """``model.zip``: the plain SB3 model (``PPO.load`` / ``RecurrentPPO.load``), no env."""
        path = Path(folder) / "model.zip"
        self.model.save(path, exclude=["env", "_last_obs", "_last_episode_starts"])
        return [path]

    def state_dict(self) -> dict[str, Any]:
        buf = io.BytesIO()
        self.model.save(buf, exclude=["env", "_last_obs", "_last_episode_starts"])
        state = {
            "model_zip": buf.getvalue(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "num_timesteps": self.model.num_timesteps,
        }
        if self.family == "tape":  # the env's curriculum is part of the training state
            from agents.tape_eval import curricula_state

            state["curricula"] = curricula_state(self._native_vec())
        return state

    def _native_vec(self):
        """The Gymnasium vector env under VecMonitor and the adapter (tape ids)."""
        return self.venv.venv.vec

    def load_state_dict(self, state: dict[str, Any]) -> None:
        params = (
            type(self.model)
            .load(io.BytesIO(state["model_zip"]), device=self.device)
            .get_parameters()
        )
        self.model.set_parameters(params, exact_match=True, device=self.device)
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])
        self.model.num_timesteps = int(state["num_timesteps"])
        if "curricula" in state:
            from agents.tape_eval import load_curricula_state

            load_curricula_state(self._native_vec(), state["curricula"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.policy.parameters() if p.requires_grad)

    def default_episodes(self, split: str) -> int:
        if self.family == "tape":
            from agents.tape_eval import DEFAULT_EPISODES

            return DEFAULT_EPISODES.get(split, 500)
        return super().default_episodes(split)

    def trace(self, split: str, index: int, length: int | None = None) -> dict[str, Any]:
        if self.family == "tape":
            from agents.tape_eval import trace_tape_policy

            return trace_tape_policy(
                self.run.env, self.run.env_kwargs, self._policy_fn(), split, index, length
            )
        finals, locations = self._play_fixed(split, [index], record=True)
        env = gym.make(self.run.env, **self.run.env_kwargs)
        images, _ = env.unwrapped.canvas.fixed(split, np.array([index]))
        env.close()
        info = finals[0]
        return {
            "image": np.asarray(images[0]),
            "label": int(np.asarray(info["label"]).reshape(-1)[0]),
            "prediction": int(np.asarray(info["prediction"]).reshape(-1)[0]),
            "locations": np.stack(locations),
        }

    def close(self) -> None:
        self.venv.close()


class PPOTrainer(_SB3Trainer):
    """SB3 PPO; glimpse ids through GlimpseStack (memoryless policy over the glimpse history)."""

    name = "ppo"
    description = (
        "stable-baselines3 PPO, MLP policy over the GlimpseStack history (tapes: native vec)"
    )

    def _make_model(self):
        from stable_baselines3 import PPO

        return PPO(
            "MultiInputPolicy",
            self.venv,
            policy_kwargs=self._policy_kwargs(),
            **self._algo_kwargs(),
        )


class MaskablePPOTrainer(PPOTrainer):
    """sb3-contrib MaskablePPO: PPO that never samples an action the env's ``action_masks()``
    rules out (at the last glimpse only an answer; a forward-only head never moves left; ...).
    Training takes the masks from the envs at every step; evaluation passes them to ``predict``."""

    name = "maskable-ppo"
    description = (
        "sb3-contrib MaskablePPO: PPO over the GlimpseStack history, illegal actions masked"
    )
    needs_masks = True

    def _make_model(self):
        from sb3_contrib import MaskablePPO

        return MaskablePPO(
            "MultiInputPolicy",
            self.venv,
            policy_kwargs=self._policy_kwargs(),
            **self._algo_kwargs(),
        )


class RecurrentPPOTrainer(_SB3Trainer):
    """sb3-contrib RecurrentPPO with an LSTM policy on the native vector env."""

    name = "recurrent-ppo"
    description = "sb3-contrib RecurrentPPO, LSTM policy on the native vector env (agents.sb3_vec)"
    recurrent = True

    def _make_model(self):
        from sb3_contrib import RecurrentPPO

        kwargs = self._policy_kwargs()
        kwargs["lstm_hidden_size"] = self.cfg.lstm_hidden
        return RecurrentPPO(
            "MultiInputLstmPolicy", self.venv, policy_kwargs=kwargs, **self._algo_kwargs()
        )
