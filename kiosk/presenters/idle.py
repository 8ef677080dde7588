"""Idle timeout: a screen left alone goes back home with everything of the last citizen cleared; no Kivy."""
from __future__ import annotations

from .context import IdleContext


class IdlePresenter:
    def __init__(self, ctx: IdleContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.last_activity = ctx.clock()

    def touch(self) -> None:
        self.last_activity = self.ctx.clock()

    def timeout_for(self, screen: str) -> float:
        b = self.k.behaviour
        if screen == "ticket" and self.ctx.ticket_printed():
            return b.ticket_screen_s   # the citizen has the paper; a failed print keeps its number up longer
        if screen == "contact" and self.ctx.contact_done():
            return b.ticket_screen_s   # confirmed: nothing left to read but one sentence
        if screen == "result":
            return b.result_screen_s
        return b.idle_timeout_s

    def seconds_left(self) -> float:
        return self.timeout_for(self.k.screen) - (self.ctx.clock() - self.last_activity)

    def tick(self) -> bool:
        """Reset the kiosk if it has been left alone; True when it did. Home in English also goes back to vi."""
        k = self.k
        if self.ctx.busy():
            return False  # never pull the screen away while the hub or the printer is still answering
        if k.screen == "home" and k.lang == "vi":
            return False
        if self.seconds_left() > 0:
            return False
        k.reset()
        return True
