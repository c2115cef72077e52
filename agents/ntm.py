"""Neural Turing Machine (Graves, Wayne, Danihelka, 2014), trained on the tape family's generators.

A controller (LSTM or feed-forward) reads the input bits and the previous read vectors; every head
turns the controller output into an addressing: content (cosine similarity of a key with every
memory row, sharpened by the key strength beta), interpolation with the head's previous weighting
by a gate g, a circular convolution with a shift distribution s over {-1, 0, +1}, and sharpening by
gamma >= 1. The write head erases ``M * (1 - w e^T)`` then adds ``w a^T``; the read head returns
``w^T M``. Memory is 128 x 20 as in the paper.

Stability (the public implementations' users mostly report NaNs): memory starts at a small
constant (1e-6), the heads start one-hot on cell 0, the cosine similarity is smoothed so
that nearly empty rows neither divide by ~0 nor send 1e5-sized gradients, sharpening is done in log space (a softmax of
gamma * log w, so no w^gamma underflows to 0/0), and gradients are clipped element-wise to
[-10, 10] as in the paper.

Compute per step: soft heads read and write every cell, so ``memory_cells`` = 128 per step (a
hard tape head touches one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.base import option
from agents.supervised import CurriculumConfig, SequenceTrainer, SupervisedConfig

# ---------------------------------------------------------------------------------------------
# addressing: pure functions on batched tensors (B, N) weightings, (B, N, M) memories


def content_weights(
    memory: torch.Tensor, key: torch.Tensor, beta: torch.Tensor, delta: float = 1e-6
) -> torch.Tensor:
    """softmax_i(beta * cos(key, memory_i)): memory (B, N, M), key (B, M), beta (B, 1) -> (B, N).

    The cosine is ``k.m / sqrt((|k|^2 + delta)(|m|^2 + delta))``: exact for rows of norm >> 1e-3,
    and near 0 (with a bounded gradient) for the all-but-empty rows of a fresh memory, whose
    plain cosine would have gradients of order 1 / |m| = 1e5.
    """
    dot = (memory @ key.unsqueeze(-1)).squeeze(-1)
    m2 = memory.square().sum(-1)
    k2 = key.square().sum(-1, keepdim=True)
    return torch.softmax(beta * dot * torch.rsqrt((m2 + delta) * (k2 + delta)), -1)


def interpolate(content: torch.Tensor, previous: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``g w_c + (1 - g) w_prev``; gate (B, 1) in [0, 1]."""
    return gate * content + (1 - gate) * previous


