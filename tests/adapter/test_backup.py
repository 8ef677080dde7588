"""Backup and restore on real SQLite files: every store copied consistently, checked, rotated, mirrored; restore
verifies before it touches anything and never deletes what was there."""
from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from contracts.messages import VN_TZ
from queue_server.backup import (
    MANIFEST,
    BackupError,
    discover_stores,
    extract_store,
    list_backups,
    restore,
    take_backup,
    verify,
)

pytestmark = pytest.mark.adapter

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=VN_TZ)


def make_db(path: Path, rows: int, table: str = "events") -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)")
    conn.executemany(f"INSERT INTO {table} (data) VALUES (?)", [(f"row {i}",) for i in range(rows)])
    conn.commit()
    conn.close()


def count(path: Path, table: str = "events") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def stored(backup: Path, role: str) -> Path:
    """The plain SQLite file of ``role`` in a backup (gzipped in it), beside the backups, to query."""
    out = backup.parent.parent / "read" / backup.name
    out.mkdir(parents=True, exist_ok=True)
    return extract_store(backup, role, out / f"{role}.sqlite3")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(directory: Path) -> dict[str, str]:
    """Every file under a directory with its digest: what "nothing was written" compares."""
    return {str(p.relative_to(directory)): sha256(p) for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def center_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    make_db(state / "hub.sqlite3", 50)
    make_db(state / "outbox.sqlite3", 7, "outbox_items")
    make_db(state / "face.sqlite3", 3, "templates")            # a store added later, found beside the hub's
    (state / "notes.txt").write_text("not a database", encoding="utf-8")
    make_db(tmp_path / "elsewhere-mirror.sqlite3", 11, "dossier_mirror")
    return state


def stores(center_dir: Path) -> list:
    return discover_stores(center_dir / "hub.sqlite3", {"mirror": center_dir.parent / "elsewhere-mirror.sqlite3",
                                                         "outbox": center_dir / "outbox.sqlite3"})


def test_every_store_is_found_and_copied_with_a_manifest(center_dir: Path, tmp_path: Path) -> None:
    found = stores(center_dir)
    assert sorted(s.role for s in found) == ["file:face.sqlite3", "hub", "mirror", "outbox"]
    result = take_backup(found, tmp_path / "backups", "tt-hcc", T0)
    manifest = json.loads((result.path / MANIFEST).read_text(encoding="utf-8"))
    assert {f["role"]: f["integrity"] for f in manifest["files"]} == dict.fromkeys(
        ["hub", "mirror", "outbox", "file:face.sqlite3"], "ok")
    hub_entry = next(f for f in manifest["files"] if f["role"] == "hub")
    assert hub_entry["last_seq"] == 50
    assert count(stored(result.path, "hub")) == 50
    assert count(stored(result.path, "mirror"), "dossier_mirror") == 11
    # the copies stand alone: no WAL to carry along
    assert not list(result.path.glob("*-wal"))
    verify(result.path)


def test_a_backup_taken_while_a_writer_commits_is_consistent(center_dir: Path, tmp_path: Path) -> None:
    hub = center_dir / "hub.sqlite3"
    stop = threading.Event()
    commits = [0]
    committed = threading.Condition()

    def writer() -> None:
        conn = sqlite3.connect(hub, timeout=30)
        while not stop.is_set():
            # two rows per transaction: a torn copy would show an odd count
            with conn:
                conn.execute("INSERT INTO events (data) VALUES ('a')")
                conn.execute("INSERT INTO events (data) VALUES ('b')")
            with committed:
                commits[0] += 1
                committed.notify_all()
        conn.close()

    def a_commit_after(n: int) -> int:
        with committed:
            assert committed.wait_for(lambda: commits[0] > n, timeout=30)
            return commits[0]

    thread = threading.Thread(target=writer)
    thread.start()
    results = []
    try:
        seen = 0
        for i in range(5):
            # each backup starts after a commit made since the last one finished (a busy machine can starve the
            # writer thread: the backups then all saw the same rows), so each holds more than the one before
            a_commit_after(seen)
            results.append(take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0 + timedelta(seconds=i),
                                       keep=10))
            with committed:
                seen = commits[0]
    finally:
        stop.set()
        thread.join()
    counts = [count(stored(r.path, "hub")) for r in results]
    assert all(c % 2 == 0 for c in counts)
    assert all(a < b for a, b in pairwise(counts))


