"""Admin routes (role admin): read the running configuration (secrets redacted) and the user list.

Config is changed in the TOML file and applied by a restart (deploy/), never through the API: one source of truth.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.errors import ErrorCode, MotcuaError
from queue_server.web.common import Body, hub, route
from queue_server.web.kiosk import center_config
from queue_server.web.schemas import ref

bp = Blueprint("admin", __name__)


@route(bp, "/admin/config", summary="The running configuration, secrets redacted", role="admin",
       result="{settings: {...}, center: GET /config body}",
       response=ref("AdminConfig"))
def admin_config():  # type: ignore[no-untyped-def]
    return jsonify(settings=hub().settings.redacted(), center=center_config())


@route(bp, "/admin/users", summary="Configured users and roles (no hashes)", role="admin",
       result="{users: [{username, role, display_name}]}",
       response=ref("Users"))
def admin_users():  # type: ignore[no-untyped-def]
    return jsonify(users=[{"username": u.username, "role": u.role, "display_name": u.display_name}
                          for u in hub().settings.users])


@route(bp, "/admin/users/<username>/revoke-sessions", methods=("POST",), role="admin", body=Body(),
       summary="End every session of a user (a lost or shared token, someone who left)",
       result="{username, revoked}", errors=(ErrorCode.NOT_FOUND,), response=ref("RevokedSessions"))
def revoke_sessions(username: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    if hub().settings.user(username) is None:
        raise MotcuaError(ErrorCode.NOT_FOUND, f"no user {username!r} in the config")
    return jsonify(username=username, revoked=hub().tokens.revoke_user(username))
