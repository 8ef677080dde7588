"""The admin pages in Debian's Chromium against the real hub: a service added on /admin is on the kiosk's /config
and on the hall display without a restart; the notice line changed on /admin shows on the hall display; a
refusal names the key; the audit page filters and its CSV opens in Excel (UTF-8 BOM, Vietnamese headers);
every user changes their own password from the console."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import PASSWORD, USERS, _settings
from hub_support import HubOptions

pytestmark = pytest.mark.browser


def _with_admin(tmp: Path) -> Any:
    from werkzeug.security import generate_password_hash

    from queue_server.config import UserDef

    base = _settings(tmp)
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    return dataclasses.replace(base, users=(*base.users, UserDef("quantri", "admin", pw, "Quản trị viên")))


@pytest.fixture
def hub_options(voice_dir: Path) -> HubOptions:
    def displays(settings: Any) -> list[Any]:
        from flask import current_app

        from displays.blueprint import make_displays_blueprint

        # the hub's live [display], as wiring.default_blueprints passes it
        return [make_displays_blueprint(voice_dir, settings=lambda: current_app.extensions["motcua"].settings.display)]

    return HubOptions(settings=_with_admin, mqtt=True, serve=True, blueprints=displays, keepalive_s=1.0,
                      password=PASSWORD)


def _login(page: Any, url: str, user: str = "quantri", password: str = PASSWORD) -> None:
    page.goto(url)
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login button[type=submit]")


def test_a_service_added_on_admin_reaches_the_kiosk_config_and_the_hall(hub: Any, page_factory: Any,
                                                                       artifacts_dir: Path) -> None:
    procedures = {s.code: s.procedures for s in hub.service.center.services}
    assert any(procedures.values())
    hall = page_factory(1920, 1080)
    hall.goto(f"{hub.url}/display/hall?sound=off")
    hall.wait_for_selector('tr[data-service="ho-tich"]')
    admin = page_factory(1600, 1000)
    _login(admin, f"{hub.url}/admin")
    admin.wait_for_selector("#rows-services tr")
    admin.click("#add-services")
    row = admin.locator("#rows-services tr").last
    for key, value in (("code", "moi-truong"), ("prefix", "MT"), ("name", "Tài nguyên – Môi trường"),
                       ("number_start", "1"), ("number_end", "500"), ("stop_issuing_before_close_min", "15"),
                       ("avg_service_min", "8"), ("_counters", "1")):
        row.locator(f'input[data-key="{key}"]').fill(value)
    admin.click("#save-services")
    admin.wait_for_function("document.getElementById('message').className.includes('info')")
    assert "Đã lưu" in admin.text_content("#message")
    config = requests.get(f"{hub.url}/api/v1/config", timeout=5).json()
    assert "moi-truong" in [s["code"] for s in config["services"]]
    assert "moi-truong" in next(c for c in config["counters"] if c["id"] == "1")["services"]
    # the hall display learns it from the event and the fresh /state: no reload, no restart
    hall.wait_for_selector('tr[data-service="moi-truong"]', state="attached")   # may be past the panel's fold
    assert "Tài nguyên – Môi trường" in hall.text_content('tr[data-service="moi-truong"]')
    assert hub.issue("moi-truong")["number"] == "MT001"
    # what the table had no column to change came back as it was
    assert {s.code: s.procedures for s in hub.service.center.services if s.code != "moi-truong"} == procedures
    admin.screenshot(path=str(artifacts_dir / "admin-page.png"), full_page=True)


def test_the_notice_changes_on_the_hall_display_and_a_refusal_names_the_key(hub: Any, page_factory: Any) -> None:
    hall = page_factory(1920, 1080)
    hall.goto(f"{hub.url}/display/hall?sound=off")
    hall.wait_for_function("document.getElementById('notice').textContent.length > 0")
    admin = page_factory(1600, 1000)
    _login(admin, f"{hub.url}/admin")
    admin.wait_for_selector("#notice")
    admin.fill("#notice", "Chiều nay trung tâm làm việc đến 16:00")
    admin.click("#save-notice")
    hall.wait_for_function("document.getElementById('notice').textContent === 'Chiều nay trung tâm làm việc đến 16:00'")
    # the page redraws its forms after a save and then says so: edit only after that
    admin.wait_for_function("document.getElementById('message').textContent.includes('dòng thông báo')")
    # a duplicate prefix: refused with the key, nothing changed
    admin.locator('#rows-services tr').nth(1).locator('input[data-key="prefix"]').fill("A")
    admin.click("#save-services")
    admin.wait_for_function("document.getElementById('message').className.includes('error')")
    text = admin.text_content("#message")
    assert "services[1].prefix" in text and "chưa thay đổi" in text
    config = requests.get(f"{hub.url}/api/v1/config", timeout=5).json()
    assert config["services"][1]["prefix"] != "A"


def test_the_audit_page_filters_and_exports_csv(hub: Any, page_factory: Any, tmp_path: Path) -> None:
    hub.issue("ho-tich")
    staff = hub.login(USERS[0][0])
    hub.post("/counters/1/open", staff)
    hub.post("/counters/1/call-next", staff)
    admin_headers = hub.login("quantri")
    r = requests.post(f"{hub.url}/api/v1/admin/config", headers=admin_headers,
                      json={"sections": {"display": {"notice": "Nhật ký"}}}, timeout=5)
    assert r.ok, r.text
    page = page_factory(1600, 1000)
    page.context.set_default_timeout(15000)
    _login(page, f"{hub.url}/audit")
    page.wait_for_selector('#rows tr[data-kind="ticket.called"]')
    assert page.locator('#rows tr[data-kind="config.changed"]').count() == 1
    page.fill("#user", "quantri")
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.locator("#rows tr").first.get_attribute("data-kind") == "config.changed"
    with page.expect_download() as info:
        page.click("#csv")
    path = tmp_path / "audit.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("STT / Seq,Thời điểm / Time,Loại / Kind,Người thực hiện / User")
    assert len(lines) == 2 and "Thay đổi cấu hình" in lines[1] and "quantri" in lines[1]


def test_staff_change_their_own_password_from_the_console(hub: Any, page_factory: Any) -> None:
    page = page_factory()
    user = USERS[0][0]
    page.goto(f"{hub.url}/console")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#change-password:not([hidden])")
    page.click("#change-password")
    page.fill("#pw-old", PASSWORD)
    page.fill("#pw-new", "abc")
    page.fill("#pw-again", "abc")
    page.click("#pw-save")
    page.wait_for_function("!document.getElementById('pw-message').hidden")
    assert "8 ký tự" in page.text_content("#pw-message")
    page.fill("#pw-new", "CanBoMoi2026")
    page.fill("#pw-again", "CanBoMoi2026")
    page.click("#pw-save")
    page.wait_for_function("document.getElementById('pw-message').textContent.includes('Đã đổi')")
    ok = requests.post(f"{hub.url}/api/v1/auth/login", json={"username": user, "password": "CanBoMoi2026"}, timeout=5)
    assert ok.status_code == 200


def test_an_admin_adds_and_disables_a_user_on_the_page(hub: Any, page_factory: Any) -> None:
    page = page_factory(1600, 1000)
    _login(page, f"{hub.url}/admin")
    page.wait_for_selector('#users tr[data-user="quantri"]')
    page.fill("#new-username", "canbo9")
    page.select_option("#new-role", "staff")
    page.fill("#new-display", "Trần Thị Chín")
    page.fill("#new-password", "123")
    page.click("#add-user")
    page.wait_for_function("document.getElementById('message').className.includes('error')")
    assert "8 ký tự" in page.text_content("#message")
    page.fill("#new-password", "ChinChin2026")
    page.click("#add-user")
    page.wait_for_selector('#users tr[data-user="canbo9"]')
    assert requests.post(f"{hub.url}/api/v1/auth/login", json={"username": "canbo9", "password": "ChinChin2026"},
                         timeout=5).status_code == 200
    page.locator('#users tr[data-user="canbo9"] button', has_text="Khoá").click()
    page.wait_for_function("""document.querySelector('#users tr[data-user="canbo9"]').textContent.includes('Đã khoá')""")
    assert requests.post(f"{hub.url}/api/v1/auth/login", json={"username": "canbo9", "password": "ChinChin2026"},
                         timeout=5).status_code == 401
