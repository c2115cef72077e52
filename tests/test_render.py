"""agents/render.py: figures read back with the stated sizes and frame counts, same bytes twice,
every agent's real trace draws, and ``render_checkpoint`` / ``main`` write files and an index."""

from __future__ import annotations

import dataclasses
import itertools

import gymnasium as gym
import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image

from agents import render
from agents.base import RunConfig
from glimpse_envs.retina import Retina, TileSensor
from glimpse_envs.tape_tasks import CopyTask


def _image(size: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)


def _hard(steps: int = 5, size: int = 60) -> dict:
    locs = np.random.default_rng(1).uniform(-1, 1, (steps, 2))
    return {"image": _image(size), "label": 3, "prediction": 5, "locations": locs}


def _draw(steps: int = 4, size: int = 60) -> dict:
    rng = np.random.default_rng(2)
    grid = np.stack(
        [
            rng.uniform(10, 50, steps),
            rng.uniform(10, 50, steps),
            np.full(steps, 2.0),
            np.ones(steps),
            np.ones(steps),
        ],
        1,
    )
    return {
        "image": _image(size),
        "label": 1,
        "prediction": 1,
        "filters": rng.random((steps, size, size)),
        "grid": grid,
        "read_n": 6,
    }


def _tape(hard: bool) -> tuple[dict, CopyTask]:
    task = CopyTask(bits=3)
    inputs, targets = task.sample(np.random.default_rng(0), 1, 5)
    T = inputs.shape[1] + targets.shape[1]
    heads = np.zeros((T, 128))
    heads[np.arange(T), (np.arange(T) - 2) % 128] = 1.0  # wraps round the circular memory
    if hard:
        outputs = np.full(T, -1)
        outputs[-5:] = targets[0]
        outputs[-1] = (targets[0, -1] + 1) % 8  # one wrong symbol
        trace = {
            "inputs": inputs[0],
            "targets": targets[0],
            "outputs": outputs,
            "read": heads,
            "write": heads,
            "input_positions": np.minimum(np.arange(T), inputs.shape[1]),
        }
    else:
        soft = np.random.default_rng(3).random((T, 128)) ** 8
        trace = {
            "inputs": inputs[0],
            "targets": targets[0],
            "outputs": targets[0],
            "output_bits": task.target_bits(targets[0]),
            "read": soft,
            "write": soft,
            "length": 5,
        }
    return trace, task


