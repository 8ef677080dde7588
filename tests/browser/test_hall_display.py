"""Hall display in real Chromium against the real hub: retained state on load, live calls, restart recovery,
the announcement queue's order and repeats, and screenshots at both TV sizes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

Hub = Any   # the `hub` fixture of tests/browser/conftest.py
pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GLYPH_HEIGHT_JS = """() => {
  const el = document.getElementById('current-number');
  const ctx = document.createElement('canvas').getContext('2d');
  const cs = getComputedStyle(el);
  ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  const m = ctx.measureText(el.textContent);
  return {glyph: m.actualBoundingBoxAscent + m.actualBoundingBoxDescent, screen: innerHeight,
          fontLoaded: document.fonts.check(`700 10px "Noto Sans"`)};
}"""


def _played(page: Any) -> list[str]:
    return (page.evaluate("document.body.dataset.audioPlayed || ''") or "").split()


def _open_and_call(hub: Hub, counter: str, who: str = "staff1") -> dict[str, Any]:
    headers = hub.login(who)
    hub.post(f"/counters/{counter}/open", headers)
    return hub.post(f"/counters/{counter}/call-next", headers)["ticket"]


def test_renders_retained_state_on_first_load_and_screenshots(hub: Hub, page_factory: Any,
                                                             artifacts_dir: Path) -> None:
    for _ in range(4):
        hub.issue("ho-tich")
    hub.issue("dat-dai")
    for _ in range(3):
        hub.issue("thue")
    thue = next(c.id for c in hub.settings.center.counters if "thue" in c.services)
    _open_and_call(hub, thue, "staff3")
    paused = hub.login("staff4")
    hub.post("/counters/3/open", paused)
    hub.post("/counters/3/pause", paused, {"reason": "Nghỉ giải lao"})
    first = _open_and_call(hub, "1")
    second = _open_and_call(hub, "2", "staff2")
    for width, height in ((1920, 1080), (1366, 768)):
        page = page_factory(width, height)
        page.goto(f"{hub.url}/display/hall?sound=off")
        page.wait_for_function("document.getElementById('current-number').dataset.ticket === 'A002'")
        assert second["number"] == "A002" and first["number"] == "A001"
        assert page.text_content("#current-counter") == "Quầy 2"
        assert page.locator("#recent-calls li").all_text_contents()[:2] == ["A002→ Quầy 2", "A001→ Quầy 1"]
        assert page.text_content('.counter-tile[data-counter="1"] .number') == "A001"
        assert page.text_content('.counter-tile[data-counter="3"] .number') == "Tạm dừng"
        assert page.locator('tr[data-service="ho-tich"] td').nth(1).text_content() == "2"
        assert page.locator('tr[data-service="dat-dai"] td').nth(1).text_content() == "1"
        assert "Quảng Trị" in page.text_content("#center-name")
        page.evaluate("document.fonts.ready")
        size = page.evaluate(GLYPH_HEIGHT_JS)
        assert size["fontLoaded"], "Noto Sans was not loaded from the hub"
        assert size["glyph"] >= 0.12 * size["screen"], size
        page.screenshot(path=str(artifacts_dir / f"hall-display-{width}x{height}.png"))


def test_recovers_by_itself_after_the_hub_restarts(hub: Hub, page_factory: Any) -> None:
    for _ in range(3):
        hub.issue("ho-tich")
    page = page_factory()
    page.goto(f"{hub.url}/display/hall?sound=off")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    _open_and_call(hub, "1")
    page.wait_for_function("document.getElementById('current-number').dataset.ticket === 'A001'")

    hub.stop()
    page.wait_for_function("document.getElementById('link').dataset.state === 'offline'")
    hub.start()
    # No reload: the page must find the hub again and show a call made after the restart.
    headers = hub.login("staff1")
    hub.post("/counters/1/start", headers)
    hub.post("/counters/1/complete", headers)
    hub.post("/counters/1/call-next", headers)
    page.wait_for_function("document.getElementById('current-number').dataset.ticket === 'A002'", timeout=20000)
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    assert page.locator("#recent-calls li").all_text_contents()[:2] == ["A002→ Quầy 1", "A001→ Quầy 1"]


def test_announcement_queue_orders_repeats_and_replays_recalls(hub: Hub, page_factory: Any) -> None:
    for _ in range(3):
        hub.issue("ho-tich")
    page = page_factory()
    page.goto(f"{hub.url}/display/hall?repeats=2&voice_rate=4")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    s1, s2 = hub.login("staff1"), hub.login("staff2")
    hub.post("/counters/1/open", s1)
    hub.post("/counters/2/open", s2)
    hub.post("/counters/1/call-next", s1)           # A001 → 1
    hub.post("/counters/2/call-next", s2)           # A002 → 2, arrives while A001 is being spoken
    hub.clock.advance(seconds=31)                   # past the recall delay
    hub.post("/counters/1/recall", s1)              # A001 again: a recall is a new announcement
    page.wait_for_function("(document.body.dataset.audioPlayed || '').split(' ').length >= 6", timeout=60000)
    assert _played(page) == ["A001#1", "A001#2", "A002#1", "A002#2", "A001#1", "A001#2"]

    log = page.evaluate("window.motcuaAudioLog")
    plays = [e for e in log if e["kind"] in ("start", "end")]
    assert [e["kind"] for e in plays] == ["start", "end"] * 6, "two announcements overlapped"
    assert not [e for e in log if e["kind"] == "error"]
    starts = [e for e in plays if e["kind"] == "start"]
    assert [e["recall"] for e in starts] == [0, 0, 0, 0, 1, 1]
    # the espeak-ng fallback: the chime, then the whole call as one clip (the recall is its own sentence)
    def plan(number: str, counter: str, recall: int = 0) -> list[str]:
        query = f"number={number}&counter={counter}&recall={recall}"
        return page.evaluate(f"fetch('/voice/plan?{query}').then((r) => r.json()).then((p) => p.clips)")

    assert starts[0]["clips"] == plan("A001", "1") and len(starts[0]["clips"]) == 2
    assert starts[0]["clips"][0] == "chime" and starts[0]["clips"][1].startswith("say-")
    assert starts[2]["clips"] == plan("A002", "2") != starts[0]["clips"]
    assert starts[4]["clips"] == plan("A001", "1", 1) != starts[0]["clips"]
    ends = [e for e in plays if e["kind"] == "end"]
    # each play lasted the whole sentence (~3.5 s of speech at voice_rate=4), not a missing or one-word clip
    assert all(end["t"] - start["t"] > 600 for start, end in zip(starts, ends, strict=True)), \
        [round(end["t"] - start["t"]) for start, end in zip(starts, ends, strict=True)]
    # The same events replayed (a reconnect) must not be spoken twice.
    page.evaluate("window.motcuaLive.seq = 0; window.motcuaLive.connect()")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    hub.issue("ho-tich")                      # one more event through the new connection
    page.wait_for_function(f"Number(document.body.dataset.seq) >= {hub.service.last_seq}")
    assert len(_played(page)) == 6 and page.evaluate("document.body.dataset.audioState") == "idle"


def test_a_burst_of_calls_is_spoken_once_each(hub: Hub, page_factory: Any) -> None:
    for _ in range(3):
        hub.issue("ho-tich")
    page = page_factory()
    page.goto(f"{hub.url}/display/hall?repeats=2&backlog=1&voice_rate=2")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    counters = {"1": hub.login("staff1"), "2": hub.login("staff2"), "14": hub.login("staff3")}   # all serve ho-tich
    for counter, headers in counters.items():
        hub.post(f"/counters/{counter}/open", headers)
    for counter, headers in counters.items():            # three counters call within a few milliseconds
        hub.post(f"/counters/{counter}/call-next", headers)
    page.wait_for_function("(document.body.dataset.audioPlayed || '').split(' ').length >= 3", timeout=60000)
    page.wait_for_function("document.body.dataset.audioState === 'idle'")
    # The first call's repeat gives way; every call is heard once, in call order, the newest without delay.
    assert _played(page) == ["A001#1", "A002#1", "A003#1"]


def test_the_wall_clock_follows_the_hub_not_a_wrong_tv_clock(hub: Hub, page_factory: Any) -> None:
    from datetime import datetime

    from contracts.messages import VN_TZ

    page = page_factory()
    page.clock.set_fixed_time(datetime(2001, 1, 1, 3, 0))     # a TV box without a battery clock
    page.goto(f"{hub.url}/display/hall?sound=off")
    # the hub's own clock (the fixture's FixedClock), never this machine's date: the page must show the hub's day
    today = hub.clock.now().astimezone(VN_TZ).strftime("%d/%m/%Y")
    page.wait_for_function(f"document.getElementById('date').textContent.endsWith({today!r})")


def test_the_wall_clock_waits_for_the_hub_rather_than_show_the_tv_clock(hub: Hub, page_factory: Any) -> None:
    """Started while the hub does not answer (booting, a cable out), a TV box whose own clock is years off must not
    put its guess on the wall: a placeholder until the hub's first answer, then the hub's time."""
    import re
    from datetime import datetime

    from contracts.messages import VN_TZ

    page = page_factory()
    page.clock.set_fixed_time(datetime(2001, 1, 1, 3, 0))     # far from the hub's (injected) clock; timers still run
    down = {"hub": True}

    def hub_down(route: Any) -> None:
        if down["hub"]:
            route.fulfill(status=503, body="")                   # what a proxy says while the hub is not up
        else:
            route.continue_()

    page.route(re.compile(r".*/(api/v1|displays/settings\.json).*"), hub_down)
    page.goto(f"{hub.url}/display/hall?sound=off")
    # three refused stream connections: the reconnect waits (0.5 s + 1 s) have passed, so has a tick of the clock
    page.wait_for_function("window.motcuaLive && window.motcuaLive.retryMs >= 4000")
    assert page.text_content("#clock") == "--:--:--"
    assert page.text_content("#date") == ""
    down["hub"] = False                                          # the hub answers: its time, never the TV's
    hub_now = hub.clock.now().astimezone(VN_TZ)
    page.wait_for_function(f"document.getElementById('clock').textContent === {hub_now.strftime('%H:%M:%S')!r}")
    assert (page.text_content("#date") or "").endswith(hub_now.strftime("%d/%m/%Y"))


def test_without_the_kiosk_flag_a_blocked_voice_asks_for_a_click(hub: Hub, page_factory: Any) -> None:
    """A TV started without --autoplay-policy=no-user-gesture-required must not stay silent unnoticed.

    Headless Chromium here runs audio even without the flag, so the blocked state (an AudioContext that stays
    suspended until a user gesture) is emulated in the page; the page's own code paths are the real ones."""
    for _ in range(2):
        hub.issue("ho-tich")
    page = page_factory()
    # Emulate the browser's default policy: the audio context starts suspended until a user gesture.
    page.add_init_script("""(() => {
      const Real = window.AudioContext;
      window.AudioContext = class extends Real {
        constructor(...a) { super(...a); this.suspend(); this.__blocked = true; }
        resume() { return this.__blocked ? Promise.resolve() : super.resume(); }
      };
    })()""")
    page.goto(f"{hub.url}/display/hall?repeats=1&voice_rate=4")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    hub.post("/counters/1/call-next", staff)
    page.wait_for_selector("#sound-unlock:not([hidden])")
    assert "Bấm để bật âm thanh" in page.text_content("#sound-unlock")


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_every_waiting_service_is_shown_page_by_page(hub: Hub, page_factory: Any, artifacts_dir: Path,
                                                    size: tuple[int, int]) -> None:
    """All 13 services of the example center wait: the rows that do not fit take turns ("1/2"), none vanishes and
    none is cut; counters past the per-page limit take turns too."""
    codes = [s.code for s in hub.settings.center.services]
    for code in codes:
        hub.issue(code)
    for counter in ("1", "2", "3", "4", "5", "6", "7"):
        hub.post(f"/counters/{counter}/open", hub.login("staff1"))
    page = page_factory(*size)
    page.goto(f"{hub.url}/display/hall?sound=off&page_ms=700&counters_per_page=3")
    page.wait_for_function("document.querySelectorAll('#services tr').length === 13")
    seen: set[str] = set()
    labels: set[str] = set()
    tiles: set[str] = set()
    for _ in range(60):
        visible = page.evaluate("""() => {
          const panel = document.querySelector('section.services').getBoundingClientRect();
          return Array.from(document.querySelectorAll('#services tr')).filter((r) => !r.hidden).map((r) => {
            const b = r.getBoundingClientRect();
            return [r.dataset.service, b.top >= panel.top && b.bottom <= panel.bottom];
          });
        }""")
        assert visible and all(whole for _, whole in visible), visible      # only whole rows
        seen.update(code for code, _ in visible)
        labels.add(page.text_content("#services-page") or "")
        tiles.update(page.eval_on_selector_all(".counter-tile", "els => els.map((e) => e.dataset.counter)"))
        if seen == set(codes) and len(tiles) == 7:
            break
        page.wait_for_timeout(250)
    assert seen == set(codes)
    assert page.is_visible("#services-page") == (len(labels) > 1)
    assert all(label.count("/") == 1 for label in labels if label)
    assert tiles == {"1", "2", "3", "4", "5", "6", "7"}                     # 3 per page, 3 pages: 1/3 … 3/3
    assert {page.text_content("#counters-page")} <= {"1/3", "2/3", "3/3"}
    page.screenshot(path=str(artifacts_dir / f"hall-paging-{size[0]}x{size[1]}.png"))


