"""The pure core stays pure (issue 11): pure modules import no I/O module."""

from __future__ import annotations

import subprocess
import sys

import pytest

IO_MODULES = ("monitor._storage", "monitor._fetch", "monitor._poll", "monitor._parsepool")


@pytest.mark.parametrize("module", ["monitor._decide", "monitor._dedup", "monitor._ids"])
def test_pure_module_imports_no_io_module(module: str) -> None:
    code = f"import sys, {module}\nprint(' '.join(m for m in {IO_MODULES!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"
