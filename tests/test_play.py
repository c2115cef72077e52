"""glimpse_envs/play.py: the mouse and key mappings, both games without a display, and the window
headless (SDL dummy driver, set in conftest)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from glimpse_envs import play
from glimpse_envs.retina import Retina


def test_mouse_to_location_corners_and_outside():
    assert play.mouse_to_location(0, 0, 256) == pytest.approx((-1 + 1 / 256, -1 + 1 / 256))
    assert play.mouse_to_location(255, 128, 256) == pytest.approx((1 - 1 / 256, 1 / 256))
    assert play.mouse_to_location(256, 10, 256) is None
    assert play.mouse_to_location(-1, 10, 256) is None


@pytest.mark.parametrize("grid", [3, 8, 16])
def test_grid_round_trip(grid):
    for i in range(grid):
        for j in range(grid):
            assert play.location_to_grid(play.grid_to_location(i, j, grid), grid) == (i, j)
    assert play.location_to_grid((-5.0, 5.0), grid) == (0, grid - 1)


def test_keys_to_digits():
    assert [play.key_to_digit(k) for k in ("0", "7", "[3]", "a", "space", "10")] == [
        0,
        7,
        3,
        None,
        None,
        None,
    ]


def test_visual_action_discrete_and_continuous(tiny):
    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny).unwrapped
    a = play.visual_action(env, (1.0, -1.0), 0)
    assert a.tolist() == [env.grid - 1, 0, 0] and env.action_space.contains(a)
    assert play.visual_action(env, (0.0, 0.0), 8).tolist() == [env.grid // 2, env.grid // 2, 8]
    cont = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny, continuous=True).unwrapped
    a = play.visual_action(cont, (0.25, -0.5), 4)
    assert cont.action_space.contains(a) and a[:2].tolist() == [0.25, -0.5]
    assert int(np.argmax(a[2:])) == 4  # the env's decision: answer class 3
    with pytest.raises(ValueError):
        play.visual_action(env, (0, 0), 11)


def test_sensor_squares_match_the_retina():
    image = np.zeros((1, 60, 60), np.uint8)
    squares = Retina(12, 3).squares((0.0, 0.0), 60)
    assert squares == [(24, 24, 12), (18, 18, 24), (6, 6, 48)]
    x0, y0, w = squares[0]
    image[0, y0 : y0 + w, x0 : x0 + w] = 255  # exactly the finest square: its view is all ones
    assert Retina(12, 3)(image, np.zeros((1, 2), np.float32))[0, 0].min() == 1.0


@pytest.mark.parametrize(
    ("keys", "action"),
    [
        (["space"], [0, 0, 0, 0]),
        (["d", "right", "w", "return"], [1, 1, 6, 0]),  # input symbol 5 is written as 5 + 1
        (["a", "left", "e", "space"], [2, 2, 1, 0]),
        (["i", "space"], [0, 0, 0, 5]),  # input code 5 = data symbol 4, emitted as 4 + 1
        (["m", "space"], [0, 0, 0, 3]),  # memory holds input code 3
        (["1", "2", "o", "space"], [0, 0, 0, 13]),
        (["d", "w", "backspace", "space"], [0, 0, 0, 0]),
    ],
)
def test_tape_keys(keys, action):
    composer = play.TapeKeys([3, 3, 20, 18])
    obs = {"input": 5, "memory": 3, "input_done": 0}
    out = [composer.press(k, obs) for k in keys]
    assert all(o is None for o in out[:-1])
    assert out[-1].tolist() == action
    assert composer.action.tolist() == [0, 0, 0, 0]  # cleared after the step


def test_tape_keys_respect_forbidden_moves():
    composer = play.TapeKeys([1, 3, 20, 18])  # a stream: the input head cannot be moved
    assert composer.press("a") is None and composer.press("d") is None
    assert composer.press("space").tolist() == [0, 0, 0, 0]
    composer = play.TapeKeys([2, 3, 20, 18])  # forward-only: right but not left
    composer.press("a")
    assert composer.action[0] == 0
    composer.press("d")
    assert composer.action[0] == 1


def test_visual_game_plays_an_episode(tiny):
    env = gym.make("glimpse_envs/MNIST-v0", dataset=tiny, render_mode="rgb_array")
    game = play.make_game(env)
    game.reset(seed=0)
    first = game.frame()
    assert first.dtype == np.uint8 and first.ndim == 3
    assert game.seen.max() > 0 and (game.seen == 0).any()  # only the glimpsed part is known
    game.handle(("motion", 10, 10))
    game.handle(("click", 10, 10))  # look at the top-left grid point
    assert int(game.obs["step"]) == 1 and game.path[-1] == (-1.0, -1.0)
    assert game.frame().shape == first.shape
    game.handle(("key", "7"))
    assert game.done and game.score[1] == 1
    assert game.result["prediction"] == 7
    end = game.frame()  # the env's own picture reveals the canvas
    assert end.shape[1] >= env.render().shape[1]
    game.handle(("key", "space"))
    assert not game.done
    game.handle(("key", "q"))
    assert not game.running


def test_tape_game_plays_an_episode():
    env = gym.make("glimpse_envs/Copy-v0", max_length=1, render_mode="rgb_array")
    game = play.make_game(env)
    game.reset(seed=0)
    assert game.frame().dtype == np.uint8
    assert int(game.obs["input"]) > 0
    game.handle(("key", "i"))  # emitting the symbol being read is too early: nothing stored
    game.handle(("key", "space"))
    assert game.done and game.score == [0, 1] and game.total == -0.5
    game.handle(("key", "space"))  # next episode
    game.handle(("key", "w"))  # copy of length 1: store the symbol, the memory head stays
    game.handle(("key", "space"))
    assert not game.done and game.obs["memory"] > 0
    game.handle(("key", "m"))  # the delimiter is in view: emit the symbol under the memory head
    game.handle(("key", "space"))
    assert len(game.history) == 2
    assert game.done and game.score == [1, 2] and game.total == 1.0
    assert game.frame().shape[0] > 40  # with the env's picture of the episode
    game.handle(("key", "space"))  # next episode
    assert not game.done and game.history == []


@pytest.mark.parametrize("env_id", ["glimpse_envs/MNIST-v0", "glimpse_envs/Copy-v0"])
def test_window_opens_and_closes_headless(env_id, tiny):
    pytest.importorskip("pygame")
    kwargs = {"dataset": tiny} if "MNIST" in env_id else {}
    events = [("motion", 5, 5), ("click", 5, 5), ("key", "3"), ("key", "q")]
    if "Copy" in env_id:
        events = [("key", "d"), ("key", "space"), ("key", "q")]
    score = play.play(env_id, seed=0, env_kwargs=kwargs, max_frames=20, events=events)
    assert score[1] in (0, 1)
    import pygame

    assert not pygame.display.get_init()


def test_headless_scripted_mode_prints_the_score(capsys):
    """``python -m glimpse_envs.play ID --episodes N --policy random`` opens no window."""
    assert play.main(["Copy-v0", "--episodes", "5", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "glimpse_envs/Copy-v0: 0/5 episodes right" in out and "random policy, headless" in out
    won, played, total = play.play_scripted(
        "glimpse_envs/Reverse-v0", 30, seed=1, env_kwargs={"max_length": 1, "min_length": 1}
    )
    assert played == 30 and 0 < won < 30  # chance solves some length-1 reversals, not all
