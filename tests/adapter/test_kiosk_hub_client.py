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
