"""Deep Recurrent Attention Model (Ba, Mnih, Kavukcuoglu, ICLR 2015), trained through the env.

DRAM reads a sequence of digits (``glimpse_envs/MultiMNIST-v0``) one at a time: it spends
``T / n`` glimpses on each of the ``n`` digits and then answers it through the env's decision action
(decision ``c + 1``), which emits that digit (reward 1 if it is right in its position) and leaves the
glimpse where it was; the next glimpse starts the next digit. It plays the native vector env with
``continuous=True`` like RAM (:mod:`agents.ram`), whose plumbing, learning-rate schedule and
checkpoints it shares. It also runs on single-digit ids (``n = 1``).

Networks (RAM's glimpse network, then the paper's two-layer core)::

    glimpse net   g_t = ReLU(W_1 ReLU(W_g rho(x, l_t)) + W_2 ReLU(W_l l_t))          (256)
    r1 (lower)    LSTM(g_t)            -> h1_t; classifier p(y_k | h1) = softmax(W_a h1)
    r2 (upper)    LSTM(h1_t)           -> h2_t; location mu = tanh(W_mu h2_t),
                                          l_{t+1} ~ N(mu, loc_std^2 I); baseline b_t = w . h2_t + c
    context       r2's initial hidden state = tanh(W_c conv(coarse canvas))

The context network sees a coarse view of the same episode's canvas: the env's
``canvases()`` (the canvases it is playing), average-pooled to ``context_size`` x ``context_size``,
through two 3x3 convolutions (16 and 32 channels, the second with stride 2) and a linear layer.
With ``--no-context`` r2 starts at zero (the paper's "DRAM without context"). The env takes the
first glimpse at the canvas centre, so the context steers the glimpses from the second on.

Loss (RAM's hybrid loss, :func:`agents.ram.hybrid_loss`): the cross-entropy of every emitted digit
trains the classifier, r1 and the glimpse net; REINFORCE with the learned baseline trains the
location head, r2 and the context network. r2 reads ``h1`` detached (``reinforce_core=False``,
the default), so the location pathway does not move the classifier's features; with
``--reinforce-core`` REINFORCE reaches r1 and the glimpse net as well. The return of a location
decision is the reward that follows it: the digits emitted correctly after it, so a glimpse is
credited with the digits it could have helped.

Budget: one env step per glimpse (``T`` per canvas; the ``n`` answering steps are not counted), as
RAM and the soft agents count. Evaluation: ``error`` is the sequence error (a canvas is right only
if every digit is), ``digit_error`` the per-digit error, ``glimpses`` per canvas and ``pixels`` the
values read per canvas: the retina's plus the context's ``context_size**2`` coarse values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.base import RunConfig, option
from agents.ram import GlimpseNet, PolicyConfig, RAMTrainer, hybrid_loss, sample_location


@dataclass
class Config(PolicyConfig):
    """DRAM hyperparameters (``train.py --agent dram`` flags): RAM's shared ones
    (:class:`agents.ram.PolicyConfig`; ``core_hidden`` is the size of each LSTM layer and
    ``reinforce_core`` lets REINFORCE reach r1 and the glimpse net), then DRAM's own."""

    core_layers: int = option(
        2,
        "2: the paper's r1 (classifies) and r2 (emits locations); 1: RAM's single core does "
        "both (needs --no-context)",
    )
    context: bool = option(True, "initialise r2 from a coarse view of the canvas (else zeros)")
    context_size: int = option(15, "side of the coarse (average-pooled) canvas the context reads")


