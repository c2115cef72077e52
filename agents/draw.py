"""DRAW read attention as a classifier ("differentiable RAM"): Gregor et al., ICML 2015, section 4.

At each of T steps the LSTM's previous hidden state gives, through one linear layer, the five
attention parameters of an N x N grid of Gaussian filters: the grid centre (g_x, g_y), the stride
delta between filters, the isotropic variance sigma^2 and a scalar intensity gamma. The glimpse is
``gamma * F_y x F_x^T`` (N x N values), the LSTM reads it, and after the last glimpse a linear layer
classifies the final hidden state. Everything is differentiable, so it trains by backprop alone,
on the very canvases (and the same fixed test images) the hard-attention envs show.

Compute per decision: the filterbank is a dense product with the whole canvas, so every one of the
S x S pixels is read at each step (``pixels`` = T S^2); the controller receives T N^2 values
(``glimpse_values``). The hard RAM agent, by contrast, senses k g^2 retina values per glimpse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.base import option
from agents.supervised import SupervisedConfig, VisualTrainer


def filterbank(
    gx: torch.Tensor,
    gy: torch.Tensor,
    sigma2: torch.Tensor,
    delta: torch.Tensor,
    n: int,
    width: int,
    height: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical Gaussian filterbanks of an N x N read grid.

    Args are per-example tensors of shape (B,) in pixel units: grid centre ``gx``, ``gy``, variance
    ``sigma2`` and stride ``delta``. Filter i's mean is ``g + (i - N/2 + 0.5) delta`` (i = 0..N-1,
    so the grid is centred on g), and pixel a's centre is at coordinate a (a = 0..width-1).
    Returns ``F_x`` (B, N, width) and ``F_y`` (B, N, height), each row normalised to sum 1.
    """
    offsets = torch.arange(n, dtype=gx.dtype, device=gx.device) - n / 2 + 0.5
    mu_x = gx[:, None] + offsets * delta[:, None]  # (B, N)
    mu_y = gy[:, None] + offsets * delta[:, None]
    a = torch.arange(width, dtype=gx.dtype, device=gx.device)
    b = torch.arange(height, dtype=gx.dtype, device=gx.device)
    # exp(-(a - mu)^2 / 2 sigma^2) normalised over a is a softmax over a: computed as one, a row
    # never underflows to 0/0, even for a filter far off the canvas or a tiny sigma (it then
    # weights the nearest pixels), so no glimpse goes dead and the gradient always flows
    fx = torch.softmax(-((a - mu_x[:, :, None]) ** 2) / (2 * sigma2[:, None, None]), -1)
    fy = torch.softmax(-((b - mu_y[:, :, None]) ** 2) / (2 * sigma2[:, None, None]), -1)
    return fx, fy


def attention_parameters(
    raw: torch.Tensor, n: int, width: int, height: int
) -> tuple[torch.Tensor, ...]:
    """Map the five raw outputs (B, 5) of the linear layer to (gx, gy, sigma2, delta, gamma).

    ``(g~x, g~y, log sigma^2, log delta~, log gamma)`` as in the paper: g = (A + 1)/2 (g~ + 1)
    puts g~ = 0 at the canvas centre and g~ = +-1 near the borders, and
    delta = (max(A, B) - 1)/(N - 1) delta~ makes delta~ = 1 span the whole canvas.
    The logs pass through a soft clamp ``c tanh(x / c)`` (about the identity for |x| << c, c = 6) so
    one bad step cannot produce inf or 0 variances, and, unlike a hard clamp, never stops the
    gradient.
    """
    gx_, gy_, log_sigma2, log_delta, log_gamma = raw.unbind(-1)
    gx = (width + 1) / 2 * (gx_ + 1) - 1  # -1: the paper counts pixels from 1, we count from 0
    gy = (height + 1) / 2 * (gy_ + 1) - 1
    sigma2 = torch.exp(_soft_clamp(log_sigma2))
    delta = (max(width, height) - 1) / (n - 1) * torch.exp(_soft_clamp(log_delta))
    gamma = torch.exp(_soft_clamp(log_gamma))
    return gx, gy, sigma2, delta, gamma


def _soft_clamp(x: torch.Tensor, c: float = 6.0) -> torch.Tensor:
    return c * torch.tanh(x / c)


def read(images: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor, gamma: torch.Tensor):
    """The glimpse ``gamma * F_y x F_x^T``: images (B, H, W) -> (B, N, N)."""
    return gamma[:, None, None] * (fy @ images @ fx.transpose(1, 2))


