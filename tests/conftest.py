"""Shared fixtures. Real servers on 127.0.0.1 live in their own modules and are imported here."""

from __future__ import annotations

import pytest

from tests.feedserver import feed_server  # noqa: F401
from tests.receivers import smtp_server, webhook_receiver  # noqa: F401


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
