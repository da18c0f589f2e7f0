"""Every benchmark, one after the other, each printing its table.

    python benchmarks/run_all.py            # the full sizes (about 15 minutes on 2 cores)
    python benchmarks/run_all.py --smoke    # tiny sizes, about a minute: checks they all run

Benchmarks are not tests: pytest only collects ``tests/``.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

STEPS = [
    ("farm selftest (the farm is not the bottleneck)", ["farm.py", "selftest"]),
    ("P3 scoring", ["bench_scoring.py"]),
    ("scoring with a months-old install's counts", ["bench_long_run.py"]),
    ("a /metrics scrape as alerts pile up", ["bench_metrics.py"]),
    ("P1, P2 and the scaling curve", ["bench_cycle.py"]),
    ("P5 alert latency and burst", ["bench_alerts.py"]),
    ("P4 memory and database size", ["bench_memory.py"]),
]
NO_SMOKE = {"bench_scoring.py", "bench_long_run.py"}  # short at full size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    failed = 0
    for title, cmd in STEPS:
        extra = ["--smoke"] if args.smoke and cmd[0] not in NO_SMOKE else []
        print(f"\n== {title}: {' '.join(cmd + extra)}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / cmd[0]), *cmd[1:], *extra])
        print(f"   ({time.perf_counter() - started:.0f} s, exit {code})", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