def shift(weights: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Circular convolution with a distribution over shifts -K..K: shifts (B, 2K + 1).

    ``out_i = sum_k s_k w_{(i - k) mod N}``: all mass at shift +1 moves every weight one cell up.
    """
    k = (shifts.shape[-1] - 1) // 2
    rolled = torch.stack([torch.roll(weights, j, dims=-1) for j in range(-k, k + 1)], -1)
    return (rolled * shifts.unsqueeze(1)).sum(-1)


def sharpen(weights: torch.Tensor, gamma: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``w^gamma / sum_j w_j^gamma``, computed as a softmax of ``gamma log w``; gamma (B, 1) >= 1."""
    return torch.softmax(gamma * torch.log(weights + eps), -1)


def address(
    memory: torch.Tensor,
    previous: torch.Tensor,
    key: torch.Tensor,
    beta: torch.Tensor,
    gate: torch.Tensor,
    shifts: torch.Tensor,
    gamma: torch.Tensor,
) -> torch.Tensor:
    """The NTM's full addressing pipeline: content, interpolation, shift, sharpening."""
    w = content_weights(memory, key, beta)
    w = interpolate(w, previous, gate)
    w = shift(w, shifts)
    return sharpen(w, gamma)


def write_memory(
    memory: torch.Tensor, weights: torch.Tensor, erase: torch.Tensor, add: torch.Tensor
) -> torch.Tensor:
    """Erase then add: ``M (1 - w e^T) + w a^T``; weights (B, N), erase and add (B, M)."""
    w = weights.unsqueeze(-1)
    return memory * (1 - w * erase.unsqueeze(1)) + w * add.unsqueeze(1)


def read_memory(memory: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``w^T M``: (B, M)."""
    return (weights.unsqueeze(1) @ memory).squeeze(1)


# ---------------------------------------------------------------------------------------------


class NTM(nn.Module):
    """An NTM with ``read_heads`` read heads and one write head.

    ``forward(x)`` maps inputs (B, L, input_size) to output logits (B, L, output_size);
    with ``return_trace=True`` it also returns the read weightings of the first read head and the
    write weightings, both (B, L, N).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        controller: str = "lstm",
        controller_size: int = 100,
        memory_cells: int = 128,
        memory_width: int = 20,
        read_heads: int = 1,
        shift_range: int = 1,
        memory_init: float = 1e-6,
    ):
        super().__init__()
        if controller not in ("lstm", "feedforward"):
            raise ValueError(f"controller must be 'lstm' or 'feedforward', not {controller!r}")
        self.controller_kind = controller
        self.n, self.m, self.read_heads = memory_cells, memory_width, read_heads
        self.shift_size = 2 * shift_range + 1
        self.memory_init = memory_init
        ctrl_in = input_size + read_heads * memory_width
        if controller == "lstm":
            self.controller = nn.LSTMCell(ctrl_in, controller_size)
        else:
            self.controller = nn.Sequential(nn.Linear(ctrl_in, controller_size), nn.Tanh())
        self.controller_size = controller_size
        # per head: key (M), beta, gate, shift (2K+1), gamma; the write head also erase and add
        self.address_size = memory_width + 3 + self.shift_size
        self.read_params = nn.Linear(controller_size, read_heads * self.address_size)
        self.write_params = nn.Linear(controller_size, self.address_size + 2 * memory_width)
        self.output = nn.Linear(controller_size + read_heads * memory_width, output_size)
        self.read0 = nn.Parameter(torch.zeros(read_heads, memory_width))

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype):
        memory = torch.full((batch, self.n, self.m), self.memory_init, device=device, dtype=dtype)
        w0 = torch.zeros(batch, self.n, device=device, dtype=dtype)
        w0[:, 0] = 1.0
        reads = [self.read0[i].to(dtype).expand(batch, -1) for i in range(self.read_heads)]
        ctrl = None
        if self.controller_kind == "lstm":
            z = torch.zeros(batch, self.controller_size, device=device, dtype=dtype)
            ctrl = (z, z)
        return memory, [w0] * self.read_heads, w0, reads, ctrl

    def _split(self, p: torch.Tensor):
        m, s = self.m, self.shift_size
        key = p[:, :m]
        beta = F.softplus(p[:, m : m + 1])
        gate = torch.sigmoid(p[:, m + 1 : m + 2])
        shifts = torch.softmax(p[:, m + 2 : m + 2 + s], -1)
        gamma = 1 + F.softplus(p[:, m + 2 + s : m + 3 + s])
        return key, beta, gate, shifts, gamma

    def forward(self, x: torch.Tensor, return_trace: bool = False):
        batch, length, _ = x.shape
        memory, read_w, write_w, reads, ctrl = self.initial_state(batch, x.device, x.dtype)
        outputs, read_trace, write_trace = [], [], []
        for t in range(length):
            inp = torch.cat([x[:, t], *reads], -1)
            if self.controller_kind == "lstm":
                ctrl = self.controller(inp, ctrl)
                h = ctrl[0]
            else:
                h = self.controller(inp)
            wp = self.write_params(h)
            a = self.address_size
            write_w = address(memory, write_w, *self._split(wp[:, :a]))
            erase = torch.sigmoid(wp[:, a : a + self.m])
            add = torch.tanh(wp[:, a + self.m :])
            memory = write_memory(memory, write_w, erase, add)
            rp = self.read_params(h)
            read_w = [
                address(memory, read_w[i], *self._split(rp[:, i * a : (i + 1) * a]))
                for i in range(self.read_heads)
            ]
            reads = [read_memory(memory, w) for w in read_w]
            outputs.append(self.output(torch.cat([h, *reads], -1)))
            if return_trace:
                read_trace.append(read_w[0])
                write_trace.append(write_w)
        out = torch.stack(outputs, 1)
        if return_trace:
            return out, torch.stack(read_trace, 1), torch.stack(write_trace, 1)
        return out


