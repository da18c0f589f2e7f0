"""Reading seed articles from a folder."""

from __future__ import annotations

from pathlib import Path

from monitor._errors import ConfigError
from monitor._relevance._text import strip_markup

__all__ = ["SEED_SUFFIXES", "read_seeds"]

SEED_SUFFIXES = (".txt", ".md", ".html", ".htm")


def read_seeds(folder: Path) -> list[str]:
    """The texts of the seed files in ``folder`` (.txt, .md, .html), sorted by file name.

    HTML files lose their tags, scripts and entities. Raises :class:`ConfigError` naming the
    folder when it is missing, unreadable, or holds no non-empty seed file.
    """
    folder = Path(folder)
    try:
        files = sorted(
            (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SEED_SUFFIXES),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise ConfigError(f"seed folder {folder}: cannot be read ({exc.strerror or exc})") from exc
    texts: list[str] = []
    for path in files:
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(
                f"seed folder {folder}: cannot read {path.name} ({exc.strerror or exc})"
            ) from exc
        text = strip_markup(raw) if path.suffix.lower() in (".html", ".htm") else raw.strip()
        if text:
            texts.append(text)
    if not texts:
        raise ConfigError(
            f"seed folder {folder}: no seed articles (expected non-empty "
            f"{', '.join(SEED_SUFFIXES)} files)"
        )
    return texts