class DRAMNet(GlimpseNet):
    """Glimpse net, two LSTM layers, context network, location head, baseline and classifier.

    ``image_shape`` is the canvas shape, (S, S) or (S, S, channels).
    """

    def __init__(
        self,
        glimpse_shape: tuple[int, ...],
        image_shape: tuple[int, ...],
        num_classes: int,
        cfg: Config,
    ):
        super().__init__(glimpse_shape, cfg)
        h = cfg.core_hidden
        if cfg.core_layers not in (1, 2):
            raise ValueError(f"core_layers={cfg.core_layers} invalid: use --core-layers 2 or 1")
        if cfg.core_layers == 1 and cfg.context:
            raise ValueError(
                "the context network initialises r2, which --core-layers 1 does not have: add "
                "--no-context (or use --core-layers 2)"
            )
        self.r1 = nn.LSTMCell(cfg.glimpse_out, h)
        if cfg.core_layers == 2:
            self.r2 = nn.LSTMCell(h, h)
        self.location = nn.Linear(h, 2)
        self.baseline = nn.Linear(h, 1)
        self.classifier = nn.Linear(h, num_classes)
        self.channels = image_shape[2] if len(image_shape) == 3 else 1
        if cfg.context:
            if cfg.context_size < 2:
                raise ValueError(
                    f"context_size={cfg.context_size} invalid: use --context-size >= 2 (or "
                    "--no-context)"
                )
            side = (cfg.context_size + 1) // 2  # after the stride-2 convolution
            self.context_net = nn.Sequential(
                nn.Conv2d(self.channels, 16, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(32 * side * side, h),
            )

    def coarse(self, images: torch.Tensor) -> torch.Tensor:
        """Canvases uint8 (B, S, S[, C]) -> the coarse view float (B, C, s, s) in [0, 1]."""
        x = images.float().div(255.0)
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return F.adaptive_avg_pool2d(x, self.cfg.context_size)

    def initial_state(
        self, batch: int, device: torch.device, images: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """(h1, c1, h2, c2): zeros, except h2 = the context network's output when it is on."""
        zero = torch.zeros(batch, self.cfg.core_hidden, device=device)
        h2 = zero
        if self.cfg.context:
            if images is None:
                raise ValueError("the context network needs the canvases (images=...)")
            h2 = torch.tanh(self.context_net(self.coarse(images)))
        return zero, zero, h2, zero

    def step(
        self, glimpse: torch.Tensor, loc: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, ...]:
        """One glimpse through r1 and r2: the new state (h1, c1, h2, c2). With one layer, h2 is
        r1's output (detached unless ``reinforce_core``): the location head reads RAM's core."""
        h1, c1 = self.r1(self.glimpse_feature(glimpse, loc), state[:2])
        h1_in = h1 if self.cfg.reinforce_core else h1.detach()
        if self.cfg.core_layers == 1:
            return h1, c1, h1_in, c1
        h2, c2 = self.r2(h1_in, state[2:])
        return h1, c1, h2, c2

    def location_mean(self, h2: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.location(h2))

    def value(self, h2: torch.Tensor) -> torch.Tensor:
        return self.baseline(h2.detach()).squeeze(-1)


class DRAMTrainer(RAMTrainer):
    """Deep Recurrent Attention Model: one answer per digit through the env's decision action."""

    name = "dram"
    description = "Deep Recurrent Attention Model: 2-layer core + context net, a digit sequence"
    Config = Config
    reads_sequences = True

    def __init__(self, run: RunConfig, cfg: Config):
        super().__init__(run, cfg)
        if self.glimpses < 2 or self.glimpses % self.n_digits:
            self.vec.close()
            raise ValueError(
                f"{run.env} has {self.glimpses} glimpse(s) for {self.n_digits} digit(s): DRAM "
                "spends the same number on each digit and learns where to look from the second "
                "glimpse on, so use a multiple of the digits, at least 2, e.g. --env-kwargs "
                f"'{{\"glimpses\": {self.n_digits * max(2, self.glimpses // self.n_digits)}}}'"
            )
        self.per_digit = self.glimpses // self.n_digits

    def build_model(self) -> nn.Module:
        image_shape = tuple(self.vec.canvases().shape[1:])
        return DRAMNet(self.glimpse_shape, image_shape, self.num_classes, self.cfg)

    def _play(self, vec, obs: dict, generator: torch.Generator | None, n: int) -> dict[str, Any]:
        """Play one batch of episodes to the last answer; ``generator=None`` uses the mean location.

        Every episode follows the same schedule (``per_digit`` glimpses, then an answer, ``n_digits``
        times), so the batch stays in step and ends together.
        """
        images = None
        if self.cfg.context:
            images = torch.as_tensor(vec.canvases(), device=self.device)
        state = self.model.initial_state(n, self.device, images)
        loc_logp, baselines, rewards, locations, logits, looks = [], [], [], [], [], []
        keep = np.zeros(n, dtype=np.int64)
        steps = self.glimpses - 1 + self.n_digits
        info: dict[str, Any] = {}
        for d in range(self.n_digits):
            for j in range(self.per_digit):
                if d or j:  # every glimpse but the env's first is placed by r2
                    h2 = state[2]
                    sample, logp = sample_location(
                        self.model.location_mean(h2), self.cfg.loc_std, generator
                    )
                    if logp is not None:
                        loc_logp.append(logp)
                    baselines.append(self.model.value(h2))
                    obs, reward, terminated, truncated, info = vec.step(
                        self._action(sample.cpu().numpy(), keep)
                    )
                    rewards.append(np.asarray(reward, dtype=np.float32))
                    looks.append(True)
                    if (np.asarray(terminated) | np.asarray(truncated)).any():
                        raise RuntimeError(f"{self.run.env} ended an episode during a look")
                glimpse, loc = self._obs(obs)
                locations.append(obs["location"].copy())
                state = self.model.step(glimpse, loc, state)
            logits.append(self.model.classifier(state[0]))
            answer = logits[-1].argmax(-1)
            obs, reward, terminated, truncated, info = vec.step(
                self._action(np.zeros((n, 2), np.float32), answer.cpu().numpy() + 1)
            )
            rewards.append(np.asarray(reward, dtype=np.float32))
            looks.append(False)
            done = np.asarray(terminated) | np.asarray(truncated)
            if not (done.all() if len(rewards) == steps else not done.any()):
                raise RuntimeError(
                    f"{self.run.env} did not end its episodes after the last of {self.n_digits} "
                    f"answers (step {len(rewards)} of {steps})"
                )
        all_logits = torch.stack(logits, 1)
        return {
            "logits": all_logits,
            "answer": all_logits.argmax(-1),
            "label": np.asarray(info["label"]).reshape(n, self.n_digits),
            "rewards": np.stack(rewards, 1),
            "looks": np.array(looks),
            "loc_logp": torch.stack(loc_logp, 1) if loc_logp else None,
            "baselines": torch.stack(baselines, 1),
            "locations": np.stack(locations, 1),
            "info": info,
        }

    def episode_losses(self, iteration: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Play iteration ``iteration``'s batch of episodes and build the hybrid loss terms."""
        ep = self.training_batch(iteration)
        # the return of the location chosen at env step s: the rewards of steps s, s + 1, ...
        returns = ep["returns"][:, torch.as_tensor(ep["looks"])]
        labels = torch.as_tensor(ep["label"], dtype=torch.long, device=self.device).reshape(-1)
        logits = ep["logits"].reshape(-1, self.num_classes)
        losses = hybrid_loss(logits, labels, ep["loc_logp"], ep["baselines"], returns, self.cfg)
        return ep, losses

    def accuracy(self, ep: dict[str, Any]) -> dict[str, float]:
        """``charts/accuracy``: canvases with every digit right; ``charts/digit_accuracy``."""
        correct = ep["answer"].cpu().numpy() == ep["label"]
        return {
            "charts/accuracy": float(correct.all(1).mean()),
            "charts/digit_accuracy": float(correct.mean()),
        }

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        self.model.eval()
        wrong = wrong_digits = glimpses = pixels = 0.0
        for vec, obs, _, _, used in self.fixed_batches(split, episodes):
            ep = self._play(vec, obs, None, vec.num_envs)
            right = (ep["answer"].cpu().numpy() == ep["label"])[:used]
            wrong += float((~right.all(1)).sum())
            wrong_digits += float((~right).sum())
            glimpses += float(np.asarray(ep["info"]["glimpses"])[:used].sum())
            pixels += float(np.asarray(ep["info"]["pixels_sensed"])[:used].sum())
        context = self.cfg.context_size**2 * self.model.channels if self.cfg.context else 0
        return {
            "error": 100.0 * wrong / episodes,
            "digit_error": 100.0 * wrong_digits / (episodes * self.n_digits),
            "glimpses": glimpses / episodes,
            "pixels": pixels / episodes + context,
            "episodes": float(episodes),
        }

    @torch.no_grad()
    def trace(self, split: str, index: int) -> dict[str, Any]:
        ep, image = self.trace_episode(split, index)
        return {
            "image": image,
            "label": [int(v) for v in ep["label"][0]],
            "prediction": [int(v) for v in ep["answer"][0].cpu().numpy()],
            "locations": ep["locations"][0],
            # which digit each glimpse was spent on (the renders colour the path by it)
            "digits": np.repeat(np.arange(self.n_digits), self.per_digit),
            "probabilities": F.softmax(ep["logits"], -1)[0].cpu().numpy(),
        }
