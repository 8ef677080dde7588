"""What the simulated people did and what the hub answered them, counted by the demo."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the simulated people did and what the hub answered them (the demo's own view; the hub's own counts
    come from its event log at the end)."""

    issued: int = 0
    priority: int = 0
    called: int = 0
    recalled: int = 0
    done: int = 0
    no_show: int = 0
    transferred: int = 0
    printed: int = 0
    print_faults: int = 0
    keypad_calls: int = 0
    ratings: int = 0
    ratings_refused: int = 0
    dossier_pushes: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    FIELDS = ("issued", "priority", "called", "recalled", "done", "no_show", "transferred", "printed",
              "print_faults", "keypad_calls", "ratings", "ratings_refused", "dossier_pushes", "errors")

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {name: getattr(self, name) for name in self.FIELDS}

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_dict().items())
