"""Backup and restore of every store a hub keeps: consistent online copies through SQLite's backup API.

What a center loses in a disk failure is what this module did not copy, so it copies every SQLite database the hub
owns — the event store (tickets, counters, ratings), the outbox of undelivered events, the dossier mirror, and any
other database in the store's directory (later stores land there by default) — while the hub keeps running.

A backup is a directory ``motcua-<center>-<YYYYmmdd-HHMMSS>/`` holding one file per store and ``manifest.json`` (role,
original path, size, SHA-256, integrity check, the event store's last seq). It is written under a temporary name and
renamed when complete, so a crash never leaves something that looks like a backup but is not one. Each copy is checked
with ``PRAGMA integrity_check`` before the backup counts. Older backups rotate out (keep N); a second destination — a
mounted path or an rsync/ssh target — mirrors the backup directory.

Each checked copy is then gzipped (``<role>.sqlite3.gz``, streamed: a store is never held in memory), which makes a
year-old hub store about 8 times smaller; such a backup's manifest is format 2 and records both digests (``sha256``
of the stored .gz, ``raw_sha256`` of the store inside it). Format-1 backups (uncompressed, older releases or
``compress=False``) are read as before; an older release refuses a format-2 manifest by its format, before it reads
any file.

Restore checks the manifest and every file's digest and integrity before it touches anything (a .gz is unpacked into
a temporary file for that, removed afterwards), refuses to overwrite live stores unless asked, and then moves what was
there aside (``*.before-restore-<time>``) rather than deleting it.
It marks the event store it puts back as restored (adapters/restore_mark.py): the hub started on it holds new offline
number blocks for a minute while the kiosks re-report the blocks granted after the backup (app/lease_hold.py).

It must not: call the ``sqlite3`` binary, write into a store it backs up, or restore over a store without a check.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from queue_server.adapters.restore_mark import mark_restored

MANIFEST = "manifest.json"
FORMAT = 2                     # a backup holding gzipped stores; one made with compress=False is written as format 1
PLAIN_FORMAT = 1               # what every release reads: one raw SQLite file per store
READABLE_FORMATS = (PLAIN_FORMAT, FORMAT)
GZIP = "gzip"
# measured on a year-old hub store (1.67 GB, bench/backup_compression.py, docs/operations.md §5): level 1 → 7.0×
# in 6.4 s, 2 → 7.6× in 6.7 s, 3 → 8.1× in 7.5 s, 4 → 8.2× in 9.8 s, 5 → 9.0× in 11.8 s, 6 (gzip's default) → 9.4×
# in 17.9 s, 9 → 9.7× in 55 s: level 3 is the knee — 14 % less disk than level 1 for one second more, while each
# step past it costs more time than it saves space (the hub keeps serving meanwhile, on the same cores)
GZIP_LEVEL = 3
BLOCK = 1 << 20
SQLITE_MAGIC = b"SQLite format 3\x00"
PARTIAL_PREFIX = ".partial-"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one sentence for the operator."""


@dataclass(frozen=True, slots=True)
class StoreFile:
    """One database to back up: a role that restore maps back to a path, and where it lives now."""

    role: str
    path: Path


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    files: tuple[dict[str, object], ...]
    removed: tuple[Path, ...]
    copied_to: str | None


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def discover_stores(store_path: Path, named: Mapping[str, Path | None] = {}) -> list[StoreFile]:
    """The hub store, the named stores (outbox, mirror, …) and every other SQLite database beside the hub store.

    Roles are stable names restore maps back: ``hub`` for the event store, the given names for the named ones, and
    ``file:<name>`` for a database found in the store directory (restored under the same name).
    """
    stores = [StoreFile("hub", store_path)]
    seen = {store_path.resolve()}
    for role, path in named.items():
        if path is not None and path.resolve() not in seen and path.exists():
            stores.append(StoreFile(role, path))
            seen.add(path.resolve())
    directory = store_path.parent
    if directory.is_dir():
        for candidate in sorted(directory.iterdir()):
            if (candidate.is_file() and candidate.resolve() not in seen and not candidate.name.endswith(("-wal", "-shm"))
                    and ".before-restore-" not in candidate.name and is_sqlite_file(candidate)):
                stores.append(StoreFile(f"file:{candidate.name}", candidate))
                seen.add(candidate.resolve())
    return stores


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _gzip(source: Path, target: Path) -> str:
    """Stream ``source`` into ``target`` gzipped; the SHA-256 of what went in (read once for both)."""
    digest = hashlib.sha256()
    # mtime=0 and no file name in the header: the same store gives the same bytes, whenever and wherever packed
    with source.open("rb") as fh, target.open("wb") as raw, \
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
            gz.write(block)
    return digest.hexdigest()


