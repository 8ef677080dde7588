"""The encrypted gallery on real SQLite files: consent before storage, nothing readable without the key, deletion
and purge remove the template and matching stops, a restored backup does not bring a deleted citizen back."""
from __future__ import annotations

import shutil
import stat
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from contracts.errors import MotcuaError
from contracts.messages import VN_TZ, Envelope
from devices.face.matching import Verdict
from devices.face.simulator import SimulatedFaceEngine, make_frame
from queue_server.adapters.face_gallery import FaceGallery, FaceKeyError, create_key_file, load_key_file
from queue_server.app.face_service import FaceService
from queue_server.app.ports import FixedClock
from queue_server.domain.face_consent import CONSENT_VERSION, Retention
from queue_server.face_wiring import new_face_service

pytestmark = pytest.mark.adapter
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)
CONSENT = {"accepted": True, "version": CONSENT_VERSION}
CODE = "000.00.12.H38-260302-0001"
ENGINE = SimulatedFaceEngine()
LIVE = {"passed": True, "challenge": "blink"}


def template(name: str, n: int = 0) -> np.ndarray:
    return ENGINE.embed(make_frame(name, number=n))


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def __call__(self, kind: str, data: dict) -> None:
        self.items.append((kind, data))


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "keys" / "face.key"
    assert create_key_file(key)
    return tmp_path / "data" / "face.sqlite3", key


def make_service(paths, clock, events=None, retention: Retention | None = None) -> FaceService:
    return new_face_service(FaceGallery(*paths), clock, retention=retention or Retention(30, 365),
                            record_event=events or Events(), lookup=lambda code: {"code": code, "status": "received"})