def test_recent_calls_list_each_ticket_once(hub: Hub, page_factory: Any) -> None:
    for _ in range(2):
        hub.issue("ho-tich")
    page = page_factory()
    page.goto(f"{hub.url}/display/hall?sound=off")
    headers = hub.login("staff1")
    hub.post("/counters/1/open", headers)
    hub.post("/counters/1/call-next", headers)
    for _ in range(2):
        hub.clock.advance(seconds=31)
        hub.post("/counters/1/recall", headers)
    page.wait_for_function("document.body.dataset.seq && Number(document.body.dataset.seq) >= 5")
    assert page.locator("#recent-calls li").all_text_contents() == ["A001→ Quầy 1"]


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_lost_hub_banner_and_grey_numbers(hub: Hub, page_factory: Any, artifacts_dir: Path,
                                         size: tuple[int, int]) -> None:
    hub.issue("ho-tich")
    page = page_factory(*size)
    page.goto(f"{hub.url}/display/hall?sound=off&lost_after_ms=1500")
    page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    _open_and_call(hub, "1")
    page.wait_for_function("document.getElementById('current-number').dataset.ticket === 'A001'")
    assert page.is_hidden("#lost")
    hub.stop()
    page.wait_for_function("!document.getElementById('lost').hidden", timeout=20000)
    assert "Mất kết nối" in (page.text_content("#lost") or "")
    assert page.evaluate("document.body.classList.contains('lost')")
    grey = page.evaluate("getComputedStyle(document.getElementById('current-number')).color")
    assert grey == "rgb(125, 135, 151)", grey
    box = page.evaluate("(() => { const b = document.getElementById('lost').getBoundingClientRect();"
                        " return [b.left, b.right, b.bottom, innerWidth, innerHeight]; })()")
    assert box[0] >= 0 and box[1] <= box[3] and box[2] <= box[4]
    page.screenshot(path=str(artifacts_dir / f"hall-lost-{size[0]}x{size[1]}.png"))
    hub.start()
    page.wait_for_function("document.getElementById('lost').hidden", timeout=20000)
    assert not page.evaluate("document.body.classList.contains('lost')")


def test_a_wait_past_closing_reads_as_such(hub: Hub, page_factory: Any) -> None:
    """16:20, one counter for twelve citizens: the next one would be called after 17:00; the hall says so rather
    than a range of minutes running past closing (the kiosk and the ticket say the same: tests/unit)."""
    hub.clock.advance(hours=8, minutes=20)          # 08:00 → 16:20
    only = next(c.id for c in hub.settings.center.counters if list(c.services) == ["ho-tich"])
    hub.post(f"/counters/{only}/open", hub.login("staff1"))
    for _ in range(12):
        hub.issue("ho-tich")
    hub.issue("dat-dai")
    page = page_factory(1920, 1080)
    page.goto(f"{hub.url}/display/hall?sound=off")
    page.wait_for_function("document.querySelector('tr[data-service=\"ho-tich\"]') !== null")
    expect_text = "Có thể quá giờ"
    page.wait_for_function(
        f"document.querySelector('tr[data-service=\"ho-tich\"] td:nth-child(3)').textContent === '{expect_text}'")
    assert page.locator('tr[data-service="ho-tich"] td').nth(1).text_content() == "12"
    assert page.locator('tr[data-service="dat-dai"] td').nth(2).text_content() != expect_text