class DRAWClassifier(nn.Module):
    """LSTM with DRAW read attention; ``forward(images) -> logits (B, n_targets, classes)``.

    The first glimpse's parameters come from the (learned) initial state, so the first look is
    learned too. ``forward(images, return_trace=True)`` also returns per-step attention maps
    (B, T, H, W): pixel (y, x) gets gamma * sum_i F_y[i, y] * sum_j F_x[j, x], the weight with which
    it enters the glimpse, and the attention parameters (B, T, 5): gx, gy, delta, sigma^2 (pixel
    units, pixel centres at 0..S-1) and gamma, from which the N x N grid can be drawn.
    """

    def __init__(
        self,
        size: int,
        glimpses: int = 8,
        n: int = 12,
        hidden: int = 256,
        num_classes: int = 10,
        n_targets: int = 1,
    ):
        super().__init__()
        self.size, self.glimpses, self.n = size, glimpses, n
        self.n_targets, self.num_classes = n_targets, num_classes
        self.lstm = nn.LSTMCell(n * n, hidden)
        self.h0 = nn.Parameter(torch.zeros(hidden))
        self.c0 = nn.Parameter(torch.zeros(hidden))
        self.attention = nn.Linear(hidden, 5)
        # start from a grid covering the whole canvas, sigma about half a stride, gamma 1
        nn.init.zeros_(self.attention.weight)
        stride = (size - 1) / (n - 1)
        with torch.no_grad():
            self.attention.bias.copy_(torch.tensor([0.0, 0.0, 2 * math.log(stride / 2), 0.0, 0.0]))
        self.classifier = nn.Linear(hidden, n_targets * num_classes)

    def forward(self, images: torch.Tensor, return_trace: bool = False):
        batch, height, width = images.shape
        h = self.h0.expand(batch, -1)
        c = self.c0.expand(batch, -1)
        maps, params = [], []
        for _ in range(self.glimpses):
            gx, gy, sigma2, delta, gamma = attention_parameters(
                self.attention(h), self.n, width, height
            )
            fx, fy = filterbank(gx, gy, sigma2, delta, self.n, width, height)
            glimpse = read(images, fx, fy, gamma)
            h, c = self.lstm(glimpse.flatten(1), (h, c))
            if return_trace:
                maps.append(gamma[:, None, None] * fy.sum(1)[:, :, None] * fx.sum(1)[:, None, :])
                params.append(torch.stack([gx, gy, delta, sigma2, gamma], -1))
        logits = self.classifier(h).view(batch, self.n_targets, self.num_classes)
        if return_trace:
            return logits, torch.stack(maps, 1), torch.stack(params, 1)
        return logits


@dataclass
class DRAWConfig(SupervisedConfig):
    """Hyperparameters of the DRAW read-attention classifier."""

    glimpses: int = option(8, "glimpses T before classifying (the paper reports 4 and 8)")
    read_n: int = option(12, "N: the read grid is N x N Gaussian filters")
    hidden: int = option(256, "LSTM units")
    batch_size: int = option(64, "canvases per update")


class DRAWTrainer(VisualTrainer):
    """DRAW read attention + LSTM classifier, trained by backprop on the env's canvas generator.

    Works on every single-answer or multi-digit visual id whose env exposes a canvas
    (TranslatedMNIST-v0, ClutteredMNIST-v0, ClutteredMNIST100-v0, ...), scored on
    ``canvas.fixed(split, i)`` like the hard agents.

    Budget: one env step per glimpse, so an update on B canvases consumes B * T steps.
    """

    name = "draw"
    description = (
        "soft attention: DRAW Gaussian read (NxN filters) + LSTM, classify after T glimpses"
    )
    families = ("visual",)
    attention = "soft"
    Config = DRAWConfig

    def build_model(self) -> nn.Module:
        return DRAWClassifier(
            self.canvas.size,
            glimpses=self.cfg.glimpses,
            n=self.cfg.read_n,
            hidden=self.cfg.hidden,
            num_classes=self.canvas.num_classes,
            n_targets=self.canvas.n_targets,
        )

    @property
    def steps_per_example(self) -> int:
        return self.cfg.glimpses

    def compute_per_decision(self) -> dict[str, float]:
        s = self.canvas.size
        return {
            "pixels": float(self.cfg.glimpses * s * s),
            "glimpse_values": float(self.cfg.glimpses * self.cfg.read_n**2),
        }

    def attention_trace(self, x: torch.Tensor) -> dict[str, Any]:
        logits, maps, params = self.model(x, return_trace=True)
        return {
            "logits": logits,
            "filters": maps[0].detach().cpu().numpy(),
            "grid": params[0].detach().cpu().numpy(),  # (T, 5): gx, gy, delta, sigma2, gamma
            "read_n": self.cfg.read_n,
        }
