"""The tablet rating page /rate/<counter> in real Chromium, against a real QueueService and the ratings store:
the buttons light up only when there is a completed ticket to rate, one tap stores one rating, and the page
then says the service was already rated. No request leaves 127.0.0.1."""
from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask
from hub_center import HO_TICH, MONDAY_0800, make_center
from werkzeug.serving import make_server

from queue_server.adapters.ratings_store import RatingsStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.app.ratings_service import RatingsService
from queue_server.config import settings_from_dict
from queue_server.domain.model import CounterDef, CounterId
from queue_server.domain.ratings import RatingScale, scale_from_levels
from queue_server.web.ratings import make_ratings_blueprint

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"


Site = tuple[str, QueueService, RatingsService, list[dict[str, Any]]]


@pytest.fixture
def site_factory(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """``make(scale=None, criteria_wait_s=12)``: the page and API on a free port, over a real queue and store."""
    cleanups: list[Callable[[], None]] = []

    def make(scale: RatingScale | None = None, criteria_wait_s: int = 12) -> Site:
        center = replace(make_center(), counters=(CounterDef(CounterId("5"), "Quầy 5", (HO_TICH,)),))
        clock = FixedClock(MONDAY_0800 + timedelta(hours=1))
        db = tmp_path / f"motcua-{len(cleanups)}.sqlite3"
        service = QueueService(center, SqliteStore(db), clock)
        published: list[dict[str, Any]] = []
        ratings = RatingsService(RatingsStore(db), clock, service.last_completed,
                                 lambda t, d: published.append(d), scale=scale)
        app = Flask(__name__)
        app.register_blueprint(make_ratings_blueprint(ratings, criteria_wait_s=criteria_wait_s))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def cleanup() -> None:
            server.shutdown()
            service.close()
            ratings.store.close()
        cleanups.append(cleanup)
        return f"http://127.0.0.1:{server.server_port}", service, ratings, published

    yield make
    for cleanup in cleanups:
        cleanup()


@pytest.fixture
def rating_site(site_factory: Callable[..., Site]) -> Site:
    return site_factory()


def serve_one(service: QueueService) -> None:
    service.open_counter("5")
    service.issue_ticket("ho-tich")
    service.call_next("5")
    service.start_service("5")
    service.complete("5")


def criteria_scale() -> RatingScale:
    """The scale exactly as the hub builds it (wiring.py) from a center config with [[rating_criteria]]."""
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["rating_criteria"] = [
        {"code": "thai-do", "label": "Thái độ phục vụ", "label_en": "Attitude"},
        {"code": "thoi-gian", "label": "Thời gian giải quyết", "label_en": "Time taken"},
        {"code": "huong-dan", "label": "Hướng dẫn thủ tục", "label_en": "Guidance"},
    ]
    settings = settings_from_dict(raw)
    return scale_from_levels(settings.rating_scale, window_min=settings.rating_window_min,
                             criteria=[(c.code, c.label, c.label_en) for c in settings.rating_criteria])


def test_a_tap_on_the_tablet_stores_one_rating(rating_site, page_factory, artifacts_dir) -> None:
    url, service, ratings, published = rating_site
    page = page_factory(1280, 800)
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
    page.goto(f"{url}/rate/5")
    page.get_by_text("Chưa có lượt phục vụ nào để đánh giá.").wait_for()
    assert page.locator("button.lv").first.is_disabled()

    serve_one(service)
    page.get_by_text("Số A001 — mời quý vị chọn một mức đánh giá").wait_for()
    best = page.get_by_role("button", name="Rất hài lòng")
    assert best.is_enabled()
    page.screenshot(path=str(artifacts_dir / "rating-page.png"))
    best.click()
    page.get_by_text("Cảm ơn quý vị đã đánh giá!", exact=False).wait_for()
    assert ratings.store.count() == 1 and published[0]["level"] == 3 and published[0]["source"] == "tablet"
    # after the thank-you, the page polls again: this ticket is done, the buttons stay dark
    page.get_by_text("Lượt phục vụ này đã được đánh giá. Xin cảm ơn!").wait_for()
    assert page.locator("button.lv").first.is_disabled()
    assert ratings.store.count() == 1
    assert hosts == {"127.0.0.1"}
    assert page.locator("#extra").is_hidden()        # no criteria configured: nothing more was asked


def test_criteria_from_config_are_offered_after_the_overall_level(site_factory, page_factory,
                                                                  artifacts_dir) -> None:
    url, service, ratings, published = site_factory(criteria_scale())
    page = page_factory(1280, 800)
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
    page.goto(f"{url}/rate/5")
    page.get_by_text("Chưa có lượt phục vụ nào để đánh giá.").wait_for()
    assert page.locator(".crit").first.is_hidden()      # criteria only come after the overall level
    serve_one(service)
    page.get_by_text("Số A001 — mời quý vị chọn một mức đánh giá").wait_for()
    page.locator('button.lv[data-level="2"]').click()                            # "Hài lòng"
    page.locator("#extra").wait_for(state="visible")
    assert page.locator("#chosen b").inner_text() == "Hài lòng"
    rows = page.locator(".crit")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-code") for i in range(3)] == ["thai-do", "thoi-gian", "huong-dan"]
    assert rows.nth(0).locator(".cl .vi").inner_text() == "Thái độ phục vụ"
    assert rows.nth(1).locator(".cl .en").inner_text() == "Time taken"
    assert rows.nth(2).locator("button.cv").count() == 3          # the same three levels
    page.get_by_text("Tự động gửi sau", exact=False).wait_for()
    page.get_by_role("group", name="Thái độ phục vụ").locator('button[data-level="3"]').click()
    page.get_by_role("group", name="Thời gian giải quyết").locator('button[data-level="1"]').click()
    assert page.locator('.crit[data-code="thai-do"] button[aria-pressed="true"]').get_attribute("data-level") == "3"
    assert ratings.store.count() == 0                  # nothing is sent while the citizen is still choosing
    page.screenshot(path=str(artifacts_dir / "rating-page-criteria.png"))
    page.get_by_role("button", name="Gửi ngay").click()
    page.get_by_text("Cảm ơn quý vị đã đánh giá!", exact=False).wait_for()
    assert ratings.store.count() == 1 and len(published) == 1
    assert published[0]["level"] == 2 and published[0]["criteria"] == {"thai-do": 3, "thoi-gian": 1}
    assert ratings.aggregates()["criteria"]["thai-do"]["levels"]["3"] == 1
    page.get_by_text("Lượt phục vụ này đã được đánh giá. Xin cảm ơn!").wait_for()
    assert page.locator("button.lv").first.is_disabled() and page.locator("#extra").is_hidden()
    assert ratings.store.count() == 1
    assert hosts == {"127.0.0.1"}


def test_one_tap_is_still_a_whole_rating_when_criteria_are_configured(site_factory, page_factory) -> None:
    """The citizen taps the overall level and walks away: the countdown sends that rating without criteria."""
    url, service, ratings, published = site_factory(criteria_scale(), criteria_wait_s=2)
    page = page_factory(1280, 800)
    page.goto(f"{url}/rate/5")
    serve_one(service)
    page.get_by_text("Số A001 — mời quý vị chọn một mức đánh giá").wait_for()
    page.get_by_role("button", name="Rất hài lòng").click()
    page.locator("#extra").wait_for(state="visible")
    page.get_by_text("Cảm ơn quý vị đã đánh giá!", exact=False).wait_for()   # no further tap
    assert ratings.store.count() == 1
    assert published[0]["level"] == 3 and published[0]["criteria"] == {} and published[0]["source"] == "tablet"
