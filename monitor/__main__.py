"""``python -m monitor`` — the same as the ``monitor`` command."""

from ._entry import main

if __name__ == "__main__":
    raise SystemExit(main())
