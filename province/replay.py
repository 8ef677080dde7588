"""Asking a hub to replay: a signed ``POST <hub>/api/v1/province/replay {"from_seq": N}`` with the center's key.

Used by the province's gap sweep for a center that has a gap but has gone quiet (so no delivery answer can carry
``replay_from``), and by ``motcua province replay`` for an operator. The usual path needs none of this: the hub
reads ``replay_from`` in the province's answer to its own deliveries, which also works behind a site's NAT.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from queue_server.adapters.main_system import signed_headers


class ReplayError(RuntimeError):
    pass


def request_replay(hub_url: str, key: str, from_seq: int, timeout_s: float = 5.0) -> dict[str, Any]:
    body = json.dumps({"from_seq": from_seq}).encode()
    req = urllib.request.Request(hub_url.rstrip("/") + "/api/v1/province/replay", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **signed_headers(key, body)})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as err:
        raise ReplayError(f"the hub refused the replay: HTTP {err.code} {err.read()[:200]!r}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise ReplayError(f"cannot reach the hub at {hub_url}: {err}") from None


def silent_gaps(store: Any, silent_after: timedelta) -> list[dict[str, Any]]:
    """Centers with a gap whose last delivery is older than ``silent_after`` (by the store's clock)."""
    now: datetime = store.now()
    rows = store.conn().execute(
        "SELECT center, applied_seq + 1, last_received_at FROM centers WHERE max_seq > applied_seq "
        "ORDER BY center").fetchall()
    return [{"center": c, "from_seq": int(f)} for c, f, last in rows if last is None or now - last >= silent_after]
