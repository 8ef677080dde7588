"""The tablet rating page /rate/<counter> in real Chromium, against a real QueueService and the ratings store:
the buttons light up only when there is a completed ticket to rate, one tap stores one rating, and the page
then says the service was already rated. No request leaves 127.0.0.1."""
from __future__ import annotations

import threading
from collections.abc import Iterator
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
from queue_server.domain.model import CounterDef, CounterId
from queue_server.web.ratings import make_ratings_blueprint

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
def rating_site(tmp_path: Path) -> Iterator[tuple[str, QueueService, RatingsService, list[dict[str, Any]]]]:
    center = replace(make_center(), counters=(CounterDef(CounterId("5"), "Quầy 5", (HO_TICH,)),))
    clock = FixedClock(MONDAY_0800 + timedelta(hours=1))
    db = tmp_path / "motcua.sqlite3"
    service = QueueService(center, SqliteStore(db), clock)
    published: list[dict[str, Any]] = []
    ratings = RatingsService(RatingsStore(db), clock, service.last_completed, lambda t, d: published.append(d))
    app = Flask(__name__)
    app.register_blueprint(make_ratings_blueprint(ratings))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", service, ratings, published
    finally:
        server.shutdown()
        service.close()
        ratings.store.close()


def test_a_tap_on_the_tablet_stores_one_rating(rating_site, page_factory, artifacts_dir) -> None:
    url, service, ratings, published = rating_site
    page = page_factory(1280, 800)
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
    page.goto(f"{url}/rate/5")
    page.get_by_text("Chưa có lượt phục vụ nào để đánh giá.").wait_for()
    assert page.locator("button.lv").first.is_disabled()

    service.open_counter("5")
    service.issue_ticket("ho-tich")
    service.call_next("5")
    service.start_service("5")
    service.complete("5")
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
