"""``monitor completion bash|zsh``: print a completion script made from the parser."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._completion import bash_script, zsh_script


def register(sub: Any) -> None:
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description='Print a completion script: `eval "$(monitor completion bash)"` in '
        "~/.bashrc, or `monitor completion zsh > ~/.zfunc/_monitor` (a folder on $fpath).",
    )
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    from ._cli import _parser  # here: _cli registers this module

    parser = _parser()
    script = bash_script(parser) if args.shell == "bash" else zsh_script(parser)
    sys.stdout.write(script)
    return 0
