"""The kiosk's hub client against the real hub on loopback, a dead port, and a proxy answering 502 in HTML."""
from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from hub_support import HubOptions
from kiosk_support import CODE, kiosk_hub_options

from kiosk.hub_client import HubClient, HubError, HubUnavailable

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


@pytest.fixture
def hub_options() -> HubOptions:
    return kiosk_hub_options(services=2)


def test_issue_print_result_and_ticket(hub) -> None:
    client = HubClient(hub.url, kiosk_id="kiosk-a")
    body = client.issue_ticket("ho-tich", "nguoi-cao-tuoi")
    ticket = body["ticket"]
    assert ticket["number"].startswith("A") and ticket["priority"] == "nguoi-cao-tuoi"
    assert body["tracking_url"] == f"/t/{ticket['id']}"
    assert client.report_print(ticket["id"], False, "paper_out")["ticket"]["printed"] is False
    assert client.ticket(ticket["id"])["ticket"]["id"] == ticket["id"]
    assert [s["code"] for s in client.services()] == ["ho-tich", "dat-dai"]
    assert client.config()["center"]["name"].startswith("Trung tâm")


def test_refusals_carry_the_stable_code(hub) -> None:
    client = HubClient(hub.url)
    with pytest.raises(HubError) as err:
        client.issue_ticket("khong-co")
    assert err.value.code == "unknown_service" and err.value.status == 404
    with pytest.raises(HubError) as err:
        client.dossier("000.00.12.H38-261118-9999")
    assert err.value.code == "unknown_dossier"
    assert client.dossier(CODE)["dossier"]["status_vi"] == "Đang xử lý"


def test_leases_and_hand_in_are_idempotent(hub) -> None:
    client = HubClient(hub.url, kiosk_id="kiosk-b")
    lease = client.lease("dat-dai", 5)
    tickets = [{"number": lease["first"], "issued_at": "2026-11-23T09:00:00+07:00", "priority": None}]
    first = client.hand_in(lease["id"], tickets)
    again = client.hand_in(lease["id"], tickets)
    assert [t["id"] for t in first["tickets"]] == [t["id"] for t in again["tickets"]]


def test_dead_hub_is_unavailable_quickly() -> None:
    client = HubClient(f"http://127.0.0.1:{free_port()}", connect_timeout_s=0.3, read_timeout_s=0.5)
    with pytest.raises(HubUnavailable):
        client.services()


def test_proxy_error_page_is_unavailable_not_a_crash() -> None:
    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>Bad Gateway</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(HubUnavailable):
            HubClient(f"http://127.0.0.1:{server.server_port}").services()
    finally:
        server.shutdown()
        server.server_close()


class OlderHub:
    """The real hub behind a front that checks hand-in bodies as hubs before the restore adoption did: the
    'kiosk' field unknown, refused with the very answer those hubs gave (captured from commit 901a4fc)."""

    def __init__(self, hub_url: str) -> None:
        import requests

        self.bodies: list[dict[str, object]] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if method == "POST" and "/leases/" in self.path:
                    import json
                    body = json.loads(raw)
                    front.bodies.append(body)
                    if "kiosk" in body:
                        self._answer(400, b'{"error":{"code":"bad_request","message":"body.kiosk: unknown field"}}')
                        return
                resp = requests.request(method, hub_url + self.path, data=raw, timeout=10,
                                        headers={"Content-Type": "application/json"})
                self._answer(resp.status_code, resp.content)

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_older_hub_gets_the_hand_in_without_the_kiosk_field_and_the_kiosk_says_so_once(hub, caplog) -> None:
    older = OlderHub(hub.url)
    try:
        client = HubClient(older.url, kiosk_id="kiosk-c")
        lease = client.lease("dat-dai", 5)
        caplog.set_level("WARNING", logger="kiosk.hub_client")
        for number in (lease["first"], lease["first"] + 1):
            handed = client.hand_in(lease["id"], [{"number": number, "issued_at": "2026-11-23T09:00:00+07:00",
                                                   "priority": None}])
            assert [t["number"] for t in handed["tickets"]] == [f"B{number:03d}"]
        # each hand-in tried the kiosk id first (an upgraded hub takes it), then went without it
        assert ["kiosk" in b for b in older.bodies] == [True, False, True, False]
        told = [r.getMessage() for r in caplog.records if "older than this kiosk" in r.getMessage()]
        assert len(told) == 1 and "Nâng cấp / Upgrading" in told[0]
        # the tickets are the hub's now: the day's queue and reports have them
        assert HubClient(hub.url).ticket(handed["tickets"][0]["id"])["ticket"]["status"] == "issued"
        with pytest.raises(HubError) as err:         # any other refusal still comes out as it was
            client.hand_in("no-such-lease", [{"number": 1, "issued_at": "2026-11-23T09:00:00+07:00"}])
        assert err.value.code != "bad_request" or "kiosk" not in err.value.message
    finally:
        older.close()
