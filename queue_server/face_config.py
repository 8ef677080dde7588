"""The hub's ``[face]`` settings: face lookup off unless a center turns it on. Parsed on its own (like
``[integration]``), so the hub's settings model only hands the table over; every error names the key.

    [face]
    enabled = true
    key_path = "/etc/motcua/face.key"     # master key, 0600; `motcua face init-key` makes it. Keep it OUT of backups
    gallery_path = "var/face.sqlite3"     # encrypted templates, consent links, audit trail (backed up with var/)
    threshold = 0.45                      # dlib distance; stricter than dlib's 0.6 (weaker on Asian faces)
    margin = 0.08                         # the next other person must be at least this much further
    retention_days = 30                   # after the last linked dossier is returned
    max_days = 365                        # never longer after enrolment
    engine = "mediapipe"                  # on the hub, for enrolment photos from the counter page ("" = none)
    purge_every_min = 60
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.face.matching import MatchPolicy
from queue_server.domain.face_consent import Retention


class FaceConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FaceConfig:
    enabled: bool = False
    key_path: Path = Path("keys/face.key")
    gallery_path: Path = Path("var/face.sqlite3")
    policy: MatchPolicy = field(default_factory=MatchPolicy)
    retention: Retention = field(default_factory=Retention)
    engine: str = ""
    purge_every_min: float = 60.0


_KEYS = {"enabled", "key_path", "gallery_path", "threshold", "margin", "retention_days", "max_days", "engine",
         "purge_every_min"}


def _number(table: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (lo <= value <= hi):
        raise FaceConfigError(f"face.{key}: expected a number from {lo} to {hi}, got {value!r}")
    return float(value)


def parse_face(table: Any, *, store_path: Path, base_dir: Path | None) -> FaceConfig:
    """Relative paths follow the config file. By default the gallery sits beside the hub's store and the key in a
    ``keys/`` folder beside the data folder (not inside it: the data folder is what gets backed up)."""
    if not isinstance(table, dict):
        raise FaceConfigError("face: expected a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise FaceConfigError(f"face.{unknown[0]}: unknown key")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise FaceConfigError("face.enabled: expected true or false")

    def path(key: str, default: Path) -> Path:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise FaceConfigError(f"face.{key}: expected a file path")
        p = Path(value)
        return base_dir / p if not p.is_absolute() and base_dir is not None else p

    engine = table.get("engine", "")
    if not isinstance(engine, str) or (engine and engine != "mediapipe" and not engine.startswith("sim://face")):
        raise FaceConfigError("face.engine: expected \"mediapipe\", \"sim://face\" or \"\" (none on the hub)")
    try:
        policy = MatchPolicy(_number(table, "threshold", 0.45, 0.05, 1.2), _number(table, "margin", 0.08, 0.0, 1.0))
        retention = Retention(int(_number(table, "retention_days", 30, 0, 3650)),
                              int(_number(table, "max_days", 365, 1, 3650)))
    except ValueError as err:
        raise FaceConfigError(str(err) if str(err).startswith("face.") else f"face: {err}") from err
    key_path = path("key_path", store_path.parent.parent / "keys" / "face.key")
    gallery_path = path("gallery_path", store_path.parent / "face.sqlite3")
    if key_path.resolve().parent in (gallery_path.resolve().parent, store_path.resolve().parent):
        # the whole point of the keyring: a backup of the gallery's folder must not carry the keys
        # `motcua backup` copies every SQLite file beside the hub store: the keyring must not be one of them
        raise FaceConfigError("face.key_path: put the key in another folder than the gallery and the hub store "
                              "(keep it out of backups; see docs/face.md)")
    return FaceConfig(enabled=enabled, key_path=key_path, gallery_path=gallery_path, policy=policy,
                      retention=retention, engine=engine,
                      purge_every_min=_number(table, "purge_every_min", 60, 1, 1440))
