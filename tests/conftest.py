"""Shared fixtures. Real servers on 127.0.0.1 live in their own modules and are imported here."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from tests.feedserver import feed_server  # noqa: F401
from tests.pg import PG_DSN_VAR, pg_ctl, pg_dsn, pg_schema_dsn  # noqa: F401
from tests.receivers import smtp_server, webhook_receiver  # noqa: F401


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI the PostgreSQL backend is tested, always: a missing DSN fails the run."""
    if os.environ.get("CI", "").lower() in ("true", "1") and pg_dsn() is None:
        raise pytest.UsageError(
            f"CI=true but {PG_DSN_VAR} is not set: the PostgreSQL tests must run in CI "
            "(.ci/run starts a throw-away cluster and sets it)"
        )


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: never through a proxy from the environment."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


CORPUS = Path(__file__).resolve().parent / "data" / "feedparser" / "corpus-6.0.14.tar.gz"


@pytest.fixture(scope="session")
def feedparser_corpus() -> dict[str, bytes]:
    """{path inside tests/: bytes} for every file of feedparser's test corpus (shipped in
    ``tests/data/feedparser``, with its licence: the suite needs no network)."""
    files: dict[str, bytes] = {}
    with tarfile.open(CORPUS) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("tests/"):
                handle = tar.extractfile(member)
                assert handle is not None
                files[member.name.removeprefix("tests/")] = handle.read()
    assert len(files) == 2248, f"{CORPUS} holds {len(files)} files; expected 2,248"
    return files
