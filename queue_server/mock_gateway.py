"""A stand-in for an SMS gateway and Zalo ZNS (demo, tests, benches): records what it receives, fails on demand.

``POST /sms`` takes any JSON body (the hub's SMS body template decides its shape) and answers 200;
``POST /zns`` answers like Zalo's template API (``{"error": 0, ...}``). Messages are deduplicated by the
``Idempotency-Key`` header or the ZNS ``tracking_id`` and kept in arrival order. Fault modes: ``down`` (connection
refused — the listener really closes), ``error`` (every n-th request 503), ``reject`` (400: a permanent refusal),
``echo`` (``echo_status``, default 400, naming the recipient's number in the answer), ``slow`` (answer after a delay). Never reachable beyond 127.0.0.1 unless told.

With ``token`` set, a POST without ``Authorization: Bearer <token>`` is refused (401), as a real gateway would.
``GET /`` is the inbox a demo user reads in a browser (every message received, newest first, what a phone would
show); ``GET /inbox.json`` the same as JSON (the demo test reads its one-time code there).
"""
from __future__ import annotations

import hmac
import html
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    key: str
    path: str
    body: dict[str, Any]


class MockGateway:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = "") -> None:
        self.host, self.port = host, port
        self.token = token
        self.received: list[Received] = []
        self.duplicates = 0
        self.requests = 0
        self.mode = "up"
        self.error_every = 1
        self.delay_s = 0.0
        self.echo_status = 400          # what the ``echo`` mode answers (503: a retryable refusal)
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MockGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: tests read the records, not the log
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                if gateway.token and not hmac.compare_digest(self.headers.get("Authorization", ""),
                                                             f"Bearer {gateway.token}"):
                    self._send(401, "application/json", b'{"message": "bad token"}')
                    return
                status, answer = gateway._handle(self.path, self.headers.get("Idempotency-Key", ""), raw)
                self._send(status, "application/json", json.dumps(answer, ensure_ascii=False).encode())

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] == "/inbox.json":
                    self._send(200, "application/json",
                               json.dumps({"messages": gateway.inbox()}, ensure_ascii=False).encode())
                elif self.path.split("?", 1)[0] in ("/", "/inbox"):
                    self._send(200, "text/html; charset=utf-8", gateway.inbox_page().encode())
                else:
                    self._send(404, "application/json", b'{"message": "not found"}')

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def go_down(self) -> None:
        self.mode = "down"
        self.stop()

    def come_up(self) -> None:
        self.mode = "up"
        self.start()

    def _handle(self, path: str, key: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            n = self.requests
            mode, every, delay = self.mode, self.error_every, self.delay_s
        if delay:
            time.sleep(delay)
        if mode == "error" and n % every == 0:
            return 503, {"message": "gateway busy"}
        if mode == "reject":
            return 400, {"message": "invalid number"}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"message": "not JSON"}
        if not isinstance(body, dict):
            return 400, {"message": "expected an object"}
        if mode == "echo":             # a gateway that names the number it refused, as some do
            to = str(body.get("to") or body.get("phone") or "")
            dialled = f"+84 {to[2:5]} {to[5:8]} {to[8:]}" if to.startswith("84") else to
            return self.echo_status, {"message": f"Thuê bao {to} không hợp lệ / invalid subscriber {dialled}",
                                      "error": -124 if path.startswith("/zns") else 1}
        key = key or str(body.get("tracking_id", ""))
        with self._lock:
            if key and any(r.key == key for r in self.received):
                self.duplicates += 1
            else:
                self.received.append(Received(key, path, body))
            self._lock.notify_all()
        if path.startswith("/zns"):
            return 200, {"error": 0, "message": "Success", "data": {"msg_id": f"m{n}"}}
        return 200, {"status": "accepted"}

    def inbox(self) -> list[dict[str, str]]:
        """Every message received, in arrival order: channel (sms / zns), recipient, text, key."""
        with self._lock:
            received = list(self.received)
        out = []
        for r in received:
            to = r.body.get("to") or r.body.get("phone") or ""
            text = r.body.get("text")
            if text is None:        # ZNS: a template id and its fields
                text = f"[ZNS {r.body.get('template_id', '')}] " + json.dumps(r.body.get("template_data", {}),
                                                                            ensure_ascii=False)
            out.append({"channel": "zns" if r.path.startswith("/zns") else "sms", "to": str(to),
                        "text": str(text), "key": r.key})
        return out

    def inbox_page(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(m['channel'])}</td><td>{html.escape(m['to'])}</td>"
                       f"<td>{html.escape(m['text'])}</td></tr>" for m in reversed(self.inbox()))
        return ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
                "content=\"5\"><title>Cổng SMS giả lập / mock SMS gateway</title><style>body{font-family:sans-serif;"
                "margin:16px}td,th{border-bottom:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
                "<h1>Tin nhắn đã nhận (cổng SMS giả lập) <small>/ messages received by the mock gateway</small></h1>"
                f"<p>{len(self.received)} tin / messages · tự tải lại mỗi 5 giây / reloads every 5 s</p>"
                "<table><thead><tr><th>Kênh</th><th>Người nhận / to</th><th>Nội dung / text</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></body></html>")

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True
