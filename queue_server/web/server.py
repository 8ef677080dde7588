"""The hub's HTTP server: waitress around the Flask app, and a stop that ends open answers before closing.

Why waitress: a production WSGI server from PyPI that is pure Python (no compiler on a kiosk-class box), with a
fixed pool of worker threads behind one asyncore I/O loop, so idle keep-alive connections from kiosks and
consoles cost no thread and a burst of requests cannot spawn unbounded threads (werkzeug's dev server starts a
thread per connection and says it is not for production). Each open SSE stream holds one worker, hence
``[http] threads`` (default 32) is sized above the number of displays.

The trusted proxy is resolved once, at the server: waitress passes X-Forwarded-For to the app only when
``[http] trust_forwarded_for`` is on (else it strips it), and ``web.TrustedProxy`` reads it.

A clean stop, in order (``stop``): stop listening; end the event streams (``end_streams``: their generators return
and each response ends with its last chunk); let the worker threads finish what they are answering; close each
connection once its answer is flushed; then close the loop's trigger, which ends ``run``. Everything that touches
the I/O loop's sockets runs IN the loop's thread (waitress's trigger thunks): closing them from another thread
left the streams' workers writing to a closed trigger ("Bad file descriptor" tracebacks on every stop).
Must not: know about queues, tickets or settings beyond the listening address.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


CONNECTION_LIMIT = 4000


def raise_open_file_limit(wanted: int = CONNECTION_LIMIT + 500) -> int:
    """Lift the soft descriptor limit towards ``wanted`` (never past the hard one): each HTTP connection is one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return int(soft)


class HttpServer:
    def __init__(self, app: Any, host: str, port: int, threads: int, *, trust_forwarded_for: bool = False,
                 max_body_bytes: int | None = None) -> None:
        from waitress.server import create_server  # type: ignore[import-untyped]

        raise_open_file_limit()
        options: dict[str, Any] = {} if max_body_bytes is None else {
            # waitress itself refuses a body over the limit by its Content-Length (413) before buffering it
            "max_request_body_size": max_body_bytes}
        self._server = create_server(
            app, host=host, port=port, threads=threads, ident="motcua",
            # idle sockets must not crowd out a kiosk (issue 11): room for thousands of connections, poll() rather
            # than select() (which stops at 1024 descriptors), and an idle connection closed after 60 s
            channel_timeout=60, cleanup_interval=10, connection_limit=CONNECTION_LIMIT, asyncore_use_poll=True,
            **options,
            # X-Forwarded-For reaches the app only when the center trusts its proxy; web.TrustedProxy reads it
            clear_untrusted_proxy_headers=not trust_forwarded_for,
        )
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._stopped = False

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop()``."""
        log.info("HTTP: serving on http://%s:%s/api/v1", self.host, self.port)
        self._running.set()
        try:
            self._server.run()
        except OSError:
            # only when a forced stop closed the loop's sockets under it (a stop that timed out)
            log.debug("waitress loop ended by a forced close", exc_info=True)
        finally:
            self._running.clear()

    def serve_in_thread(self) -> int:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self.port

    def _in_loop(self, thunk: Callable[[], None]) -> None:
        """Run ``thunk`` in the I/O loop's thread (waitress runs trigger thunks there). If the loop has already
        closed its trigger (it ended under a stop racing it: EBADF on the trigger's pipe, seen once in CI), there is
        no loop left to run it in: the stop goes on (join, then the forced close) instead of failing half-way."""
        try:
            self._server.trigger.pull_trigger(thunk)
        except OSError:
            log.debug("HTTP: the I/O loop's trigger is already closed", exc_info=True)

    def _stop_listening(self) -> None:
        from waitress import wasyncore  # type: ignore[import-untyped]

        # the listening socket only: the server's own close() would close the trigger too
        wasyncore.dispatcher.close(self._server)

    def _close_when_flushed(self) -> None:
        for channel in list(self._server._map.values()):
            if channel is not self._server.trigger and channel is not self._server:
                channel.close_when_flushed = True    # waitress closes it once its answer is sent

    def stop(self, end_streams: Callable[[], None] = lambda: None, grace_s: float = 5.0) -> None:
        """Stop listening, end the streams, finish the answers in flight, close, end the loop; at most about
        ``grace_s`` per step. Safe to call twice, and on a server that never ran."""
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        serving = (self._thread is not None and self._thread.is_alive()) or self._running.is_set()
        if not serving:
            end_streams()
            server.close()
            server.task_dispatcher.shutdown(timeout=grace_s)
            return
        self._in_loop(self._stop_listening)
        end_streams()
        # the workers finish what they are answering (an ended stream writes its last chunk), then exit
        server.task_dispatcher.shutdown(timeout=grace_s)
        self._in_loop(self._close_when_flushed)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(
                ch is not server.trigger for ch in list(server._map.values())):
            time.sleep(0.01)
        self._in_loop(server.trigger.close)        # the map is empty: run() returns
        if self._thread is not None:
            self._thread.join(grace_s)
            if self._thread.is_alive():
                log.warning("HTTP: the I/O loop did not end in %.0f s; closing its sockets", grace_s)
                self._force_close()
                self._thread.join(grace_s)

    def _force_close(self) -> None:
        for channel in list(self._server._map.values()):
            try:
                channel.close()
            except OSError:
                pass