def test_key_file_is_0600_never_overwritten_and_checked(tmp_path: Path) -> None:
    key = tmp_path / "k" / "face.key"
    assert create_key_file(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    assert not create_key_file(key)
    assert key.read_bytes() == before
    key.chmod(0o644)
    with pytest.raises(FaceKeyError, match="chmod 600"):
        load_key_file(key)
    key.chmod(0o600)
    key.write_text("không phải khóa")
    with pytest.raises(FaceKeyError, match="base64"):
        load_key_file(key)
    with pytest.raises(FaceKeyError, match="init-key"):
        load_key_file(tmp_path / "missing.key")


def test_no_template_is_stored_without_consent(paths) -> None:
    clock, events = FixedClock(T0), Events()
    service = make_service(paths, clock, events)
    for consent in (None, {"accepted": False, "version": CONSENT_VERSION}, {"accepted": True, "version": "cũ"}):
        with pytest.raises(MotcuaError, match="consent"):
            service.enrol(templates=[template("An")], consent=consent, codes=[CODE], actor="canbo")
    assert service.gallery.template_count() == 0 and len(service.index) == 0 and events.items == []
    out = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")
    assert service.gallery.template_count() == 1
    kind, data = events.items[0]
    assert kind == "face.consent" and data["by"] == "canbo" and data["consent_version"] == CONSENT_VERSION
    assert data["dossier_codes"] == [CODE] and data["subject"] == out["subject"]
    assert not any(isinstance(v, list) and len(v) == 128 for v in data.values())
    service.close()


def test_templates_on_disk_are_unreadable_without_the_key(paths, tmp_path: Path) -> None:
    clock = FixedClock(T0)
    service = make_service(paths, clock)
    vec = template("Bình")
    service.enrol(templates=[vec], consent=CONSENT, codes=[CODE], actor="canbo")
    service.close()
    raw = paths[0].read_bytes()
    assert vec.tobytes() not in raw and vec.tobytes()[:32] not in raw
    for v in vec[:5]:
        assert repr(float(v)).encode() not in raw
    # a different key (a stolen file on another machine) cannot open it
    other = tmp_path / "other" / "face.key"
    create_key_file(other)
    shutil.copy(Path(str(paths[1]) + ".ring"), Path(str(other) + ".ring"))
    with pytest.raises(FaceKeyError, match="does not open this keyring"):
        FaceGallery(paths[0], other).load(T0)
    # the right key does
    again = make_service(paths, clock)
    assert again.index.match(template("Bình", 3)).verdict is Verdict.MATCH
    again.close()


def test_withdrawal_and_staff_deletion_remove_at_once(paths) -> None:
    clock, events = FixedClock(T0), Events()
    service = make_service(paths, clock, events)
    an = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")["subject"]
    binh = service.enrol(templates=[template("Bình")], consent=CONSENT, codes=["000.00.12.H38-260302-0002"],
                         actor="canbo")["subject"]
    found = service.match(template("An", 9), device="kiosk-1", liveness=LIVE)
    assert found["verdict"] == "match" and found["dossiers"] == [{"code": CODE, "status": "received"}]
    assert "template" not in str(found)
    with pytest.raises(MotcuaError):
        service.match(template("An", 9), device="kiosk-1", liveness={"passed": False})
    assert service.withdraw(found["withdraw_token"], device="kiosk-1") == {"deleted": True}
    with pytest.raises(MotcuaError):            # a token works once
        service.withdraw(found["withdraw_token"], device="kiosk-1")
    assert service.match(template("An", 10), device="kiosk-1", liveness=LIVE)["verdict"] != "match"
    assert service.gallery.subject(an) is None
    service.delete(binh, actor="canbo")
    assert service.gallery.template_count() == 0
    assert [k for k, _ in events.items] == ["face.consent", "face.consent", "face.deleted", "face.deleted"]
    actions = [a["action"] for a in service.gallery.audit_trail()]
    assert {"enrolled", "matched", "refused", "withdrawn", "deleted"} <= set(actions)
    # reopened from disk: still gone
    service.close()
    again = make_service(paths, clock)
    assert len(again.index) == 0
    again.close()


def test_purge_after_the_last_linked_dossier_is_returned(paths) -> None:
    clock = FixedClock(T0)
    service = make_service(paths, clock, retention=Retention(days_after_return=30, max_days=365))
    service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")
    returned = Envelope.new(5, "dossier.updated", "tt", T0 + timedelta(days=10), {"code": CODE, "status": "returned"})
    service.on_events([returned])
    clock.set(T0 + timedelta(days=39))
    assert service.purge() == []
    assert service.match(template("An", 1), device="k", liveness=LIVE)["verdict"] == "match"
    clock.set(T0 + timedelta(days=40, minutes=1))
    assert len(service.purge()) == 1
    assert service.gallery.template_count() == 0
    assert service.match(template("An", 1), device="k", liveness=LIVE)["verdict"] != "match"
    service.close()


def test_a_restored_backup_does_not_resurrect_a_deleted_template(paths, tmp_path: Path) -> None:
    clock = FixedClock(T0)
    service = make_service(paths, clock)
    subject = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")["subject"]
    service.enrol(templates=[template("Cường")], consent=CONSENT, codes=["000.00.12.H38-260302-0003"], actor="canbo")
    backup = tmp_path / "backup.sqlite3"
    import sqlite3
    with sqlite3.connect(paths[0]) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)                            # the nightly backup of the data folder (online backup API)
    service.delete(subject, actor="canbo")
    service.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{paths[0]}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, paths[0])                  # disaster: the data folder is restored from last night
    restored = make_service(paths, clock)
    assert restored.index.match(template("An", 4)).verdict is not Verdict.MATCH
    assert restored.index.match(template("Cường", 4)).verdict is Verdict.MATCH
    assert restored.gallery.subject(subject) is None          # discarded at load, and said so
    assert any(a["action"] == "discarded" and a["subject"] == subject for a in restored.gallery.audit_trail())
    restored.close()


