"""Feed text as plain text: what the parse stage and ``monitor classify`` both read items
through, so that a JSON Lines item is judged from the same words as the same item in a feed.
Pure."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["MAX_SUMMARY", "MAX_TITLE", "item_text", "plain_text"]

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000


def item_text(title: str, summary: str) -> tuple[str, str]:
    """An item's title and summary as the parse stage keeps them (:func:`plain_text`, capped)."""
    return plain_text(title, MAX_TITLE), plain_text(summary, MAX_SUMMARY)


def plain_text(value: str, limit: int) -> str:
    """``value`` (HTML or text) as one line of plain text: tags stripped, entities unescaped,
    whitespace collapsed. At most ``limit`` characters of input are looked at."""
    value = value[:limit]
    if "<" not in value and "&" not in value:  # no markup: skip the HTML parser
        return " ".join(value.split())[:limit]
    if "<" in value:
        # Do not let a tag cut by the limit show up as text.
        cut = value.rfind("<")
        if value.find(">", cut) < 0:
            value = value[:cut]
    extractor = _TextExtractor()
    extractor.feed(value)
    extractor.close()
    return " ".join("".join(extractor.parts).split())[:limit]


class _TextExtractor(HTMLParser):
    """Collects text, skipping script/style; block-level tags separate words, inline ones
    (``<b>``, ``<a>``, …) do not."""

    _SKIP = frozenset({"script", "style", "template", "noscript", "head", "title", "svg"})
    _INLINE = frozenset({
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
        "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike",
        "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
    })  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag not in self._INLINE:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._INLINE:  # <br/>, <hr/>, <img/>
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag not in self._INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
