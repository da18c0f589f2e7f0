"""``python -m monitor`` — the same as the ``monitor`` command."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
