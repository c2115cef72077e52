"""Shared machinery of the agents trained by backprop alone (soft attention and no attention).

:class:`VisualTrainer` draws canvases from the env's own canvas generator with a numpy Generator
seeded from ``run.seed``, trains with Adam on the cross-entropy of every digit, and scores on
``canvas.fixed(split, range(n))``, the images every hard agent is scored on.

:class:`SequenceTrainer` draws sequences from the tape env's own task generator (``task.sample``),
turns them into bit vectors with ``tape_tasks.to_bits`` and trains a sequence model that reads the
whole input and then writes the target, the NTM paper's protocol; it reports bit errors per
sequence and success per evaluation length on ``task.fixed(split, length, range(n))``, the
sequences the hard tape agents play through ``reset(options={"split", "index", "length"})``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.base import RunConfig, Trainer, iteration_seed, option, set_decayed_lr


@dataclass
class SupervisedConfig:
    """The fields every backprop-trained agent's config shares: each agent's config subclasses
    it and restates a field only where its default or meaning differs."""

    lr: float = option(1e-3, "Adam learning rate (used when --lr is 0)")
    lr_final: float = option(
        0.0, "if > 0, decay the learning rate linearly to this by the end of the budget (--steps)"
    )
    grad_clip: float = option(10.0, "clip the gradient norm to this (0: no clipping)")
    eval_batch: int = option(500, "canvases (or sequences) per evaluation batch")


@dataclass
class CurriculumConfig:
    """The tape sequence models' training curriculum (``--curriculum``; :class:`SequenceTrainer`),
    shared by their configs."""

    curriculum: bool = option(
        False,
        "tapes: train on a curriculum that starts at the shortest length (and, on repeat copy, one "
        "repeat) and moves up a level each time the training success rate reaches the threshold",
    )
    curriculum_window: int = option(
        1000,
        "curriculum: training sequences over which the success rate is measured (many batches: "
        "a batch has one length, and a window of a few batches can pass on short ones by chance)",
    )
    curriculum_threshold: float = option(
        0.9, "curriculum: success rate (all bits right) in (0, 1] that moves to the next level"
    )


def make_unwrapped(env_id: str, env_kwargs: dict | None = None):
    """``gym.make(env_id, **env_kwargs).unwrapped`` (importing glimpse_envs registers the ids)."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401

    return gym.make(env_id, **(env_kwargs or {})).unwrapped


def env_glimpses(env) -> int:
    """The glimpse budget T of a visual env (single or vector, possibly wrapped)."""
    return int(env.unwrapped.config.glimpses)


