"""Agents for glimpse-envs (torch): hard attention learned by RL, soft attention and no-attention
baselines learned by backprop, all on the same task generators.

``AGENTS`` maps each ``train.py --agent`` name to its :class:`agents.base.Trainer` class, imported
only when asked for, so ``--list`` stays fast.
"""

from __future__ import annotations

import importlib

AGENTS: dict[str, str] = {
    # hard attention (reinforcement learning)
    "ram": "agents.ram:RAMTrainer",
    "dram": "agents.dram:DRAMTrainer",
    "tape-reinforce": "agents.tape_reinforce:TapeReinforceTrainer",
    "ppo": "agents.sb3_agents:PPOTrainer",
    "maskable-ppo": "agents.sb3_agents:MaskablePPOTrainer",
    "recurrent-ppo": "agents.sb3_agents:RecurrentPPOTrainer",
    # soft attention (backprop)
    "soft-tiles": "agents.soft_tiles:SoftTilesTrainer",
    "draw": "agents.draw:DRAWTrainer",
    "ntm": "agents.ntm:NTMTrainer",
    "transformer": "agents.transformer:TransformerTrainer",
    "universal-transformer": "agents.transformer:UniversalTransformerTrainer",
    "vit": "agents.transformer:ViTTrainer",
    # no attention
    "lstm": "agents.baselines:LSTMTrainer",
    "mlp": "agents.baselines:MLPTrainer",
    "cnn": "agents.baselines:CNNTrainer",
}


def get_trainer(name: str):
    """The Trainer class of agent ``name``; a clear error lists the valid names."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; valid agents: {', '.join(AGENTS)}")
    module, cls = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), cls)
