"""The pure core stays pure (issue 11): pure modules import no I/O module."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

IO_MODULES = ("monitor._storage", "monitor._fetch", "monitor._poll", "monitor._parsepool")


@pytest.mark.parametrize(
    "module",
    ["monitor._decide", "monitor._dedup", "monitor._ids", "monitor._pollhints", "monitor._lease"],
)
def test_pure_module_imports_no_io_module(module: str) -> None:
    code = f"import sys, {module}\nprint(' '.join(m for m in {IO_MODULES!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"


def test_only_the_storage_package_speaks_to_a_database() -> None:
    """sqlite3 and psycopg are imported by monitor/_storage only, and SQL is written there
    only (both backends' schemas included)."""
    root = Path(__file__).resolve().parents[1] / "monitor"
    outside = [path for path in root.rglob("*.py") if path.parent.name != "_storage"]
    speakers = [
        str(path.relative_to(root))
        for path in outside
        if re.search(r"^\s*(import|from) (sqlite3|psycopg)\b", path.read_text(), re.M)
    ]
    assert speakers == []
    sql = re.compile(r"\b(SELECT\s.+\sFROM|INSERT INTO|DELETE FROM|CREATE (TABLE|INDEX))\b")
    writers = [str(path.relative_to(root)) for path in outside if sql.search(path.read_text())]
    assert writers == []


def test_psycopg_is_imported_only_when_postgresql_is_configured() -> None:
    code = "import sys, monitor._cli, monitor._runtime\nprint('psycopg' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
