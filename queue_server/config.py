"""The hub's settings: a thin re-export of ``runtime.settings`` (the one settings model; see there), plus the hub's
machine check ``check_can_run`` that knows how to read the working calendar's override files.

Imports no web, store, MQTT or outbox module: ``motcua config check`` stays a settings-only command.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from contracts.ratings import RatingLevel
from queue_server.adapters.holidays_source import CalendarFileError, read_override_file
from runtime.passwords import DEMO_PASSWORD, demo_password_users, weak_hash_reason
from runtime.settings import (
    DEFAULT_RATING_SCALE,
    ENV_PREFIX,
    ROLES,
    WEEKDAYS,
    ConfigError,
    DisplaySettings,
    HttpSettings,
    HubSettings,
    IntegrationSettings,
    MqttSettings,
    RatingCriterion,
    SecuritySettings,
    UserDef,
    apply_env_overrides,
    read_toml,
    working_hours_json,
)
from runtime.settings import settings_from_dict as _settings_from_dict
from runtime.settings.checks import check_hub_can_run, live_password_hashes
from runtime.settings.hub import HubFile

__all__ = [
    "DEFAULT_RATING_SCALE", "ENV_PREFIX", "ROLES", "WEEKDAYS", "ConfigError", "DisplaySettings", "HttpSettings",
    "HubSettings", "IntegrationSettings", "MqttSettings", "RatingCriterion", "RatingLevel", "SecuritySettings",
    "UserDef", "apply_env_overrides", "check_can_run", "check_hub_can_start", "load_settings", "settings_from_dict", "working_hours_json",
]


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> HubSettings:
    """runtime.settings' hub loader, plus the ``[face]`` table read by the hub's face module."""
    path = Path(path)
    raw = read_toml(path)
    env = os.environ if environ is None else environ
    overrides = apply_env_overrides(raw, env, HubFile)
    return settings_from_dict(raw, base_dir=path.resolve().parent, source=str(path), overrides=overrides,
                              environ=env, strict_hashes=True)


def settings_from_dict(raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "",
                       strict_hashes: bool = False, **kw: Any) -> HubSettings:
    """``strict_hashes`` (issue 11): refuse cheap password hashes — on for every config file (load_settings: the
    hub, config check), off for settings a test builds in memory with deliberately cheap hashes."""
    settings = _settings_from_dict(raw, base_dir=base_dir, source=source, **kw)
    if strict_hashes:
        for i, user in enumerate(settings.users):
            weak = weak_hash_reason(user.password_hash)
            if weak is not None:
                raise ConfigError(f"users[{i}].password_hash: {weak}; make a new one with "
                                  "`motcua user hash-password`")
    settings = replace(settings, broker=_broker(raw, settings))
    if raw.get("bookings") is not None or raw.get("notifications") is not None:
        # issue 16: [bookings] and [notifications], validated by their own parser (it names the key)
        from queue_server.engagement_config import EngagementConfigError, parse_bookings, parse_notifications
        try:
            settings = replace(settings, bookings=parse_bookings(
                raw.get("bookings"), {sv.code for sv in settings.center.services}, settings.store_path, base_dir),
                notifications=parse_notifications(raw.get("notifications"), settings.store_path, base_dir))
        except EngagementConfigError as err:
            raise ConfigError(str(err)) from err
    if not isinstance(raw.get("face"), dict):
        return settings
    from queue_server.face_config import FaceConfigError, parse_face  # issue 15: the one [face] edge left

    try:
        face = parse_face(raw["face"], store_path=settings.store_path, base_dir=base_dir)
    except FaceConfigError as err:
        raise ConfigError(str(err)) from err
    return replace(settings, face=face)


def _broker(raw: dict[str, Any], settings: HubSettings) -> Any:
    """``[broker]`` (issue 11): the center's MQTT users, validated by queue_server.mqtt_access (names the key)."""
    from queue_server.mqtt_access import BrokerConfigError, parse_broker

    try:
        inv = parse_broker(raw.get("broker"), settings.center.id, {c.id for c in settings.center.counters})
    except BrokerConfigError as err:
        raise ConfigError(str(err)) from err
    user = settings.mqtt.username
    if inv is not None and settings.mqtt.enabled and user and user != inv.hub_user:
        # the broker ties each user to one live connection: the hub under another process's user would knock
        # that process off (and be knocked off in turn), every few seconds
        owner = "another process" if user in inv.users else "no user of [broker]"
        raise ConfigError(f"mqtt.username: {user!r} is {owner}; the hub connects as broker.hub_user "
                          f"{inv.hub_user!r} (one broker user per process instance)")
    return inv


