"""Transformers on the tape tasks: the soft-attention baseline people use today.

A transformer encoder reads the task's bit vectors with the NTM's protocol (the whole input, then
``target_length`` blank steps whose outputs are scored; ``agents.supervised.SequenceTrainer``), so
it trains on exactly the sequences the NTM, the LSTM and the hard tape agent see and is scored on
the same fixed test sequences. Every position attends to every other one (self-attention over the
whole sequence: soft attention over "memory" that is the sequence itself).

Position encodings, the part that decides length generalisation (``--positions``):

* ``learned``: a learned absolute embedding per position (positions never trained on stay at
  their initial values; ``max_positions`` bounds the length);
* ``sinusoidal``: Vaswani et al.'s fixed absolute sines and cosines;
* ``rope``: rotary embeddings (Su et al.), relative: queries and keys are rotated by their
  position, so attention scores depend on the offset only;
* ``alibi``: no embedding, a linear bias ``-m_h |i - j|`` on the attention scores of head h
  (Press et al.; slopes ``2^(-8 h / H)``), relative.

**Universal Transformer** (``--agent universal-transformer``; Dehghani et al. 2019): one shared
layer applied repeatedly, with Graves's adaptive computation time per position: a halting unit
accumulates halting probabilities until they pass ``1 - act_epsilon`` (at most ``act_max_steps``
applications), the output is the halting-weighted mix of the states, and the ponder cost
``ponder_cost * mean(N + R)`` is added to the loss (N: steps taken, R: the remainder).
``charts/ponder_steps`` (training) and ``ponder_steps@L`` (evaluation) report the mean number of
steps per position.

Budget: one env step per sequence step per example, as the NTM and LSTM.

**Vision transformer** (``--agent vit``, visual ids): soft self-attention over the canvas cut
into ``patch`` x ``patch`` patches (zero-padded to a multiple), a class token, ``layers`` encoder
layers with learned positions, the class token's output classifies (one head per digit on
MultiMNIST). It reads every pixel once per decision (``pixels`` = S^2, as the MLP and CNN) and its
attention map for the renders and ``train.py compare`` (``filters``, one map, so it is drawn as
soft attention beside DRAW's filters) is, by ``--attention-map``, the class token's last-layer
weights over the patches (``last``) or the attention rollout through every layer (``rollout``,
Abnar & Zuidema 2020), each patch's share spread evenly over its pixels on the canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.base import option
from agents.supervised import CurriculumConfig, SequenceTrainer, SupervisedConfig, VisualTrainer

POSITIONS = ("learned", "sinusoidal", "rope", "alibi")


def sinusoidal(length: int, dim: int, device=None) -> torch.Tensor:
    """(length, dim) fixed sinusoidal position encodings."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    enc = torch.zeros(length, dim, device=device)
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return enc


def rotate(x: torch.Tensor) -> torch.Tensor:
    """RoPE of (B, H, T, d) queries or keys: pairs of channels rotated by position x frequency."""
    T, d = x.shape[-2], x.shape[-1]
    freq = 10000.0 ** (-torch.arange(0, d, 2, device=x.device, dtype=x.dtype) / d)
    angle = torch.arange(T, device=x.device, dtype=x.dtype)[:, None] * freq  # (T, d/2)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).flatten(-2)


def alibi_bias(heads: int, length: int, device=None) -> torch.Tensor:
    """(heads, T, T) ALiBi bias ``-m_h |i - j|`` (the symmetric form, for an encoder)."""
    slopes = 2.0 ** (-8.0 * torch.arange(1, heads + 1, device=device, dtype=torch.float32) / heads)
    pos = torch.arange(length, device=device, dtype=torch.float32)
    return -slopes[:, None, None] * (pos[None, :] - pos[:, None]).abs()


