"""Face lookup through the running hub: staff credentials for enrolment, kiosk match and withdrawal over HTTP, and
no template in the MQTT traffic (a real Mosquitto, every topic captured) or in the outbox rows (real SQLite)."""
from __future__ import annotations

import base64
import json
import queue
import sqlite3
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from api_support import DEVICE_KEY, MONDAY_0800, login, make_settings
from paho.mqtt.enums import CallbackAPIVersion

from devices.face.simulator import SimulatedFaceEngine, make_frame
from queue_server.adapters.face_gallery import create_key_file
from queue_server.app.integration import parse_integration
from queue_server.app.ports import FixedClock
from queue_server.broker import free_port
from queue_server.domain.face_consent import CONSENT_VERSION
from queue_server.face_config import parse_face
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
ENGINE = SimulatedFaceEngine()
CODE = "000.00.12.H38-261123-0001"
KIOSK = {"X-Device-Key": DEVICE_KEY}


def tpl(name: str, n: int = 0) -> list[float]:
    return [float(v) for v in ENGINE.embed(make_frame(name, number=n))]


class Capture:
    """Every MQTT message on every topic, as bytes."""

    def __init__(self, host: str, port: int) -> None:
        self.payloads: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.all: list[tuple[str, bytes]] = []
        done = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cap-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe("#", 1)
        self.client.on_subscribe = lambda *_: done.set()
        self.client.on_message = lambda c, u, m: self.payloads.put((m.topic, m.payload))
        self.client.connect(host, port)
        self.client.loop_start()
        assert done.wait(10)

    def until(self, needle: bytes, timeout: float = 10.0) -> None:
        while True:
            topic, payload = self.payloads.get(timeout=timeout)
            self.all.append((topic, payload))
            if needle in payload or needle in topic.encode():
                return

    def drain(self) -> None:
        while True:
            try:
                self.all.append(self.payloads.get(timeout=0.3))
            except queue.Empty:
                return

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def fingerprints(vector: list[float]) -> list[bytes]:
    """Ways a template could leak: raw float32 bytes, base64 of them, JSON numbers at several precisions."""
    arr = np.asarray(vector, dtype=np.float32)
    out = [arr.tobytes()[:16], base64.b64encode(arr.tobytes())[:20]]
    for v in vector[:6]:
        out += [repr(v).encode(), f"{v:.5f}".encode(), json.dumps(v).encode()]
    return out


@pytest.fixture
def hub(tmp_path: Path, mosquitto):
    settings = make_settings(tmp_path, device_keys=[DEVICE_KEY])
    key = tmp_path / "keys" / "face.key"
    create_key_file(key)
    face = parse_face({"enabled": True, "key_path": str(key), "engine": "sim://face"},
                      store_path=settings.store_path, base_dir=None)
    dead = free_port()          # the main system is down: outbox rows stay for us to read
    integration = replace(parse_integration({"main_system": {"base_url": f"http://127.0.0.1:{dead}"}}),
                          mirror_path=tmp_path / "dossiers.sqlite3", outbox_path=tmp_path / "outbox.sqlite3")
    settings = replace(settings, mqtt=replace(settings.mqtt, enabled=True, host=mosquitto.host, port=mosquitto.port),
                       face=face, integration=integration)
    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    h.start_background()
    assert h.mqtt.wait_connected(10)
    yield h
    h.stop()


def test_enrol_needs_staff_and_consent_match_and_withdraw_at_the_kiosk(hub) -> None:
    client = hub.app.test_client()
    body = {"consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [CODE],
            "templates": [tpl("Nguyễn Văn An")]}
    assert client.post(f"{API_PREFIX}/face/enrol", json=body).status_code == 401
    assert client.post(f"{API_PREFIX}/face/enrol", json=body, headers=KIOSK).status_code == 401
    staff = login(client, "canbo")
    r = client.post(f"{API_PREFIX}/face/enrol", json={**body, "consent": {"accepted": False}}, headers=staff)
    assert r.status_code == 400 and "consent" in r.json["error"]["message"]
    assert hub.face.service.gallery.template_count() == 0
    r = client.post(f"{API_PREFIX}/face/enrol", json=body, headers=staff)
    assert r.status_code == 200, r.json
    consent = client.get(f"{API_PREFIX}/face/consent").json
    assert consent["version"] == CONSENT_VERSION and "Tôi đồng ý" == consent["agree_vi"]

    live = {"passed": True, "challenge": "blink"}
    probe = {"template": tpl("Nguyễn Văn An", 5), "liveness": live, "device": "kiosk-1"}
    assert client.post(f"{API_PREFIX}/face/match", json=probe).status_code == 401     # no device key
    r = client.post(f"{API_PREFIX}/face/match", json=probe, headers=KIOSK)
    assert r.status_code == 200 and r.json["verdict"] == "match"
    assert r.json["dossiers"][0]["error"]["code"] == "unknown_dossier"      # the mirror has no such dossier yet
    token = r.json["withdraw_token"]
    stranger = client.post(f"{API_PREFIX}/face/match", headers=KIOSK,
                           json={"template": tpl("Lê Thị Hoa"), "liveness": live}).json
    assert stranger["verdict"] != "match" and "mã hồ sơ" in stranger["message_vi"] and "dossiers" not in stranger
    assert client.post(f"{API_PREFIX}/face/withdraw", json={"withdraw_token": token}, headers=KIOSK).status_code == 400
    r = client.post(f"{API_PREFIX}/face/withdraw", json={"withdraw_token": token, "confirm": True}, headers=KIOSK)
    assert r.status_code == 200 and r.json == {"deleted": True}
    assert client.post(f"{API_PREFIX}/face/match", json=probe, headers=KIOSK).json["verdict"] != "match"
    manager = login(client, "quanly")
    audit = client.get(f"{API_PREFIX}/face/audit", headers=manager).json["audit"]
    assert [a["action"] for a in audit][:4] == ["no_match", "withdrawn", "no_match", "matched"]
    assert client.get(f"{API_PREFIX}/face/audit", headers=staff).status_code == 403


