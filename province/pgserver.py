"""A throwaway PostgreSQL cluster for tests, benches and a local trial: ``initdb`` into a directory, ``postgres``
on a free loopback port, the unix socket inside that directory, stopped (and deleted) by ``stop()``.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs as an unprivileged system user
(``postgres`` from the Debian package, else ``nobody``) that owns the directory, through ``runuser``/``setpriv``.
Uses Debian's binaries (``/usr/lib/postgresql/<n>/bin``); never a production server (fsync is off for speed).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class PostgresMissing(RuntimeError):
    """PostgreSQL server binaries are not installed (apt-get install postgresql)."""


def find_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                            reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresMissing("PostgreSQL is not installed: apt-get install postgresql")


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix that drops root, and the user name (None when we are not root)."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        if shutil.which("runuser"):
            return ["runuser", "-u", name, "--"], name
        entry = pwd.getpwnam(name)
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"], name
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")


@dataclass
class PgServer:
    """One running cluster. ``dsn`` connects as the superuser ``motcua`` over TCP on 127.0.0.1."""

    root: Path
    port: int
    user: str = "motcua"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _owned: bool = field(default=True, repr=False)

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"

    def dsn_for(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)

    @classmethod
    def start(cls, port: int | None = None, root: Path | None = None, timeout_s: float = 30.0) -> PgServer:
        from queue_server.broker import free_port

        bindir = find_bindir()
        prefix, runas = _run_as()
        owned = root is None
        root = Path(tempfile.mkdtemp(prefix="motcua-pg-")) if root is None else root
        data, sock = root / "data", root / "sock"
        sock.mkdir(parents=True, exist_ok=True)
        if runas is not None:
            entry = pwd.getpwnam(runas)
            for path in (root, sock):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        port = port or free_port()
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if not (data / "PG_VERSION").exists():
            subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "motcua", "-A", "trust",
                            "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"],
                           check=True, capture_output=True, env=env, cwd=root)
        log = root / "postgres.log"
        log.touch()
        if runas is not None:
            os.chown(log, pwd.getpwnam(runas).pw_uid, pwd.getpwnam(runas).pw_gid)
        with open(log, "ab") as logf:
            proc = subprocess.Popen(
                [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                 "-k", str(sock), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200", "-c", "shared_buffers=128MB"],
                stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
        server = cls(root, port, _proc=proc, _owned=owned)
        server._wait_ready(timeout_s)
        return server

    def _wait_ready(self, timeout_s: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError("postgres exited at start: "
                                   + (self.root / "postgres.log").read_text(errors="replace")[-2000:])
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not accept connections on port {self.port}") from None
                time.sleep(0.1)

    def stop(self, delete: bool | None = None) -> None:
        """Fast shutdown (SIGINT: open sessions are ended, the cluster stays consistent)."""
        if self._proc is not None and self._proc.poll() is None:
            # to the whole group: runuser does not pass SIGINT on to the postmaster it started
            try:
                os.killpg(self._proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None
        if delete if delete is not None else self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start again on the same port and data (an outage the tests put the province through)."""
        self.stop(delete=False)
        again = PgServer.start(port=self.port, root=self.root)
        self._proc = again._proc
