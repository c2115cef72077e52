"""A REINFORCE tape agent in the spirit of the RL Neural Turing Machine (Zaremba & Sutskever 2015).

The agent plays a tape env's native vector env (``autoreset_mode="Disabled"``, one whole episode
per sub-env per iteration, see :func:`agents.tape_eval.play_episodes`) with an LSTM controller.
Each step it reads the observation (symbol under the input head, symbol under the memory head,
input exhausted) and its own previous action, all embedded, and outputs five heads::

    input move   Categorical(I)         sampled, REINFORCE
    memory move  Categorical(3)         sampled, REINFORCE
    write        Categorical(3)         sampled, REINFORCE   (0 none, 1 store the symbol under
                                                              the input head, 2 erase)
    emit         Categorical(2)         sampled, REINFORCE   (emit a symbol now or not)
    symbol       Categorical(V_out)     see below
    baseline     b_t = w . h_t.detach()  squared error against the return

The env action's output is ``symbol + 1`` when ``emit`` is 1, else 0. With ``output="read"`` the
emit head has a third choice: emit the data symbol under the memory head (the content comes from
the tape, not from the controller; 1 then means the symbol head's symbol, for markers), so an agent
need not keep the sequence in its LSTM state, which a 128-unit controller can do for a few symbols
and which does not generalise to longer sequences. The write head chooses
*whether* to store what the input head reads, not which of the V_in symbols to write: the content
comes from the input, as the RL-NTM's controller writes a vector computed from what it reads
(``write="symbol"`` gives the env's whole write action, Categorical(V_in + 1), instead: with 258
symbols REINFORCE must then find the right one by chance).

* **hybrid** (default, documented as such): the symbol is the argmax of its head and the head is
  trained by cross-entropy on the symbol the task expects next, at the steps where the agent
  emits. The expected symbol is the env's own target, read from the vector env's state
  (``TapeVectorEnv.teacher_symbols()``: the next unmatched target) -- a teacher signal, never an observation,
  in the same way RAM's classifier learns from the label the env reports. Head moves, writes and
  when to emit are still learned by REINFORCE only.
* **pure RL** (``pure_rl=True``): the symbol is sampled too and learned by REINFORCE from the env's
  reward alone.

REINFORCE uses the undiscounted (``gamma``) return-to-go of the env's rewards (+1 per correct
symbol, -0.5 and the end for a wrong one, -1 on timeout) minus the learned baseline, plus an
entropy bonus. The env's own per-instance curriculum sets the lengths; its current lengths are
saved in the checkpoint and restored on ``--resume``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.base import RunConfig, Trainer, iteration_seed, option
from agents.tape_eval import (
    DEFAULT_EPISODES,
    curricula_state,
    evaluate_tape_policy,
    load_curricula_state,
    make_tape_vec,
    play_episodes,
    trace_tape_policy,
)
from glimpse_envs.tape_tasks import emit_read

HEADS = ("input_move", "memory_move", "write", "emit", "symbol")


@dataclass
class Config:
    """Tape REINFORCE hyperparameters (``train.py --agent tape-reinforce`` flags)."""

    hidden: int = option(128, "LSTM controller units")
    embed: int = option(32, "embedding size of each observed symbol")
    lr: float = option(1e-3, "Adam learning rate (train.py --lr overrides it when > 0)")
    pure_rl: bool = option(False, "sample the output symbol too and learn it by REINFORCE only")
    write: str = option(
        "input",
        "write head: 'input' (none / store the input symbol / erase) or "
        "'symbol' (any input symbol, the env's whole write action)",
    )
    output: str = option(
        "symbol",
        "emit head: 'symbol' (none / the symbol head's symbol) or 'read' "
        "(also: the data symbol under the memory head)",
    )
    gamma: float = option(1.0, "discount of the return-to-go")
    ent_coef: float = option(0.01, "entropy bonus of the sampled heads")
    baseline_weight: float = option(0.5, "weight of the baseline's squared error")
    grad_clip: float = option(1.0, "clip the global gradient norm to this (0: no clipping)")
    eval_batch: int = option(100, "episodes played in parallel during evaluation")


class Controller(nn.Module):
    """LSTM controller with the five action heads and a baseline."""

    def __init__(self, nvec: np.ndarray, input_size: int, output_size: int, cfg: Config):
        super().__init__()
        if cfg.write not in ("input", "symbol"):
            raise ValueError(f"write must be 'input' or 'symbol', got {cfg.write!r}")
        if cfg.output not in ("symbol", "read"):
            raise ValueError(f"output must be 'symbol' or 'read', got {cfg.output!r}")
        self.emit_size = 3 if cfg.output == "read" else 2
        # head sizes: input move, memory move, write, output
        self.nvec = [int(x) for x in nvec]
        if cfg.write == "input":
            self.nvec[2] = 3
        self.output_size = output_size
        self.emb_input = nn.Embedding(input_size, cfg.embed)
        self.emb_memory = nn.Embedding(input_size, cfg.embed)
        self.emb_done = nn.Embedding(2, 4)
        # previous action: input move, memory move, write, emit (one-hot each)
        self.prev_size = self.nvec[0] + self.nvec[1] + self.nvec[2] + self.emit_size
        self.lstm = nn.LSTMCell(2 * cfg.embed + 4 + self.prev_size, cfg.hidden)
        self.heads = nn.ModuleDict(
            {
                "input_move": nn.Linear(cfg.hidden, self.nvec[0]),
                "memory_move": nn.Linear(cfg.hidden, self.nvec[1]),
                "write": nn.Linear(cfg.hidden, self.nvec[2]),
                "emit": nn.Linear(cfg.hidden, self.emit_size),
                "symbol": nn.Linear(cfg.hidden, output_size),
            }
        )
        self.baseline = nn.Linear(cfg.hidden, 1)
        self.hidden = cfg.hidden

    def initial(self, n: int, device) -> dict[str, torch.Tensor]:
        z = torch.zeros(n, self.hidden, device=device)
        return {"h": z, "c": z.clone(), "prev": torch.zeros(n, self.prev_size, device=device)}

    def forward(
        self, obs: dict[str, torch.Tensor], state: dict[str, torch.Tensor], starts: torch.Tensor
    ):
        keep = (~starts).float()[:, None]
        h, c, prev = state["h"] * keep, state["c"] * keep, state["prev"] * keep
        x = torch.cat(
            [
                self.emb_input(obs["input"]),
                self.emb_memory(obs["memory"]),
                self.emb_done(obs["input_done"]),
                prev,
            ],
            1,
        )
        h, c = self.lstm(x, (h, c))
        logits = {k: head(h) for k, head in self.heads.items()}
        return h, c, logits, self.baseline(h.detach()).squeeze(-1)

    def prev_action(self, parts: list[torch.Tensor]) -> torch.Tensor:
        sizes = [self.nvec[0], self.nvec[1], self.nvec[2], self.emit_size]
        return torch.cat([F.one_hot(p, s).float() for p, s in zip(parts, sizes)], 1)


class TapeReinforceTrainer(Trainer):
    """LSTM controller with hard heads learned by REINFORCE on the tape envs."""

    name = "tape-reinforce"
    description = (
        "RL-NTM-style LSTM controller: head moves/writes by REINFORCE, outputs hybrid or RL"
    )
    families = ("tape",)
    attention = "hard"
    Config = Config

    def __init__(self, run: RunConfig, cfg: Config):
        super().__init__(run, cfg)
        self.device = torch.device(run.device)
        self.vec = make_tape_vec(run.env, run.num_envs, run.env_kwargs)
        config = self.vec.unwrapped.config
        self.task = config.task
        torch.manual_seed(run.seed)
        self._build()
        self.iteration = 0
        self.env_steps = 0

    def _build(self) -> None:
        """The controller and its optimiser, for ``self.cfg``."""
        nvec = self.vec.unwrapped.config.nvec
        self.model = Controller(nvec, self.task.input_size, self.task.output_size, self.cfg).to(
            self.device
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.run.lr or self.cfg.lr)

    # -- acting ---------------------------------------------------------------------------------
    def _torch_obs(self, obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            k: torch.as_tensor(np.asarray(v), dtype=torch.long, device=self.device)
            for k, v in obs.items()
        }

    def _policy(self, vec, generator: torch.Generator | None, record: dict | None):
        """``act(obs, starts)``; samples with ``generator`` (None: greedy), records for training."""
        n = vec.num_envs
        state = self.model.initial(n, self.device)
        sample_symbol = self.cfg.pure_rl

        def act(obs, starts):
            starts_t = torch.as_tensor(np.asarray(starts), device=self.device)
            h, c, logits, value = self.model(self._torch_obs(obs), state, starts_t)
            chosen: dict[str, torch.Tensor] = {}
            for key in HEADS:
                if generator is None or (key == "symbol" and not sample_symbol):
                    chosen[key] = logits[key].argmax(-1)
                else:
                    probs = F.softmax(logits[key], -1)
                    chosen[key] = torch.multinomial(probs, 1, generator=generator)[:, 0]
            parts = [chosen[key] for key in HEADS]
            state["h"], state["c"] = h, c
            state["prev"] = self.model.prev_action(parts[:4])
            if record is not None:
                logp, ent = 0.0, 0.0
                for key in HEADS if sample_symbol else HEADS[:4]:
                    lp = F.log_softmax(logits[key], -1)
                    logp = logp + lp.gather(1, chosen[key][:, None])[:, 0]
                    ent = ent - (lp.exp() * lp).sum(-1)
                record["logp"].append(logp)
                record["entropy"].append(ent)
                record["value"].append(value)
                record["emit"].append(parts[3] == 1)  # the symbol head's symbol was emitted
                if not sample_symbol:
                    expected = torch.as_tensor(vec.unwrapped.teacher_symbols(), device=self.device)
                    record["symbol_logits"].append(logits["symbol"])
                    record["expected"].append(expected)
            return self._env_action(obs, parts)

        return act

    def _env_action(self, obs: dict[str, np.ndarray], parts: list[torch.Tensor]) -> np.ndarray:
        """The env's actions from the five heads' choices."""
        emit, symbol = parts[3], parts[4]
        output = torch.where(emit == 1, symbol + 1, torch.zeros_like(symbol))
        a = torch.stack([parts[0], parts[1], parts[2], output], 1).cpu().numpy().astype(np.int64)
        if self.cfg.output == "read":  # 2: the data symbol under the memory head
            read = emit_read(obs["memory"], self.task.num_symbols)
            a[:, 3] = np.where(emit.cpu().numpy() == 2, read, a[:, 3])
        if self.cfg.write == "input":  # 0 none, 1 store the symbol read (env: j + 1), 2 erase (1)
            w = a[:, 2]
            a[:, 2] = np.where(w == 1, np.asarray(obs["input"]) + 1, np.where(w == 2, 1, 0))
        return a

    # -- Trainer API ----------------------------------------------------------------------------
    def train_iteration(self) -> dict[str, float]:
        seed = iteration_seed(self.run.seed, self.iteration)
        generator = torch.Generator(device=self.device).manual_seed(seed & 0x7FFF_FFFF_FFFF)
        record: dict[str, list] = {
            k: [] for k in ("logp", "entropy", "value", "emit", "symbol_logits", "expected")
        }
        self.model.train()
        ep = play_episodes(self.vec, self._policy(self.vec, generator, record), seed=seed % 2**31)
        active = torch.as_tensor(ep["active"], device=self.device).float()  # (T, N)
        rewards = torch.as_tensor(ep["rewards"], device=self.device)
        returns = torch.zeros_like(rewards)
        running = torch.zeros(rewards.shape[1], device=self.device)
        for t in range(rewards.shape[0] - 1, -1, -1):
            running = rewards[t] + self.cfg.gamma * running
            returns[t] = running
        logp = torch.stack(record["logp"])
        values = torch.stack(record["value"])
        entropy = torch.stack(record["entropy"])
        count = active.sum().clamp(min=1.0)
        adv = (returns - values).detach()
        reinforce = -(logp * adv * active).sum() / count
        baseline = ((returns - values) ** 2 * active).sum() / count
        ent = (entropy * active).sum() / count
        loss = reinforce + self.cfg.baseline_weight * baseline - self.cfg.ent_coef * ent
        supervised = torch.zeros((), device=self.device)
        if not self.cfg.pure_rl:
            logits = torch.stack(record["symbol_logits"])  # (T, N, V)
            expected = torch.stack(record["expected"])
            mask = (torch.stack(record["emit"]) & (expected >= 0)).float() * active
            ce = F.cross_entropy(
                logits.flatten(0, 1), expected.clamp(min=0).flatten(), reduction="none"
            )
            supervised = (ce * mask.flatten()).sum() / mask.sum().clamp(min=1.0)
            loss = loss + supervised
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        grad_norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        self.optimizer.step()
        self.iteration += 1
        self.env_steps += ep["steps"]
        curricula = self.vec.unwrapped.curricula
        return {
            "env_steps": ep["steps"],
            "charts/reward": float(ep["returns"].mean()),
            "charts/success": float(ep["success"].mean()),
            "charts/length": float(ep["length"].mean()),
            "charts/curriculum_max": float(np.mean([c.current for c in curricula])),
            "losses/reinforce": float(reinforce.detach()),
            "losses/baseline": float(baseline.detach()),
            "losses/entropy": float(ent.detach()),
            "losses/supervised": float(supervised.detach()),
            "losses/grad_norm": grad_norm,
        }

    @torch.no_grad()
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        self.model.eval()
        return evaluate_tape_policy(
            self.run.env,
            self.run.env_kwargs,
            self._greedy_policy,
            split,
            episodes,
            self.run.seed,
            batch=self.cfg.eval_batch,
        )

    def _greedy_policy(self):
        holder: dict[str, Any] = {"state": None}

        def act(obs, starts):
            n = len(np.asarray(starts))
            if holder["state"] is None:
                holder["state"] = self.model.initial(n, self.device)
            state = holder["state"]
            h, c, logits, _ = self.model(
                self._torch_obs(obs), state, torch.as_tensor(np.asarray(starts), device=self.device)
            )
            parts = [logits[k].argmax(-1) for k in HEADS]
            state["h"], state["c"] = h, c
            state["prev"] = self.model.prev_action(parts[:4])
            return self._env_action(obs, parts)

        return act

    def default_episodes(self, split: str) -> int:
        return DEFAULT_EPISODES.get(split, 500)

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "curricula": curricula_state(self.vec),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        rows = state["model"].get("heads.write.weight")
        if self.cfg.write == "input" and rows is not None and rows.shape[0] != 3:
            # a checkpoint from before the 'write' option: its write head is the env's whole action
            self.cfg.write = "symbol"
            self._build()
        self.model.load_state_dict(state["model"])
        if "optimizer" in state:  # (not in a weights-only copy: agents.cli.weights_only)
            self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])
        load_curricula_state(self.vec, state["curricula"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    @torch.no_grad()
    def trace(self, split: str, index: int, length: int | None = None) -> dict[str, Any]:
        self.model.eval()
        return trace_tape_policy(
            self.run.env, self.run.env_kwargs, self._greedy_policy(), split, index, length
        )

    def close(self) -> None:
        self.vec.close()