class Layer(nn.Module):
    """A pre-norm encoder layer: self-attention (with RoPE or an ALiBi bias), then a ReLU MLP.
    ``attention`` holds the last forward's weights (B, H, T, T) when ``keep_attention`` is set."""

    def __init__(self, dim: int, heads: int, ff: int, positions: str):
        super().__init__()
        if dim % heads:
            raise ValueError(f"d_model={dim} must be a multiple of heads={heads}")
        self.heads, self.positions = heads, positions
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU(), nn.Linear(ff, dim))
        self.keep_attention = False
        self.attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (
            self.qkv(self.norm1(x))
            .view(B, T, 3, self.heads, D // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        if self.positions == "rope":
            q, k = rotate(q), rotate(k)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // self.heads)
        if self.positions == "alibi":
            scores = scores + alibi_bias(self.heads, T, x.device)
        weights = scores.softmax(-1)
        if self.keep_attention:
            self.attention = weights.detach()
        x = x + self.out((weights @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.ff(self.norm2(x))


class SequenceTransformer(nn.Module):
    """Bits in (B, T, I) -> logits out (B, T, O): input projection, positions, encoder layers
    (``universal``: one shared layer with ACT), output projection."""

    def __init__(self, input_size: int, output_size: int, cfg: Any, universal: bool = False):
        super().__init__()
        if cfg.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {cfg.positions!r}")
        self.cfg, self.universal = cfg, universal
        self.inp = nn.Linear(input_size, cfg.d_model)
        if cfg.positions == "learned":
            self.pos = nn.Embedding(cfg.max_positions, cfg.d_model)
        n = 1 if universal else cfg.layers
        self.layers = nn.ModuleList(
            Layer(cfg.d_model, cfg.heads, cfg.ff, cfg.positions) for _ in range(n)
        )
        if universal:
            self.halt = nn.Linear(cfg.d_model, 1)
            nn.init.constant_(self.halt.bias, -1.0)  # start by pondering a few steps
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, output_size)
        self.ponder: torch.Tensor | None = None  # (B, T) N + R of the last forward (universal)

    def _positions(self, h: torch.Tensor) -> torch.Tensor:
        T = h.shape[1]
        if self.cfg.positions == "learned":
            if T > self.cfg.max_positions:
                raise ValueError(
                    f"a sequence of {T} steps is longer than max_positions="
                    f"{self.cfg.max_positions} of the learned position embedding"
                )
            return h + self.pos.weight[:T]
        if self.cfg.positions == "sinusoidal":
            return h + sinusoidal(T, h.shape[-1], h.device)
        return h  # relative schemes act inside the attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._positions(self.inp(x))
        if not self.universal:
            for layer in self.layers:
                h = layer(h)
            return self.head(self.norm(h))
        return self.head(self.norm(self._act(h)))

    def _act(self, state: torch.Tensor) -> torch.Tensor:
        """Adaptive computation time over the shared layer, per position (Graves 2016)."""
        cfg = self.cfg
        B, T, D = state.shape
        threshold = 1.0 - cfg.act_epsilon
        halting = state.new_zeros(B, T)
        remainders = state.new_zeros(B, T)
        updates = state.new_zeros(B, T)
        output = torch.zeros_like(state)
        step_enc = sinusoidal(cfg.act_max_steps, D, state.device)
        for step in range(cfg.act_max_steps):
            p = torch.sigmoid(self.halt(state)).squeeze(-1)
            running = (halting < threshold).float()
            last = step == cfg.act_max_steps - 1
            newly = ((halting + p * running) > threshold).float() * running
            if last:  # every position still running halts here
                newly = running
            running = running - newly
            halting = halting + p * running
            remainders = remainders + newly * (1.0 - halting)
            halting = halting + newly * remainders
            updates = updates + running + newly
            weight = (p * running + newly * remainders)[..., None]
            state = self.layers[0](state + step_enc[step])
            output = output + weight * state
            if not (halting < threshold).any():
                break
        self.ponder = updates + remainders
        return output


@dataclass
class TransformerConfig(SupervisedConfig, CurriculumConfig):
    """Hyperparameters of the transformer baselines on the tape tasks."""

    d_model: int = option(128, "model width")
    heads: int = option(4, "attention heads")
    layers: int = option(3, "encoder layers (the Universal Transformer shares one)")
    ff: int = option(256, "hidden units of each layer's MLP")
    positions: str = option("sinusoidal", f"position encoding: one of {', '.join(POSITIONS)}")
    max_positions: int = option(2048, "sequence steps the learned position embedding covers")
    act_max_steps: int = option(8, "Universal Transformer: most applications of the shared layer")
    act_epsilon: float = option(0.01, "Universal Transformer: halt at 1 - epsilon")
    ponder_cost: float = option(0.01, "Universal Transformer: weight of the ponder cost N + R")
    lr: float = option(3e-4, "Adam learning rate (used when --lr is 0)")
    grad_clip: float = option(1.0, "clip gradient elements to [-c, c] (0: no clipping)")
    batch_size: int = option(32, "sequences per update")
    min_length: int = option(0, "shortest training length; 0: the task's default")
    max_length: int = option(0, "longest training length; 0: the task's paper range")
    eval_lengths: list = option([], "evaluation lengths; empty: the task's defaults")  # noqa: RUF009
    eval_batch: int = option(100, "sequences per evaluation batch")


class TransformerTrainer(SequenceTrainer):
    """A transformer encoder on a tape id's sequences (see the module docstring)."""

    name = "transformer"
    description = "soft attention: transformer encoder (learned/sinusoidal/RoPE/ALiBi positions)"
    attention = "soft"
    Config = TransformerConfig
    universal = False

    def build_model(self) -> nn.Module:
        return SequenceTransformer(self.input_size, self.output_size, self.cfg, self.universal)

    def build_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.run.lr or self.cfg.lr)

    def _losses(self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor):
        bce, wrong = super()._losses(logits, y, mask)
        if self.universal and self.model.training and self.model.ponder is not None:
            # the ponder cost, in nats per sequence like the BCE it joins (train_iteration means it)
            bce = bce + self.cfg.ponder_cost * self.model.ponder.mean(1)
        return bce, wrong

    def train_iteration(self) -> dict[str, float]:
        metrics = super().train_iteration()
        if self.universal:
            metrics["charts/ponder_steps"] = float(self.model.ponder.detach().mean())
        return metrics

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        out = super().evaluate(split, episodes)
        if self.universal:  # steps per position on one batch of each length
            for length in self.eval_lengths:
                x, *_ = self.tensors(*self.task.fixed(split, length, range(min(episodes or 1, 50))))
                self.model(x)
                out[f"ponder_steps@{length}"] = float(self.model.ponder.mean())
        return out

    def sequence_trace(self, x: torch.Tensor, lt: int) -> dict[str, Any]:
        """The last layer's attention (averaged over heads) as the read weighting over steps."""
        layer = self.model.layers[-1]
        layer.keep_attention = True
        try:
            logits = self.model(x)
        finally:
            layer.keep_attention = False
        attention = layer.attention[0].mean(0).cpu().numpy()  # (T, T): step -> steps it reads
        return {"logits": logits.detach(), "read": attention}


@dataclass
class UniversalTransformerConfig(TransformerConfig):
    """The Universal Transformer's defaults (the same fields)."""

    layers: int = option(1, "shared layers (the Universal Transformer applies one repeatedly)")


class UniversalTransformerTrainer(TransformerTrainer):
    """The Universal Transformer with adaptive computation time (see the module docstring)."""

    name = "universal-transformer"
    description = "soft attention: Universal Transformer, one shared layer with ACT halting"
    Config = UniversalTransformerConfig
    universal = True


class VisionTransformer(nn.Module):
    """Images (B, S, S) in [0, 1] -> logits (B, n_targets, classes) (see the module docstring)."""

    def __init__(self, size: int, cfg: Any, num_classes: int = 10, n_targets: int = 1):
        super().__init__()
        p = cfg.patch
        self.patch, self.grid = p, -(-size // p)
        self.pad = self.grid * p - size
        self.embed = nn.Linear(p * p, cfg.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        self.pos = nn.Parameter(torch.randn(1, self.grid * self.grid + 1, cfg.d_model) * 0.02)
        self.layers = nn.ModuleList(
            Layer(cfg.d_model, cfg.heads, cfg.ff, "learned") for _ in range(cfg.layers)
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, n_targets * num_classes)
        self.shape = (n_targets, num_classes)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, S, S) -> (B, grid * grid, patch * patch), row-major patches."""
        x = F.pad(images, (0, self.pad, 0, self.pad))
        B, p, g = len(x), self.patch, self.grid
        return x.view(B, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(B, g * g, p * p)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.patches(images))
        h = torch.cat([self.cls.expand(len(h), -1, -1), h], 1) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.head(self.norm(h[:, 0])).view(len(images), *self.shape)


@dataclass
class ViTConfig(SupervisedConfig):
    """Hyperparameters of the vision transformer baseline."""

    patch: int = option(7, "patch side in pixels (28x28 MNIST: 4x4 patches of 7)")
    d_model: int = option(64, "model width")
    heads: int = option(4, "attention heads")
    layers: int = option(4, "encoder layers")
    ff: int = option(128, "hidden units of each layer's MLP")
    batch_size: int = option(64, "canvases per update")
    lr: float = option(1e-3, "Adam learning rate (used when --lr is 0)")
    grad_clip: float = option(10.0, "clip the gradient norm to this (0: no clipping)")
    eval_batch: int = option(500, "canvases per evaluation batch")
    attention_map: str = option(
        "last",
        "the renders' attention map: last (the class token's last-layer weights) or rollout "
        "(attention rolled out through every layer, residual included)",
    )


ATTENTION_MAPS = ("last", "rollout")


def class_token_attention(layers, how: str) -> torch.Tensor:
    """The class token's weights over the other tokens (T - 1,), summing to 1, from the
    ``attention`` (B, H, T, T) kept by ``layers`` on their last forward (first example, mean over
    heads): the last layer's row (``last``), or the rollout ``prod_l (A_l + I) / 2`` with rows
    renormalised (``rollout``), the class token's weight on itself left out."""
    if how == "last":
        row = layers[-1].attention[0].mean(0)[0]
    else:
        T = layers[0].attention.shape[-1]
        eye = torch.eye(T, device=layers[0].attention.device)
        rolled = eye
        for layer in layers:
            a = 0.5 * layer.attention[0].mean(0) + 0.5 * eye
            rolled = (a / a.sum(-1, keepdim=True)) @ rolled
        row = rolled[0]
    w = row[1:]
    return w / w.sum()


class ViTTrainer(VisualTrainer):
    """A small vision transformer on the whole canvas (see :class:`VisionTransformer`)."""

    name = "vit"
    description = "soft attention: vision transformer, self-attention over canvas patches"
    attention = "soft"
    Config = ViTConfig

    def build_model(self) -> nn.Module:
        if self.cfg.attention_map not in ATTENTION_MAPS:
            raise ValueError(
                f"attention_map must be one of {ATTENTION_MAPS}, got {self.cfg.attention_map!r}"
            )
        return VisionTransformer(
            self.canvas.size, self.cfg, self.canvas.num_classes, self.canvas.n_targets
        )

    @property
    def steps_per_example(self) -> int:
        return 1

    def compute_per_decision(self) -> dict[str, float]:
        return {"pixels": float(self.canvas.size**2)}

    def attention_trace(self, x: torch.Tensor) -> dict[str, Any]:
        """``filters`` (1, S, S): the class token's attention over the patches (``attention_map``:
        last layer or rollout, mean over heads), each patch's weight spread evenly over its pixels
        on the canvas (the zero padding of the last row and column of patches left out), so the
        map sums to 1 over the canvas."""
        model = self.model
        layers = model.layers if self.cfg.attention_map == "rollout" else model.layers[-1:]
        for layer in layers:
            layer.keep_attention = True
        try:
            logits = model(x)
        finally:
            for layer in layers:
                layer.keep_attention = False
        w = class_token_attention(layers, self.cfg.attention_map)  # (grid * grid,)
        S, p = x.shape[-1], model.patch
        pixels = model.patches(torch.ones(1, S, S, device=x.device))[0].sum(-1)  # per patch
        per_pixel = (w / pixels).view(model.grid, model.grid)
        heat = per_pixel.repeat_interleave(p, 0).repeat_interleave(p, 1)[:S, :S]
        return {"logits": logits.detach(), "filters": heat[None].cpu().numpy()}
