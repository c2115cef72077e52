"""Rendering of every registered id, headless (SDL_VIDEODRIVER=dummy, set in conftest):
``rgb_array`` frames of one shape and dtype at every step, ``human`` opens and closes a window,
and ``RecordVideo`` writes a video file."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs

ALL_IDS = glimpse_envs.registered_ids()
VISUAL_IDS = [i for i in ALL_IDS if str(gym.spec(i).entry_point).startswith("glimpse_envs.visual:")]



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