def test_enrolment_from_camera_images_at_the_counter(hub) -> None:
    import cv2

    client = hub.app.test_client()
    staff = login(client, "canbo")
    _ok, jpeg = cv2.imencode(".png", make_frame("Trần Thị Bình"))     # lossless: the simulator reads pixels
    images = [base64.b64encode(jpeg.tobytes()).decode()]
    body = {"consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [CODE], "images": images}
    r = client.post(f"{API_PREFIX}/face/enrol", json=body, headers=staff)
    assert r.status_code == 200, r.json
    _ok, empty = cv2.imencode(".png", make_frame(None))
    r = client.post(f"{API_PREFIX}/face/enrol", headers=staff,
                    json={**body, "images": [base64.b64encode(empty.tobytes()).decode()]})
    assert r.status_code == 400 and "no_face" in r.json["error"]["message"]
    r = client.post(f"{API_PREFIX}/face/enrol", headers=staff, json={**body, "images": ["không phải ảnh"]})
    assert r.status_code == 400
    listed = client.get(f"{API_PREFIX}/face/subjects", headers=staff).json["subjects"]
    assert listed[0]["dossier_codes"] == [CODE] and "template" not in json.dumps(listed)
    assert client.delete(f"{API_PREFIX}/face/subjects/{listed[0]['subject']}", headers=staff).json == {"deleted": True}


def test_a_template_never_appears_in_mqtt_traffic_or_outbox_rows(hub, mosquitto) -> None:
    capture = Capture(mosquitto.host, mosquitto.port)
    try:
        client = hub.app.test_client()
        staff = login(client, "canbo")
        vectors = [tpl("Phạm Văn Cường", i) for i in range(3)]
        probe = tpl("Phạm Văn Cường", 9)
        body = {"consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [CODE],
                "templates": vectors}
        subject = client.post(f"{API_PREFIX}/face/enrol", json=body, headers=staff).json["subject"]
        match = client.post(f"{API_PREFIX}/face/match", headers=KIOSK,
                            json={"template": probe, "liveness": {"passed": True}}).json
        client.delete(f"{API_PREFIX}/face/subjects/{subject}", headers=staff)
        # an enrolment made at a kiosk, confirmed by staff
        at_kiosk = tpl("Đỗ Thị Lan")
        req = client.post(f"{API_PREFIX}/face/kiosk-enrolments", headers=KIOSK, json={
            "template": at_kiosk, "liveness": {"passed": True}, "dossier_codes": [CODE],
            "consent": {"accepted": True, "version": CONSENT_VERSION}}).json
        approved = client.post(f"{API_PREFIX}/face/kiosk-enrolments/{req['request_id']}/approve", headers=staff)
        assert approved.status_code == 200, approved.json
        capture.until(b"face.deleted")          # the consent and deletion events did go out on MQTT
        capture.drain()
        hub.integration.relay.run_once()
    finally:
        capture.close()
    traffic = b"\n".join(t.encode() + b" " + p for t, p in capture.all)
    # the events keep their place in the sequence, but face data never leaves the center: no subject id, no
    # linked dossier code, in MQTT traffic (a bridge may carry it off site) or in the outbox
    assert b"face.consent" in traffic and subject.encode() not in traffic and CODE.encode() not in traffic
    with sqlite3.connect(hub.settings.integration.outbox_path) as db:
        rows = [r[0].encode() for r in db.execute("SELECT payload FROM outbox_items")]
    outbox = b"\n".join(rows)
    assert b"face.consent" in outbox and b"face.deleted" in outbox
    assert subject.encode() not in outbox and CODE.encode() not in outbox and b"withheld" in outbox
    assert match["verdict"] == "match" and "withdraw_token" not in traffic.decode(errors="replace")
    for vector in [*vectors, probe, at_kiosk]:
        for mark in fingerprints(vector):
            assert mark not in traffic, mark
            assert mark not in outbox, mark
    assert b"templates" not in traffic and b"templates" not in outbox


def test_hub_without_its_face_key_stops_with_a_sentence(tmp_path: Path) -> None:
    from queue_server.config import ConfigError

    settings = make_settings(tmp_path)
    face = parse_face({"enabled": True, "key_path": str(tmp_path / "keys" / "face.key")},
                      store_path=settings.store_path, base_dir=None)
    with pytest.raises(ConfigError, match="motcua face init-key"):
        build_hub(replace(settings, face=face), clock=FixedClock(MONDAY_0800), extra_blueprints=[])


def test_an_image_declaring_a_huge_picture_is_refused_before_decoding(hub) -> None:
    import io

    from PIL import Image

    client = hub.app.test_client()
    staff = login(client, "canbo")
    buf = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buf, format="PNG", optimize=True)      # ~25 MB of pixels in a small file
    body = {"consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [CODE],
            "images": [base64.b64encode(buf.getvalue()).decode()]}
    r = client.post(f"{API_PREFIX}/face/enrol", json=body, headers=staff)
    assert r.status_code == 400 and "larger than a camera frame" in r.json["error"]["message"]
