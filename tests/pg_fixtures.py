"""Fixtures for the tests against a real PostgreSQL (tests/pg_cluster.py).

``pg_server``: the cluster's URL: HEADROOM_TEST_DATABASE (scripts/test starts one), else a cluster
this run starts in .cache/pg and stops at its end; skipped only where PostgreSQL is not installed
and HEADROOM_REQUIRE_PG is unset (scripts/test sets it: there a missing server is a failure).
``pg_url``: a new empty database on it for one test, dropped after.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

import pg_cluster


@pytest.fixture(scope="session")
def pg_server():
    pytest.importorskip("psycopg", reason="psycopg is not installed (the [postgres] extra)")
    given = os.environ.get("HEADROOM_TEST_DATABASE")
    if given:
        yield given
        return
    if pg_cluster.bin_dir() is None:
        if os.environ.get("HEADROOM_REQUIRE_PG"):
            pytest.fail("PostgreSQL is not installed (scripts/test installs it)")
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql")
    shared = pg_cluster.running()  # another run's: left running for it
    url = pg_cluster.start()
    try:
        yield url
    finally:
        if not shared:
            pg_cluster.stop()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def pg_url(pg_server):
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_server, name)
    from headroom_cli.backends import postgres

    for database in list(postgres._registry.values()):  # this process's connections to it
        if name in database.url:
            database.close()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