class _Damaged(Exception):
    """A stored .gz that does not decompress (truncated, bit flipped): reading it, not writing the target, failed."""


def _gunzip(source: Path, target: Path) -> tuple[str, int]:
    """Stream the gzipped ``source`` into ``target``; the SHA-256 and the size of what came out."""
    digest = hashlib.sha256()
    size = 0
    with gzip.open(source, "rb") as gz, target.open("wb") as out:
        while True:
            try:
                block = gz.read(BLOCK)
            except (OSError, EOFError, zlib.error) as err:     # BadGzipFile is an OSError; truncation is an EOFError
                raise _Damaged(str(err) or type(err).__name__) from err
            if not block:
                break
            digest.update(block)
            size += len(block)
            out.write(block)
    return digest.hexdigest(), size


def _unpack(backup: Path, entry: Mapping[str, object], target: Path) -> None:
    """Write the raw store of a gzip entry to ``target`` and check it is the store the backup recorded."""
    name = entry["file"]
    try:
        raw_sha, size = _gunzip(backup / str(name), target)
    except _Damaged as err:
        raise BackupError(f"{backup}: {name} cannot be decompressed ({err}): damaged copy") from err
    except OSError as err:
        raise BackupError(f"{backup}: cannot unpack {name} into {target.parent}: {err.strerror or err}") from err
    if raw_sha != entry.get("raw_sha256") or size != entry.get("bytes"):
        raise BackupError(f"{backup}: {name} does not unpack to the store its manifest recorded (damaged copy)")


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])


