"""Reading seed articles from a folder."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor._errors import ConfigError
from monitor._relevance._text import is_stop, sequence, strip_markup, strip_markup_scripts

__all__ = [
    "SEED_SUFFIXES",
    "SeedFile",
    "read_seed_files",
    "read_seeds",
    "readable",
    "with_words",
]

SEED_SUFFIXES = (".txt", ".md", ".html", ".htm")

# A link in a pasted article: its scheme and host ("https", "www", "bbc", "co", "uk") are
# nobody's topic; its path's words often are the headline ("military-chiefs-meet-in-paris").
_LINK = re.compile(
    r"\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s/?#<>\"']*([^\s?#<>\"']*)(?:[?#][^\s<>\"']*)?",
    re.IGNORECASE,
)
_PATH_SPLIT = re.compile(r"[\W_]+")
# A saved page's blocks are its lines (a phrase does not run from a headline into the next
# paragraph, and a footer several pages share is a line of its own).
_BLOCK = re.compile(
    r"<\s*/?\s*(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|"
    r"nav|aside|blockquote|pre|figure|figcaption|main|form|dd|dt|hr)\b[^>]*>",
    re.IGNORECASE,
)
_PAGE_SUFFIXES = frozenset({"htm", "html", "shtml", "php", "asp", "aspx", "jsp"})


@dataclass(frozen=True, slots=True)
class SeedFile:
    """One seed file: its name in the seeds folder and the text it gives the topic ("" for
    none: empty, or only markup, entities or links' hosts)."""

    name: str
    text: str


def read_seeds(folder: Path) -> list[str]:
    """The texts of the seed files in ``folder`` (.txt, .md, .html, not hidden), sorted by
    file name, each file that gives any: see :func:`read_seed_files`."""
    return [seed.text for seed in read_seed_files(folder) if seed.text]


def read_seed_files(folder: Path) -> list[SeedFile]:
    """The seed files in ``folder`` (.txt, .md, .html, not hidden), sorted by name, with
    their texts.

    HTML files lose their tags, scripts and entities. Raises :class:`ConfigError` naming the
    folder when it is missing, unreadable, or holds no non-empty seed file, and naming the file
    when a seed file cannot be read (a dangling link, no permission), is binary or is not
    UTF-8 (or UTF-16 with a byte-order mark); and when no seed has any usable word (a topic
    cannot be learnt from nothing). A link counts only its path's words (see ``_LINK``). A
    file with no usable word beside others that have some is not an error (``topic check``
    warns of it: see :func:`readable`).
    """
    folder = Path(folder)
    try:
        files = sorted(
            (
                p
                for p in folder.iterdir()
                if (p.is_file() or p.is_symlink())
                and p.suffix.lower() in SEED_SUFFIXES
                and not p.name.startswith(".")  # hidden: macOS "._" forks, editors' files
            ),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise ConfigError(f"seed folder {folder}: cannot be read ({exc.strerror or exc})") from exc
    seeds: list[SeedFile] = []
    links_only = False
    for path in files:
        raw = _read_text(folder, path)
        # HTML loses its markup; text keeps its lines but not its entities (an item pasted
        # from a feed: "&nbsp;" is a space, as the parse stage reads it, not a word).
        html_file = path.suffix.lower() in (".html", ".htm")
        text = _page_text(raw) if html_file else html.unescape(raw).strip()
        words = _LINK.sub(_path_words, text).strip()
        links_only |= bool(text) and not words
        seeds.append(SeedFile(path.name, words))
    if not any(seed.text for seed in seeds) and not links_only:
        raise ConfigError(
            f"seed folder {folder}: no seed articles (expected non-empty "
            f"{', '.join(SEED_SUFFIXES)} files)"
        )
    if not any(readable(seed.text) for seed in seeds):
        why = (
            "only links, with no words in their paths"
            if links_only
            else "no word to learn from; only Latin-script text makes words"
        )
        raise ConfigError(f"seed folder {folder}: the seed files have no usable text ({why})")
    return seeds


def readable(text: str) -> bool:
    """Whether a seed's text has a word the topic can learn (not only punctuation, numbers,
    common words such as "the", or a script the tokeniser does not read)."""
    return any(not is_stop(token) for token in sequence(text))


def with_words(texts: Sequence[str]) -> list[str]:
    """The seed texts that teach a topic: those with a word to learn (:func:`readable`)."""
    return [text for text in texts if readable(text)]


def _page_text(raw: str) -> str:
    """An HTML seed's text, one line per block, without tags, scripts and entities."""
    lines = (strip_markup(block) for block in _BLOCK.split(strip_markup_scripts(raw)))
    return "\n".join(line for line in lines if line)


def _path_words(link: re.Match[str]) -> str:
    """A link's path as its words of letters: no ids, numbers or page suffixes."""
    words = [
        w
        for w in _PATH_SPLIT.split(link.group(1))
        if w.isalpha() and w.lower() not in _PAGE_SUFFIXES
    ]
    return " ".join(words)


def _read_text(folder: Path, path: Path) -> str:
    """One seed file's text; :class:`ConfigError` naming it when unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"seed folder {folder}: cannot read {path.name} ({exc.strerror or exc})"
        ) from None
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # Windows "Unicode"
    if b"\x00" in data and not utf16:
        raise ConfigError(f"seed folder {folder}: {path.name} is not a text file (binary data)")
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"seed folder {folder}: {path.name} is not UTF-8 text "
            f"(byte {exc.start}: {data[exc.start : exc.start + 1]!r}); save it as UTF-8"
        ) from None
