"""What only the machine can answer about settings, checked at start by ``motcua config check`` and by every
process before it opens anything: files to be written can be (their directory is writable, they are not
directories), TLS files exist and load, the calendar's override files load. Each problem is a one-line
ConfigError naming the key. Reads the file system; changes nothing on it.
"""
from __future__ import annotations

import os
import sqlite3
import ssl
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError
from .hub import HubSettings

_SQLITE_MAGIC = b"SQLite format 3\x00"


def writable_file(path: Path, key: str, *, sqlite: bool = False) -> None:
    """``path`` can be created or written: not a directory, and its directory (or the nearest existing
    ancestor, which the process will create the rest under) is a writable directory. With ``sqlite``, a file
    that is already there must be an SQLite database (or empty), not, say, the config file itself."""
    if path.is_dir():
        raise ConfigError(f"{key}: {path} is a directory, expected a file path")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"{key}: {path} is not writable by this user")
        if sqlite:
            try:
                with path.open("rb") as f:
                    head = f.read(len(_SQLITE_MAGIC))
            except OSError as err:
                raise ConfigError(f"{key}: {path} cannot be read ({err.strerror or err})") from None
            if head and head != _SQLITE_MAGIC:
                raise ConfigError(f"{key}: {path} is not an SQLite database")
        return
    writable_dir(path.parent, key)


def writable_dir(path: Path, key: str) -> None:
    """``path`` is a writable directory, or can be made under its nearest existing ancestor."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{key}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: directory {probe} is not writable by this user")


def existing_dir(path: Path, key: str) -> None:
    if not path.is_dir():
        raise ConfigError(f"{key}: {path} is not a directory" if path.exists() else f"{key}: {path}: no such directory")


def ca_file(path: str, key: str) -> None:
    """A CA bundle that exists and that ssl can load."""
    if not Path(path).is_file():
        raise ConfigError(f"{key}: {path}: no such file")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise ConfigError(f"{key}: {path} is not a CA certificate file ssl can load ({err})") from None


def cert_and_key(cert: str | None, key_path: str | None, key: str) -> None:
    """A client certificate (and its key, unless in the same file) that exist and belong together."""
    if cert is None:
        if key_path is not None:
            raise ConfigError(f"{key}.key_file: set without {key}.cert_file")
        return
    for name, value in (("cert_file", cert), ("key_file", key_path)):
        if value is not None and not Path(value).is_file():
            raise ConfigError(f"{key}.{name}: {value}: no such file")
    try:
        ssl.create_default_context().load_cert_chain(cert, key_path)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise ConfigError(f"{key}.cert_file: {cert} (with key {key_path or cert}) does not load ({err})") from None


def check_mqtt_tls(tls: bool, ca: str | None, cert: str | None, key_path: str | None, key: str) -> None:
    if ca is not None:
        ca_file(ca, f"{key}.ca_file")
    cert_and_key(cert, key_path, key)


def check_hub_can_run(settings: HubSettings, *, calendar_file: Callable[[Path], None] | None = None) -> None:
    """Everything the hub will open at start, checked before it opens any of it. ``calendar_file`` reads one
    override file and raises ValueError naming the entry (the hub passes its calendar reader)."""
    writable_file(settings.store_path, "store.path", sqlite=True)
    d = settings.display
    writable_dir(d.voice_dir or settings.store_path.parent / "voice", "display.voice_dir")
    if d.recorded_voice_dir is not None:
        existing_dir(d.recorded_voice_dir, "display.recorded_voice_dir")
    m = settings.mqtt
    if m.enabled:
        check_mqtt_tls(m.tls, m.ca_file, m.cert_file, m.key_file, "mqtt")
    p = settings.province
    if p is not None:
        writable_file(p.outbox_path, "province.outbox_path", sqlite=True)
        if isinstance(p.verify_tls, str):
            ca_file(p.verify_tls, "province.verify_tls")
    i = settings.integration
    if i is None:
        return
    writable_file(i.mirror_path, "integration.mirror_path", sqlite=True)
    writable_file(i.outbox_path, "integration.outbox_path", sqlite=True)
    for name, verify in (("main_system", i.main_system.verify_tls if i.main_system else True),
                         ("outbox", i.outbox.verify_tls if i.outbox else True)):
        if isinstance(verify, str):
            ca_file(verify, f"integration.{name}.verify_tls")
    if i.calendar_dir is not None:
        existing_dir(i.calendar_dir, "integration.calendar_dir")
        if calendar_file is not None:
            for path in sorted(i.calendar_dir.glob("vn-*.toml")):
                try:
                    calendar_file(path)
                except ValueError as err:
                    raise ConfigError(f"integration.calendar_dir: {err}") from None


def check_kiosk_can_run(journal: Path) -> None:
    """The offline journal (tickets issued while the hub is away) can be written."""
    writable_file(journal, "offline.journal", sqlite=True)


def live_password_hashes(store_path: Path) -> dict[str, str]:
    """Password hashes set from the web pages (an account's own change, the admin page), which the hub puts over
    the file's at start: the ``credentials`` table of the hub's store (queue_server/adapters/config_log.py), read
    only. Empty when there is no store yet, no such table, or it cannot be read (then the file's hashes count)."""
    if not store_path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'credentials'").fetchone():
            return {str(u): str(h) for u, h in conn.execute("SELECT username, password_hash FROM credentials")}
        return {}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
