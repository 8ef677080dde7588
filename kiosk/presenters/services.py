"""Service grid (with waiting counts and estimated waits) and the priority question; no Kivy import."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.wait_text import wait_range_text
from kiosk.i18n import Lang, pick, t

from .catalog import Catalog, fold
from .context import PriorityContext, ServiceGridContext
from .ports import Outcome


@dataclass(frozen=True, slots=True)
class ServiceTile:
    code: str
    name: str
    prefix: str
    waiting: str
    wait: str
    enabled: bool
    examples: str = ""          # two of its common procedures: "Đăng ký khai sinh, Đăng ký kết hôn…"


@dataclass(frozen=True, slots=True)
class ServiceGridView:
    title: str
    subtitle: str
    tiles: tuple[ServiceTile, ...]
    empty: str
    back: str
    lang_toggle: str
    mode_mark: str
    search: str = ""            # "Tìm theo thủ tục": opens the procedure search


SEARCH_KEYS: tuple[tuple[str, ...], ...] = (tuple("QWERTYUIOP"), tuple("ASDFGHJKL"), tuple("ZXCVBNM"))
MATCHES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class SearchView:
    title: str
    hint: str
    query: str
    matches: tuple[tuple[str, str], ...]     # (label, service code): a tap takes a ticket for that service
    message: str                            # "no match" (in the reserved area: the keys never move)
    key_rows: tuple[tuple[str, ...], ...]
    space: str
    delete: str
    back: str


class ServiceGridPresenter:
    def __init__(self, ctx: ServiceGridContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.chosen: str | None = None
        self.query = ""

    def clear(self) -> None:
        self.chosen = None
        self.query = ""

    # --- the procedure search: letters without marks are enough ("khai sinh" finds "Đăng ký khai sinh") ----
    def open_search(self) -> None:
        if not self.k.tap():
            return
        self.query = ""
        self.k.go("search")

    def type_key(self, key: str) -> None:
        self.k.touch()
        if len(self.query) < 40 and (key == " " or (len(key) == 1 and key.isalpha())):
            self.query = (self.query + key.lower()).lstrip()
            self.k.changed()

    def erase(self) -> None:
        self.k.touch()
        self.query = self.query[:-1]
        self.k.changed()

    def close_search(self) -> None:
        if not self.k.tap():
            return
        self.query = ""
        self.k.go("services")

    def search_view(self) -> SearchView:
        lang = self.k.lang
        found = search_procedures(self.k.catalog, self.query, lang)[:MATCHES_SHOWN]
        matches = tuple((f"{m.procedure} — {m.service_name}" if m.procedure else m.service_name, m.service)
                        for m in found)
        message = t("search.none", lang) if self.query.strip() and not matches else ""
        return SearchView(t("search.title", lang), t("search.hint", lang), self.query, matches, message,
                          SEARCH_KEYS, t("search.space", lang), t("lookup.delete", lang), t("nav.back", lang))

    def enter(self) -> None:
        """Show the grid at once from what is known, then refresh the counts in the background."""
        self.chosen = None
        self.k.go("services")
        self.k.run(self.ctx.refresh_catalog, self._refreshed)

    def _refreshed(self, outcome: Outcome[Catalog]) -> None:
        if outcome.value is None:
            return
        self.k.catalog = outcome.value
        if self.k.screen == "services" and outcome.value.all_closed:
            self.k.go("closed")
            return
        self.k.changed()

    def view(self) -> ServiceGridView:
        k, lang = self.k, self.k.lang
        tiles = []
        for s in k.catalog.services:
            if not s.accepting:
                waiting, wait = t("services.closed", lang), ""
            else:
                if s.waiting is None:
                    waiting = ""
                elif s.waiting == 0:
                    waiting = t("services.waiting.none", lang)
                else:
                    waiting = t("services.waiting", lang, n=s.waiting)
                if s.wait_high_min is not None or s.wait_served is False:
                    wait = t("services.wait_range", lang,
                             range=wait_range_text(s.wait_low_min, s.wait_high_min, s.wait_served, lang,
                                                   s.wait_past_close))
                else:      # an older hub: its single figure
                    wait = (t("services.wait", lang, min=s.estimated_wait_min)
                            if s.estimated_wait_min and s.waiting else "")
            examples = ", ".join(s.procedures[:2]) + ("…" if len(s.procedures) > 2 else "")
            tiles.append(ServiceTile(s.code, pick(s.name, s.name_en, lang), s.prefix, waiting, wait, s.accepting,
                                     examples))
        # never reached the hub (no center name either): a connection problem, not an empty center
        empty = t("services.empty", lang) if k.catalog.center_name else t("services.no_hub", lang)
        return ServiceGridView(t("services.title", lang), t("services.subtitle", lang), tuple(tiles),
                               empty if not tiles else "", t("nav.back", lang),
                               t("lang.toggle", lang), k.mode_mark(),
                               t("services.search", lang) if any(s.procedures for s in k.catalog.services) else "")

    def choose(self, code: str) -> None:
        if not self.k.tap():
            return
        service = self.k.catalog.service(code)
        if service is None or not service.accepting:
            return  # a disabled tile: nothing happens, the tile already says why
        self.chosen = code
        if self.k.catalog.priorities:
            self.k.go("priority")
        else:
            self.ctx.start_ticket(code, None)

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()


@dataclass(frozen=True, slots=True)
class PriorityOption:
    code: str | None
    label: str


@dataclass(frozen=True, slots=True)
class PriorityView:
    title: str
    subtitle: str
    service: str
    options: tuple[PriorityOption, ...]   # the "no priority" choice first: it is the common answer
    back: str
    lang_toggle: str


class PriorityPresenter:
    def __init__(self, ctx: PriorityContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell

    def view(self) -> PriorityView:
        k, lang = self.k, self.k.lang
        service = k.catalog.service(self.ctx.chosen_service() or "")
        options = [PriorityOption(None, t("priority.none", lang))]
        options += [PriorityOption(p.code, pick(p.label, p.label_en, lang)) for p in k.catalog.priorities]
        return PriorityView(t("priority.title", lang), priority_promise(k.catalog.policy, lang),
                            pick(service.name, service.name_en, lang) if service else "", tuple(options),
                            t("nav.back", lang), t("lang.toggle", lang))

    def choose(self, code: str | None) -> None:
        if not self.k.tap():
            return
        service = self.ctx.chosen_service()
        if service is None:
            self.k.reset()
            return
        if code is not None and self.k.catalog.priority(code) is None:
            return
        self.ctx.start_ticket(service, code)

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.go("services")


def priority_promise(policy: dict[str, Any], lang: Lang) -> str:
    """What the priority screen may promise, true for the center's ordering policy: "called first" only when a
    priority ticket really goes before every normal one (strict, across the counter's services)."""
    kind = policy.get("kind", "strict")
    if kind == "interleave":
        n = policy.get("interleave_normal")
        return t("priority.subtitle.interleave", lang, n=n if isinstance(n, int) else 3)
    if kind == "weighted":
        m = policy.get("priority_bonus_min")
        return t("priority.subtitle.weighted", lang, m=round(m) if isinstance(m, int | float) else 15)
    if policy.get("priority_across_services") is False:
        return t("priority.subtitle.service", lang)
    return t("priority.subtitle", lang)


@dataclass(frozen=True, slots=True)
class ProcedureMatch:
    service: str            # the service code to take a ticket for
    service_name: str
    procedure: str          # "" when the service's own name matched


def search_procedures(catalog: Catalog, query: str, lang: Lang = "vi") -> tuple[ProcedureMatch, ...]:
    """Services and procedures whose words contain every word of ``query``, with or without diacritics
    ("khai sinh" and "khai sinh" typed without marks both find "Đăng ký khai sinh"); services first."""
    words = fold(query).split()
    if not words:
        return ()
    out: list[ProcedureMatch] = []
    for s in catalog.services:
        name = pick(s.name, s.name_en, lang)
        if all(w in fold(f"{s.name} {s.name_en}") for w in words):
            out.append(ProcedureMatch(s.code, name, ""))
    for s in catalog.services:
        name = pick(s.name, s.name_en, lang)
        out.extend(ProcedureMatch(s.code, name, p) for p in s.procedures if all(w in fold(p) for w in words))
    return tuple(out)
