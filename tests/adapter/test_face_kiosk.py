"""The kiosk's face look-up flow (presenter, no window) against a real hub over HTTP on loopback, with the
simulated camera and engine: a citizen enrolled at the counter is found after a blink and sees their dossier's
status with a masked name; a photo (spoof) and a stranger fall back politely to the code; withdrawal after a
match deletes at once."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from api_support import DEVICE_KEY, login, make_settings
from kiosk_support import CODE, MONDAY_9AM, dossier_push

from devices.camera import SimulatedCamera
from devices.face.liveness import Challenge
from devices.face.simulator import (
    SimulatedFaceEngine,
    blink_sequence,
    make_frame,
    still_sequence,
    turn_sequence,
)
from kiosk.hub_client import HubClient
from kiosk.presenters import Kiosk, KioskBehaviour, ManualClock
from kiosk.presenters.face import FaceLookupPresenter
from queue_server.adapters.face_gallery import create_key_file
from queue_server.app.ports import FixedClock
from queue_server.domain.face_consent import CONSENT_VERSION
from queue_server.face_config import parse_face
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
WHO = "Nguyễn Thị Thu Trang"


class NoDesk:
    mode = "online"

    def numbers_left(self, service: str) -> int:
        return 0


@pytest.fixture
def rig(tmp_path: Path):
    settings = make_settings(tmp_path, device_keys=[DEVICE_KEY])
    key = tmp_path / "keys" / "face.key"
    create_key_file(key)
    settings = replace(settings, face=parse_face({"enabled": True, "key_path": str(key)},
                                                 store_path=settings.store_path, base_dir=None))
    hub = build_hub(settings, clock=FixedClock(MONDAY_9AM), extra_blueprints=[])
    hub.integration.service.ingest(dossier_push())
    port = hub.serve_in_thread("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    client = hub.app.test_client()
    engine = SimulatedFaceEngine()
    r = client.post(f"{API_PREFIX}/face/enrol", headers=login(client, "canbo"), json={
        "consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [CODE],
        "templates": [[float(v) for v in engine.embed(make_frame(WHO))]]})
    assert r.status_code == 200, r.json
    clock = ManualClock()
    hub_client = HubClient(url, device_key=DEVICE_KEY)
    kiosk = Kiosk(hub=hub_client, desk=NoDesk(), printer=None, clock=clock,   # type: ignore[arg-type]
                  behaviour=KioskBehaviour(camera_available=True))
    yield kiosk, hub, clock, hub_client
    hub.stop()


def attach(kiosk: Kiosk, hub_client: Any, challenge: Challenge, fault: str | None = None) -> FaceLookupPresenter:
    return kiosk.attach_face(SimulatedFaceEngine(fault), hub_client, choose=lambda _c: challenge)


def play(kiosk: Kiosk, clock: ManualClock, frames: list) -> None:
    camera = SimulatedCamera(frames=frames)          # the kiosk's FrameSource, replaying
    while (frame := camera.read()) is not None:
        clock.advance(0.1)
        kiosk.face.frame(frame)


def test_home_offers_face_lookup_only_with_a_face_presenter(rig) -> None:
    kiosk, _hub, _clock, hub_client = rig
    assert kiosk.home.view().face == ""
    attach(kiosk, hub_client, Challenge.BLINK)
    assert kiosk.home.view().face == "Tra cứu bằng khuôn mặt"


def test_blink_finds_the_enrolled_citizen_and_shows_masked_status_then_withdraws(rig) -> None:
    kiosk, hub, clock, hub_client = rig
    face = attach(kiosk, hub_client, Challenge.BLINK)
    clock.advance(1)
    kiosk.home.face()
    assert kiosk.screen == "face" and face.view().show_preview
    play(kiosk, clock, blink_sequence(WHO))
    view = face.view()
    assert view.state == "found", view
    text = "\n".join(view.dossiers)
    assert CODE in text and "Đang xử lý" in text
    assert WHO not in text and "Trang" in text           # masked: the full name never shows
    assert view.withdraw == "Xóa dữ liệu khuôn mặt của tôi"
    clock.advance(1)
    face.ask_withdraw()
    assert "Xóa dữ liệu khuôn mặt" in face.view().prompt
    clock.advance(1)
    face.press_primary()                                  # "Đồng ý xóa"
    assert face.view().state == "withdrawn" and face.view().prompt == "Đã xóa dữ liệu khuôn mặt của Ông/Bà."
    assert hub.face.service.gallery.template_count() == 0
    # and the same citizen is no longer found
    clock.advance(1)
    face.retry()
    play(kiosk, clock, blink_sequence(WHO, start=100))
    assert face.view().state == "fallback" and "mã hồ sơ" in face.view().prompt


def test_a_printed_photo_fails_liveness_and_falls_back_to_the_code(rig) -> None:
    kiosk, hub, clock, hub_client = rig
    face = attach(kiosk, hub_client, Challenge.TURN_LEFT)
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, still_sequence(WHO, frames=45))
    view = face.view()
    assert view.state == "fallback" and view.is_problem and view.primary == "Tra cứu bằng mã hồ sơ"
    audit = hub.face.service.gallery.audit_trail()
    assert audit[0]["action"] == "refused" and audit[0]["detail"]["reason"] == "liveness"
    clock.advance(1)
    face.press_primary()
    assert kiosk.screen == "lookup"


def test_spoof_fault_and_wrong_turn_fail_a_stranger_is_uncertain(rig) -> None:
    kiosk, _hub, clock, hub_client = rig
    face = attach(kiosk, hub_client, Challenge.BLINK, fault="spoof")
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, blink_sequence(WHO, frames=45))
    assert face.view().state == "fallback"
    face = attach(kiosk, hub_client, Challenge.TURN_RIGHT)
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, turn_sequence(WHO, "left", frames=45))
    assert face.view().state == "fallback"
    face = attach(kiosk, hub_client, Challenge.TURN_LEFT)
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, turn_sequence("Người Lạ", "left"))
    assert face.view().state == "fallback" and "chắc chắn" in face.view().prompt
    face = attach(kiosk, hub_client, Challenge.BLINK, fault="two_faces")
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, blink_sequence(WHO, frames=45))
    assert face.view().state == "fallback" and "nhiều người" in face.view().prompt


def test_enrolment_at_the_kiosk_waits_for_staff_then_the_citizen_is_found(rig) -> None:
    kiosk, hub, clock, hub_client = rig
    face = attach(kiosk, hub_client, Challenge.BLINK)
    newcomer = "Trần Văn Mới"
    # the citizen has just looked their dossier up by code: the result screen offers face enrolment
    clock.advance(1)
    kiosk.lookup.from_scan(CODE, CODE, None, "scanner")
    assert kiosk.screen == "result" and face.enrol_offer() == "Đăng ký tra cứu bằng khuôn mặt"
    clock.advance(1)
    face.enrol_from_result()
    view = face.view()
    assert kiosk.screen == "face" and view.state == "consent"
    assert "91/2025/QH15" in "\n".join(view.dossiers) and (view.primary, view.secondary) == ("Tôi đồng ý",
                                                                                            "Không đồng ý")
    assert not view.show_preview                      # no camera before consent
    clock.advance(1)
    face.press_primary()                              # "Tôi đồng ý"
    play(kiosk, clock, blink_sequence(newcomer, start=200))
    view = face.view()
    assert view.state == "enrol_sent" and face.request_id in view.prompt
    assert hub.face.service.gallery.template_count() == 1           # only the citizen enrolled at the counter
    # staff confirm on the enrolment page (same API)
    client = hub.app.test_client()
    staff = login(client, "canbo")
    waiting = client.get(f"{API_PREFIX}/face/kiosk-enrolments", headers=staff).json["requests"]
    assert [w["request_id"] for w in waiting] == [face.request_id] and "template" not in str(waiting)
    assert client.post(f"{API_PREFIX}/face/kiosk-enrolments/{face.request_id}/approve").status_code == 401
    r = client.post(f"{API_PREFIX}/face/kiosk-enrolments/{face.request_id}/approve", headers=staff)
    assert r.status_code == 200 and r.json["already_enrolled"] is False
    assert hub.face.service.gallery.template_count() == 2
    # and now a face look-up finds them
    clock.advance(1)
    kiosk.reset()
    clock.advance(1)
    kiosk.home.face()
    play(kiosk, clock, blink_sequence(newcomer, start=300))
    assert face.view().state == "found" and CODE in "\n".join(face.view().dossiers)


def test_declining_at_the_kiosk_stores_nothing(rig) -> None:
    kiosk, hub, clock, hub_client = rig
    face = attach(kiosk, hub_client, Challenge.BLINK)
    clock.advance(1)
    kiosk.lookup.from_scan(CODE, CODE, None, "scanner")
    clock.advance(1)
    face.enrol_from_result()
    clock.advance(1)
    face.press_secondary()                            # "Không đồng ý"
    assert face.view().state == "enrol_declined" and "không có dữ liệu nào được lưu" in face.view().prompt
    client = hub.app.test_client()
    assert client.get(f"{API_PREFIX}/face/kiosk-enrolments", headers=login(client, "canbo")).json["requests"] == []
    assert hub.face.service.gallery.audit_trail()[0]["detail"]["reason"] == "declined"