def _calendar_file(path: Path) -> None:
    try:
        read_override_file(path)
    except CalendarFileError as err:
        raise ValueError(str(err)) from err


def check_can_run(settings: HubSettings) -> None:
    """What only this machine can answer, so that a config ``motcua config check`` accepts also starts the hub:
    store paths writable and not directories, TLS files that load, calendar override files that load."""
    check_hub_can_run(settings, calendar_file=_calendar_file)


def no_device_keys_sentence(source: str) -> str:
    """Why a hub without device keys does not start and what to run next (one line, Vietnamese first)."""
    return (f"{source}: [security] device_keys trống: hub không khởi động khi chưa có khóa thiết bị / is empty: "
            "the hub does not start without device keys (kiosks, rating pads and bridges would write without a "
            f"credential). Chạy / run `motcua deploy device-keys --config {source}`, rồi nạp / then load "
            "broker/secrets/hub-device-keys.env (systemd: EnvironmentFile; shell: `set -a; "
            f". broker/secrets/hub-device-keys.env; set +a`) và chạy lại / and re-run `motcua config check {source}` "
            "(bàn thử nghiệm / a test bench: --lab).")


def demo_password_accounts(settings: HubSettings) -> list[str]:
    """The enabled accounts that would log in with the public demo password: the file's hash, unless a password
    was set for the account from the web pages since (the hub's store keeps those and puts them over the file's)."""
    live = live_password_hashes(settings.store_path)
    return demo_password_users((u.username, live.get(u.username, u.password_hash)) for u in settings.users
                               if not u.disabled)      # a disabled account cannot log in at all


def demo_passwords_sentence(source: str, usernames: list[str]) -> str:
    """Why a hub whose accounts still use the public demo password does not start, and the command that sets a
    real one (one line, Vietnamese first)."""
    names = ", ".join(usernames)
    return (f"{source}: tài khoản {names} vẫn dùng mật khẩu mẫu công khai \"{DEMO_PASSWORD}\": hub không khởi động / "
            f"accounts {names} still use the public demo password: the hub does not start (anyone on the LAN could "
            f"log in as them). Đặt mật khẩu thật cho từng tài khoản / set a real password for each: "
            f"`motcua user set-password --config {source} {usernames[0]}`, rồi chạy lại / then re-run "
            f"`motcua config check {source}` (bàn thử nghiệm / a test bench: --lab).")


def check_hub_can_start(settings: HubSettings, *, lab: bool = False) -> None:
    """Every refusal ``motcua hub`` makes before it opens anything, raised as one ConfigError sentence; ``motcua
    config check`` runs this very function, so whatever it accepts starts. ``lab``: ``motcua hub --lab`` (a test
    bench may run without device keys and with the example's demo accounts). The demo-password check is one full
    scrypt per distinct hash (~0.1 s each), done last so that a cheaper refusal comes first."""
    check_can_run(settings)
    face = getattr(settings, "face", None)
    if face is not None and face.enabled:          # issue 15: an enabled [face] needs its key file (mode 600)
        from queue_server.adapters.face_gallery import FaceKeyError, load_key_file

        try:
            load_key_file(face.key_path)
        except FaceKeyError as err:
            raise ConfigError(f"face: {err}") from None
        if face.engine == "mediapipe":
            from devices.face.engine import face_extra_present

            if not face_extra_present():        # the hub would stop building its engine
                raise ConfigError("face: face.engine = \"mediapipe\" needs the face extra (mediapipe, dlib, "
                                  "face_recognition_models): pip install 'motcua[face]', or engine = \"\" on the hub")
    if lab:
        return
    if not settings.security.device_keys:
        raise ConfigError(no_device_keys_sentence(settings.source or "center.toml"))
    # the example's accounts log in with a published password: on a real LAN that is anyone's admin account
    demo_users = demo_password_accounts(settings)
    if demo_users:
        raise ConfigError(demo_passwords_sentence(settings.source or "center.toml", demo_users))
