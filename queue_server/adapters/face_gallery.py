"""The hub's face gallery on disk: templates (never photos) encrypted with AES-GCM, consent-linked dossier codes,
and the audit trail, in a SQLite file of its own (``[face] gallery_path``); per-citizen keys in a keyring beside
the master key file (``[face] key_path``), outside the data folder.

How a deleted template stays deleted, even after a backup is restored (crypto-shredding):
- each enrolled citizen (a random subject id, no name) gets a random 256-bit data key; their templates are
  encrypted under it. The data key is stored only in the keyring, itself encrypted under the master key;
- withdrawal, staff deletion and the purge destroy that data key (keyring row deleted with SQLite
  ``secure_delete``) and the template rows. A restored backup of the gallery file brings back ciphertext whose key
  no longer exists: it cannot be decrypted, and ``load`` discards it and writes "discarded" to the audit trail;
- so back up the data folder (hub, gallery) but never the key folder. Losing the keyring loses every template
  (each citizen enrols again); the code and QR look-ups never depended on it.

Nothing here publishes anything: the gallery is not an event listener and owns no MQTT, outbox or sink handle.
Keys and templates never appear in a log line or an exception message.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from contracts.messages import format_at, parse_at
from runtime.sqlite import Migration, connect, migrate

log = logging.getLogger(__name__)

KEY_BYTES = 32
_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    subject_id TEXT PRIMARY KEY,
    enrolled_at TEXT NOT NULL,
    enrolled_by TEXT NOT NULL,
    channel TEXT NOT NULL,
    consent_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subject_dossiers (
    subject_id TEXT NOT NULL REFERENCES subjects(subject_id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    returned_at TEXT,
    PRIMARY KEY (subject_id, code)
);
CREATE INDEX IF NOT EXISTS subject_dossiers_code ON subject_dossiers(code);
CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(subject_id) ON DELETE CASCADE,
    nonce BLOB NOT NULL,
    cipher BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id TEXT,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""
_RING_SCHEMA = "CREATE TABLE IF NOT EXISTS subject_keys (subject_id TEXT PRIMARY KEY, nonce BLOB NOT NULL, " \
               "wrapped BLOB NOT NULL)"
GALLERY_MIGRATIONS = (Migration(1, "subjects, linked dossiers, encrypted templates, audit", _SCHEMA),)
RING_MIGRATIONS = (Migration(1, "per-citizen data keys wrapped by the master key", _RING_SCHEMA),)


class FaceKeyError(Exception):
    """The master key file is missing, unreadable, too open, or not a key; the message says which and what to do."""


def create_key_file(path: Path) -> bool:
    """Write a new random master key (base64, mode 0600). False if one is already there (never overwritten:
    that would make every template unreadable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return True


def load_key_file(path: Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FaceKeyError(f"face key file {path} does not exist; create it with `motcua face init-key`")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise FaceKeyError(f"face key file {path} is readable by others (mode {mode:o}); run chmod 600 {path}")
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except (ValueError, UnicodeDecodeError) as err:
        raise FaceKeyError(f"face key file {path} does not hold a base64 key") from err
    if len(key) != KEY_BYTES:
        raise FaceKeyError(f"face key file {path} holds {len(key)} bytes; a key is {KEY_BYTES} bytes")
    return key


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    subject_id: str
    enrolled_at: datetime
    enrolled_by: str
    channel: str
    consent_version: str
    codes: tuple[str, ...]
    returned: dict[str, datetime]          # code -> when its result was returned


def _connect(path: Path) -> sqlite3.Connection:
    conn = connect(path, foreign_keys=True)
    # deleted rows are overwritten with zeros in the file, not left in free pages
    conn.execute("PRAGMA secure_delete=ON")
    return conn


def _forget_old_pages(conn: sqlite3.Connection) -> None:
    """After a deletion: copy the WAL into the file and empty it, so no frame still holds the deleted rows."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class FaceGallery:
    """Encrypted templates + keyring + audit. Thread-safe (one lock; the gallery is small and writes are rare)."""

    def __init__(self, gallery_path: Path, key_path: Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM
        self._master = AESGCM(load_key_file(key_path))
        self.path = Path(gallery_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ring_path = Path(str(key_path) + ".ring")
        self._lock = threading.Lock()
        self._db = _connect(self.path)
        migrate(self._db, "face_gallery", GALLERY_MIGRATIONS)
        # the keyring lives beside the key, outside the data folder that is backed up
        new_ring = not ring_path.exists()
        self._ring = _connect(ring_path)
        if new_ring:
            os.chmod(ring_path, 0o600)
        migrate(self._ring, "face_keyring", RING_MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._ring.close()

    # ---- keys -------------------------------------------------------------------------------------------
    def _subject_key(self, subject_id: str) -> Any | None:
        row = self._ring.execute("SELECT nonce, wrapped FROM subject_keys WHERE subject_id=?", (subject_id,)).fetchone()
        if row is None:
            return None
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead(self._master.decrypt(row[0], row[1], subject_id.encode()))
        except InvalidTag as err:
            raise FaceKeyError("the face key file does not open this keyring: was key_path changed or the key "
                               "replaced? Put the right key back (templates cannot be read without it)") from err

    # ---- writes -----------------------------------------------------------------------------------------
    def add_subject(self, subject_id: str, templates: Iterable[np.ndarray], *, at: datetime, actor: str,
                    channel: str, consent_version: str, codes: Iterable[str]) -> None:
        """One transaction per file: the key first (a crash after it leaves an unused key, never a template
        without one)."""
        rows = [np.asarray(t, dtype=np.float32).tobytes() for t in templates]
        if not rows:
            raise ValueError("no template to store")
        with self._lock:
            dek = secrets.token_bytes(KEY_BYTES)
            nonce = secrets.token_bytes(12)
            self._ring.execute("INSERT INTO subject_keys VALUES (?, ?, ?)",
                               (subject_id, nonce, self._master.encrypt(nonce, dek, subject_id.encode())))
            aead = self._aead(dek)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO subjects VALUES (?, ?, ?, ?, ?)",
                                 (subject_id, format_at(at), actor, channel, consent_version))
                self._db.executemany("INSERT OR IGNORE INTO subject_dossiers(subject_id, code) VALUES (?, ?)",
                                     [(subject_id, c) for c in codes])
                for raw in rows:
                    n = secrets.token_bytes(12)
                    self._db.execute("INSERT INTO templates(subject_id, nonce, cipher) VALUES (?, ?, ?)",
                                     (subject_id, n, aead.encrypt(n, raw, subject_id.encode())))
                self._audit(at, "enrolled", subject_id, actor, {"channel": channel, "templates": len(rows),
                                                                 "consent_version": consent_version,
                                                                 "codes": sorted(set(codes))})
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._ring.execute("DELETE FROM subject_keys WHERE subject_id=?", (subject_id,))
                raise

    def link_codes(self, subject_id: str, codes: Iterable[str], *, at: datetime, actor: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO subject_dossiers(subject_id, code) VALUES (?, ?)",
                                 [(subject_id, c) for c in codes])
            self._audit(at, "linked", subject_id, actor, {"codes": sorted(set(codes))})
            self._db.execute("COMMIT")

    def delete_subject(self, subject_id: str, *, at: datetime, actor: str, action: str,
                       detail: dict[str, Any] | None = None) -> bool:
        """Destroy the key (crypto-shredding), then the rows. True when there was something to delete."""
        with self._lock:
            gone = self._ring.execute("DELETE FROM subject_keys WHERE subject_id=?", (subject_id,)).rowcount
            self._db.execute("BEGIN IMMEDIATE")
            existed = self._db.execute("DELETE FROM subjects WHERE subject_id=?", (subject_id,)).rowcount
            if gone or existed:
                self._audit(at, action, subject_id, actor, detail or {})
            self._db.execute("COMMIT")
            if gone or existed:
                _forget_old_pages(self._ring)
                _forget_old_pages(self._db)
            return bool(gone or existed)

    def mark_returned(self, code: str, at: datetime | None) -> int:
        """A linked dossier's result was returned at ``at`` (None: it is open again). Returns rows touched."""
        with self._lock:
            return self._db.execute("UPDATE subject_dossiers SET returned_at=? WHERE code=?",
                                    (format_at(at) if at else None, code)).rowcount

    def audit(self, at: datetime, action: str, subject_id: str | None, actor: str,
              detail: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._audit(at, action, subject_id, actor, detail or {})

    def _audit(self, at: datetime, action: str, subject_id: str | None, actor: str, detail: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO audit(at, action, subject_id, actor, detail) VALUES (?, ?, ?, ?, ?)",
                         (format_at(at), action, subject_id, actor, json.dumps(detail, ensure_ascii=False)))

    # ---- reads ------------------------------------------------------------------------------------------
    def load(self, at: datetime) -> list[tuple[str, np.ndarray]]:
        """Every readable template (subject, vector). Rows whose key is gone (a restored backup of a deleted
        citizen) are discarded here, with one audit line per citizen."""
        out: list[tuple[str, np.ndarray]] = []
        orphans: set[str] = set()
        with self._lock:
            rows = self._db.execute("SELECT subject_id, nonce, cipher FROM templates ORDER BY id").fetchall()
            keys: dict[str, Any] = {}
            for subject_id, nonce, cipher in rows:
                if subject_id not in keys:
                    keys[subject_id] = self._subject_key(subject_id)
                key = keys[subject_id]
                if key is None:
                    orphans.add(subject_id)
                    continue
                raw = key.decrypt(nonce, cipher, subject_id.encode())
                out.append((subject_id, np.frombuffer(raw, dtype=np.float32).copy()))
            known = {r[0] for r in self._db.execute("SELECT subject_id FROM subjects")}
            orphans |= {s for s in known if s not in keys and self._subject_key(s) is None}
        for subject_id in sorted(orphans):
            self.delete_subject(subject_id, at=at, actor="system", action="discarded",
                                detail={"why": "no key: deleted before a backup was restored"})
        return out

    def subject(self, subject_id: str) -> SubjectRecord | None:
        with self._lock:
            return self._record(subject_id)

    def _record(self, subject_id: str) -> SubjectRecord | None:
        row = self._db.execute("SELECT subject_id, enrolled_at, enrolled_by, channel, consent_version FROM subjects "
                               "WHERE subject_id=?", (subject_id,)).fetchone()
        if row is None:
            return None
        links = self._db.execute("SELECT code, returned_at FROM subject_dossiers WHERE subject_id=? ORDER BY code",
                                 (subject_id,)).fetchall()
        return SubjectRecord(row[0], parse_at(row[1]), row[2], row[3], row[4], tuple(c for c, _ in links),
                             {c: parse_at(r) for c, r in links if r})

    def subjects(self, limit: int = 500) -> list[SubjectRecord]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT subject_id FROM subjects ORDER BY enrolled_at DESC LIMIT ?",
                                                  (limit,))]
            return [r for r in (self._record(i) for i in ids) if r is not None]

    def all_subject_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT subject_id FROM subjects")]

    def audit_trail(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT at, action, subject_id, actor, detail FROM audit ORDER BY id DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"at": r[0], "action": r[1], "subject": r[2], "actor": r[3], "detail": json.loads(r[4])}
                for r in rows]

    def template_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM templates").fetchone()[0])
