"""No-attention references: an LSTM on the tape sequences (or on canvas rows), an MLP and a CNN on
the whole canvas, as in the RAM and NTM papers' tables. All train by backprop on the same task
generators and are scored on the same fixed test items as the attention agents.

Budget accounting (``RunConfig.steps``):

* MLP, CNN: one env step per canvas: they take the whole image in one decision, so a budget of
  N steps is N training canvases (a T-glimpse agent sees N / T canvases for the same budget).
* LSTM on a tape id: one step per sequence step (input + output steps), like the NTM.
* LSTM on a visual id: one step per canvas row it reads (S per canvas).

Compute per decision: ``pixels`` = S^2 (every pixel, once) for all three on canvases.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.base import RunConfig, Trainer, env_family, option
from agents.supervised import (
    CurriculumConfig,
    SequenceTrainer,
    SupervisedConfig,
    VisualTrainer,
)


class MLP(nn.Module):
    """``layers`` fully connected ReLU layers of ``hidden`` units on the flattened canvas
    ((B, S, S), or (B, S, S, C) with ``channels=C``)."""

    def __init__(
        self,
        size: int,
        hidden: int = 256,
        layers: int = 2,
        num_classes: int = 10,
        n_targets: int = 1,
        channels: int = 1,
    ):
        super().__init__()
        dims = [size * size * channels] + [hidden] * layers
        body: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            body += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(nn.Flatten(), *body)
        self.head = nn.Linear(dims[-1], n_targets * num_classes)
        self.shape = (n_targets, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images)).view(len(images), *self.shape)


class CNN(nn.Module):
    """A small convnet on the whole canvas.

    ``arch="conv2"``: two convolutional layers (16 5x5 filters, stride 2; 32 5x5 filters,
    stride 2), a fully connected layer of ``hidden`` ReLU units, softmax.
    ``arch="ram"``: one layer of 8 10x10 filters with stride 5 and a fully connected layer of
    ``hidden`` units: our reading of the RAM paper's "convolutional, 2 layers" (its layers counted
    with the fully connected one). Colour canvases (B, S, S, C) with ``channels=C``: C input planes.
    """

    def __init__(
        self,
        size: int,
        arch: str = "conv2",
        hidden: int = 256,
        num_classes: int = 10,
        n_targets: int = 1,
        channels: int = 1,
    ):
        super().__init__()
        if arch == "conv2":
            convs = [
                nn.Conv2d(channels, 16, 5, stride=2, padding=2),
                nn.ReLU(),
                nn.Conv2d(16, 32, 5, stride=2, padding=2),
                nn.ReLU(),
            ]
        elif arch == "ram":
            convs = [nn.Conv2d(channels, 8, 10, stride=5), nn.ReLU()]
        else:
            raise ValueError(f"arch must be 'conv2' or 'ram', not {arch!r}")
        self.convs = nn.Sequential(*convs, nn.Flatten())
        with torch.no_grad():
            features = self.convs(torch.zeros(1, channels, size, size)).shape[1]
        self.fc = nn.Sequential(nn.Linear(features, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_targets * num_classes)
        self.shape = (n_targets, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        planes = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        return self.head(self.fc(self.convs(planes))).view(len(images), *self.shape)


class RowLSTM(nn.Module):
    """An LSTM that reads the canvas one row per step and classifies after the last row (a colour
    row, ``channels=C``, is its S * C values)."""

    def __init__(
        self,
        size: int,
        hidden: int = 256,
        layers: int = 1,
        num_classes: int = 10,
        n_targets: int = 1,
        channels: int = 1,
    ):
        super().__init__()
        self.lstm = nn.LSTM(size * channels, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, n_targets * num_classes)
        self.shape = (n_targets, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(images.flatten(2))
        return self.head(out[:, -1]).view(len(images), *self.shape)


class SequenceLSTM(nn.Module):
    """A stacked LSTM mapping bit vectors (B, L, I) to output logits (B, L, O)."""

    def __init__(self, input_size: int, output_size: int, hidden: int = 256, layers: int = 3):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0])


# ---------------------------------------------------------------------------------------------


@dataclass
class MLPConfig(SupervisedConfig):
    """Hyperparameters of the MLP baseline (RAM paper: 2 layers of 256, or of 64)."""

    hidden: int = option(256, "units per hidden layer")
    layers: int = option(2, "hidden layers")
    batch_size: int = option(64, "canvases per update")
    eval_batch: int = option(1000, "canvases per evaluation batch")


class _WholeImageTrainer(VisualTrainer):
    """A no-attention model that decides from the whole canvas at once: one env step per canvas,
    every pixel read."""

    colour = True

    @property
    def steps_per_example(self) -> int:
        return 1

    def compute_per_decision(self) -> dict[str, float]:
        return {"pixels": float(self.canvas.size**2 * self.canvas.channels)}


class MLPTrainer(_WholeImageTrainer):
    """Fully connected network (2 x 256 ReLU by default) on the whole canvas.

    Budget: one env step per canvas (a whole-image decision). Trace: saliency |d logit / d pixel|.
    """

    name = "mlp"
    description = "no attention: MLP (2 x 256) on the whole canvas"
    attention = "none"
    Config = MLPConfig

    def build_model(self) -> nn.Module:
        return MLP(
            self.canvas.size,
            self.cfg.hidden,
            self.cfg.layers,
            self.canvas.num_classes,
            self.canvas.n_targets,
            self.canvas.channels,
        )


@dataclass
class CNNConfig(SupervisedConfig):
    """Hyperparameters of the CNN baseline."""

    arch: str = option("conv2", "conv2 (two conv layers + FC) or ram (8 10x10/5 conv + FC)")
    hidden: int = option(256, "units of the fully connected layer")
    batch_size: int = option(64, "canvases per update")
    eval_batch: int = option(1000, "canvases per evaluation batch")


class CNNTrainer(_WholeImageTrainer):
    """Two-layer convolutional network on the whole canvas (see :class:`CNN`).

    Budget: one env step per canvas (a whole-image decision). Trace: saliency |d logit / d pixel|.
    """

    name = "cnn"
    description = "no attention: 2-layer CNN on the whole canvas"
    attention = "none"
    Config = CNNConfig

    def build_model(self) -> nn.Module:
        return CNN(
            self.canvas.size,
            self.cfg.arch,
            self.cfg.hidden,
            self.canvas.num_classes,
            self.canvas.n_targets,
            self.canvas.channels,
        )


@dataclass
class LSTMConfig(SupervisedConfig, CurriculumConfig):
    """Hyperparameters of the LSTM baseline (NTM paper: 3 layers of 256 on copy)."""

    hidden: int = option(256, "units per layer")
    layers: int = option(3, "stacked layers on tapes (1 on canvas rows when 0 is given)")
    optimizer: str = option("adam", "adam or rmsprop (momentum 0.9)")
    grad_clip: float = option(10.0, "tapes: clip gradient elements to [-c, c]; canvases: the norm")
    batch_size: int = option(16, "sequences (or canvases) per update")
    min_length: int = option(0, "tapes: shortest training length; 0: the task's default")
    max_length: int = option(0, "tapes: longest training length; 0: the task's paper range")
    eval_lengths: list = option([], "tapes: evaluation lengths; empty: the task's defaults")  # noqa: RUF009
    eval_batch: int = option(100, "sequences (or canvases) per evaluation batch")


class LSTMSequenceTrainer(SequenceTrainer):
    """LSTM on a tape id's sequences: the NTM's no-memory baseline, same bits, same protocol."""

    name = "lstm"
    description = "no attention: stacked LSTM on the tape sequences (or canvas rows)"
    attention = "none"
    Config = LSTMConfig

    def build_model(self) -> nn.Module:
        return SequenceLSTM(
            self.input_size, self.output_size, self.cfg.hidden, self.cfg.layers or 3
        )

    def build_optimizer(self) -> torch.optim.Optimizer:
        lr = self.run.lr or self.cfg.lr
        if self.cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(self.model.parameters(), lr=lr, momentum=0.9, alpha=0.95)
        return torch.optim.Adam(self.model.parameters(), lr=lr)


class LSTMPixelTrainer(VisualTrainer):
    """LSTM reading the canvas one row per step (no attention, every pixel once)."""

    name = "lstm"
    description = LSTMSequenceTrainer.description
    attention = "none"
    Config = LSTMConfig

    def build_model(self) -> nn.Module:
        return RowLSTM(
            self.canvas.size,
            self.cfg.hidden,
            1,
            self.canvas.num_classes,
            self.canvas.n_targets,
            self.canvas.channels,
        )

    colour = True

    @property
    def steps_per_example(self) -> int:
        return self.canvas.size

    def compute_per_decision(self) -> dict[str, float]:
        return {"pixels": float(self.canvas.size**2 * self.canvas.channels)}


class LSTMTrainer(Trainer):
    """LSTM baseline on either family, one registered name and one class: on a tape id it trains an
    :class:`LSTMSequenceTrainer` (the NTM's bits, read-then-write protocol, one env step per
    sequence step), on a visual id an :class:`LSTMPixelTrainer` (one canvas row per step, one env
    step per row), held as ``self.impl``; every Trainer call goes to it, and so does any attribute
    this class does not have (``task``, ``canvas``, ...).
    """

    name = "lstm"
    description = LSTMSequenceTrainer.description
    families = ("tape", "visual")
    attention = "none"
    Config = LSTMConfig

    def __init__(self, run: RunConfig, cfg: Any, task: Any = None):
        super().__init__(run, cfg)
        if task is not None or env_family(run.env) == "tape":
            self.impl: Trainer = LSTMSequenceTrainer(run, cfg, task=task)
        else:
            self.impl = LSTMPixelTrainer(run, cfg)

    def __getattr__(self, name: str) -> Any:  # only for what this class does not define
        if name == "impl":  # not set yet (during construction): no recursion
            raise AttributeError(name)
        return getattr(self.impl, name)

    def train_iteration(self) -> dict[str, float]:
        return self.impl.train_iteration()

    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        return self.impl.evaluate(split, episodes)

    def state_dict(self) -> dict[str, Any]:
        return self.impl.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.impl.load_state_dict(state)

    def num_parameters(self) -> int:
        return self.impl.num_parameters()

    def default_episodes(self, split: str) -> int:
        return self.impl.default_episodes(split)

    def export(self, folder) -> list:
        return self.impl.export(folder)

    def close(self) -> None:
        self.impl.close()

    def trace(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.impl.trace(*args, **kwargs)
