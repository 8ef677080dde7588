"""Admin routes (role admin): the running configuration, and the live changes an admin makes from /admin —
services, counters, priority categories, users, working hours, announced days off, the display notice, the
rating scale, and where the file turns them on the booking slots, limits and check-in window and the message
templates (queue_server/engagement_live.py) — each validated by the rules of ``motcua config check`` (refused with the message naming the
key, nothing changed), applied without a restart and recorded as a ``config.changed`` event (app/live_config.py).

The TOML file stays the seed of a new hub; ``motcua config export`` writes the live center back to TOML.
Passwords: set here as werkzeug hashes into the store's credentials table, never into the event log.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from werkzeug.security import generate_password_hash

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.live_config import LiveConfig, password_problem
from queue_server.web.common import Body, Field, hub, route
from queue_server.web.kiosk import center_config
from queue_server.web.schemas import ref

bp = Blueprint("admin", __name__)

_ROLES = ("staff", "manager", "admin")
_ADMIN_BODY_BYTES = 512 * 1024     # a large center's whole services or users section in one change

CHANGE = Body({
    "sections": Field(dict, True, "section name → its whole new value, as the config file writes it "
                      "(services, counters, priorities, users, working_hours, calendar, rating_scale, display; "
                      "bookings and notifications where the config file turns them on)",
                      max_len=10),
})
NEW_USER = Body({
    "username": Field(str, True, "login name", max_len=64),
    "role": Field(str, True, "staff, manager or admin", max_len=16),
    "display_name": Field(str, False, "the name shown on screens", max_len=120),
    "password": Field(str, True, "the first password (the user changes it)", max_len=200),
})
EDIT_USER = Body({
    "role": Field(str, False, "staff, manager or admin", max_len=16),
    "display_name": Field(str, False, "the name shown on screens", max_len=120),
    "disabled": Field(bool, False, "true: cannot log in (kept for the record)"),
})
RESET = Body({"password": Field(str, True, "the new password", max_len=200)})


def live() -> LiveConfig:
    value = hub().live
    if value is None:
        raise MotcuaError(ErrorCode.INTERNAL, "live configuration is not wired in this app")
    result: LiveConfig = value
    return result


def _who() -> str:
    return str(g.user.username)


def _answer(data: dict[str, Any]) -> Any:
    return jsonify(data)


def _hash(username: str, password: str) -> str:
    problem = password_problem(username, password)
    if problem is not None:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"password: {problem}")
    return generate_password_hash(password)


@route(bp, "/admin/config", summary="The running configuration, secrets redacted", role="admin",
       result="{settings: {...}, center: GET /config body, live: the sections an admin changes}",
       response=ref("AdminConfig"))
def admin_config():  # type: ignore[no-untyped-def]
    ctx = hub()
    doc = ctx.live.document() if ctx.live is not None else {}
    return jsonify(settings=ctx.settings.redacted(), center=center_config(), live=doc)


@route(bp, "/admin/users", summary="Configured users and roles (no hashes)", role="admin",
       result="{users: [{username, role, display_name, disabled}]}",
       response=ref("Users"))
def admin_users():  # type: ignore[no-untyped-def]
    return jsonify(users=[{"username": u.username, "role": u.role, "display_name": u.display_name,
                           "disabled": u.disabled} for u in hub().settings.users])


@route(bp, "/admin/config", methods=("POST",), summary="Change whole sections live (validated as config check)",
       role="admin", body=CHANGE, max_body_bytes=_ADMIN_BODY_BYTES,
       result="the config.changed event's data: {by, sections, before, after, seq}",
       errors=(ErrorCode.CONFIG_INVALID,), response=ref("ConfigChanged"))
def change_config(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    sections = dict(body["sections"])
    if "users" in sections:
        # users go through the user routes: a section edit must not be a way round the password rules
        raise MotcuaError(ErrorCode.BAD_REQUEST, "sections.users: change users with /admin/users")
    return _answer(live().change(_who(), sections))


def _users_with(change: Any) -> list[dict[str, Any]]:
    return [change(dict(u)) for u in live().users_doc()]


@route(bp, "/admin/users", methods=("POST",), summary="Add a user", role="admin", body=NEW_USER, ok=201,
       result="the config.changed event's data", errors=(ErrorCode.CONFIG_INVALID,),
       response=ref("ConfigChanged"))
def add_user(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    username = body["username"].strip()
    if body["role"] not in _ROLES:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"body.role: {body['role']!r} is not one of {', '.join(_ROLES)}")
    if hub().settings.user(username) is not None:
        raise MotcuaError(ErrorCode.CONFIG_INVALID, f"users: duplicate user {username!r}")
    hashed = _hash(username, body["password"])
    users = live().users_doc() + [{"username": username, "role": body["role"],
                                   "display_name": body.get("display_name") or username}]
    data = live().change(_who(), {"users": users}, credential=(username, hashed), note={"user": username})
    return _answer(data), 201


def _known(username: str) -> None:
    if hub().settings.user(username) is None:
        raise MotcuaError(ErrorCode.NOT_FOUND, f"no user {username!r}")


@route(bp, "/admin/users/<username>", methods=("POST",), summary="Change a user's role, name, or disable them",
       role="admin", body=EDIT_USER, result="the config.changed event's data",
       errors=(ErrorCode.CONFIG_INVALID, ErrorCode.NOT_FOUND), response=ref("ConfigChanged"))
def edit_user(username: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _known(username)
    if "role" in body and body["role"] not in _ROLES:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"body.role: {body['role']!r} is not one of {', '.join(_ROLES)}")
    if username == _who() and (body.get("disabled") or body.get("role", "admin") != "admin"):
        raise MotcuaError(ErrorCode.BAD_REQUEST, "Không thể tự khoá hoặc hạ quyền chính mình / "
                          "you cannot disable or demote yourself")

    def edit(u: dict[str, Any]) -> dict[str, Any]:
        if u["username"] != username:
            return u
        u.update({k: v for k, v in body.items() if k in ("role", "display_name")})
        if "disabled" in body:
            u["disabled"] = body["disabled"]
        if not u.get("disabled"):
            u.pop("disabled", None)
        return u

    data = live().change(_who(), {"users": _users_with(edit)}, note={"user": username})
    if body.get("disabled") or "role" in body:
        hub().tokens.revoke_user(username)       # a disabled or re-roled user logs in again (or not at all)
    return _answer(data)


@route(bp, "/admin/users/<username>/password", methods=("POST",), summary="Reset a user's password",
       role="admin", body=RESET, result="the config.changed event's data (no password, no hash)",
       errors=(ErrorCode.NOT_FOUND,), response=ref("ConfigChanged"))
def reset_password(username: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _known(username)
    hashed = _hash(username, body["password"])
    data = live().change(_who(), {"users": live().users_doc()}, credential=(username, hashed),
                         note={"user": username, "password_reset": True})
    hub().tokens.revoke_user(username)
    return _answer(data)


@route(bp, "/admin/users/<username>/revoke-sessions", methods=("POST",), role="admin", body=Body(),
       summary="End every session of a user (a lost or shared token, someone who left)",
       result="{username, revoked}", errors=(ErrorCode.NOT_FOUND,), response=ref("RevokedSessions"))
def revoke_sessions(username: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    if hub().settings.user(username) is None:
        raise MotcuaError(ErrorCode.NOT_FOUND, f"no user {username!r} in the config")
    return jsonify(username=username, revoked=hub().tokens.revoke_user(username))
