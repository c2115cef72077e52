"""No-attention baselines: MLP, CNN and LSTM (canvas rows and tape sequences)."""

import numpy as np
import torch
from _supervised_helpers import check_state_roundtrip, make_trainer, train

from agents.base import RunConfig
from agents.baselines import (
    CNN,
    MLP,
    CNNTrainer,
    LSTMConfig,
    LSTMPixelTrainer,
    LSTMSequenceTrainer,
    LSTMTrainer,
    MLPTrainer,
)


def test_mlp_beats_chance_on_mnist():
    tr = make_trainer(MLPTrainer, "glimpse_envs/MNIST-v0")
    assert tr.num_parameters() == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    metrics = train(tr, 200)
    assert metrics["env_steps"] == 64  # one step per canvas
    result = tr.evaluate("test", 1000)
    # chance 90 %; 200 updates of 64 reach about 8-12 %
    assert result["error"] < 25.0, result
    assert result["pixels"] == 784
    trace = tr.trace("test", 0)
    assert trace["saliency"].shape == (28, 28) and trace["saliency"].max() > 0
    check_state_roundtrip(tr)


def test_cnn_beats_chance_on_mnist_and_both_archs_fit_every_canvas():
    tr = make_trainer(CNNTrainer, "glimpse_envs/MNIST-v0")
    train(tr, 150)
    assert tr.evaluate("test", 500)["error"] < 30.0
    assert tr.trace("test", 1)["saliency"].shape == (28, 28)
    for size in (28, 60, 100):
        for arch in ("conv2", "ram"):
            assert CNN(size, arch)(torch.zeros(2, size, size)).shape == (2, 1, 10)
    assert MLP(60, 64, n_targets=2)(torch.zeros(3, 60, 60)).shape == (3, 2, 10)


def test_lstm_dispatches_on_the_family_and_reads_rows():
    tr = make_trainer(LSTMTrainer, "glimpse_envs/MNIST-v0", hidden=32, batch_size=32)
    assert isinstance(tr, LSTMTrainer) and isinstance(tr.impl, LSTMPixelTrainer)
    m = train(tr, 30)
    assert m["env_steps"] == 32 * 28  # one step per row
    assert tr.evaluate("test", 100)["pixels"] == 784


def test_lstm_on_copy_sequences_beats_chance():
    from glimpse_envs.tape_tasks import CopyTask

    torch.set_num_threads(1)
    cfg = LSTMConfig(hidden=64, layers=1, max_length=3, eval_lengths=[3], batch_size=16)
    tr = LSTMTrainer(RunConfig(env="x", agent="lstm", seed=0), cfg, task=CopyTask(bits=4))
    assert isinstance(tr, LSTMTrainer) and isinstance(tr.impl, LSTMSequenceTrainer)
    train(tr, 400)
    result = tr.evaluate("test", 200)
    assert result["bit_errors@3"] < 4.0, result  # chance: 6 of 12 bits
    assert result["memory_cells"] == 0
    trace = tr.trace("test", 0)
    assert trace["saliency"].shape == (4 + 3, 5)
    check_state_roundtrip(tr)
    assert np.isfinite(trace["saliency"]).all()
