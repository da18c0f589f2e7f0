"""Shared fixtures. Real servers on 127.0.0.1 live in their own modules and are imported here."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

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


def corpus_sdist() -> Path:
    version = metadata.version("feedparser")
    cache = Path(os.environ.get("MONITOR_TEST_CACHE", Path.home() / ".cache" / "monitor-tests"))
    sdist = cache / f"feedparser-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    try:
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "--disable-pip-version-check", f"feedparser=={version}", "-d", str(cache)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download the feedparser {version} sdist for its test corpus: {exc}")
    if proc.returncode != 0 or not sdist.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot download the feedparser {version} sdist for its test corpus: {last}")
    return sdist


@pytest.fixture(scope="session")
def feedparser_corpus() -> dict[str, bytes]:
    """{path inside tests/: bytes} for every file of the sdist's tests/ folder but the runner."""
    sdist = corpus_sdist()
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 2)
            if member.isfile() and len(parts) == 3 and parts[1] == "tests":
                if parts[2].endswith(".py"):  # the runner, not a feed
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                files[parts[2]] = handle.read()
    if len(files) < 2000:
        pytest.skip(f"{sdist} holds only {len(files)} test files; expected ~2,250")
    return files
