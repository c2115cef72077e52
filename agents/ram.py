"""Recurrent Attention Model (Mnih, Heess, Graves, Kavukcuoglu, NIPS 2014), trained through the env.

The agent plays the suite's own native vector env, ``gym.make_vec(id, num_envs=N,
vectorization_mode="vector_entry_point", continuous=True)``, whose action is
``(x, y, decision scores)``: it keeps looking (decision 0) for the first ``T - 1`` steps and answers
with its classifier at the last glimpse, which ends the episode. The label it learns from is the one
the env reports in ``info["label"]`` when the episode ends; the reward is the env's (1 if correct).

Networks (the paper's sizes)::

    glimpse net   h_g = ReLU(W_g rho(x, l))  (128)   h_l = ReLU(W_l l)  (128)
                  g   = ReLU(W_1 h_g + W_2 h_l)     (256)
    core          h_t = ReLU(W_h h_{t-1} + W_x g_t) (256, "rnn") or an LSTM cell (core="lstm")
    location      mu_t = tanh(W_mu h_t);  l_{t+1} ~ N(mu_t, loc_std^2 I)  (fixed std)
    baseline      b_t = w_b . h_t + c
    classifier    p(y | h_T) = softmax(W_a h_T)

Hybrid loss (the paper's):

* cross-entropy of the classifier on the env's label -- it trains the classifier, the core and
  the glimpse net. The sampled locations are *detached* (``Normal.sample`` has no gradient), so
  this loss cannot move the location policy through the glimpses it caused.
* REINFORCE for the locations: ``-sum_t log pi(l_t | h_t) * (R - b_t).detach()``. The location
  head reads ``h_t.detach()`` (``reinforce_core=False``, the default), so this term moves only the
  location head and never the classifier, core or glimpse net. ``reinforce_core=True`` lets it
  flow into the core and glimpse net, as the paper's gradient over all parameters does.
* squared error ``(R - b_t)^2`` for the baseline, which reads ``h_t.detach()``.

``pure_rl=True`` samples the answer from the classifier too and learns it by REINFORCE with the
same advantage (no cross-entropy, no label used in the loss).

Defaults (measured in ``benchmarks/results/ram_defaults.md``): Adam at 1e-3 decayed linearly to
``lr_final`` = 1e-5 at the end of the budget (``--steps``), and no gradient clipping. At a constant
rate the MNIST error stops falling after about 7 epochs, with the training error no lower than the
validation error (both 4-6 %): the step size, not the model, sets that floor. A global-norm clip
at 5 rescaled most early updates (the REINFORCE term dominates the norm), the classifier's
gradient with them. The decay is relative to the budget, so the budget is part of the recipe: on
MNIST-v0 (seed 0) runs of 10, 30, 60 and 200 epochs scored 3.73, 2.90, 3.10 and 4.74 % test error
(the longest fits the training set while the rate is still high). Every option is stored in the
checkpoint, so a run saved under the old defaults (clip 5, constant rate) resumes and evaluates
with them.

Evaluation uses the mean location (no sampling) and the classifier's argmax, one pass per image.
``mc_samples=K > 1`` additionally runs K sampled passes per image and averages their class
probabilities; this is reported separately as ``error_mc`` with ``glimpses_mc = K * T`` (it senses
K times as many pixels), never as the main number.

Learned stop (``stop="learned"``, ``train.py --stop learned``; default ``fixed``, RAM as above):
a stop head ``p_t = sigmoid(w_s . h_t + c_s)`` decides after each glimpse but the last whether to
answer now (through the env's decision action, ``c + 1``) or to keep looking; the env's budget
``T`` (``--glimpses``) is the most it may take, and the env charges ``glimpse_cost`` per glimpse
taken on the answer's reward (``--glimpse-cost``). In training the stop is sampled (Bernoulli
``p_t``) and learned by REINFORCE with the same baseline ``b_t`` and return ``R`` (the env's reward,
``1[correct] - glimpse_cost * glimpses``): ``-sum_t log pi(stop_t | h_t) (R - b_t)`` over the
decisions each episode took; the location term counts only the locations that were looked at; the
classifier's cross-entropy is taken at every glimpse an episode took (so the answer is trained
wherever the head may stop); the head reads ``h_t.detach()`` unless ``reinforce_core``. Its bias
starts at ``logit(stop_init)`` (default 0.05 per glimpse: the untrained agent takes most of its
budget). Evaluation stops when ``p_t > 0.5``. A batch's episodes end at different glimpses: the
vector env keeps stepping the finished rows (autoreset, their steps ignored) until the batch's last
answer, and a training iteration counts the glimpses its episodes took (not ``num_envs * T``) as
its env steps; ``glimpses`` in the evaluation is the mean per decision.

Every random draw of iteration ``i`` (the env resets, the location noise and the stop samples)
comes from seeds that are a pure function of ``(run.seed, i)``, so a resumed run continues the same
curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.base import RunConfig, Trainer, iteration_seed, option, set_decayed_lr

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class PolicyConfig:
    """The options RAM and DRAM (:mod:`agents.dram`) share: the glimpse net, the Gaussian location
    policy, the hybrid loss and the optimiser."""

    glimpse_hidden: int = option(128, "units of the glimpse-content layer h_g")
    loc_hidden: int = option(128, "units of the glimpse-location layer h_l")
    glimpse_out: int = option(256, "units of the glimpse feature g (input of the core)")
    core_hidden: int = option(256, "units of the recurrent core")
    loc_std: float = option(0.15, "fixed standard deviation of the Gaussian location policy")
    lr: float = option(1e-3, "Adam learning rate (train.py --lr overrides it when > 0)")
    lr_final: float = option(
        1e-5, "if > 0, decay the learning rate linearly to this by the end of the budget (--steps)"
    )
    reinforce_weight: float = option(1.0, "weight of the REINFORCE (location) term")
    baseline_weight: float = option(1.0, "weight of the baseline's squared error")
    reinforce_core: bool = option(
        False, "let the REINFORCE gradient reach the core and glimpse net (default: head only)"
    )
    grad_clip: float = option(0.0, "clip the global gradient norm to this (0: no clipping)")
    weight_decay: float = option(
        0.0, "decoupled (AdamW-style) weight decay of every parameter; 0: none"
    )
    eval_batch: int = option(500, "episodes played in parallel during evaluation")


@dataclass
class Config(PolicyConfig):
    """RAM hyperparameters (``train.py --agent ram`` flags)."""

    core: str = option("rnn", "recurrent core: rnn (the paper's ReLU RNN) or lstm")
    pure_rl: bool = option(False, "sample the answer and learn it by REINFORCE (no cross-entropy)")
    step_ce: float = option(
        0.0,
        "weight of the classifier's cross-entropy at every glimpse before the last (deep "
        "supervision, added to the loss; 0: the paper's loss, the answer's alone)",
    )
    mc_samples: int = option(
        1, "test-time Monte Carlo: K > 1 also reports error_mc averaging K sampled passes"
    )
    stop: str = option(
        "fixed",
        "fixed: answer at the env's last glimpse; learned: a stop head answers earlier (REINFORCE "
        "on the env's reward, which charges --glimpse-cost per glimpse)",
    )
    stop_init: float = option(
        0.05, "learned stop: the stop head's initial probability of answering after a glimpse"
    )
    stop_warmup: float = option(
        0.5,
        "learned stop: the fraction of the budget (--steps) spent taking every glimpse before "
        "the stop head is sampled (its classifier trained at each glimpse meanwhile)",
    )


class GlimpseNet(nn.Module):
    """RAM's glimpse network, the base of RAM's and DRAM's models: ``g = ReLU(W_1 h_g + W_2 h_l)``
    from the glimpse content ``h_g`` and its location ``h_l``. ``cfg`` has ``glimpse_hidden``,
    ``loc_hidden`` and ``glimpse_out``."""

    def __init__(self, glimpse_shape: tuple[int, ...], cfg: Any):
        super().__init__()
        self.cfg = cfg
        n_in = int(np.prod(glimpse_shape))
        self.fc_glimpse = nn.Linear(n_in, cfg.glimpse_hidden)
        self.fc_loc = nn.Linear(2, cfg.loc_hidden)
        self.fc_g1 = nn.Linear(cfg.glimpse_hidden, cfg.glimpse_out)
        self.fc_g2 = nn.Linear(cfg.loc_hidden, cfg.glimpse_out)

    def glimpse_feature(self, glimpse: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
        """The glimpse feature ``g`` (B, glimpse_out) of glimpses (B, ...) taken at ``loc`` (B, 2)."""
        hg = F.relu(self.fc_glimpse(glimpse.flatten(1)))
        hl = F.relu(self.fc_loc(loc))
        return F.relu(self.fc_g1(hg) + self.fc_g2(hl))


class RAMNet(GlimpseNet):
    """Glimpse net, recurrent core, location head, baseline and classifier."""

    def __init__(self, glimpse_shape: tuple[int, ...], num_classes: int, cfg: Config):
        super().__init__(glimpse_shape, cfg)
        if cfg.core == "rnn":
            self.core_in = nn.Linear(cfg.glimpse_out, cfg.core_hidden)
            self.core_h = nn.Linear(cfg.core_hidden, cfg.core_hidden)
        elif cfg.core == "lstm":
            self.lstm = nn.LSTMCell(cfg.glimpse_out, cfg.core_hidden)
        else:
            raise ValueError(f"core must be 'rnn' or 'lstm', got {cfg.core!r}")
        self.location = nn.Linear(cfg.core_hidden, 2)
        self.baseline = nn.Linear(cfg.core_hidden, 1)
        self.classifier = nn.Linear(cfg.core_hidden, num_classes)
        if cfg.stop == "learned":  # made last: the other layers start as RAM's do
            if not 0.0 < cfg.stop_init < 1.0:
                raise ValueError(f"stop_init={cfg.stop_init} invalid: use a probability in (0, 1)")
            self.stop_head = nn.Linear(cfg.core_hidden, 1)
            with torch.no_grad():  # the same probability on every state at the start
                self.stop_head.weight.zero_()
                self.stop_head.bias.fill_(float(np.log(cfg.stop_init / (1.0 - cfg.stop_init))))
        elif cfg.stop != "fixed":
            raise ValueError(f"stop must be 'fixed' or 'learned', got {cfg.stop!r}")

    def initial_state(self, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        h = torch.zeros(batch, self.cfg.core_hidden, device=device)
        return (h, torch.zeros_like(h)) if self.cfg.core == "lstm" else (h,)

    def stop_logit(self, h: torch.Tensor) -> torch.Tensor:
        """The stop head's logit (B,): answer now with probability ``sigmoid`` of it."""
        return self.stop_head(h if self.cfg.reinforce_core else h.detach()).squeeze(-1)

    def step(
        self, glimpse: torch.Tensor, loc: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One glimpse into the core: returns ``h_t`` and the new recurrent state."""
        g = self.glimpse_feature(glimpse, loc)
        if self.cfg.core == "lstm":
            h, c = self.lstm(g, state)
            return h, (h, c)
        h = F.relu(self.core_in(g) + self.core_h(state[0]))
        return h, (h,)

    def location_mean(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.location(h if self.cfg.reinforce_core else h.detach()))

    def value(self, h: torch.Tensor) -> torch.Tensor:
        return self.baseline(h.detach()).squeeze(-1)


def hybrid_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    loc_logp: torch.Tensor,
    baselines: torch.Tensor,
    returns: torch.Tensor,
    cfg: Config,
    answer_logp: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """RAM's loss terms.

    ``loc_logp`` (B, T-1): log pi of each sampled location; ``baselines`` (B, T'): b_t for each
    decision (T' = T-1, plus one for the answer when ``answer_logp`` is given); ``returns``
    (B, T'): the return following each decision. The advantage is detached, so REINFORCE moves
    only the policy; the baseline learns from the squared error alone.
    """
    adv = (returns - baselines).detach()
    n_loc = loc_logp.shape[1]
    reinforce = -(loc_logp * adv[:, :n_loc]).sum(1).mean()
    if answer_logp is not None:
        reinforce = reinforce - (answer_logp * adv[:, n_loc]).mean()
        classifier = torch.zeros((), device=logits.device)
    else:
        classifier = F.cross_entropy(logits, labels)
    baseline = F.mse_loss(baselines, returns)
    total = classifier + cfg.reinforce_weight * reinforce + cfg.baseline_weight * baseline
    return {"total": total, "classifier": classifier, "reinforce": reinforce, "baseline": baseline}


def stop_loss(ep: dict[str, Any], labels: torch.Tensor, cfg: Config) -> dict[str, torch.Tensor]:
    """The learned-stop agent's loss terms from :meth:`RAMTrainer._play_stop`'s record.

    ``alive`` (B, L + 1): whether the episode had taken glimpse t; decision t (t < T - 1) is the
    stop choice after glimpse t (counted where the episode was alive) and the location of glimpse
    t + 1 (counted where it was then looked at); both are judged by ``R - b_t``, ``R`` the
    episode's reward (the env's only nonzero one, at its answer).
    """
    alive = torch.as_tensor(ep["alive"], device=labels.device, dtype=torch.float32)
    n_dec = ep["loc_logp"].shape[1]
    decide, looked = alive[:, :n_dec], alive[:, 1 : n_dec + 1]
    returns = torch.as_tensor(ep["reward"], device=labels.device)[:, None].expand(-1, n_dec)
    baselines = ep["baselines"][:, :n_dec]
    adv = (returns - baselines).detach()
    stop = torch.zeros((), device=labels.device)
    if ep["stop_logp"] is not None:  # (None in the warm-up, when every glimpse is taken)
        stop = -(ep["stop_logp"] * adv * decide).sum(1).mean()
    location = -(ep["loc_logp"] * adv * looked).sum(1).mean()
    seen = alive[:, :-1]  # the glimpses taken: the classifier is trained at each of them
    logits = ep["step_logits"]
    ce = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        labels[:, None].expand(-1, logits.shape[1]).reshape(-1),
        reduction="none",
    )
    classifier = (ce * seen.reshape(-1)).sum() / seen.sum()
    baseline = ((baselines - returns) ** 2 * decide).sum() / decide.sum().clamp(min=1.0)
    reinforce = location + stop
    total = classifier + cfg.reinforce_weight * reinforce + cfg.baseline_weight * baseline
    return {
        "total": total,
        "classifier": classifier,
        "reinforce": reinforce,
        "baseline": baseline,
        "stop": stop,
    }


def sample_location(
    mu: torch.Tensor, std: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(location, log pi) of the Gaussian policy N(mu, std^2 I): ``generator=None`` takes the mean
    (evaluation, no log-probability). The location is detached: REINFORCE reaches ``mu`` only
    through the log-probability."""
    if generator is None:
        return mu.detach(), None
    noise = torch.randn(mu.shape, generator=generator, device=mu.device)
    sample = (mu + std * noise).detach()
    # the Gaussian's log-density written out (torch.distributions.Normal validates its arguments
    # on every call, a few percent of an update on the CPU)
    z = (sample - mu) / std
    return sample, (-0.5 * z * z).sum(-1) - mu.shape[-1] * (math.log(std) + _HALF_LOG_2PI)


def _decision(index: np.ndarray, size: int) -> np.ndarray:
    """Decision scores in [-1, 1] whose argmax is ``index`` (0 keeps looking, c+1 answers c)."""
    scores = -np.ones((len(index), size), dtype=np.float32)
    scores[np.arange(len(index)), index] = 1.0
    return scores


class RAMTrainer(Trainer):
    """Recurrent Attention Model on a glimpse env's native vector env (continuous locations)."""

    name = "ram"
    description = "Recurrent Attention Model: Gaussian glimpse policy by REINFORCE + classifier"
    families = ("visual",)
    attention = "hard"
    Config = Config
    #: whether the agent answers a sequence of digits (envs with an ``"emitted"`` observation)
    reads_sequences = False

    def __init__(self, run: RunConfig, cfg: Config):
        super().__init__(run, cfg)
        import glimpse_envs  # noqa: F401  (registers the ids)

        self.device = torch.device(run.device)
        self.env_kwargs = {**run.env_kwargs, "continuous": True}
        self.vec = self._make_vec(run.num_envs)
        space = self.vec.single_observation_space
        self.n_digits = int(space["emitted"].n) - 1 if "emitted" in space.spaces else 1
        if self.n_digits > 1 and not self.reads_sequences:
            raise ValueError(
                f"RAM answers one digit per episode; {run.env} asks for a sequence (use dram, ppo "
                "or recurrent-ppo there)"
            )
        self.glimpses = self.vec.unwrapped.config.glimpses
        self.glimpse_shape = tuple(space["glimpse"].shape)
        self.decision_size = int(self.vec.single_action_space.shape[0]) - 2
        self.num_classes = self.decision_size - 1
        torch.manual_seed(run.seed)
        self.model = self.build_model().to(self.device)
        self.lr = run.lr or cfg.lr
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=self.lr,
            weight_decay=cfg.weight_decay,
            decoupled_weight_decay=True,
            fused=True,  # one kernel for every parameter: about 8 % of an update on one CPU core
        )
        self.iteration = 0
        self.env_steps = 0
        self._eval_vec: Any = None
        #: RAM's ``--stop learned`` (DRAM's config has no ``stop``: its schedule is fixed)
        self.learned_stop = getattr(cfg, "stop", "fixed") == "learned"
        if self.learned_stop and not 0.0 <= cfg.stop_warmup <= 1.0:
            self.close()
            raise ValueError(f"stop_warmup={cfg.stop_warmup} invalid: use a fraction in [0, 1]")
        if self.learned_stop and self.glimpses < 2:
            self.close()
            raise ValueError("--stop learned needs a budget of at least 2 glimpses (--glimpses)")
        if self.learned_stop and (cfg.pure_rl or cfg.mc_samples > 1):
            self.close()
            raise ValueError(
                "--stop learned trains the answer by cross-entropy and scores one greedy pass: "
                "it does not combine with --pure-rl or --mc-samples > 1"
            )
        step_ce = getattr(cfg, "step_ce", 0.0)
        if step_ce < 0 or (step_ce > 0 and (self.learned_stop or cfg.pure_rl)):
            self.close()
            raise ValueError(
                f"--step-ce {step_ce}: use a weight >= 0, and 0 with --pure-rl (no label in the "
                "loss) or --stop learned (which already trains the answer at every glimpse)"
            )

    def build_model(self) -> nn.Module:
        """The agent's network (built after the env's spaces are read)."""
        return RAMNet(self.glimpse_shape, self.num_classes, self.cfg)

    # -- env plumbing ---------------------------------------------------------------------------
    def _make_vec(self, n: int):
        # on an accelerator the env renders and senses there too (glimpse_envs.torch_core), so
        # the glimpses never pass through the host; --env-kwargs '{"backend": ...}' overrides
        device = {} if self.device.type == "cpu" else {"backend": "torch", "device": self.device}
        return gym.make_vec(
            self.run.env,
            num_envs=n,
            vectorization_mode="vector_entry_point",
            **{**device, **self.env_kwargs},
        )

    def _obs(self, obs: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        glimpse = torch.as_tensor(obs["glimpse"], dtype=torch.float32, device=self.device)
        loc = torch.as_tensor(obs["location"], dtype=torch.float32, device=self.device)
        return glimpse, loc

    def _action(self, loc: np.ndarray, decision: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [np.clip(loc, -1.0, 1.0).astype(np.float32), _decision(decision, self.decision_size)], 1
        )

    def _play(
        self,
        vec,
        obs: dict[str, np.ndarray],
        generator: torch.Generator | None,
        n: int,
        sample_answer: bool = False,
        **play: Any,
    ) -> dict[str, Any]:
        """Play one batch of episodes to the answer; ``generator=None`` uses the mean location
        (``play``: :meth:`_play_stop`'s options, with the learned stop)."""
        if self.learned_stop:
            return self._play_stop(vec, obs, generator, n, **play)
        state = self.model.initial_state(n, self.device)
        loc_logp, baselines, rewards, locations, hidden = [], [], [], [], []
        keep = np.zeros(n, dtype=np.int64)
        info: dict[str, Any] = {}
        for t in range(self.glimpses):
            glimpse, loc = self._obs(obs)
            locations.append(obs["location"].copy())
            h, state = self.model.step(glimpse, loc, state)
            baselines.append(self.model.value(h))
            if t < self.glimpses - 1:
                hidden.append(h)
                sample, logp = sample_location(
                    self.model.location_mean(h), self.cfg.loc_std, generator
                )
                if logp is not None:
                    loc_logp.append(logp)
                action = self._action(sample.cpu().numpy(), keep)
            else:
                logits = self.model.classifier(h)
                if sample_answer:
                    answer = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)[:, 0]
                else:
                    answer = logits.argmax(-1)
                action = self._action(np.zeros((n, 2), np.float32), answer.cpu().numpy() + 1)
            obs, reward, terminated, truncated, info = vec.step(action)
            rewards.append(np.asarray(reward, dtype=np.float32))
            done = np.asarray(terminated) | np.asarray(truncated)
            if t < self.glimpses - 1 and done.any():
                raise RuntimeError(f"{self.run.env} ended an episode before the answer (step {t})")
        if not done.all():
            raise RuntimeError(f"{self.run.env} did not end the episode at the answer")
        return {
            "logits": logits,
            "answer": answer,
            "label": np.asarray(info["label"]).reshape(n),
            "rewards": np.stack(rewards, 1),
            "loc_logp": torch.stack(loc_logp, 1) if loc_logp else None,
            "baselines": torch.stack(baselines, 1),
            "locations": np.stack(locations, 1),
            "hidden": hidden,
            "info": info,
        }

    def _play_stop(
        self,
        vec,
        obs: dict[str, np.ndarray],
        generator: torch.Generator | None,
        n: int,
        may_stop: bool = True,
    ) -> dict[str, Any]:
        """:meth:`_play` with the learned stop: after glimpse t < T - 1 each episode answers with
        probability ``sigmoid(stop_logit(h_t))`` (sampled with ``generator``; ``None``: when it is
        above 1/2), at glimpse T - 1 it must (``may_stop=False``: only then, the warm-up). Rows
        that have answered keep being stepped (the vector env resets them; those steps are
        ignored) until every row has answered.

        Per row: ``answer``, ``label``, ``reward`` (the answer's), ``glimpses`` and ``pixels``;
        per step: ``alive`` (B, L + 1), ``step_logits`` (B, L, C), ``baselines`` (B, L),
        ``stop_logp`` and ``loc_logp`` (B, min(L, T - 1)) when sampling, ``locations`` (B, L, 2).
        """
        T = self.glimpses
        state = self.model.initial_state(n, self.device)
        alive = np.ones(n, bool)
        answer = np.zeros(n, np.int64)
        label = np.zeros(n, np.int64)
        final = np.zeros(n, np.float32)
        glimpses = np.zeros(n, np.int64)
        pixels = np.zeros(n, np.int64)
        step_logits, baselines, loc_logp, stop_logp, locations, alive_t = [], [], [], [], [], []
        info: dict[str, Any] = {}
        for t in range(T):
            glimpse, loc = self._obs(obs)
            locations.append(obs["location"].copy())
            alive_t.append(alive.copy())
            h, state = self.model.step(glimpse, loc, state)
            baselines.append(self.model.value(h))
            logits = self.model.classifier(h)
            step_logits.append(logits)
            where = np.zeros((n, 2), np.float32)
            if t < T - 1:
                z = self.model.stop_logit(h)
                if generator is None:
                    stop = z.detach() > 0
                elif not may_stop:
                    stop = torch.zeros(z.shape, dtype=torch.bool, device=z.device)
                else:
                    u = torch.rand(z.shape, generator=generator, device=z.device)
                    stop = u < torch.sigmoid(z.detach())
                    stop_logp.append(
                        -F.binary_cross_entropy_with_logits(z, stop.float(), reduction="none")
                    )
                sample, logp = sample_location(
                    self.model.location_mean(h), self.cfg.loc_std, generator
                )
                if logp is not None:
                    loc_logp.append(logp)
                where = sample.cpu().numpy()
                ends = stop.cpu().numpy() & alive
            else:
                ends = alive.copy()
            guess = logits.argmax(-1).cpu().numpy()
            obs, reward, terminated, truncated, info = vec.step(
                self._action(where, np.where(ends, guess + 1, 0))
            )
            done = np.asarray(terminated) | np.asarray(truncated)
            if ((done & alive) != ends).any():
                raise RuntimeError(f"{self.run.env} did not end exactly the answered episodes")
            if ends.any():
                answer[ends] = guess[ends]
                label[ends] = np.asarray(info["label"]).reshape(n)[ends]
                final[ends] = np.asarray(reward, dtype=np.float32)[ends]
                glimpses[ends] = np.asarray(info["glimpses"])[ends]
                pixels[ends] = np.asarray(info["pixels_sensed"])[ends]
            alive &= ~ends
            if not alive.any():
                break
        alive_t.append(alive)
        return {
            "logits": torch.stack(step_logits, 1)[
                torch.arange(n, device=self.device),
                torch.as_tensor(glimpses - 1, device=self.device),
            ],
            "answer": torch.as_tensor(answer, device=self.device),
            "label": label,
            "reward": final,
            "rewards": final[:, None],
            "glimpses": glimpses,
            "pixels": pixels,
            "alive": np.stack(alive_t, 1),
            "step_logits": torch.stack(step_logits, 1),
            "stop_logp": torch.stack(stop_logp, 1) if stop_logp else None,
            "loc_logp": torch.stack(loc_logp, 1) if loc_logp else None,
            "baselines": torch.stack(baselines, 1),
            "locations": np.stack(locations, 1),
            "info": info,
        }

    def training_batch(self, iteration: int, **play: Any) -> dict[str, Any]:
        """Play iteration ``iteration``'s batch of episodes with sampled locations (:meth:`_play`
        with ``play``); adds ``returns`` (B, env steps): the rewards of each step and the later ones."""
        seed = iteration_seed(self.run.seed, iteration)
        generator = torch.Generator(device=self.device).manual_seed(seed & 0x7FFF_FFFF_FFFF)
        obs, _ = self.vec.reset(seed=seed)
        ep = self._play(self.vec, obs, generator, self.run.num_envs, **play)
        rewards = torch.as_tensor(ep["rewards"], device=self.device)
        ep["returns"] = rewards.flip(1).cumsum(1).flip(1)
        return ep

    # -- Trainer API ----------------------------------------------------------------------------
    def episode_losses(self, iteration: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Play iteration ``iteration``'s batch of episodes and build RAM's loss terms."""
        if self.learned_stop:
            warm = self.env_steps < self.cfg.stop_warmup * self.run.steps
            ep = self.training_batch(iteration, may_stop=not warm)
            labels = torch.as_tensor(ep["label"], dtype=torch.long, device=self.device)
            return ep, stop_loss(ep, labels, self.cfg)
        ep = self.training_batch(iteration, sample_answer=self.cfg.pure_rl)
        # return after decision t (locations t = 0..T-2, then the answer) = rewards of steps >= t
        returns = ep["returns"]
        labels = torch.as_tensor(ep["label"], dtype=torch.long, device=self.device)
        # decision t (t < T-1: the location of glimpse t+1; t = T-1: the answer) is taken from h_t
        # and judged against b_t = baseline(h_t)
        answer_logp = None
        if self.cfg.pure_rl:
            answer_logp = F.log_softmax(ep["logits"], -1).gather(1, ep["answer"][:, None])[:, 0]
            baselines = ep["baselines"]
        else:
            baselines = ep["baselines"][:, :-1]
            returns = returns[:, :-1]
        losses = hybrid_loss(
            ep["logits"], labels, ep["loc_logp"], baselines, returns, self.cfg, answer_logp
        )
        if self.cfg.step_ce > 0 and ep["hidden"]:
            early = self.model.classifier(torch.stack(ep["hidden"], 1))  # (B, T - 1, C)
            ce = F.cross_entropy(early.flatten(0, 1), labels.repeat_interleave(early.shape[1]))
            losses["step_ce"] = ce
            losses["total"] = losses["total"] + self.cfg.step_ce * ce
        return ep, losses

    def train_iteration(self) -> dict[str, float]:
        self.model.train()
        ep, losses = self.episode_losses(self.iteration)
        n = self.run.num_envs
        self._set_lr()
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        grad_norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        self.optimizer.step()
        self.iteration += 1
        steps = int(ep["glimpses"].sum()) if self.learned_stop else n * self.glimpses
        self.env_steps += steps
        extra = {}
        if self.learned_stop:
            extra = {
                "charts/glimpses": float(ep["glimpses"].mean()),
                "losses/stop": float(losses["stop"].detach()),
            }
        return {
            "env_steps": steps,
            "charts/reward": float(ep["rewards"].sum(1).mean()),
            **self.accuracy(ep),
            "charts/learning_rate": self.optimizer.param_groups[0]["lr"],
            "losses/total": float(losses["total"].detach()),
            "losses/classifier": float(losses["classifier"].detach()),
            "losses/reinforce": float(losses["reinforce"].detach()),
            "losses/baseline": float(losses["baseline"].detach()),
            "losses/grad_norm": grad_norm,
            **extra,
        }

    def accuracy(self, ep: dict[str, Any]) -> dict[str, float]:
        """The training batch's accuracy metrics (``charts/accuracy``: answers right)."""
        return {"charts/accuracy": float((ep["answer"].cpu().numpy() == ep["label"]).mean())}

    def _set_lr(self) -> None:
        set_decayed_lr(self.optimizer, self.lr, self.cfg.lr_final, self.env_steps, self.run.steps)

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        self.model.eval()
        wrong = glimpses = pixels = 0.0
        wrong_mc = 0.0
        k = max(1, self.cfg.mc_samples)
        for vec, obs, start, index, used in self.fixed_batches(split, episodes):
            batch = vec.num_envs
            ep = self._play(vec, obs, None, batch)
            wrong += float((ep["answer"].cpu().numpy() != ep["label"])[:used].sum())
            looked = ep["info"] if "glimpses" not in ep else {"pixels_sensed": ep["pixels"], **ep}
            glimpses += float(np.asarray(looked["glimpses"])[:used].sum())
            pixels += float(np.asarray(looked["pixels_sensed"])[:used].sum())
            if k > 1:
                probs = 0.0
                for j in range(k):
                    gen = torch.Generator(device=self.device).manual_seed(
                        iteration_seed(self.run.seed, start, j, 7) & 0x7FFF_FFFF_FFFF
                    )
                    obs, _ = vec.reset(options={"split": split, "index": index})
                    probs = probs + F.softmax(self._play(vec, obs, gen, batch)["logits"], -1)
                answer = probs.argmax(-1).cpu().numpy()
                wrong_mc += float((answer != ep["label"])[:used].sum())
        out = {
            "error": 100.0 * wrong / episodes,
            "glimpses": glimpses / episodes,
            "pixels": pixels / episodes,
            "episodes": float(episodes),
        }
        if k > 1:
            out["error_mc"] = 100.0 * wrong_mc / episodes
            out["glimpses_mc"] = out["glimpses"] * k
            out["mc_samples"] = float(k)
        return out

    def fixed_batches(self, split: str, episodes: int):
        """Play the first ``episodes`` fixed canvases of ``split`` in batches of ``eval_batch``:
        yields ``(vec, obs, start, index, used)`` after resetting the evaluation vector env to
        canvases ``index`` (the last batch wraps around; only its first ``used`` rows count)."""
        batch = min(self.cfg.eval_batch, episodes)
        if self._eval_vec is None or self._eval_vec.num_envs != batch:
            if self._eval_vec is not None:
                self._eval_vec.close()
            self._eval_vec = self._make_vec(batch)
        vec = self._eval_vec
        for start in range(0, episodes, batch):
            index = np.arange(start, start + batch) % max(episodes, 1)
            obs, _ = vec.reset(options={"split": split, "index": index})
            yield vec, obs, start, index, min(batch, episodes - start)

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        if "optimizer" in state:  # (not in a weights-only copy: agents.cli.weights_only)
            self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    @torch.no_grad()
    def trace(self, split: str, index: int) -> dict[str, Any]:
        ep, image = self.trace_episode(split, index)
        return {
            "image": image,
            "label": int(ep["label"][0]),
            "prediction": int(ep["answer"][0]),
            "locations": ep["locations"][0][: int(ep.get("glimpses", [self.glimpses])[0])],
            "probabilities": F.softmax(ep["logits"], -1)[0].cpu().numpy(),
        }

    def trace_episode(self, split: str, index: int) -> tuple[dict[str, Any], np.ndarray]:
        """(:meth:`_play`'s record, the canvas) of fixed canvas ``index`` of ``split``, played with
        the mean locations."""
        self.model.eval()
        vec = self._make_vec(1)
        try:
            obs, _ = vec.reset(options={"split": split, "index": np.array([index])})
            ep = self._play(vec, obs, None, 1)
            image = _fixed_image(self.run.env, self.env_kwargs, split, index)
        finally:
            vec.close()
        return ep, image

    def close(self) -> None:
        self.vec.close()
        if self._eval_vec is not None:
            self._eval_vec.close()


def _fixed_image(env_id: str, env_kwargs: dict, split: str, index: int) -> np.ndarray:
    """Canvas ``index`` of the fixed ``split`` of ``env_id``, (S, S) uint8."""
    env = gym.make(env_id, **env_kwargs)
    try:
        images, _ = env.unwrapped.canvas.fixed(split, np.array([index]))
    finally:
        env.close()
    return np.asarray(images[0])
