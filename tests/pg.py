"""A fresh PostgreSQL schema per test, in the database named by ``MONITOR_TEST_PG_DSN``
(``.ci/run`` starts a throw-away cluster and sets it). Without it the PostgreSQL tests skip,
except under ``CI=true``, where a missing DSN fails the run (see ``conftest``)."""

from __future__ import annotations

import os
import shlex
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

PG_DSN_VAR = "MONITOR_TEST_PG_DSN"
SKIP_REASON = f"no PostgreSQL: set {PG_DSN_VAR} (.ci/run starts a throw-away cluster)"


def pg_dsn() -> str | None:
    return os.environ.get(PG_DSN_VAR) or None


def with_schema(dsn: str, schema: str) -> str:
    """The DSN with ``search_path`` set to ``schema`` (libpq's ``options``)."""
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_schema_dsn() -> Iterator[str]:
    """A DSN whose tables live in a new, empty schema, dropped after the test."""
    dsn = pg_dsn()
    if dsn is None:
        pytest.skip(SKIP_REASON)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        yield with_schema(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


@contextmanager
def table_lock(dsn: str, tables: str) -> Iterator[None]:
    """Another session holds ``LOCK TABLE tables IN ACCESS EXCLUSIVE MODE`` in an open
    transaction (an admin's maintenance, a long migration) until the block ends."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE".encode())
        try:
            yield
        finally:
            conn.rollback()


PG_CTL_VAR = "MONITOR_TEST_PG_CTL"


@pytest.fixture
def pg_ctl() -> list[str]:
    """The command that controls the test cluster (``pg_ctl -D <data dir>``, as its owner), for
    tests that restart the server. ``.ci/postgres.sh`` exports it; without it such a test skips,
    except under ``CI=true``, where it must run."""
    command = os.environ.get(PG_CTL_VAR)
    if not command:
        reason = f"no {PG_CTL_VAR}: the test restarts the server (.ci/postgres.sh sets it)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return shlex.split(command)