@dataclass
class NTMConfig(SupervisedConfig, CurriculumConfig):
    """Hyperparameters of the NTM: the paper's memory (128 x 20), heads and clipping, LSTM
    controller. Optimiser: Adam 1e-3 by default (on copy 1-20 it reached zero bit errors at
    lengths 10-50 after about 1M env steps; RMSProp 1e-4 with momentum 0.9, the paper's, also
    learns but more slowly in our runs)."""

    controller: str = option("lstm", "controller: lstm or feedforward")
    controller_size: int = option(100, "controller units")
    memory_cells: int = option(128, "memory rows N")
    memory_width: int = option(20, "memory row width M")
    read_heads: int = option(1, "read heads")
    shift_range: int = option(1, "shifts -K..K allowed to the heads")
    optimizer: str = option("adam", "adam, or rmsprop (momentum 0.9, the paper's; try --lr 1e-4)")
    grad_clip: float = option(10.0, "clip every gradient element to [-c, c] (0: no clipping)")
    batch_size: int = option(16, "sequences per update")
    min_length: int = option(
        0, "shortest training length (items, bits, ...); 0: the task's default"
    )
    max_length: int = option(0, "longest training length; 0: the task's paper range (copy: 20)")
    eval_lengths: list = option([], "evaluation lengths; empty: the task's defaults")  # noqa: RUF009
    eval_batch: int = option(100, "sequences per evaluation batch")


class NTMTrainer(SequenceTrainer):
    """Neural Turing Machine on a tape id's task generator (Copy, RepeatCopy, AssociativeRecall,
    DynamicNGrams, PrioritySort, ...), by backprop on the bits of the target.

    Budget: one env step per sequence step (input steps + output steps) of each sequence.
    ``memory_cells`` in the metrics is the number of cells each soft head touches per step.
    """

    name = "ntm"
    description = "soft attention over memory: Neural Turing Machine (128 x 20), LSTM/FF controller"
    families = ("tape",)
    attention = "soft"
    Config = NTMConfig

    def build_model(self) -> nn.Module:
        c = self.cfg
        return NTM(
            self.input_size,
            self.output_size,
            controller=c.controller,
            controller_size=c.controller_size,
            memory_cells=c.memory_cells,
            memory_width=c.memory_width,
            read_heads=c.read_heads,
            shift_range=c.shift_range,
        )

    def build_optimizer(self) -> torch.optim.Optimizer:
        lr = self.run.lr or self.cfg.lr
        if self.cfg.optimizer == "adam":
            return torch.optim.Adam(self.model.parameters(), lr=lr)
        if self.cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(self.model.parameters(), lr=lr, momentum=0.9, alpha=0.95)
        raise ValueError(f"optimizer must be 'rmsprop' or 'adam', not {self.cfg.optimizer!r}")

    def memory_cells_per_step(self) -> float:
        return float(self.cfg.memory_cells)

    def sequence_trace(self, x: torch.Tensor, lt: int) -> dict[str, Any]:
        logits, read_w, write_w = self.model(x, return_trace=True)
        return {
            "logits": logits,
            "read": read_w[0].detach().cpu().numpy(),
            "write": write_w[0].detach().cpu().numpy(),
        }