def _last_seq(path: Path) -> int | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _copy_online(source: Path, target: Path) -> None:
    # the backup API reads a consistent snapshot while the hub keeps writing (WAL: readers never block the writer)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # a copy that stands alone: no -wal file to carry along
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_backup(stores: Iterable[StoreFile], destination: Path, center: str, now: datetime, keep: int = 14,
                copy_to: str | None = None, compress: bool = True) -> BackupResult:
    """Copy every store into a new backup directory under ``destination``; rotate; mirror to ``copy_to``.

    With ``compress`` (the default) each checked copy is gzipped and the backup is format 2, which releases before
    it cannot restore; without it the backup is format 1, as every release wrote and reads.
    """
    if keep < 1:
        raise BackupError("keep must be at least 1")
    destination.mkdir(parents=True, exist_ok=True)
    name = f"motcua-{center}-{now.strftime('%Y%m%d-%H%M%S')}"
    final = destination / name
    # a second backup within the same second (an admin's manual one beside the timer's) gets a suffix that still
    # sorts by time ("…-133026" < "…-133026-02" < "…-133027"), so rotation keeps the newest
    for n in range(2, 100):
        if not final.exists() and not (destination / f"{PARTIAL_PREFIX}{final.name}").exists():
            break
        final = destination / f"{name}-{n:02d}"
    else:
        raise BackupError(f"{destination}: 99 backups within one second; wait a second and try again")
    name = final.name
    partial = destination / f"{PARTIAL_PREFIX}{name}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    files: list[dict[str, object]] = []
    try:
        for store in stores:
            if not store.path.exists():
                raise BackupError(f"{store.role}: {store.path} does not exist")
            if not is_sqlite_file(store.path):
                raise BackupError(f"{store.role}: {store.path} is not an SQLite database")
            file_name = f"{store.role.replace(':', '-').replace('/', '-')}.sqlite3"
            target = partial / file_name
            try:
                _copy_online(store.path, target)
            except sqlite3.Error as err:
                raise BackupError(f"{store.role}: cannot copy {store.path}: {err}") from err
            integrity = _integrity(target)
            if integrity != "ok":
                raise BackupError(f"{store.role}: the copy of {store.path} fails its integrity check: {integrity}")
            entry: dict[str, object] = {"role": store.role, "file": file_name, "source": str(store.path),
                                        "bytes": target.stat().st_size}
            if store.role == "hub":
                entry["last_seq"] = _last_seq(target)
            if compress:
                # the copy checked above is what is packed; the raw file goes once the .gz is complete
                packed = target.with_name(f"{file_name}.gz")
                entry.update(file=packed.name, compression=GZIP, raw_sha256=_gzip(target, packed))
                target.unlink()
                target = packed
                entry["stored_bytes"] = target.stat().st_size
            entry.update(sha256=_sha256(target), integrity=integrity)
            files.append(entry)
        manifest = {"format": FORMAT if compress else PLAIN_FORMAT, "center": center,
                    "created_at": now.isoformat(timespec="seconds"), "files": files}
        (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for child in partial.iterdir():
            with child.open("rb") as fh:
                os.fsync(fh.fileno())
        partial.rename(final)
        _fsync_dir(destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    removed = rotate(destination, center, keep)
    copied = mirror(destination, copy_to) if copy_to else None
    return BackupResult(final, tuple(files), tuple(removed), copied)


def list_backups(destination: Path, center: str | None = None) -> list[Path]:
    """Complete backups under ``destination``, oldest first (their names sort by time)."""
    if not destination.is_dir():
        return []
    prefix = f"motcua-{center}-" if center else "motcua-"
    return sorted(p for p in destination.iterdir() if p.is_dir() and p.name.startswith(prefix)
                  and (p / MANIFEST).is_file())


def rotate(destination: Path, center: str, keep: int) -> list[Path]:
    backups = list_backups(destination, center)
    doomed = backups[:-keep] if len(backups) > keep else []
    for old in doomed:
        shutil.rmtree(old)
    return doomed


def _is_remote(target: str) -> bool:
    # rsync's own rule: "host:path" or "user@host:path" is remote; a path with a slash before any colon is local
    head = target.split("/", 1)[0]
    return ":" in head


def mirror(destination: Path, target: str) -> str:
    """Make ``target`` hold the same complete backups as ``destination`` (new ones copied, rotated ones removed)."""
    if _is_remote(target):
        cmd = ["rsync", "-a", "--delete", "--exclude", f"{PARTIAL_PREFIX}*", f"{destination}/", target.rstrip("/") + "/"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
        except FileNotFoundError as err:
            raise BackupError("rsync is not installed: install it or give a mounted path as the second destination") \
                from err
        if done.returncode != 0:
            raise BackupError(f"rsync to {target} failed ({done.returncode}): {done.stderr.strip()[:300]}")
        return target
    root = Path(target)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BackupError(f"second destination {root}: {err.strerror}") from err
    wanted = {p.name: p for p in list_backups(destination)}
    for name, source in wanted.items():
        if (root / name / MANIFEST).is_file():
            continue
        partial = root / f"{PARTIAL_PREFIX}{name}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            shutil.copytree(source, partial)
            partial.rename(root / name)
        except OSError as err:
            shutil.rmtree(partial, ignore_errors=True)
            raise BackupError(f"second destination {root}: {err.strerror or err}") from err
    for old in list_backups(root):
        if old.name not in wanted:
            shutil.rmtree(old)
    return str(root)


def read_manifest(backup: Path) -> dict[str, object]:
    try:
        manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BackupError(f"{backup}: no {MANIFEST} — not a motcua backup (or an unfinished one)") from err
    except (OSError, ValueError) as err:
        raise BackupError(f"{backup}/{MANIFEST}: unreadable: {err}") from err
    if (not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS
            or not isinstance(manifest.get("files"), list)):
        raise BackupError(f"{backup}/{MANIFEST}: not a format-{PLAIN_FORMAT} or format-{FORMAT} motcua manifest "
                          "(made by a newer motcua? restore it with the release that made it)")
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or "role" not in entry:
            raise BackupError(f"{backup}/{MANIFEST}: a file entry without its role and file name")
        compression = entry.get("compression")
        if compression is not None and (manifest["format"] == PLAIN_FORMAT or compression != GZIP):
            raise BackupError(f"{backup}/{MANIFEST}: {entry['file']}: unknown compression {compression!r} "
                              "(made by a newer motcua? restore it with the release that made it)")
    return manifest


def _entries(manifest: Mapping[str, object]) -> list[dict[str, object]]:
    # read_manifest checked that "files" is a list of dicts with a role and a file name
    return cast("list[dict[str, object]]", manifest["files"])


def _scratch_dir(backup: Path) -> Path | None:
    # beside the backups (a disk sized for them) rather than a /tmp that may be RAM; the system temp if read-only
    return backup.parent if os.access(backup.parent, os.W_OK) else None


def verify(backup: Path, scratch: Path | None = None) -> dict[str, object]:
    """Every file present, with the digest the manifest recorded, and passing its integrity check.

    A gzipped store is unpacked into a temporary directory (in ``scratch``; by default beside the backup, or the
    system temp when that is read-only), checked there and removed, also when a check fails.
    """
    manifest = read_manifest(backup)
    for entry in _entries(manifest):
        path = backup / str(entry["file"])
        if not path.is_file():
            raise BackupError(f"{backup}: {entry['file']} is missing")
        if _sha256(path) != entry["sha256"]:
            raise BackupError(f"{backup}: {entry['file']} does not match its recorded SHA-256 (damaged copy)")
        if entry.get("compression") == GZIP:
            try:
                # a ".partial-" name: never listed as a backup, and the rsync mirror skips it
                work = tempfile.TemporaryDirectory(prefix=f"{PARTIAL_PREFIX}verify-", dir=scratch or _scratch_dir(backup))
            except OSError as err:
                raise BackupError(f"{backup}: no room to check {entry['file']}: {err.strerror or err}") from err
            with work as temp:
                raw = Path(temp) / str(entry["file"]).removesuffix(".gz")
                _unpack(backup, entry, raw)
                integrity = _integrity(raw)
        else:
            integrity = _integrity(path)
        if integrity != "ok":
            raise BackupError(f"{backup}: {entry['file']} fails its integrity check: {integrity}")
    return manifest


def extract_store(backup: Path, role: str, target: Path) -> Path:
    """The store of ``role`` in ``backup`` written to ``target`` as a plain SQLite file (to read a backup without
    restoring it); its digest is checked, nothing else of the backup is."""
    manifest = read_manifest(backup)
    entry = next((e for e in _entries(manifest) if e["role"] == role), None)
    if entry is None:
        raise BackupError(f"{backup}: no store with the role {role}")
    if entry.get("compression") == GZIP:
        _unpack(backup, entry, target)
    else:
        shutil.copyfile(backup / str(entry["file"]), target)
    return target


def restore(backup: Path, targets: Mapping[str, Path], store_dir: Path, now: datetime,
            force: bool = False) -> list[tuple[str, Path]]:
    """Put every store of ``backup`` in place: ``targets`` maps roles to paths; ``file:<name>`` goes to store_dir.

    Nothing is written until the whole backup verifies. Without ``force`` an existing store is an error (a running
    hub's data is not overwritten by a slip of the keyboard); with it, existing files are moved aside, not deleted.
    """
    manifest = verify(backup)
    plan: list[tuple[str, dict[str, object], Path]] = []
    for entry in _entries(manifest):
        role = str(entry["role"])
        if role.startswith("file:"):
            target = store_dir / role.removeprefix("file:")
        elif role in targets:
            target = targets[role]
        else:
            target = store_dir / f"{role}.sqlite3"
        plan.append((role, entry, target))
    existing = [t for _, _, t in plan if t.exists()]
    if existing and not force:
        raise BackupError("these stores already exist: " + ", ".join(str(p) for p in existing)
                          + " — stop the hub, then run restore again with --force (they are kept, renamed)")
    stamp = now.strftime("%Y%m%d-%H%M%S")
    done: list[tuple[str, Path]] = []
    for role, entry, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{target}{suffix}")
            if old.exists():
                old.rename(Path(f"{target}.before-restore-{stamp}{suffix}"))
        partial = target.with_name(f"{PARTIAL_PREFIX}{target.name}")
        source = backup / str(entry["file"])
        if entry.get("compression") == GZIP:
            try:
                _unpack(backup, entry, partial)        # checked again: the backup may have changed since verify
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        else:
            shutil.copyfile(source, partial)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        partial.rename(target)
        _fsync_dir(target.parent)
        done.append((role, target))
    for role, target in done:
        if role == "hub":
            # the backup forgot the blocks granted after it: the hub must not grant new ones before kiosks re-report
            try:
                mark_restored(target, backup.name, str(manifest.get("created_at", "")),
                              now.isoformat(timespec="seconds"))
            except sqlite3.Error as err:
                raise BackupError(f"the stores are in place, but {target} could not be marked as restored ({err}): "
                                  "kiosks may be given overlapping offline blocks in the first minute") from err
    return done


def named_stores(settings: object) -> dict[str, Path | None]:
    """The stores a hub's settings name beside its event store (the outbox and the dossier mirror)."""
    integration = getattr(settings, "integration", None)
    # issue 15 hook: the face gallery (encrypted templates) is backed up; its key and keyring never are (they live
    # outside the store's directory, see docs/face.md), which is what keeps a deleted citizen deleted on restore
    face = getattr(settings, "face", None)
    return {"outbox": getattr(integration, "outbox_path", None), "mirror": getattr(integration, "mirror_path", None),
            # issue 17: the province sink's outbox, wherever [province] outbox_path puts it
            "province-outbox": getattr(getattr(settings, "province", None), "outbox_path", None),
            "face": getattr(face, "gallery_path", None) if getattr(face, "enabled", False) else None,
            # issue 16: the bookings (codes, slots, the hashed person) and the notification outbox + contact book
            "bookings": getattr(getattr(settings, "bookings", None), "path", None),
            "notifications": getattr(getattr(settings, "notifications", None), "path", None)}