def to_torch_images(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (B, S, S) (colour: (B, S, S, C)) -> float32 in [0, 1] on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(255.0)


class _TorchTrainer(Trainer):
    """Model, optimiser, update counter and their (de)serialisation.

    Update ``i`` draws its data from ``numpy.random.default_rng(iteration_seed(seed, i))``, so a
    run resumed from a checkpoint continues exactly as the uninterrupted run.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer

    def _setup(self) -> None:
        self.device = torch.device(self.run.device)
        torch.manual_seed(self.run.seed)
        self.model = self.build_model().to(self.device)
        self.optimizer = self.build_optimizer()
        self.updates = 0
        self.env_steps = 0  # spent by the updates so far: the learning-rate schedule's clock

    def _set_lr(self) -> None:
        lr = self.run.lr or self.cfg.lr
        set_decayed_lr(self.optimizer, lr, self.cfg.lr_final, self.env_steps, self.run.steps)

    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """The torch module (built after the generator is known)."""

    def build_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.run.lr or self.cfg.lr)

    def iteration_rng(self) -> np.random.Generator:
        """The generator of the next update's data: a pure function of (seed, update index)."""
        return np.random.default_rng(iteration_seed(self.run.seed, self.updates))

    def _step(self, loss: torch.Tensor, env_steps: int) -> float:
        """Backprop ``loss``, clip, update at the scheduled rate, and count the update's
        ``env_steps``; returns the gradient norm before clipping."""
        self._set_lr()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = self._clip([p for p in self.model.parameters() if p.grad is not None])
        self.optimizer.step()
        self.updates += 1
        self.env_steps += env_steps
        return float(norm)

    def _clip(self, params: list[torch.Tensor]) -> torch.Tensor:
        """Clip the gradients (their global norm to ``grad_clip``); returns the norm before."""
        clip = getattr(self.cfg, "grad_clip", 0.0)
        return torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        if "optimizer" in state:  # (not in a weights-only copy: agents.cli.weights_only)
            self.optimizer.load_state_dict(state["optimizer"])
        self.updates = state["updates"]
        self.env_steps = state.get("env_steps", 0)  # (not in checkpoints from before lr_final)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)


class VisualTrainer(_TorchTrainer):
    """A classifier of whole canvases; subclasses give the model and the compute per decision.

    The model maps float images (B, S, S) in [0, 1] (colour datasets: (B, S, S, C), for the
    subclasses with ``colour = True``; the others refuse them) to logits (B, n_targets, classes); the loss is
    the cross-entropy summed over the digits of a canvas, and a canvas counts as an error unless
    every digit is right (the sequence error of the multi-digit papers).

    Budget: each update consumes ``batch_size * steps_per_example`` env steps.
    """

    families = ("visual",)
    #: whether the model reads colour canvases (B, S, S, C)
    colour = False

    def __init__(self, run: RunConfig, cfg: Any):
        super().__init__(run, cfg)
        if getattr(cfg, "curriculum", False):
            raise ValueError(
                f"--curriculum is for the tape ids (a length curriculum); {run.env} is a visual "
                "id: leave the flag out"
            )
        env = make_unwrapped(run.env, run.env_kwargs)
        self.env_glimpses = env_glimpses(env)
        self.canvas = env.canvas
        self.sensor = getattr(env, "sensor", None)
        env.close()
        if self.canvas.channels > 1 and not self.colour:
            raise ValueError(
                f"agent {self.name!r} reads grayscale canvases only, and this dataset has "
                f"{self.canvas.channels} channels: use ram, ppo, recurrent-ppo, mlp, cnn or lstm, or "
                "a grayscale dataset"
            )
        self._setup()

    @property
    @abc.abstractmethod
    def steps_per_example(self) -> int:
        """Env steps one training canvas counts for (glimpses, rows, or 1 for a whole image)."""

    @abc.abstractmethod
    def compute_per_decision(self) -> dict[str, float]:
        """``pixels`` read per decision, plus any other compute counts (e.g. glimpse_values)."""

    def attention_trace(self, x: torch.Tensor) -> dict[str, Any]:
        """For :meth:`trace`: ``logits`` and ``filters`` (T, S, S) or ``saliency`` (S, S).

        The default is the saliency map |d logit_pred / d pixels| of the first digit.
        """
        x = x.clone().requires_grad_(True)
        logits = self.model(x)
        pred = logits[0, 0].argmax()
        (grad,) = torch.autograd.grad(logits[0, 0, pred], x)
        saliency = grad[0].abs()
        if saliency.dim() == 3:  # colour: the largest over the channels, per pixel
            saliency = saliency.amax(-1)
        return {"logits": logits.detach(), "saliency": saliency.cpu().numpy()}

    def train_iteration(self) -> dict[str, float]:
        self.model.train()
        images, labels = self.canvas.sample(self.iteration_rng(), self.cfg.batch_size, "train")
        x = to_torch_images(images, self.device)
        y = torch.as_tensor(np.asarray(labels), device=self.device).view(len(images), -1)
        logits = self.model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum") / len(x)
        steps = len(images) * self.steps_per_example
        grad_norm = self._step(loss, steps)
        accuracy = (logits.argmax(-1) == y).all(1).float().mean().item()
        return {
            "charts/accuracy": accuracy,
            "losses/cross_entropy": loss.item(),
            "losses/grad_norm": grad_norm,
            "charts/learning_rate": self.optimizer.param_groups[0]["lr"],
            "env_steps": steps,
        }

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted classes (B, n_targets) of uint8 canvases."""
        self.model.eval()
        return self.model(to_torch_images(images, self.device)).argmax(-1).cpu().numpy()

    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        total = self.canvas.split_size(split)
        n = total if episodes <= 0 else min(episodes, total)
        wrong = 0
        batch = getattr(self.cfg, "eval_batch", 500)
        for start in range(0, n, batch):
            images, labels = self.canvas.fixed(split, np.arange(start, min(n, start + batch)))
            pred = self.predict(images)
            wrong += int((pred != np.asarray(labels).reshape(pred.shape)).any(1).sum())
        out = {"error": 100.0 * wrong / max(n, 1), "episodes": float(n)}
        out["glimpses"] = float(self.steps_per_example)
        out.update(self.compute_per_decision())
        return out

    def trace(self, split: str, index: int) -> dict[str, Any]:
        self.model.eval()
        images, labels = self.canvas.fixed(split, np.array([index]))
        x = to_torch_images(images, self.device)
        with torch.enable_grad():
            out = self.attention_trace(x)
        logits = out.pop("logits")
        pred = logits[0].argmax(-1).cpu().numpy()
        label = np.asarray(labels)[0]
        result = {
            "image": images[0],
            "label": int(label[0]) if label.size == 1 else label,
            "prediction": int(pred[0]) if pred.size == 1 else pred,
        }
        result.update(out)
        return result


# ---------------------------------------------------------------------------------------------
# tapes


def env_task(env):
    """The task generator of a tape env (``env.task``)."""
    task = getattr(env, "task", None)
    if task is None:
        raise ValueError(f"{type(env).__name__} exposes no task generator (expected env.task)")
    return task


class SequenceTrainer(_TorchTrainer):
    """A sequence model on a tape id's task generator, trained on the target's bits.

    Inputs and targets are the task's own bit vectors (``task.input_bits`` / ``task.target_bits``,
    i.e. ``tape_tasks.to_bits``). Protocol (the NTM paper's): the model reads the whole input, one
    vector per step, then gets ``target_length`` blank steps during which it emits one output
    vector per target symbol. For ``task.aligned`` prediction tasks (dynamic n-grams) the output at
    input step t is scored against target t instead, with no extra steps. The loss is the binary
    cross-entropy of the outputs against the target bits, padding (``PAD``) masked out. Each update
    draws one length uniformly in the training range (the task's ``default_lengths`` unless
    configured) and a batch of that length.

    Curriculum (``curriculum=True``, the RL-NTM's and the env's rule, :class:`~glimpse_envs.tape_env.
    Curricula`): level k's batches draw their length uniformly from the shortest length to level
    k's cap; the level goes up by one each time the share of the last ``curriculum_window``
    training sequences with every bit right reaches ``curriculum_threshold``. The levels raise the
    cap one length at a time; on repeat copy (a task with ``capped``) they first raise the lengths
    at the fewest repeats (a copy task), then the most repeats one at a time at every length. The
    evaluation is always on the full task; the level is saved in checkpoints.

    Metrics: ``bit_errors@L`` (wrong bits per sequence), ``success@L`` (all bits right),
    ``bits@L`` (cross-entropy in bits per sequence, the NTM paper's cost), ``memory_cells``.

    Budget: each update consumes ``batch * (input_length + output steps)`` env steps.

    ``task`` may be given directly (a tape_tasks generator) instead of through ``run.env``.
    """

    families = ("tape",)

    def __init__(self, run: RunConfig, cfg: Any, task: Any = None):
        super().__init__(run, cfg)
        if task is None:
            env = make_unwrapped(run.env, run.env_kwargs)
            task = env_task(env)
            env.close()
        self.task = task
        lo, hi = self.task.default_lengths
        self.min_length = max(cfg.min_length or lo, self.task.min_length)
        self.max_length = max(cfg.max_length or hi, self.min_length)
        self.eval_lengths = [int(n) for n in cfg.eval_lengths] or self.task.default_eval_lengths(
            self.max_length
        )
        probe_in, probe_t = self.task.sample(np.random.default_rng(0), 1, self.min_length)
        self.input_size = self.task.input_bits(probe_in).shape[-1]
        self.output_size = self.task.target_bits(probe_t).shape[-1]
        self.aligned = bool(getattr(self.task, "aligned", False))
        self.levels = self.curriculum_levels()
        self.curriculum = None
        if getattr(cfg, "curriculum", False):
            from glimpse_envs.tape_env import Curricula

            threshold = float(cfg.curriculum_threshold)
            if not 0 < threshold <= 1 or int(cfg.curriculum_window) < 1:
                raise ValueError(
                    f"curriculum: threshold must be in (0, 1] and window >= 1, got "
                    f"{cfg.curriculum_threshold} and {cfg.curriculum_window}"
                )
            self.curriculum = Curricula(
                1, 1, len(self.levels), int(cfg.curriculum_window), threshold
            )
        self._setup()

    def curriculum_levels(self) -> list[tuple[Any, int]]:
        """The curriculum's levels, easiest first: (task generator, longest length) each."""
        capped = getattr(self.task, "capped", None)
        lengths = range(self.min_length, self.max_length + 1)
        if capped is None:
            return [(self.task, n) for n in lengths]
        # repeat copy: the lengths at the fewest repeats (a copy task, which needs the heads to
        # move), then one more repeat at a time at every length. The other order lets the NTM
        # solve length 1 with every count without ever moving its write head (measured), which
        # it must then unlearn.
        first, last = self.task.min_repeats, self.task.max_repeats
        upto = {r: capped(r) for r in range(first, last)} | {last: self.task}  # the last: the task
        return [(upto[first], n) for n in lengths] + [
            (upto[r], self.max_length) for r in range(first + 1, last + 1)
        ]

    @property
    def level(self) -> int:
        """The curriculum's level, 1 .. ``len(levels)`` (the last without a curriculum)."""
        return len(self.levels) if self.curriculum is None else int(self.curriculum.current[0])

    def record_curriculum(self, success: np.ndarray) -> None:
        """Count one training batch's sequences (all bits right or not) in the curriculum."""
        row = np.zeros(1, np.int64)
        for s in np.asarray(success, bool):
            self.curriculum.record(row, np.array([s]))

    def tensors(self, inputs: np.ndarray, targets: np.ndarray):
        """Tensors ``x`` (B, steps, I), target bits ``y`` (B, Lt, O), ``mask`` (B, Lt) and the raw
        ``inputs``, ``targets``; the outputs to score are the model's last Lt steps, or its first
        Lt steps for aligned tasks."""
        x = self.task.input_bits(inputs)
        if not self.aligned:
            blank = np.zeros((x.shape[0], targets.shape[1], x.shape[2]), np.float32)
            x = np.concatenate([x, blank], 1)
        y = self.task.target_bits(targets)
        mask = targets >= 0
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)
        return t(x), t(y), t(mask), inputs, targets

    def scored(self, logits: torch.Tensor, lt: int) -> torch.Tensor:
        """The output steps that are scored against the targets."""
        return logits[:, :lt] if self.aligned else logits[:, -lt:]

    def _losses(self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor):
        """Per-sequence BCE (nats) and wrong bits, padding masked."""
        m = mask.unsqueeze(-1).to(logits.dtype)
        bce = (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * m).sum((1, 2))
        wrong = (((logits > 0).to(y.dtype) != y).to(logits.dtype) * m).sum((1, 2))
        return bce, wrong

    # -- model hooks ------------------------------------------------------------------------
    def memory_cells_per_step(self) -> float:
        """Memory cells the model touches per step (0 for a model without external memory)."""
        return 0.0

    def sequence_trace(self, x: torch.Tensor, lt: int) -> dict[str, Any]:
        """For :meth:`trace`: ``logits`` (1, steps, O) plus ``read`` / ``write`` or ``saliency``.

        The default is the per-step input saliency (steps, I): |d log-likelihood of the model's
        own predicted output bits / d input|.
        """
        x = x.clone().requires_grad_(True)
        logits = self.model(x)
        out = self.scored(logits, lt)
        ll = -F.binary_cross_entropy_with_logits(out, (out > 0).to(out.dtype), reduction="sum")
        (grad,) = torch.autograd.grad(ll, x)
        return {"logits": logits.detach(), "saliency": grad[0].abs().cpu().numpy()}

    # -- Trainer ----------------------------------------------------------------------------
    def _clip(self, params: list[torch.Tensor]) -> torch.Tensor:
        """Clip every gradient element to ``[-grad_clip, grad_clip]`` (the NTM paper's)."""
        norm = torch.nn.utils.clip_grad_norm_(params, float("inf"))
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_value_(params, self.cfg.grad_clip)
        return norm

    def train_iteration(self) -> dict[str, float]:
        self.model.train()
        rng = self.iteration_rng()
        level = self.level
        task, longest = self.levels[level - 1]
        length = int(rng.integers(self.min_length, longest + 1))
        x, y, mask, _, _ = self.tensors(*task.sample(rng, self.cfg.batch_size, length))
        logits = self.scored(self.model(x), y.shape[1])
        bce, wrong = self._losses(logits, y, mask)
        loss = bce.mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at update {self.updates}")
        steps = int(x.shape[0] * x.shape[1])
        grad_norm = self._step(loss, steps)
        ok = wrong == 0
        extra = {}
        if self.curriculum is not None:
            self.record_curriculum(ok.cpu().numpy())
            extra = {"charts/curriculum_level": float(level)}
        return {
            "losses/bits_per_sequence": loss.item() / float(np.log(2)),
            "losses/grad_norm": grad_norm,
            "charts/bit_errors": wrong.mean().item(),
            "charts/success": ok.float().mean().item(),
            "charts/length": float(length),
            "env_steps": steps,
            **extra,
        }

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.curriculum is not None:
            state["curriculum"] = self.curriculum.state(0)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.curriculum is not None:
            if "curriculum" not in state:
                raise ValueError(
                    "this checkpoint was trained without --curriculum; resume it without the flag"
                )
            self.curriculum.load_state(0, state["curriculum"])

    def default_episodes(self, split: str) -> int:
        """Fixed sequences per evaluation length when ``train.py`` asks for all of a split."""
        return 1000 if split == "test" else 500

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        """``episodes`` fixed sequences at each evaluation length (0: :meth:`default_episodes`)."""
        self.model.eval()
        episodes = episodes if episodes > 0 else self.default_episodes(split)
        out: dict[str, float] = {}
        solved = total = 0
        for length in self.eval_lengths:
            errors, bces = [], []
            for start in range(0, episodes, self.cfg.eval_batch):
                n = min(self.cfg.eval_batch, episodes - start)
                fixed = self.task.fixed(split, length, range(start, start + n))
                x, y, mask, _, _ = self.tensors(*fixed)
                bce, wrong = self._losses(self.scored(self.model(x), y.shape[1]), y, mask)
                errors.append(wrong.cpu().numpy())
                bces.append(bce.cpu().numpy())
            e = np.concatenate(errors)
            out[f"bit_errors@{length}"] = float(e.mean())
            out[f"success@{length}"] = float((e == 0).mean())
            out[f"bits@{length}"] = float(np.concatenate(bces).mean() / np.log(2))
            solved += int((e == 0).sum())
            total += len(e)
        out["success"] = solved / max(total, 1)
        out["memory_cells"] = self.memory_cells_per_step()
        return out

    def trace(self, split: str, index: int, length: int | None = None) -> dict[str, Any]:
        """Sequence ``index`` of the fixed ``split`` at ``length`` (default: the longest
        evaluation length).

        ``outputs`` are the decoded output symbols at the scored steps (-1 where padding),
        ``output_bits`` the thresholded bits; ``read`` / ``write`` (steps, cells) or
        ``saliency`` (steps, input bits) come from the model.
        """
        self.model.eval()
        length = length or max(self.eval_lengths)
        x, y, mask, inputs, targets = self.tensors(*self.task.fixed(split, length, [index]))
        with torch.enable_grad():
            out = self.sequence_trace(x, y.shape[1])
        logits = self.scored(out.pop("logits"), y.shape[1])
        bits_out = (logits[0] > 0).cpu().numpy().astype(np.int64)
        outputs = self.decode(bits_out)
        outputs[~mask[0].cpu().numpy()] = -1
        result = {
            "inputs": inputs[0],
            "targets": targets[0],
            "outputs": outputs,
            "output_bits": bits_out,
            "length": length,
        }
        result.update(out)
        return result

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """Output bit vectors (L, O) -> output symbols (L,) in output code (a marker wins)."""
        b = self.task.bits
        symbols = bits[:, :b] @ (2 ** np.arange(b - 1, -1, -1))
        markers = bits[:, b:]
        if markers.shape[1]:
            has = markers.any(1)
            symbols[has] = self.task.num_symbols + markers[has].argmax(1)
        return symbols
