"""A stand-in for an SMS gateway and Zalo ZNS (demo, tests, benches): records what it receives, fails on demand.

``POST /sms`` takes any JSON body (the hub's SMS body template decides its shape) and answers 200;
``POST /zns`` answers like Zalo's template API (``{"error": 0, ...}``). Messages are deduplicated by the
``Idempotency-Key`` header or the ZNS ``tracking_id`` and kept in arrival order. Fault modes: ``down`` (connection
refused — the listener really closes), ``error`` (every n-th request 503), ``reject`` (400: a permanent refusal),
``slow`` (answer after a delay). Never reachable beyond 127.0.0.1 unless told.
"""
from __future__ import annotations

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
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.received: list[Received] = []
        self.duplicates = 0
        self.requests = 0
        self.mode = "up"
        self.error_every = 1
        self.delay_s = 0.0
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
                status, answer = gateway._handle(self.path, self.headers.get("Idempotency-Key", ""), raw)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
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

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True
