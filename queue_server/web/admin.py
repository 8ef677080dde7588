"""Admin routes (role admin): read the running configuration (secrets redacted) and the user list.

Config is changed in the TOML file and applied by a restart (deploy/), never through the API: one source of truth.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from queue_server.web.common import hub, route
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
