"""The keys of a code typed on the kiosk's keyboard (a dossier code, a booking code): one letter more, one less, all
gone; each forgets the last answer so an old refusal never stands beside a changed code. No Kivy import.

A presenter mixing this in has ``ctx`` (with ``allow_key``), ``k`` (the shell), ``code`` and ``busy``, and says
which keys it takes (``accepts``) and what an edit forgets (``forget``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .context import Shell


class KeyGuarded(Protocol):
    @property
    def allow_key(self) -> Callable[[str], bool]:
        """The tap guard for keyboard keys."""


C = TypeVar("C", bound=KeyGuarded)


class CodeKeyboard(Generic[C]):
    ctx: C
    k: Shell
    code: str
    busy: bool

    def accepts(self, key: str) -> bool:  # pragma: no cover - every presenter overrides
        raise NotImplementedError

    def forget(self) -> None:  # pragma: no cover - every presenter overrides
        raise NotImplementedError

    def press(self, key: str) -> None:
        if self.busy or not self.ctx.allow_key(key):
            return
        self.k.touch()
        key = key.upper()
        if not self.accepts(key):
            return
        self.code += key
        self.forget()
        self.k.changed()

    def delete(self) -> None:
        if self.busy or not self.ctx.allow_key("⌫"):
            return
        self.k.touch()
        self.code = self.code[:-1]
        self.forget()
        self.k.changed()

    def clear_code(self) -> None:
        if self.busy or not self.k.tap():
            return
        self.code = ""
        self.forget()
        self.k.changed()
