"""The audit (role admin): who did what on a day, from the event log — staff actions (calls, recalls,
transfers, cancels, no-shows, counters opened and closed…) and admin changes (``config.changed``) — filterable
by day, user and kind, as JSON for /audit and as CSV (Vietnamese headers, UTF-8 with a byte-order mark so
Excel opens it). Reads the log; writes nothing.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.web.common import Query, hub, route
from queue_server.web.schemas import ref

bp = Blueprint("audit", __name__)

# what people do (ticket.issued is the kiosk's, not a person's; ratings are the citizen's)
KINDS = ("ticket.", "counter.", "config.changed")
_LIMIT = 20000
QUERY = (
    Query("day", date, "the day (default today, hub time)"),
    Query("user", str, "username (exact)", max_len=64),
    Query("kind", str, "event type or its start: ticket.called, ticket., counter., config.changed", max_len=64),
)
# CSV columns: Vietnamese first (the header a center's staff read), English after the slash
_HEADERS = ("STT / Seq", "Thời điểm / Time", "Loại / Kind", "Người thực hiện / User", "Quầy / Counter",
            "Số phiếu / Ticket", "Chi tiết / Detail")
_KIND_VI = {
    "ticket.called": "Gọi số", "ticket.recalled": "Gọi lại", "ticket.serving": "Bắt đầu phục vụ",
    "ticket.completed": "Hoàn thành", "ticket.no_show": "Vắng mặt", "ticket.transferred": "Chuyển",
    "ticket.cancelled": "Huỷ phiếu", "ticket.reactivated": "Kích hoạt lại", "ticket.skipped": "Bỏ qua",
    "counter.opened": "Mở quầy", "counter.closed": "Đóng quầy", "counter.paused": "Tạm dừng quầy",
    "counter.resumed": "Tiếp tục quầy", "config.changed": "Thay đổi cấu hình",
}
_SECTION_VI = {"services": "dịch vụ", "counters": "quầy", "priorities": "đối tượng ưu tiên", "users": "người dùng",
               "working_hours": "giờ làm việc", "calendar": "ngày nghỉ / làm bù", "rating_scale": "thang đánh giá",
               "display": "màn hình"}


def _row(seq: int, kind: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
    raw_ticket = data.get("ticket")
    ticket: dict[str, Any] = raw_ticket if isinstance(raw_ticket, dict) else {}
    counter = data.get("counter")
    counter_obj: dict[str, Any] = counter if isinstance(counter, dict) else {}
    # the login (an account), not the display name a counter event also carries
    user = (data.get("by") or data.get("staff_login") or ticket.get("staff") or counter_obj.get("staff_login")
            or data.get("staff") or counter_obj.get("staff"))
    counter_id = counter if isinstance(counter, str) else counter_obj.get("id") or counter_obj.get("counter") \
        or ticket.get("counter")
    detail: list[str] = [_KIND_VI.get(kind, kind)]
    if kind == "config.changed":
        detail.append(", ".join(_SECTION_VI.get(s, s) for s in data.get("sections", [])))
        if data.get("user"):
            what = ("đặt lại mật khẩu" if data.get("password_reset") else
                    "đổi mật khẩu" if data.get("password_changed") else "tài khoản")
            detail.append(f"{what}: {data['user']}")
    for key in ("reason", "to_service", "to_counter", "from_counter"):
        if isinstance(data.get(key), str) and data[key]:
            detail.append(f"{key}={data[key]}")
    return {"seq": seq, "at": at, "kind": kind, "user": user, "counter": counter_id,
            "ticket": ticket.get("number"), "detail": " · ".join(x for x in detail if x)}


def _rows(query: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    ctx = hub()
    if ctx.live is None:
        raise MotcuaError(ErrorCode.INTERNAL, "the audit needs the hub's event log")
    day: date = query.get("day") or ctx.service.clock.now().astimezone(VN_TZ).date()
    kind = query.get("kind")
    prefixes = (kind,) if kind else KINDS
    events = ctx.live.repo.events_between(day.isoformat(), (day + timedelta(days=1)).isoformat(), prefixes,
                                          _LIMIT + 1)
    rows = [_row(*e) for e in events if e[1] != "ticket.issued" or kind == "ticket.issued"]
    user = query.get("user")
    if user:
        rows = [r for r in rows if r["user"] == user]
    return rows[:_LIMIT], len(events) > _LIMIT


@route(bp, "/admin/audit", summary="Who did what on a day (staff actions and admin changes)", role="admin",
       query=QUERY, result="{rows: [{seq, at, kind, user, counter, ticket, detail}], kinds, truncated}",
       response=ref("Audit"))
def audit(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    rows, truncated = _rows(query)
    return jsonify(rows=rows, kinds=sorted(_KIND_VI), truncated=truncated)


@route(bp, "/admin/audit.csv", summary="The audit as CSV (UTF-8 with BOM, Vietnamese headers)", role="admin",
       query=QUERY, result="the audit rows (UTF-8 with BOM, Vietnamese headers)", media="text/csv")
def audit_csv(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    rows, _ = _rows(query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_HEADERS)
    for r in rows:
        writer.writerow([r["seq"], r["at"], _KIND_VI.get(r["kind"], r["kind"]), r["user"] or "", r["counter"] or "",
                         r["ticket"] or "", r["detail"]])
    day = (query.get("day") or hub().service.clock.now().astimezone(VN_TZ).date()).isoformat()
    body = "\ufeff" + out.getvalue()
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="nhat-ky-{day}.csv"'})