def test_rotation_keeps_the_newest_and_the_mirror_follows(center_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "usb-disk" / "motcua"
    made = [take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0 + timedelta(hours=i), keep=3,
                        copy_to=str(second)) for i in range(5)]
    kept = list_backups(tmp_path / "backups")
    assert [p.name for p in kept] == [r.path.name for r in made[-3:]]
    assert [p.name for p in list_backups(second)] == [p.name for p in kept]
    verify(list_backups(second)[-1])
    assert made[-1].removed == (made[1].path,)


def test_two_backups_in_one_second_both_land_and_sort_by_time(center_dir: Path, tmp_path: Path) -> None:
    # the nightly timer and an admin's manual backup may start in the same second: both must succeed
    made = [take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", t, keep=3)
            for t in (T0, T0, T0, T0 + timedelta(seconds=1))]
    assert len({r.path for r in made}) == 4
    assert made[1].path.name == made[0].path.name + "-02"
    kept = list_backups(tmp_path / "backups")
    assert [p.name for p in kept] == [r.path.name for r in made[1:]]   # rotation dropped the oldest, by time
    for r in made[1:]:
        verify(r.path)


def test_an_unfinished_backup_is_never_listed_or_restored(center_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    take_backup(stores(center_dir), dest, "tt-hcc", T0)
    (dest / ".partial-motcua-tt-hcc-20261123-130000").mkdir()
    (dest / "motcua-tt-hcc-20261123-140000").mkdir()            # crashed before its manifest was written
    assert len(list_backups(dest)) == 1
    with pytest.raises(BackupError, match="no manifest.json"):
        restore(dest / "motcua-tt-hcc-20261123-140000", {}, tmp_path / "new", T0)


def test_a_missing_store_fails_the_backup_and_leaves_nothing_behind(center_dir: Path, tmp_path: Path) -> None:
    found = stores(center_dir)
    (center_dir / "outbox.sqlite3").unlink()
    with pytest.raises(BackupError, match="outbox"):
        take_backup(found, tmp_path / "backups", "tt-hcc", T0)
    assert list((tmp_path / "backups").iterdir()) == []


def test_restore_onto_an_empty_directory(center_dir: Path, tmp_path: Path) -> None:
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    new = tmp_path / "new-pc"
    targets = {"hub": new / "hub.sqlite3", "mirror": new / "dossiers.sqlite3", "outbox": new / "outbox.sqlite3"}
    done = dict(restore(backup, targets, new, T0))
    assert done == {**targets, "file:face.sqlite3": new / "face.sqlite3"}
    assert count(new / "hub.sqlite3") == 50
    assert count(new / "dossiers.sqlite3", "dossier_mirror") == 11
    assert count(new / "face.sqlite3", "templates") == 3


def test_restore_refuses_live_stores_unless_forced_and_keeps_them(center_dir: Path, tmp_path: Path) -> None:
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    make_db(center_dir / "hub.sqlite3", 5)                      # the hub went on: 55 rows now
    targets = {"hub": center_dir / "hub.sqlite3"}
    with pytest.raises(BackupError, match="already exist"):
        restore(backup, targets, center_dir, T0)
    assert count(center_dir / "hub.sqlite3") == 55              # untouched
    restore(backup, targets, center_dir, T0, force=True)
    assert count(center_dir / "hub.sqlite3") == 50
    kept = center_dir / "hub.sqlite3.before-restore-20261123-120000"
    assert count(kept) == 55


def test_a_damaged_backup_is_refused_before_anything_is_written(center_dir: Path, tmp_path: Path) -> None:
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    data = bytearray((backup / "outbox.sqlite3.gz").read_bytes())
    data[-100] ^= 0xFF
    (backup / "outbox.sqlite3.gz").write_bytes(bytes(data))
    new = tmp_path / "new-pc"
    with pytest.raises(BackupError, match="SHA-256"):
        restore(backup, {"hub": new / "hub.sqlite3"}, new, T0)
    assert not new.exists()


def test_a_restore_marks_the_hub_store_and_the_mark_holds_leases_only_until_cleared(center_dir: Path,
                                                                                     tmp_path: Path) -> None:
    """The hub started on a restored store holds new offline blocks (app/lease_hold.py) until the grace is over;
    the mark is a row in the hub's file, cleared then, so the next start is a plain one."""
    from queue_server.adapters.restore_mark import RestoreMarkStore
    from queue_server.app.lease_hold import RESTORE_HOLD_S, LeaseHold, LeasesOnHold
    from queue_server.app.ports import FixedClock

    live = center_dir / "hub.sqlite3"
    assert RestoreMarkStore(live).restored() is None            # a store that was never restored: no hold
    assert not LeaseHold(RestoreMarkStore(live), FixedClock(T0)).active
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    new = tmp_path / "new-pc"
    restore(backup, {"hub": new / "hub.sqlite3", "outbox": new / "outbox.sqlite3"}, new, T0)
    assert count(new / "hub.sqlite3") == 50
    marks = RestoreMarkStore(new / "hub.sqlite3")
    assert marks.restored() == backup.name
    for other in ("outbox.sqlite3", "face.sqlite3"):                # only the event store carries the mark
        conn = sqlite3.connect(new / other)
        try:
            assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'restore_mark'").fetchone() is None
        finally:
            conn.close()
    clock = FixedClock(T0 + timedelta(minutes=5))                # the hub starts a few minutes later
    hold = LeaseHold(marks, clock)
    with pytest.raises(LeasesOnHold):
        hold.check()
    assert LeaseHold(RestoreMarkStore(new / "hub.sqlite3"), clock).active   # a restart within it: held again
    clock.advance(timedelta(seconds=RESTORE_HOLD_S))
    hold.check()
    assert RestoreMarkStore(new / "hub.sqlite3").restored() is None
    assert not LeaseHold(RestoreMarkStore(new / "hub.sqlite3"), clock).active


def test_a_compressed_backup_is_smaller_says_so_and_restores_the_same_store(center_dir: Path, tmp_path: Path) -> None:
    make_db(center_dir / "hub.sqlite3", 20_000)                 # a store with some body to it (the events repeat)
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == 2                               # an older motcua refuses it by its format
    assert sorted(p.name for p in backup.iterdir()) == sorted(
        [MANIFEST, "hub.sqlite3.gz", "mirror.sqlite3.gz", "outbox.sqlite3.gz", "file-face.sqlite3.sqlite3.gz"])
    for entry in manifest["files"]:
        packed = backup / entry["file"]
        assert entry["compression"] == "gzip"
        assert entry["stored_bytes"] == packed.stat().st_size < entry["bytes"]
        assert entry["sha256"] == sha256(packed)                 # what verify checks without unpacking
        with gzip.open(packed, "rb") as gz:
            raw = gz.read()
        assert len(raw) == entry["bytes"] and hashlib.sha256(raw).hexdigest() == entry["raw_sha256"]
        assert raw.startswith(b"SQLite format 3\x00")
    hub = next(e for e in manifest["files"] if e["role"] == "hub")
    assert hub["stored_bytes"] * 2 < hub["bytes"] and hub["last_seq"] == 20_050
    verify(backup)
    new = tmp_path / "new-pc"
    restore(backup, {"hub": new / "hub.sqlite3", "outbox": new / "outbox.sqlite3"}, new, T0)
    # the restored file is the backup's copy (content by digest), then marked as restored (the mark is a row added)
    outbox = next(e for e in manifest["files"] if e["role"] == "outbox")
    assert sha256(new / "outbox.sqlite3") == outbox["raw_sha256"]
    assert sha256(new / "face.sqlite3") == next(e for e in manifest["files"]
                                                if e["role"] == "file:face.sqlite3")["raw_sha256"]
    query = "SELECT seq, data FROM events ORDER BY seq"
    conn_live, conn_new = sqlite3.connect(center_dir / "hub.sqlite3"), sqlite3.connect(new / "hub.sqlite3")
    try:
        assert conn_new.execute(query).fetchall() == conn_live.execute(query).fetchall()
    finally:
        conn_live.close()
        conn_new.close()
    assert not list(new.glob(".partial-*"))


def write_old_backup(center_dir: Path, destination: Path) -> Path:
    """A backup as releases before compression wrote it, by hand: raw copies and a format-1 manifest."""
    backup = destination / "motcua-tt-hcc-20261001-120000"
    backup.mkdir(parents=True)
    entries = []
    for role, source in (("hub", center_dir / "hub.sqlite3"), ("outbox", center_dir / "outbox.sqlite3")):
        copy = backup / f"{role}.sqlite3"
        with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        src.close()
        dst.close()
        entry = {"role": role, "file": copy.name, "source": str(source), "bytes": copy.stat().st_size,
                 "sha256": sha256(copy), "integrity": "ok"}
        if role == "hub":
            entry["last_seq"] = 50
        entries.append(entry)
    (backup / MANIFEST).write_text(json.dumps({"format": 1, "center": "tt-hcc", "created_at": "2026-10-01T12:00:00+07:00",
                                               "files": entries}), encoding="utf-8")
    return backup


def test_an_old_uncompressed_backup_still_verifies_and_restores(center_dir: Path, tmp_path: Path) -> None:
    old = write_old_backup(center_dir, tmp_path / "backups")
    assert verify(old)["format"] == 1
    new = tmp_path / "new-pc"
    done = dict(restore(old, {"hub": new / "hub.sqlite3", "outbox": new / "outbox.sqlite3"}, new, T0))
    assert done == {"hub": new / "hub.sqlite3", "outbox": new / "outbox.sqlite3"}
    assert count(new / "hub.sqlite3") == 50 and count(new / "outbox.sqlite3", "outbox_items") == 7
    assert sha256(new / "outbox.sqlite3") == sha256(old / "outbox.sqlite3")
    # and one written today without compression is the same format-1 backup: raw files an older release restores
    plain = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0, compress=False).path
    manifest = json.loads((plain / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == 1 and not any("compression" in e or "raw_sha256" in e for e in manifest["files"])
    assert count(plain / "hub.sqlite3") == 50 and not list(plain.glob("*.gz"))
    verify(plain)
    restore(plain, {"hub": tmp_path / "again" / "hub.sqlite3"}, tmp_path / "again", T0)
    assert count(tmp_path / "again" / "hub.sqlite3") == 50


def test_a_manifest_of_a_newer_format_or_compression_is_refused_in_one_sentence(center_dir: Path,
                                                                                 tmp_path: Path) -> None:
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][0]["compression"] = "zstd"
    (backup / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BackupError, match="unknown compression 'zstd'"):
        verify(backup)
    manifest["format"] = 3
    (backup / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BackupError, match="not a format-1 or format-2 motcua manifest"):
        restore(backup, {}, tmp_path / "new-pc", T0)
    assert not (tmp_path / "new-pc").exists()


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, flip_a_bit], ids=["truncated", "bit-flipped"])
def test_a_damaged_gz_is_refused_by_verify_and_by_restore_with_nothing_written(center_dir: Path, tmp_path: Path,
                                                                                damage) -> None:
    make_db(center_dir / "hub.sqlite3", 5_000)
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    damage(backup / "hub.sqlite3.gz")
    before = files(center_dir)
    with pytest.raises(BackupError, match=r"hub\.sqlite3\.gz does not match its recorded SHA-256 \(damaged copy\)"):
        verify(backup)
    with pytest.raises(BackupError, match="damaged copy"):
        restore(backup, {"hub": center_dir / "hub.sqlite3", "outbox": center_dir / "outbox.sqlite3"}, center_dir, T0,
                force=True)
    assert files(center_dir) == before                           # nothing moved aside, nothing half-written

    # the same damage with the manifest's stored digest rewritten to match (a copy tool that "fixed" it): the .gz
    # itself is refused — cannot be decompressed, or not the store the manifest recorded — in one sentence
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    next(e for e in manifest["files"] if e["role"] == "hub")["sha256"] = sha256(backup / "hub.sqlite3.gz")
    (backup / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(BackupError, match=r"hub\.sqlite3\.gz (cannot be decompressed \(.+\): damaged copy"
                                          r"|does not unpack to the store its manifest recorded \(damaged copy\))$"):
        verify(backup, scratch=scratch)
    assert list(scratch.iterdir()) == []                         # its temporary file is gone, also on error
    with pytest.raises(BackupError, match="damaged copy"):
        restore(backup, {"hub": center_dir / "hub.sqlite3", "outbox": center_dir / "outbox.sqlite3"}, center_dir, T0,
                force=True)
    assert files(center_dir) == before
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [backup.name]   # no temporary left beside it


def test_verify_leaves_no_temporary_file_beside_the_backup(center_dir: Path, tmp_path: Path) -> None:
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    verify(backup)                                               # unpacks each store beside the backup by default
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [backup.name]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    verify(backup, scratch=scratch)
    assert list(scratch.iterdir()) == []


def test_a_gz_swapped_for_another_stores_is_refused_by_its_raw_digest(center_dir: Path, tmp_path: Path) -> None:
    # a whole, valid .gz of a valid database — the outbox — under the hub's name, its stored digest rewritten to
    # match: only the digest of what it unpacks to tells it is not the hub store the backup took
    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    (backup / "hub.sqlite3.gz").write_bytes((backup / "outbox.sqlite3.gz").read_bytes())
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    hub = next(e for e in manifest["files"] if e["role"] == "hub")
    outbox = next(e for e in manifest["files"] if e["role"] == "outbox")
    hub.update(sha256=outbox["sha256"], bytes=outbox["bytes"])
    (backup / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BackupError, match=r"hub\.sqlite3\.gz does not unpack to the store its manifest recorded"):
        verify(backup)
    new = tmp_path / "new-pc"
    with pytest.raises(BackupError, match="does not unpack"):
        restore(backup, {"hub": new / "hub.sqlite3"}, new, T0)
    assert not new.exists()


def test_a_gz_damaged_after_verify_is_caught_while_restoring_and_leaves_no_partial_file(
        center_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the backup changes between restore's verify and its unpack (a flaky USB disk, a second admin): the unpack
    # checks the store it writes again, and removes its partial file instead of putting it in place
    import queue_server.backup as backup_module

    backup = take_backup(stores(center_dir), tmp_path / "backups", "tt-hcc", T0).path
    real_verify = backup_module.verify

    def verify_then_damage(path: Path, scratch: Path | None = None) -> dict[str, object]:
        manifest = real_verify(path, scratch)
        truncate(path / "hub.sqlite3.gz")
        return manifest

    monkeypatch.setattr(backup_module, "verify", verify_then_damage)
    new = tmp_path / "new-pc"
    with pytest.raises(BackupError, match=r"hub\.sqlite3\.gz cannot be decompressed .*: damaged copy$"):
        restore(backup, {"hub": new / "hub.sqlite3"}, new, T0)
    assert not (new / "hub.sqlite3").exists() and not list(new.glob(".partial-*"))
