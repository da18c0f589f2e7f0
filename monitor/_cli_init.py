"""``monitor init [DIR]``: write a commented config.toml and a seeds folder to start from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._cli_types import topic_name
from ._errors import MonitorError
from ._scaffold import scaffold


def register(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="write a starting config.toml and seeds folder (never overwrites)",
        description="Writes DIR/config.toml (the keys most setups need, commented) and "
        "DIR/seeds/README, which says what seed documents to put there. Existing files are "
        "left alone.",
    )
    init.add_argument("dir", nargs="?", default=".", type=Path, help="folder (default: .)")
    init.add_argument("--topic", default="my-topic", type=topic_name, help="the first topic's name")
    init.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    files = scaffold(args.topic)
    existing = [name for name in files if (folder / name).exists()]
    if existing:
        raise MonitorError(
            f"{folder / existing[0]} exists already; `monitor init` never overwrites "
            "(choose another folder or move it away)"
        )
    try:
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MonitorError(f"{folder}: cannot write: {exc.strerror or exc}") from None
    print(
        f"wrote {folder / 'config.toml'} and {folder / 'seeds'}/\n"
        f"next: put about four on-topic news items or five articles in {folder / 'seeds'}, one "
        f"per file (see its README), add feeds "
        f"(`monitor --config {folder / 'config.toml'} feeds add URL`), then `monitor once`"
    )
    return 0
