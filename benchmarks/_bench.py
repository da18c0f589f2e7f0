"""Shared helpers for the benchmarks: configs, running ``monitor`` as a real subprocess, the
bare-feedparser baseline and lemon24/reader in its own venv. Not a test module.

Everything is timed as a whole process with its start-up (``python -m monitor once`` vs
``python baseline.py``), so the comparison is like for like.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEEDS = REPO / "seeds"
READER_PYTHON = Path(os.environ.get("READER_PYTHON", "/tmp/readerenv/bin/python"))
WORKERS = 2  # the parser pool's size and the baseline's: the machine has 2 cores


def clean_env() -> dict[str, str]:
    """The environment for child processes: never through a proxy to 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def write_config(
    folder: Path,
    urls: list[str],
    *,
    hook: str | None = None,
    monitor: str = "",
    database: str = "monitor.db",
) -> Path:
    lines = [
        "[monitor]",
        f'database = "{database}"',
        'interval = "10m"',
        f"parse_workers = {WORKERS}",
        monitor,
        "[[topics]]",
        'name = "paris-coalition"',
        f'seeds = "{SEEDS}"',
    ]
    for url in urls:
        lines += ["[[feeds]]", f'url = "{url}"']
    if hook:
        secret = "whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC0zMmJ5dGU="
        lines += ["[alerts.webhook]", f'url = "{hook}"', f'secret = "{secret}"']
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Run:
    seconds: float
    returncode: int
    stderr: str
    max_rss_kib: int  # ru_maxrss of the child (Linux: KiB)


def run_process(cmd: list[str], *, cwd: Path | None = None, timeout: float = 900) -> Run:
    """Run ``cmd`` to completion; wall time and the child's own peak RSS (``wait4``)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=err, text=True
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return Run(seconds, proc.returncode, err.read(), usage.ru_maxrss)


def monitor_cmd(config: Path, command: str = "once", level: str = "warning") -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(config), "--log-level", level, command]


def run_monitor(config: Path, command: str = "once") -> Run:
    run = run_process(monitor_cmd(config, command), cwd=config.parent)
    if run.returncode != 0:
        raise RuntimeError(f"monitor {command} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return run


# -- the baseline: bare feedparser.parse over the same bodies, same number of processes ------

BASELINE = textwrap.dedent(
    """
    import io, sys, multiprocessing as mp
    from pathlib import Path

    def parse(path):
        import feedparser
        return len(feedparser.parse(io.BytesIO(Path(path).read_bytes())).entries)

    if __name__ == "__main__":
        paths = sorted(str(p) for p in Path(sys.argv[1]).iterdir())
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["feedparser"])
        with ctx.Pool(int(sys.argv[2])) as pool:
            n = sum(pool.imap_unordered(parse, paths, chunksize=4))
        print(n)
    """
)


def stop_daemon(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a `monitor run`, wait for it (kill after 30 s), raise if it did not stop cleanly."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"monitor run failed: {err.decode()[-2000:]}")


def run_baseline(bodies: list[bytes], workers: int = WORKERS) -> Run:
    """``feedparser.parse`` over ``bodies`` in a pool of ``workers`` processes, as one process
    with its start-up (the bodies are read from files, as monitor reads them off sockets)."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        folder = Path(tmp) / "bodies"
        folder.mkdir()
        for i, body in enumerate(bodies):
            (folder / f"{i:06d}.xml").write_bytes(body)
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE, encoding="utf-8")
        run = run_process([sys.executable, str(script), str(folder), str(workers)])
    if run.returncode != 0:
        raise RuntimeError(f"baseline failed:\n{run.stderr[-2000:]}")
    return run


# -- lemon24/reader, in its own venv -------------------------------------------------------

READER = textwrap.dedent(
    """
    import logging, sys
    from reader import make_reader
    db, urls_file, workers, add = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    logging.disable(logging.CRITICAL)
    r = make_reader(db)
    if add:
        for url in open(urls_file).read().split():
            r.add_feed(url, exist_ok=True)
    # scheduled=False: every feed, now (reader 3.x skips feeds not yet due by default)
    r.update_feeds(workers=workers, scheduled=False)
    r.close()
    """
)


def reader_available() -> str | None:
    """None when lemon24/reader can run, else why not."""
    if not READER_PYTHON.exists():
        return (
            f"{READER_PYTHON} not found (python -m venv /tmp/readerenv && "
            "/tmp/readerenv/bin/pip install reader sgmllib3k)"
        )
    probe = subprocess.run(
        [str(READER_PYTHON), "-c", "import reader; print(reader.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"{READER_PYTHON} has no 'reader' package"
    return None


def reader_version() -> str:
    out = subprocess.run(
        [str(READER_PYTHON), "-c", "import reader; print(reader.__version__)"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


class ReaderRunner:
    """lemon24/reader over a set of URLs, with its own database in ``folder``."""

    def __init__(self, folder: Path, urls: list[str], workers: int = 16) -> None:
        self.folder = folder
        self.db = folder / "reader.sqlite"
        self.urls_file = folder / "urls.txt"
        self.urls_file.write_text("\n".join(urls), encoding="utf-8")
        self.script = folder / "reader_update.py"
        self.script.write_text(READER, encoding="utf-8")
        self.workers = workers
        self.added = False

    def update(self) -> Run:
        """One ``update_feeds`` as a whole process (the first one also adds the feeds; adding
        is a few ms per feed and is counted, like monitor's own feed sync)."""
        cmd = [str(READER_PYTHON), str(self.script), str(self.db), str(self.urls_file)]
        run = run_process([*cmd, str(self.workers), "0" if self.added else "1"])
        if run.returncode != 0:
            raise RuntimeError(f"reader failed:\n{run.stderr[-2000:]}")
        self.added = True
        return run


def db_counts(path: Path) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("feeds", "items", "hits", "deliveries")
        }
    finally:
        conn.close()


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join([line, rule, *body])


def dump(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def self_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
