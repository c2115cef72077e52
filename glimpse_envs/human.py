"""The pygame window behind ``render_mode="human"``, shared by every env.

pygame (the ``pygame-ce`` distribution) is imported only here, and only when a window is opened,
so the package itself needs numpy and gymnasium alone.
"""

from __future__ import annotations

import numpy as np
from gymnasium.error import DependencyNotInstalled


class HumanWindow:
    """A window that shows ``rgb_array`` frames at a fixed frame rate.

    Args:
        title: the window caption.
        fps: frames per second; ``show`` waits so that frames do not come faster.
    """

    def __init__(self, title: str, fps: int):
        try:
            import pygame
        except ImportError as e:  # pragma: no cover - depends on the installation
            raise DependencyNotInstalled(
                'pygame is not installed: render_mode="human" needs it. '
                'Install it with `pip install "glimpse-envs[human]"` (the pygame-ce distribution).'
            ) from e
        self._pygame = pygame
        self.title = title
        self.fps = fps
        self._screen = None
        self._clock = None

    def show(self, frame: np.ndarray) -> None:
        """Show one (H, W, 3) uint8 frame, opening the window on first use."""
        pygame = self._pygame
        if self._screen is None:
            pygame.init()
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            self._clock = pygame.time.Clock()
        elif self._screen.get_size() != (frame.shape[1], frame.shape[0]):
            self._screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self._screen.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        """Close the window if it is open."""
        if self._screen is not None:
            self._pygame.display.quit()
            self._pygame.quit()
            self._screen = None