def test_motcua_backup_and_restore_keep_a_deleted_citizen_deleted(tmp_path: Path) -> None:
    """The real backup module: the gallery is in the backup, the key and keyring are not; restoring last night's
    backup after a withdrawal does not bring the template back."""
    from dataclasses import replace

    from api_support import make_settings

    from queue_server.backup import discover_stores, named_stores, restore, take_backup
    from queue_server.face_config import parse_face

    settings = make_settings(tmp_path / "center" / "data")
    face = parse_face({"enabled": True}, store_path=settings.store_path, base_dir=None)
    settings = replace(settings, face=face)
    assert face.key_path.parent != settings.store_path.parent
    create_key_file(face.key_path)
    clock = FixedClock(T0)
    service = make_service((face.gallery_path, face.key_path), clock)
    subject = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")["subject"]
    service.close()
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    import sqlite3
    with sqlite3.connect(settings.store_path) as db:      # a hub store with something in it
        db.execute("CREATE TABLE t (x)")
    stores = discover_stores(settings.store_path, named_stores(settings))
    backup = take_backup(stores, tmp_path / "backups", "test", T0).path
    copied = {p.name for p in backup.iterdir()}
    assert "face.sqlite3.gz" in copied and not any("ring" in name or "key" in name for name in copied)
    service = make_service((face.gallery_path, face.key_path), clock)
    service.delete(subject, actor="canbo")             # the citizen withdraws after the backup was taken
    service.close()
    restore(backup, {"hub": settings.store_path, "face": face.gallery_path}, settings.store_path.parent, T0,
            force=True)
    restored = make_service((face.gallery_path, face.key_path), clock)
    assert restored.gallery.subject(subject) is None and len(restored.index) == 0
    assert restored.index.match(template("An", 2)).verdict is not Verdict.MATCH
    restored.close()


def test_config_refuses_a_key_beside_the_store(tmp_path: Path) -> None:
    from queue_server.face_config import FaceConfigError, parse_face

    store = tmp_path / "var" / "hub.sqlite3"
    with pytest.raises(FaceConfigError, match="key_path"):
        parse_face({"enabled": True, "key_path": str(tmp_path / "var" / "face.key")}, store_path=store, base_dir=None)
    with pytest.raises(FaceConfigError, match="threshold"):
        parse_face({"threshold": 3}, store_path=store, base_dir=None)
    with pytest.raises(FaceConfigError, match="unknown key"):
        parse_face({"treshold": 0.4}, store_path=store, base_dir=None)
    cfg = parse_face({}, store_path=store, base_dir=None)
    assert not cfg.enabled and cfg.key_path == tmp_path / "keys" / "face.key"


def test_a_face_already_enrolled_is_linked_only_when_staff_name_the_citizen(paths) -> None:
    clock, events = FixedClock(T0), Events()
    service = make_service(paths, clock, events)
    first = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")["subject"]
    second_code = "000.00.12.H38-260302-0009"
    with pytest.raises(MotcuaError, match="already_enrolled"):
        service.enrol(templates=[template("An", 5)], consent=CONSENT, codes=[second_code], actor="canbo")
    assert service.gallery.subject(first).codes == (CODE,)
    out = service.enrol(templates=[template("An", 5)], consent=CONSENT, codes=[second_code], actor="canbo",
                        link_to=first)
    assert out == {"subject": first, "dossier_codes": [second_code], "already_enrolled": True}
    assert service.gallery.subject(first).codes == (CODE, second_code)
    assert service.gallery.template_count() == 1
    service.close()


def test_deletion_leaves_no_copy_of_the_citizen_key_in_the_keyring_files(paths) -> None:
    import sqlite3

    service = make_service(paths, FixedClock(T0))
    subject = service.enrol(templates=[template("An")], consent=CONSENT, codes=[CODE], actor="canbo")["subject"]
    ring = Path(str(paths[1]) + ".ring")
    with sqlite3.connect(ring) as db:
        wrapped = db.execute("SELECT wrapped FROM subject_keys WHERE subject_id=?", (subject,)).fetchone()[0]
    service.delete(subject, actor="canbo")
    on_disk = b"".join(p.read_bytes() for p in ring.parent.glob(ring.name + "*"))
    assert wrapped not in on_disk and wrapped[:16] not in on_disk     # neither in the file nor in its WAL
    service.close()
