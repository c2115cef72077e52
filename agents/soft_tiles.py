"""Soft attention over a grid of tiles: the expectation in place of the sampled glimpse.

The canvas is cut into G x G tiles exactly as the env's ``TileSensor`` cuts it. At each of the
env's T steps the LSTM's previous state gives a softmax ``a`` over the G^2 tiles; the glimpse is
the expected tile ``sum_k a_k tile_k`` and the "where" input is the expected tile centre. The LSTM
reads both; after T steps a linear layer classifies. The hard agent on ``TiledMNIST-v0`` samples
one tile per step instead, so the two see the same canvases through the same tiling.

Compute per decision: the expectation reads every tile, so ``pixels`` = T S^2 (the hard agent
senses T tiles); the controller receives T tile-sized glimpses (``glimpse_values``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.base import option
from agents.supervised import SupervisedConfig, VisualTrainer
from glimpse_envs.retina import TileSensor


def tile_padding(size: int, grid: int) -> tuple[int, int]:
    """(before, after) zero padding that makes a side of ``size`` a multiple of ``grid``: the env's
    own rule (:meth:`glimpse_envs.retina.TileSensor.padding`; 28 with grid 3: 10-pixel tiles, one
    blank pixel all round)."""
    return TileSensor.padding(size, grid)


def tile_images(images: torch.Tensor, grid: int) -> torch.Tensor:
    """Cut (B, S, S) images into (B, grid * grid, t, t) tiles, row-major, as ``TileSensor`` does.

    Tile ``k = row * grid + col``; the image is zero-padded first (:func:`tile_padding`).
    """
    batch, size, _ = images.shape
    before, after = tile_padding(size, grid)
    padded = F.pad(images, (before, after, before, after))
    t = padded.shape[-1] // grid
    tiles = padded.reshape(batch, grid, t, grid, t).permute(0, 1, 3, 2, 4)
    return tiles.reshape(batch, grid * grid, t, t)


def tile_maps(weights: torch.Tensor, size: int, grid: int) -> torch.Tensor:
    """Per-tile weights (..., grid * grid) -> per-pixel maps (..., S, S) of the unpadded canvas."""
    before, _ = tile_padding(size, grid)
    t = -(-size // grid)
    lead = weights.shape[:-1]
    w = weights.reshape(*lead, grid, 1, grid, 1).expand(*lead, grid, t, grid, t)
    w = w.reshape(*lead, grid * t, grid * t)
    return w[..., before : before + size, before : before + size]


def tile_centres(grid: int) -> torch.Tensor:
    """(grid * grid, 2) tile locations (x, y), row-major like :func:`tile_images`.

    Tile j of a row sits at the env's action-grid point ``-1 + 2 j / (grid - 1)``, the location
    the env reports for a hard glimpse of that tile.
    """
    c = torch.linspace(-1.0, 1.0, grid) if grid > 1 else torch.zeros(1)
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], -1)


class SoftTilesClassifier(nn.Module):
    """LSTM that attends softly over G x G tiles for T steps, then classifies.

    ``forward(images, return_trace=True)`` also returns the tile weights (B, T, G * G).
    """

    def __init__(
        self,
        size: int,
        grid: int = 3,
        steps: int = 3,
        hidden: int = 256,
        num_classes: int = 10,
        n_targets: int = 1,
    ):
        super().__init__()
        self.size, self.grid, self.steps = size, grid, steps
        self.n_targets, self.num_classes = n_targets, num_classes
        tile = (-(-size // grid)) ** 2
        self.what = nn.Sequential(nn.Linear(tile, hidden), nn.ReLU())
        self.where = nn.Sequential(nn.Linear(2, 64), nn.ReLU())
        self.lstm = nn.LSTMCell(hidden + 64, hidden)
        self.h0 = nn.Parameter(torch.zeros(hidden))
        self.c0 = nn.Parameter(torch.zeros(hidden))
        self.scores = nn.Linear(hidden, grid * grid)
        self.register_buffer("centres", tile_centres(grid))
        self.classifier = nn.Linear(hidden, n_targets * num_classes)

    def forward(self, images: torch.Tensor, return_trace: bool = False):
        batch = images.shape[0]
        tiles = tile_images(images, self.grid).flatten(2)  # (B, G^2, t^2)
        h = self.h0.expand(batch, -1)
        c = self.c0.expand(batch, -1)
        weights = []
        for _ in range(self.steps):
            a = torch.softmax(self.scores(h), -1)  # (B, G^2)
            glimpse = torch.einsum("bk,bkp->bp", a, tiles)
            location = a @ self.centres
            h, c = self.lstm(torch.cat([self.what(glimpse), self.where(location)], -1), (h, c))
            weights.append(a)
        logits = self.classifier(h).view(batch, self.n_targets, self.num_classes)
        if return_trace:
            return logits, torch.stack(weights, 1)
        return logits


@dataclass
class SoftTilesConfig(SupervisedConfig):
    """Hyperparameters of the soft-tiles classifier."""

    grid: int = option(0, "tiles per side; 0 takes the env's TileSensor grid (3 on TiledMNIST)")
    steps: int = option(0, "attention steps; 0 takes the env's glimpse budget (3 on TiledMNIST)")
    hidden: int = option(256, "LSTM units (and glimpse features)")
    batch_size: int = option(64, "canvases per update")


def sensor_grid(sensor) -> int:
    """The tile grid of the env's ``TileSensor`` (3 for a sensor without tiles)."""
    grid = getattr(sensor, "grid", None)
    return grid if isinstance(grid, int) else 3


class SoftTilesTrainer(VisualTrainer):
    """Softmax over the tile grid, glimpse = expected tile, recurrent over the env's T steps.

    Meant for ``TiledMNIST-v0`` (3 x 3 tiles, 3 steps), on the env's canvases and fixed test
    images. Budget: one env step per attention step, so an update on B canvases consumes B * T.
    """

    name = "soft-tiles"
    description = "soft attention: softmax over the tile grid, glimpse = expected tile, LSTM"
    families = ("visual",)
    attention = "soft"
    Config = SoftTilesConfig

    def build_model(self) -> nn.Module:
        self.grid = self.cfg.grid or sensor_grid(self.sensor)
        self.steps = self.cfg.steps or self.env_glimpses
        return SoftTilesClassifier(
            self.canvas.size,
            grid=self.grid,
            steps=self.steps,
            hidden=self.cfg.hidden,
            num_classes=self.canvas.num_classes,
            n_targets=self.canvas.n_targets,
        )

    @property
    def steps_per_example(self) -> int:
        return self.steps

    def compute_per_decision(self) -> dict[str, float]:
        s = self.canvas.size
        return {
            "pixels": float(self.steps * s * s),
            "glimpse_values": float(self.steps * (-(-s // self.grid)) ** 2),
        }

    def attention_trace(self, x: torch.Tensor) -> dict[str, Any]:
        logits, weights = self.model(x, return_trace=True)
        filters = tile_maps(weights[0], self.canvas.size, self.grid).detach().cpu().numpy()
        return {"logits": logits, "filters": filters}
