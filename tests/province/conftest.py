"""Fixtures for the province tests: one real PostgreSQL for the session (Debian's, initdb into a temp dir, run as
an unprivileged user when we are root), a fresh database per test."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from province.pgserver import PgServer, PostgresMissing

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer.start()
    except PostgresMissing as err:
        pytest.fail(str(err))       # the suite installs it (make test): missing is a failure, not a skip
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    return pg_server.create_database(f"province_{next(_names)}")
