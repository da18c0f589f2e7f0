"""contrib/: the systemd units pass `systemd-analyze verify` with no warning, and the command
lines in the units and the Dockerfile are ones this monitor's CLI accepts. (Docker itself
cannot run on the test machine; the image is not built here.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor._cli import _parser
from tests.helpers import ROOT

CONTRIB = ROOT / "contrib"
UNITS = ["monitor.service", "monitor@.service", "monitor-worker@.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("unit", UNITS)
def test_units_verify_cleanly(tmp_path: Path, unit: str) -> None:
    text = (CONTRIB / "systemd" / unit).read_text()
    monitor = Path(sys.executable).with_name("monitor")  # an executable the unit can name
    name = unit.replace("@.", "@europe.")  # a template is verified as an instance
    (tmp_path / name).write_text(text.replace("/opt/monitor/.venv/bin/monitor", str(monitor)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / name)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_units_are_hardened_and_run_a_valid_command(unit: str) -> None:
    text = (CONTRIB / "systemd" / unit).read_text()
    keys = dict(re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE))
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes",
        "User": "monitor",
    }.items():
        assert keys.get(key) == value, key
    argv = keys["ExecStart"].split()[1:]
    args = _parser().parse_args(argv)
    assert args.command == "run" and args.log_format == "json"
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_dockerfile_runs_as_non_root_a_valid_command() -> None:
    text = (CONTRIB / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert all(
        line.startswith("FROM python:3.11-slim") for line in re.findall(r"^FROM .*", text, re.M)
    )
    entry = json.loads(re.search(r"^ENTRYPOINT (.*)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (.*)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert entry[0] == "monitor"
    args = _parser().parse_args([*entry[1:], *cmd])
    assert args.command == "run"
