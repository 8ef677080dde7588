"""PostgreSQL fixtures for the province tests: one real PostgreSQL for the whole run (Debian's, initdb into a temp
dir, run as an unprivileged user when we are root), a fresh database per test. Test modules import the fixtures
(``from tests.province.pgfix import pg_dsn, pg_server``) — not a conftest.py, whose module name would shadow the
top-level ``conftest`` other test modules import from."""
from __future__ import annotations

import atexit
import itertools

import pytest

from province.pgserver import PgServer, PostgresMissing

_names = itertools.count(1)
_server: PgServer | None = None


def shared_server() -> PgServer:
    global _server
    if _server is None:
        try:
            _server = PgServer.start()
        except PostgresMissing as err:
            pytest.fail(str(err))       # `make test` installs it: missing is a failure, not a skip
        atexit.register(_server.stop)
    return _server


@pytest.fixture
def pg_server() -> PgServer:
    return shared_server()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    return pg_server.create_database(f"province_{next(_names)}")
