"""Rendering of every registered id, headless (SDL_VIDEODRIVER=dummy, set in conftest):
``rgb_array`` frames of one shape and dtype at every step, ``human`` opens and closes a window,
and ``RecordVideo`` writes a video file."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs

ALL_IDS = glimpse_envs.registered_ids()
VISUAL_IDS = [
    i for i in ALL_IDS if gym.spec(i).entry_point == "glimpse_envs.glimpse_env:GlimpseEnv"
]


def _make(env_id: str, tiny, **kwargs) -> gym.Env:
    """The env, on the tiny stand-in dataset for the visual ids (offline and fast)."""
    if env_id in VISUAL_IDS:
        kwargs["dataset"] = tiny
    return gym.make(env_id, **kwargs)


def _frames(env: gym.Env, steps: int, seed: int = 0) -> list[np.ndarray]:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    frames = [env.render()]
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frames.append(env.render())
        if terminated or truncated:
            break
    return frames


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_render_modes_and_fps_declared(env_id, tiny):
    env = _make(env_id, tiny)
    modes = env.metadata["render_modes"]
    assert "rgb_array" in modes and "human" in modes
    assert 1 <= env.metadata["render_fps"] <= 60
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_rgb_array_frames_keep_one_shape(env_id, tiny):
    env = _make(env_id, tiny, render_mode="rgb_array")
    shapes, dtypes = set(), set()
    for seed in (0, 1):  # two episodes: the shape may not depend on the episode either
        for frame in _frames(env, 40, seed):
            assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
            shapes.add(frame.shape)
            dtypes.add(frame.dtype)
    env.close()
    assert dtypes == {np.dtype(np.uint8)}
    assert len(shapes) == 1, (
        f"{env_id}: rgb_array frames change shape within/between episodes: {shapes}"
    )


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_human_window_opens_and_closes(env_id, tiny):
    pygame = pytest.importorskip("pygame")
    env = _make(env_id, tiny, render_mode="human")
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 1000}  # no waiting
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert pygame.display.get_init() and pygame.display.get_surface() is not None
    width, height = pygame.display.get_surface().get_size()
    env.close()
    assert not pygame.display.get_init()
    assert width >= 32 and height >= 32


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_record_video_writes_a_file(env_id, tiny, tmp_path):
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(
        _make(env_id, tiny, render_mode="rgb_array"),
        str(tmp_path),
        episode_trigger=lambda episode: episode == 0,
        disable_logger=True,
    )
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(4):  # a short episode
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0


def _caption(width: int, lines: list[tuple[str, tuple]], height: int = 20) -> np.ndarray:
    """What a caption with these (text, colour) lines looks like, drawn independently."""
    from glimpse_envs import drawing

    bar = drawing.blank(height, width)
    for k, (s, color) in enumerate(lines):
        drawing.text(bar, 2, 3 + 9 * k, s, color)
    return bar


def test_visual_frames_carry_a_caption_with_the_answer(tiny):
    from glimpse_envs import drawing

    env = gym.make("glimpse_envs/MNIST-v0", dataset=tiny, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert np.array_equal(
        frame[-20:],
        _caption(
            frame.shape[1], [("MNIST-v0  GLIMPSE 1/6", drawing.WHITE), ("LOOKING", drawing.WHITE)]
        ),
    )
    env.step(np.array([1, 1, 0]))
    _, _, _, _, info = env.step(np.array([2, 2, 1]))  # answers 0
    label, frame = int(info["label"]), env.render()
    color = drawing.WHITE if label == 0 else drawing.RED
    assert np.array_equal(
        frame[-20:],
        _caption(
            frame.shape[1],
            [("MNIST-v0  GLIMPSE 2/6", drawing.WHITE), (f"ANSWER 0 LABEL {label}", color)],
        ),
    )


def test_tape_frames_run_time_left_to_right_with_a_caption():
    from glimpse_envs import drawing, tape_render

    env = gym.make("glimpse_envs/Copy-v0", min_length=3, max_length=3, render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(5):  # stay on the memory tape's first cells, moving right, writing nothing
        env.step(np.array([0, 1, 0, 0]))
    frame = env.render()
    m = env.unwrapped._core.m
    x0 = 4 * (tape_render.CELL_W + 2) - 2 + 6  # the heads-over-time panel starts here
    trace = frame[
        9 : 9 + m * tape_render.CELL_H, x0 : x0 + tape_render.TRACE_STEPS * tape_render.STEP_W
    ]
    blue = np.all(trace == drawing.BLUE, axis=-1)
    cols = np.flatnonzero(blue.any(0)) // tape_render.STEP_W  # steps with a memory-head mark
    rows = [
        np.flatnonzero(blue[:, c * tape_render.STEP_W].any() and blue[:, c * tape_render.STEP_W])[0]
        // tape_render.CELL_H
        for c in sorted(set(cols))
    ]
    assert sorted(set(cols)) == list(range(tape_render.TRACE_STEPS - 5, tape_render.TRACE_STEPS))
    assert rows == [1, 2, 3, 4, 5]  # later steps to the right, the head one cell lower each
    caption = frame[9 + m * tape_render.CELL_H : 9 + m * tape_render.CELL_H + 20, : frame.shape[1]]
    assert np.array_equal(
        caption,
        _caption(frame.shape[1], [("Copy-v0  STEP 5", drawing.WHITE), ("OUT 0/3", drawing.WHITE)]),
    )