CASES = {
    "hard-retina": (lambda: _hard(), lambda: Retina(size=12, scales=3), 5),
    "hard-tiles": (lambda: _hard(3, 28), lambda: TileSensor(grid=3, canvas_size=28), 3),
    "draw": (lambda: _draw(), lambda: None, 4),
    "soft-tiles": (lambda: {**_draw(3, 28), "grid": None}, lambda: None, 3),
    "saliency": (
        lambda: {
            "image": _image(28),
            "label": np.array([4, 2]),
            "prediction": np.array([4, 7]),
            "saliency": _image(28) / 255.0,
        },
        lambda: None,
        2,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_visual_figure_svg_and_gif_read_back(case, tmp_path):
    make_trace, make_sensor, frames = CASES[case]
    episode = render.VisualEpisode(make_trace(), make_sensor(), title="TEST")
    expected = episode.frame()
    png, svg, gif = render.render_trace(
        make_trace(), tmp_path, "ep", sensor=make_sensor(), title="TEST"
    )
    assert (png.name, svg.name, gif.name) == ("ep.png", "ep.svg", "ep.gif")
    with Image.open(png) as im:  # the matplotlib figure, larger than the pixel art
        assert im.size[0] > expected.shape[1] and im.size[1] >= 300
    assert "<text" in svg.read_text()
    with Image.open(gif) as im:  # the pixel-art animation, one frame per step
        assert im.size == (expected.shape[1], expected.shape[0])
        assert im.n_frames == frames
        assert im.info.get("loop") == 0


def test_frames_share_one_shape_and_show_each_step():
    episode = render.VisualEpisode(_hard(), Retina(size=12, scales=3))
    frames = episode.frames()
    assert len(frames) == 5 and len({f.shape for f in frames}) == 1
    assert all(f.dtype == np.uint8 for f in frames)
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    # the retina views on the right are the sensor's own glimpses
    views = Retina(size=12, scales=3)(_hard()["image"][None].repeat(5, 0), _hard()["locations"])
    assert np.allclose(episode.views, views)


@pytest.mark.parametrize("hard", [True, False], ids=["hard-heads", "ntm-weightings"])
def test_tape_figure(hard, tmp_path):
    trace, task = _tape(hard)
    png, svg = render.render_trace(trace, tmp_path, "tape", task=task, title="COPY")
    assert (png.suffix, svg.suffix) == (".png", ".svg")
    d = render.tape_data(trace, task)
    assert d["inputs"].shape[0] == d["T"] == len(trace["read"])  # time runs along axis 0
    if hard:
        assert (d["output_colors"] == render.WRONG).all(-1).any()  # the wrong output bit is red
        assert not d["success"] and d["right"] == 4
        # the used memory cells 126..127, 0..13 form one run, not the whole 128-cell memory
        rows = render._memory_rows(trace["read"])
        assert len(rows) < 40 and 127 in rows and 0 in rows
        assert np.array_equal(d["cells"], rows)
    else:
        assert d["success"] and d["delimiter"] == 5 and d["output_start"] == 6


def test_same_bytes_twice(tmp_path):
    trace, task = _tape(False)
    out = []
    for name in ("a", "b"):
        files = render.render_trace(_hard(), tmp_path / name, "v", sensor=Retina(12, 3))
        files += render.render_trace(_draw(), tmp_path / name, "d")
        files += render.render_trace(trace, tmp_path / name, "t", task=task)
        out.append([f.read_bytes() for f in files])
    assert out[0] == out[1]


class _StubTrainer:
    """A Trainer stand-in whose trace is a canvas of the env with random glimpse locations."""

    name, attention = "stub", "hard"

    def __init__(self, env_id: str, env_kwargs: dict):
        self.run = RunConfig(env=env_id, agent="stub", env_kwargs=env_kwargs)
        self.closed = False

    def trace(self, split: str, index: int) -> dict:
        env = gym.make(self.run.env, **self.run.env_kwargs)
        images, labels = env.unwrapped.canvas.fixed(split, np.array([index]))
        T = env.unwrapped.budget
        env.close()
        locs = np.random.default_rng(index).uniform(-1, 1, (T, 2))
        return {"image": images[0], "label": int(labels[0, 0]), "prediction": 0, "locations": locs}

    def close(self) -> None:
        self.closed = True


def test_render_checkpoint_and_main(tiny, tmp_path):
    trainer = _StubTrainer("glimpse_envs/ClutteredMNIST-v0", {"dataset": tiny})
    paths = render.render_checkpoint(trainer, 2, "test", tmp_path / "a")
    names = [p.name for p in paths]
    assert names == [
        "test_0000.png",
        "test_0000.svg",
        "test_0000.gif",
        "test_0001.png",
        "test_0001.svg",
        "test_0001.gif",
        "index.md",
    ]
    index = paths[-1].read_text()
    assert "test_0001.gif" in index and index.count("\n| ") == 3  # header + 2 episodes
    assert "the first 2 canvases of the fixed test split (0-1)" in index
    with Image.open(paths[2]) as im:
        assert im.n_frames == 8  # ClutteredMNIST's budget

    def load_trainer(path, device=None):
        assert path == "CKPT"
        return trainer, {"env": trainer.run.env, "agent": "stub", "env_steps": 10, "_path": path}

    out = tmp_path / "b"
    assert (
        render.main(["--checkpoint", "CKPT", "--episodes", "1", "--out", str(out)], load_trainer)
        == 0
    )
    assert trainer.closed
    assert sorted(p.name for p in out.iterdir()) == [
        "index.md",
        "test_0000.gif",
        "test_0000.png",
        "test_0000.svg",
    ]
    assert "--episodes 1" in (out / "index.md").read_text()
    assert (out / "test_0000.gif").read_bytes() == paths[2].read_bytes()


# every agent's own trace, untrained, on a tiny stand-in dataset: the renders accept it
AGENT_ENVS = [
    ("ram", "glimpse_envs/MNIST-v0", {}),
    ("draw", "glimpse_envs/MNIST-v0", {"glimpses": 2, "read_n": 4, "hidden": 16}),
    ("soft-tiles", "glimpse_envs/TiledMNIST-v0", {"hidden": 16}),
    ("cnn", "glimpse_envs/MNIST-v0", {"hidden": 16}),
    ("tape-reinforce", "glimpse_envs/Copy-v0", {"hidden": 16}),
    ("ntm", "glimpse_envs/Copy-v0", {"controller_size": 16, "eval_lengths": [3]}),
    ("lstm", "glimpse_envs/Copy-v0", {"hidden": 16, "layers": 1, "eval_lengths": [3]}),
]


@pytest.mark.parametrize(("agent", "env_id", "cfg"), AGENT_ENVS, ids=[a for a, _, _ in AGENT_ENVS])
def test_real_agent_traces_render(agent, env_id, cfg, tiny, tmp_path):
    torch = pytest.importorskip("torch")
    from agents import get_trainer

    torch.manual_seed(0)
    cls = get_trainer(agent)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    kwargs = {"dataset": tiny} if "MNIST" in env_id else {}
    run = RunConfig(env=env_id, agent=agent, num_envs=4, env_kwargs=kwargs)
    trainer = cls(run, cls.Config(**{k: v for k, v in cfg.items() if k in fields}))
    try:
        paths = render.render_checkpoint(trainer, 1, "test", tmp_path)
    finally:
        trainer.close()
    assert paths[-1].name == "index.md"
    for p in paths[:-1]:
        if p.suffix == ".svg":
            assert "<text" in p.read_text()
            continue
        with Image.open(p) as im:
            assert im.size[0] >= 100 and im.size[1] >= 100
