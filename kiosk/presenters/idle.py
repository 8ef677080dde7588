"""Idle timeout: a screen left alone goes back home with everything of the last citizen cleared; no Kivy."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kiosk import Kiosk


class IdlePresenter:
    def __init__(self, kiosk: Kiosk) -> None:
        self.k = kiosk
        self.last_activity = kiosk.clock()

    def touch(self) -> None:
        self.last_activity = self.k.clock()

    def timeout_for(self, screen: str) -> float:
        b = self.k.behaviour
        if screen == "ticket" and self.k.take.state == "printed":
            return b.ticket_screen_s   # the citizen has the paper; a failed print keeps its number up longer
        if screen == "result":
            return b.result_screen_s
        return b.idle_timeout_s

    def seconds_left(self) -> float:
        return self.timeout_for(self.k.screen) - (self.k.clock() - self.last_activity)

    def tick(self) -> bool:
        """Reset the kiosk if it has been left alone; True when it did. Home in English also goes back to vi."""
        k = self.k
        if k.take.busy or k.lookup.busy:
            return False  # never pull the screen away while the hub or the printer is still answering
        if k.screen == "home" and k.lang == "vi":
            return False
        if self.seconds_left() > 0:
            return False
        k.reset()
        return True
