"""Play an env yourself: ``python -m glimpse_envs.play ID`` opens a pygame window.

You see what the agent sees, nothing more, and learn how hard the task is through a retina.

Glimpse envs (``glimpse_envs/MNIST-v0``, ``ClutteredMNIST-v0``, ...): the dark field is the
canvas, of which you know only what your glimpses showed, painted back where they were taken at
the retina's resolution (coarse at the outer scales); the current glimpse, exactly the
observation, is on the right. Move the mouse to aim (the retina's squares snap to the action grid),
click to look, press a number key to answer (MultiMNIST: one key per digit, in reading order). At
the end the env's own picture reveals the canvas and your path.

Tape envs (``glimpse_envs/Copy-v0``, ...): you see the observation only: the symbol under the
input head, the symbol under the memory head, and whether the input is exhausted. Compose one
action, then press space to take it:

=====================  ============================================================
``a`` / ``d``          input head left / right (``forward``: ``d`` only; a stream moves by itself)
left / right arrow     memory head left / right
``w``                  write the symbol under the input head into memory (``e`` erases)
``i`` / ``m``          output the symbol under the input / memory head
digits, then ``o``     output that symbol number (output code)
backspace              clear the action being composed
space / return         take the step
=====================  ============================================================

Everywhere: ``r`` new episode, ``q`` or escape quits. pygame (``pip install "glimpse-envs[human]"``,
the pygame-ce distribution) is imported only when the window opens; the game logic
(:class:`VisualPlay`, :class:`TapePlay`, and the mouse and key mappings) is plain numpy, so it runs
and is tested without a display.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import DependencyNotInstalled

from glimpse_envs import drawing as dr

FIELD_PX = 256
DIM: dr.Color = (24, 24, 24)
CYAN: dr.Color = (60, 220, 220)


# ---------------------------------------------------------------------------------------------
# pure mappings
# ---------------------------------------------------------------------------------------------
def mouse_to_location(px: float, py: float, field_px: int) -> tuple[float, float] | None:
    """The location (x, y) in [-1, 1] under pixel (px, py) of a square field ``field_px`` wide.

    Pixel centres map linearly, (-1, -1) at the top-left corner; None outside the field.
    """
    if not (0 <= px < field_px and 0 <= py < field_px):
        return None
    return ((px + 0.5) / field_px * 2 - 1, (py + 0.5) / field_px * 2 - 1)


def location_to_grid(location: tuple[float, float], grid: int) -> tuple[int, int]:
    """The action-grid point (column, row) nearest a location; point j is at ``-1 + 2j/(G-1)``."""
    ij = np.rint((np.asarray(location, np.float64) + 1.0) / 2.0 * (grid - 1))
    i, j = np.clip(ij, 0, grid - 1).astype(int)
    return int(i), int(j)


def grid_to_location(column: int, row: int, grid: int) -> tuple[float, float]:
    """The location (x, y) of action-grid point (column, row)."""
    return (-1.0 + 2.0 * column / (grid - 1), -1.0 + 2.0 * row / (grid - 1))


def key_to_digit(name: str) -> int | None:
    """The digit of a pygame key name (``"7"`` or keypad ``"[7]"``), else None."""
    name = name.strip("[]")
    return int(name) if len(name) == 1 and name.isdigit() else None


def visual_action(env: Any, location: tuple[float, float], decision: int) -> np.ndarray:
    """The action of a glimpse env (unwrapped) that looks at ``location`` (decision 0) or answers
    class ``decision - 1`` (decision c + 1), for the discrete and the ``continuous=True`` space."""
    C = env.num_classes
    if not 0 <= decision <= C:
        raise ValueError(f"decision {decision} invalid: use 0 (look) or c + 1 for class c < {C}")
    if env.continuous:
        a = np.full(2 + C + 1, -1.0, np.float32)
        a[:2] = np.clip(location, -1.0, 1.0)
        a[2 + decision] = 1.0
        return a
    i, j = location_to_grid(location, env.grid)
    return np.array([i, j, decision], np.int64)


class TapeKeys:
    """Compose a tape env's ``MultiDiscrete([I, 3, input_size + 1, output_size + 1])`` action.

    :meth:`press` takes a pygame key name and the current observation and returns the action to
    take (on space or return) or None (the key changed the action being composed).
    """

    def __init__(self, nvec: Any):
        self.nvec = np.asarray(nvec, np.int64)
        self.clear()

    def clear(self) -> None:
        self.action = np.zeros(4, np.int64)
        self.digits = ""

    def _set(self, part: int, value: int) -> None:
        if 0 <= value < self.nvec[part]:
            self.action[part] = value

    def press(self, name: str, obs: dict | None = None) -> np.ndarray | None:
        obs = obs or {}
        if name in ("space", "return", "enter"):
            action = self.action.copy()
            self.clear()
            return action
        if name == "backspace":
            self.clear()
        elif name in ("a", "d"):  # input head: 1 right, 2 left (forward-only: 1 right)
            self._set(0, 2 if name == "a" else 1)
        elif name in ("left", "right"):
            self._set(1, 2 if name == "left" else 1)
        elif name == "w":
            self._set(2, int(obs.get("input", 0)) + 1)
        elif name == "e":
            self._set(2, 1)
        elif name in ("i", "m"):
            symbol = int(obs.get("input" if name == "i" else "memory", 0))
            if symbol > 0:  # input code j (data) is output symbol j - 1, action j
                self._set(3, symbol)
        elif key_to_digit(name) is not None:
            self.digits = (self.digits + str(key_to_digit(name)))[-6:]
        elif name == "o" and self.digits:
            self._set(3, int(self.digits) + 1)
            self.digits = ""
        return None

    def describe(self) -> str:
        """The action being composed, in words (the 3x5 font's alphabet)."""
        moves = {0: "STAY", 1: "RIGHT", 2: "LEFT"}
        a = self.action
        write = "-" if a[2] == 0 else ("ERASE" if a[2] == 1 else str(a[2] - 1))
        out = "-" if a[3] == 0 else str(a[3] - 1)
        typed = f"  TYPED {self.digits}" if self.digits else ""
        return f"IN {moves[int(a[0])]}  MEM {moves[int(a[1])]}  WRITE {write}  OUT {out}{typed}"


# ---------------------------------------------------------------------------------------------
# games
# ---------------------------------------------------------------------------------------------
class VisualPlay:
    """A person playing a glimpse env through its retina (see the module docstring).

    Args:
        env: a glimpse env made with ``render_mode="rgb_array"`` (the picture at the end).
    """

    def __init__(self, env: gym.Env):
        self.env = env
        self.u = u = env.unwrapped
        self.S = u.canvas.size
        self.f = max(1, FIELD_PX // self.S)
        self.field = self.S * self.f
        self.running = True
        self.score = [0, 0]
        self.aim: tuple[float, float] = (0.0, 0.0)

    def reset(self, seed: int | None = None) -> None:
        self.obs, _ = self.env.reset(seed=seed)
        self.seen = np.zeros((self.S, self.S), np.float32)
        self.path = [tuple(self.obs["location"])]
        self.answers: list[int] = []
        self.done = False
        self.result: dict = {}
        self._paint(self.obs)

    def _paint(self, obs: dict) -> None:
        """Paint the glimpse back where it was taken, coarsest scale first."""
        squares = self.u.sensor.squares(obs["location"], self.S)
        for (x0, y0, w), view in reversed(list(zip(squares, obs["glimpse"]))):
            block = w // view.shape[0]
            patch = dr.upscale(view, block)
            xs, ys = slice(max(x0, 0), min(x0 + w, self.S)), slice(max(y0, 0), min(y0 + w, self.S))
            self.seen[ys, xs] = patch[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]

    def target(self) -> tuple[float, float]:
        """The location a click would look at: the aim, snapped to the action grid if discrete."""
        if self.u.continuous:
            return self.aim
        return grid_to_location(*location_to_grid(self.aim, self.u.grid), self.u.grid)

    def step(self, action: np.ndarray) -> None:
        self.obs, _, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            self.done = True
            self.result = info
            self.score[0] += bool(info.get("is_success", False))
            self.score[1] += 1
        else:
            self._paint(self.obs)
            if len(self.path) < int(self.obs["step"]) + 1:
                self.path.append(tuple(self.obs["location"]))

    def handle(self, event: tuple) -> None:
        """``("motion", x, y)``, ``("click", x, y)`` (frame pixels) or ``("key", name)``."""
        kind = event[0]
        if kind == "key" and event[1] in ("q", "escape"):
            self.running = False
        elif kind == "key" and event[1] == "r":
            self.reset()
        elif self.done:
            if kind in ("key", "click"):
                self.reset()
        elif kind in ("motion", "click"):
            loc = mouse_to_location(event[1], event[2], self.field)
            if loc is not None:
                self.aim = loc
                if kind == "click":
                    self.step(visual_action(self.u, self.target(), 0))
        elif kind == "key" and key_to_digit(event[1]) is not None:
            digit = key_to_digit(event[1])
            self.answers.append(digit)
            self.step(visual_action(self.u, self.target(), digit + 1))

    def frame(self) -> np.ndarray:
        """What the window shows now, (H, W, 3) uint8."""
        if self.done:
            picture = self.env.render()
            label = np.asarray(self.result.get("label", -1)).reshape(-1)
            pred = np.asarray(self.result.get("prediction", -1)).reshape(-1)
            ok = bool(self.result.get("is_success", False))
            text = "".join(str(int(v)) if v >= 0 else "-" for v in label)
            guess = "".join(str(int(v)) if v >= 0 else "-" for v in pred)
            lines = [
                (
                    f"{'RIGHT' if ok else 'WRONG'}: LABEL {text}  YOU {guess}",
                    dr.GREEN if ok else dr.RED,
                    2,
                ),
                (f"SCORE {self.score[0]}/{self.score[1]}   ANY KEY: NEXT   Q: QUIT", dr.GRAY, 1),
            ]
            return _with_bar(picture, lines)
        f = self.f
        field = dr.gray_to_rgb(dr.upscale(self.seen, f))
        field[(field == 0).all(-1)] = DIM
        pts = [((x + 1) / 2 * self.field, (y + 1) / 2 * self.field) for x, y in self.path]
        for a, b in itertools.pairwise(pts):
            dr.line(field, a[0], a[1], b[0], b[1], CYAN)
        for p in pts:
            dr.dot(field, p[0], p[1], 1, CYAN)
        for j, (x0, y0, w) in enumerate(self.u.sensor.squares(self.target(), self.S)):
            dr.rect(field, x0 * f, y0 * f, w * f, w * f, dr.PALETTE[j % len(dr.PALETTE)], 1)
        g = self.obs["glimpse"]
        pf = max(1, min(8, (self.field - 4 * (len(g) - 1)) // (len(g) * g.shape[-1])))
        views = []
        for j, v in enumerate(g):
            p = dr.gray_to_rgb(dr.upscale(v, pf))
            dr.rect(p, 0, 0, p.shape[1], p.shape[0], dr.PALETTE[j % len(dr.PALETTE)], 1)
            views.append(p)
        picture = dr.hstack([field, dr.vstack(views, gap=4)], gap=6)
        t = int(self.obs["step"]) + 1
        said = "".join(map(str, self.answers))
        lines = [
            (f"GLIMPSE {t}/{self.u.budget}" + (f"  SAID {said}" if said else ""), dr.WHITE, 2),
            ("MOUSE: AIM  CLICK: LOOK  0-9: ANSWER  R: NEW  Q: QUIT", dr.GRAY, 1),
        ]
        return _with_bar(picture, lines)


class TapePlay:
    """A person playing a tape env from its observations alone (see the module docstring).

    Args:
        env: a tape env made with ``render_mode="rgb_array"`` (the picture at the end).
    """

    HISTORY = 14

    def __init__(self, env: gym.Env):
        self.env = env
        self.keys = TapeKeys(env.action_space.nvec)
        self.running = True
        self.score = [0, 0]

    def reset(self, seed: int | None = None) -> None:
        self.obs, self.info = self.env.reset(seed=seed)
        self.keys.clear()
        self.history: list[str] = []
        self.done = False
        self.total = 0.0

    def handle(self, event: tuple) -> None:
        """``("key", name)``; mouse events are ignored."""
        if event[0] != "key":
            return
        name = event[1]
        if name in ("q", "escape"):
            self.running = False
        elif name == "r" or (self.done and name in ("space", "return")):
            self.reset()
        elif not self.done:
            before = self.obs
            what = self.keys.describe()
            action = self.keys.press(name, self.obs)
            if action is not None:
                self.obs, reward, terminated, truncated, self.info = self.env.step(action)
                self.total += reward
                self.history.append(
                    f"SAW {int(before['input'])}/{int(before['memory'])}  {what}  R {reward:+g}"
                )
                if terminated or truncated:
                    self.done = True
                    self.score[0] += bool(self.info.get("is_success", False))
                    self.score[1] += 1

    def frame(self) -> np.ndarray:
        o = self.obs
        lines = [
            (
                (
                    f"INPUT {int(o['input'])}   MEMORY {int(o['memory'])}   "
                    f"INPUT DONE {int(o['input_done'])}"
                ),
                dr.WHITE,
                2,
            ),
            (f"NEXT: {self.keys.describe()}", dr.YELLOW, 1),
            (
                (
                    f"STEP {len(self.history)}  CORRECT {self.info.get('correct', 0)}/"
                    f"{self.info.get('target_length', '?')}  REWARD {self.total:+g}"
                ),
                dr.GRAY,
                1,
            ),
        ]
        lines += [(h, dr.GRAY, 1) for h in self.history[-self.HISTORY :]]
        width = 480
        if self.done:
            ok = bool(self.info.get("is_success", False))
            lines.append(
                (
                    (
                        f"{'SOLVED' if ok else 'FAILED'}  SCORE {self.score[0]}/{self.score[1]}"
                        "  SPACE: NEXT  Q: QUIT"
                    ),
                    dr.GREEN if ok else dr.RED,
                    2,
                )
            )
            picture = self.env.render()
            return _with_bar(picture, lines, top=True, width=width)
        lines.append(
            ("A/D IN  ARROWS MEM  W WRITE  E ERASE  I/M EMIT  NN+O EMIT NN  SPACE STEP", dr.GRAY, 1)
        )
        return _with_bar(dr.blank(0, width), lines, top=True, width=width)


def _with_bar(picture: np.ndarray, lines: list, top: bool = False, width: int = 0) -> np.ndarray:
    width = max(width, picture.shape[1], *(dr.text_size(s, k)[0] + 8 for s, _, k in lines))
    height = sum(5 * k + 4 for _, _, k in lines) + 4
    bar = dr.blank(height, width)
    y = 4
    for s, color, k in lines:
        dr.text(bar, 4, y, s, color, scale=k)
        y += 5 * k + 4
    picture = dr.pad(picture, picture.shape[0], width) if picture.shape[0] else picture
    parts = [bar, picture] if top else [picture, bar]
    return dr.vstack([p for p in parts if p.shape[0]], gap=2)


def make_game(env: gym.Env) -> VisualPlay | TapePlay:
    """The game for an env made with ``render_mode="rgb_array"`` (glimpse or tape)."""
    keys = set(env.observation_space.spaces)
    if "glimpse" in keys:
        return VisualPlay(env)
    if "memory" in keys:
        return TapePlay(env)
    raise ValueError(f"cannot play an env with observation keys {sorted(keys)}")


# ---------------------------------------------------------------------------------------------
# the window
# ---------------------------------------------------------------------------------------------
def _import_pygame():
    try:
        import pygame
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise DependencyNotInstalled(
            "pygame is not installed: `python -m glimpse_envs.play` needs it. Install it with "
            '`pip install "glimpse-envs[human]"` (the pygame-ce distribution).'
        ) from e
    return pygame


def play(
    env_id: str,
    seed: int | None = None,
    zoom: int = 0,
    env_kwargs: dict | None = None,
    max_frames: int | None = None,
    events: list | None = None,
) -> list[int]:
    """Open the window and play ``env_id`` until the window closes or ``q``; returns the score
    ``[won, played]``. ``max_frames`` and ``events`` (game events fed before the window's own,
    one per frame) let tests drive it headless."""
    pygame = _import_pygame()
    env = gym.make(env_id, render_mode="rgb_array", **(env_kwargs or {}))
    game = make_game(env)
    game.reset(seed=seed)
    pygame.display.init()  # the window and its events only (no audio)
    pygame.display.set_caption(f"play {env_id}")
    screen, size, scale = None, None, max(1, zoom)
    clock = pygame.time.Clock()
    queue = list(events or [])
    frames = 0
    try:
        while game.running:
            if queue:
                game.handle(queue.pop(0))
            for ev in pygame.event.get():
                if ev.type == pygame.QUIT:
                    game.running = False
                elif ev.type in (pygame.MOUSEMOTION, pygame.MOUSEBUTTONDOWN):
                    if ev.type == pygame.MOUSEBUTTONDOWN and ev.button != 1:
                        continue
                    kind = "motion" if ev.type == pygame.MOUSEMOTION else "click"
                    game.handle((kind, ev.pos[0] // scale, ev.pos[1] // scale))
                elif ev.type == pygame.KEYDOWN:
                    game.handle(("key", pygame.key.name(ev.key)))
            frame = game.frame()
            if (frame.shape[1], frame.shape[0]) != size:
                size = (frame.shape[1], frame.shape[0])
                if not zoom:
                    scale = max(1, min(3, 720 // max(size)))
                screen = pygame.display.set_mode((size[0] * scale, size[1] * scale))
            big = dr.upscale(frame, scale) if scale > 1 else frame
            surface = pygame.surfarray.make_surface(np.ascontiguousarray(big.transpose(1, 0, 2)))
            screen.blit(surface, (0, 0))
            pygame.display.flip()
            clock.tick(30)
            frames += 1
            if max_frames is not None and frames >= max_frames:
                break
    finally:
        env.close()
        pygame.display.quit()
        pygame.quit()
    return game.score


def _random_policy(env, rng):
    space = env.action_space
    space.seed(int(rng.integers(2**31)))
    return lambda obs: space.sample()


SCRIPTED = {"random": _random_policy}
"""Policies of the headless mode: ``make(env, rng) -> act(obs)``."""


def play_scripted(
    env_id: str,
    episodes: int,
    policy: str = "random",
    seed: int | None = None,
    env_kwargs: dict | None = None,
) -> tuple[int, int, float]:
    """Play ``episodes`` with a scripted policy and no window: (episodes right, played, total
    return). For CI and for a quick look at what chance scores."""
    env = gym.make(env_id, **(env_kwargs or {}))
    act = SCRIPTED[policy](env, np.random.default_rng(seed))
    won = 0
    total = 0.0
    for i in range(episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + i)
        while True:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            total += float(reward)
            if terminated or truncated:
                won += bool(info.get("is_success", False))
                break
    env.close()
    return won, episodes, total


def main(argv: list[str] | None = None) -> int:
    import glimpse_envs

    parser = argparse.ArgumentParser(
        prog="python -m glimpse_envs.play",
        description="Play a glimpse-envs id yourself, seeing only what the agent sees.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "env", help="env id, e.g. glimpse_envs/ClutteredMNIST-v0 (or ClutteredMNIST-v0)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode")
    parser.add_argument(
        "--zoom", type=int, default=0, help="window pixels per frame pixel (0: fit)"
    )
    parser.add_argument(
        "--env-kwargs", type=json.loads, default={}, help="gym.make arguments, JSON"
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=0,
        help="headless: play this many episodes with --policy, print the score, open no window",
    )
    parser.add_argument(
        "--policy",
        choices=sorted(SCRIPTED),
        default="random",
        help="the scripted policy of --episodes (random: uniform actions)",
    )
    args = parser.parse_args(argv)
    ids = glimpse_envs.registered_ids()
    env_id = args.env if args.env in ids else f"glimpse_envs/{args.env}"
    if env_id not in ids:
        parser.error(f"unknown env {args.env!r}; valid envs: {', '.join(ids)}")
    if args.episodes < 0:
        parser.error(f"--episodes {args.episodes}: must be >= 0")
    if args.episodes:
        won, played, total = play_scripted(
            env_id, args.episodes, args.policy, args.seed, args.env_kwargs
        )
        print(
            f"{env_id}: {won}/{played} episodes right, mean return {total / played:.3f} "
            f"({args.policy} policy, headless)"
        )
        return 0
    won, played = play(env_id, args.seed, args.zoom, args.env_kwargs)
    print(f"{env_id}: {won}/{played} episodes right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
