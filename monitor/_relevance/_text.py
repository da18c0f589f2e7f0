"""Text analysis: tokenise, drop stopwords, stem (with a cache), strip markup.

Only generic linguistic resources live here: an English stopword list, the Porter2 stemmer
(``_stem``) and a table of countries' regular adjectives. Nothing here knows about any topic.
"""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
from collections.abc import Callable

from monitor._models import ParsedFeed, Tokens
from monitor._relevance._semantic import embedder
from monitor._relevance._stem import stem_english

__all__ = [
    "BREAK",
    "STOPWORDS",
    "Analysis",
    "analyse",
    "analyse_lines",
    "is_stop",
    "sequence",
    "stem",
    "strip_markup",
    "surface",
    "tokenise",
    "tokenise_feed",
]

STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against ago all also am an and any are aren as at be been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down
    during each either even ever every few for from further had hadn has hasn have haven having he
    her here hers herself him himself his how however i if in into is isn it its itself just last
    least less let like ll made make many may me might more most much must mustn my myself near
    need needs new no nor not now of off on once one only or other others our ours ourselves out
    over own per re s same say says said shan she should shouldn since so some still such t than
    that the their theirs them themselves then there these they this those though through to too
    under until up upon us ve very via was wasn we were weren what when where whether which while
    who whom whose why will with within without won would wouldn yet you your yours yourself
    yourselves mr mrs ms dr amid among across along around back get gets got two three four five
    first next according told tell tells week weeks day days today yesterday tomorrow monday
    tuesday wednesday thursday friday saturday sunday year years time times way well
    """.split()
)

_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Words of ASCII letters and digits; a trailing possessive "'s" is dropped, hyphens split.
_WORDS = re.compile(r"([a-z0-9]+)(?:['’‘`]s\b)?")
_CASED_WORDS = re.compile(r"([A-Za-z0-9]+)(?:['’‘`][sS]\b)?")
_STOP_MARK = "\x00"
# Hyphenated words ("cease-fire", "peace-keeping") are also read joined, since news spells
# them both ways: the parts stay in place and the joined word follows the text after BREAK,
# as Lucene's word-delimiter filter adds a catenated token. Parts of one letter ("U.S.-led")
# are not joined, nor chains of more than four parts or 40 letters (not a word).
_HYPHENATED = re.compile(r"(?<![A-Za-z.])[A-Za-z]{2,}(?:-[A-Za-z]{2,})+\b")
_JOINED_MAX = 40
_JOINED_PARTS = 4
BREAK = _STOP_MARK + "|"  # a stopword token: no word pair or phrase spans it
# A country's adjective or people ("Syrian", "Canadians") also reads as the country, after
# BREAK as a joined word does: news writes "Syria's deal" and "the Syrian deal" for one
# story. Only regular derivations, where the adjective is the country's name (less at most
# its last letter) plus a suffix; not "French" or "British", nor continents ("European"), a
# region's description more than a place (docs/relevance.md has the figures).
_COUNTRY_OF_ADJECTIVE = dict(
    pair.split(":")
    for pair in """
    albanian:albania algerian:algeria argentine:argentina argentinian:argentina
    armenian:armenia austrian:austria bahraini:bahrain belarusian:belarus bolivian:bolivia
    bosnian:bosnia brazilian:brazil bulgarian:bulgaria canadian:canada chilean:chile
    chinese:china colombian:colombia congolese:congo crimean:crimea croatian:croatia
    cuban:cuba egyptian:egypt estonian:estonia ethiopian:ethiopia georgian:georgia
    german:germany ghanaian:ghana greenlandic:greenland hungarian:hungary indian:india
    indonesian:indonesia iranian:iran iraqi:iraq israeli:israel italian:italy
    japanese:japan jordanian:jordan kenyan:kenya korean:korea kuwaiti:kuwait latvian:latvia
    libyan:libya lithuanian:lithuania malaysian:malaysia mexican:mexico
    moldovan:moldova mongolian:mongolia moroccan:morocco nigerian:nigeria omani:oman
    pakistani:pakistan palestinian:palestine peruvian:peru qatari:qatar romanian:romania
    russian:russia rwandan:rwanda serbian:serbia slovenian:slovenia somali:somalia
    sudanese:sudan syrian:syria taiwanese:taiwan tunisian:tunisia ugandan:uganda
    ukrainian:ukraine venezuelan:venezuela vietnamese:vietnam yemeni:yemen
    """.split()
)
_COUNTRY_OF_ADJECTIVE.update(
    {a + "s": c for a, c in list(_COUNTRY_OF_ADJECTIVE.items()) if not a.endswith("ese")}
)
_CACHE_LIMIT = 200_000
_CACHE_WORD_MAX = 40  # longer words (base64, a run of one letter) are junk: never cached
_TOKEN_CACHE: dict[str, str] = {}


def stem(word: str) -> str:
    """The Porter2 stem of one lower-case word."""
    return stem_english(word)


def strip_markup_scripts(text: str) -> str:
    """``text`` without its scripts and style sheets (their content is not text)."""
    return _SCRIPT.sub(" ", text)


def strip_markup(text: str) -> str:
    """Remove HTML tags, scripts and entities; collapse whitespace."""
    text = _SCRIPT.sub(" ", text)
    text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def _fold(text: str, *, lower: bool = True) -> str:
    """Lower-case, with accents removed from Latin letters ("Türkiye" -> "turkiye")."""
    if lower:
        text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # Only non-ASCII runs can hold combining marks: look at those alone (news text is mostly
    # ASCII with a few quotes and accents, so this skips the per-character loop almost always).
    return _NON_ASCII.sub(_drop_marks, decomposed)


def _drop_marks(match: re.Match[str]) -> str:
    return "".join(c for c in match.group() if not unicodedata.combining(c))


def _fold_mapped(text: str) -> tuple[str, list[int] | None]:
    """``_fold(text, lower=False)`` and, unless ``text`` is ASCII, the index in ``text`` of
    each folded character (None when folding kept the length: then it kept every
    character's place), to show a folded word as written ("Élysée", not "Elysee"). Folding
    character by character gives the same text, since NFKD decomposes each character alone
    and only reorders the combining marks that folding drops."""
    folded = _fold(text, lower=False)
    if len(folded) == len(text):
        return folded, None
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for match in _NON_ASCII.finditer(text):
        start, end = match.span()
        out.append(text[pos:start])
        origin.extend(range(pos, start))
        for i in range(start, end):
            decomposed = unicodedata.normalize("NFKD", text[i])
            folded = "".join(c for c in decomposed if not unicodedata.combining(c))
            out.append(folded)
            origin.extend([i] * len(folded))
        pos = end
    out.append(text[pos:])
    origin.extend(range(pos, len(text)))
    return "".join(out), origin


def _token(word: str) -> str:
    """A word's sequence token: its stem, or the word marked as a stopword (cached)."""
    tok = _TOKEN_CACHE.get(word)
    if tok is None:
        if word in STOPWORDS or len(word) < 2 or word.isdigit():
            tok = _STOP_MARK + word
        else:
            tok = stem_english(word)
        if len(word) <= _CACHE_WORD_MAX:  # the limit counts words: bound their size too
            if len(_TOKEN_CACHE) >= _CACHE_LIMIT:
                _TOKEN_CACHE.clear()
            _TOKEN_CACHE[word] = tok
    return tok


class Analysis:
    """One text analysed.

    ``words`` are its tokens, ``seq`` the matching sequence tokens (a stem, or a stopword
    kept as the word marked with a leading NUL so that phrases such as "coalition of the
    willing" can still be matched), and ``content`` the stems alone, in order.
    """

    __slots__ = ("content", "seq", "words")

    def __init__(self, seq: list[str], content: list[str], words: list[str]) -> None:
        self.seq = seq
        self.content = content
        self.words = words


def analyse(text: str, *, joined: bool = True) -> Analysis:
    """Tokenise and stem ``text``; its hyphenated words also joined and its country
    adjectives also read as the country, after ``BREAK``, unless ``joined`` is false (a
    phrase to find as written)."""
    folded = _fold(text)
    words = _WORDS.findall(folded)
    get = _TOKEN_CACHE.get
    seq = [get(w) or _token(w) for w in words]
    if joined:
        _add_joined(folded, seq, words)
        _add_countries(seq, words, words)
    content = [t for t in seq if t[0] != _STOP_MARK]
    return Analysis(seq, content, words)


# Where a sentence (or a clause: "Heathrow closed; passengers stranded") ends within a line:
# after ? ! ; : an ellipsis or a period, with any closing quote or bracket ('closed."
# Passengers'), unless the period ends an initial, an abbreviation with dots or a title
# ("U.S. tariffs", "e.g. this", "Mr. Starmer", "Gen. Burkhard"; a number is neither: "killed
# 5.", "rose to 2.5.").
_SENTENCE_END = re.compile(r"(\S*?)([.?!;:…])([\"'”’»)\]]*)\s+")
_TITLES = frozenset(
    "mr mrs ms dr st gen lt col sgt capt rep sen gov pres prof jr sr inc ltd co corp vs etc "
    "no nos vol fig jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _sentences(line: str) -> list[str]:
    """``line`` cut where a sentence or clause ends (see ``_SENTENCE_END``)."""
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        word, mark = match.group(1), match.group(2)
        bare = word.strip("\"'“‘«([").rstrip(".")
        initial = len(bare) <= 1 and not bare.isdigit()
        dotted = "." in bare and all(len(p) <= 2 and p.isalpha() for p in bare.split("."))
        if mark == "." and (initial or dotted or bare.lower() in _TITLES):
            continue  # "U.S.", "A.", "Mr.": not the end of a sentence
        parts.append(line[start : match.end(3)])
        start = match.end()
    parts.append(line[start:])
    return parts


def analyse_lines(text: str) -> Analysis:
    """:func:`analyse` sentence by sentence, line by line, their tokens joined by ``BREAK``: no
    phrase runs from one line into the next (a seed's pasted headlines, an article's menu or
    list of links are lines, not one sentence), nor from one sentence into the next."""
    seq: list[str] = []
    content: list[str] = []
    words: list[str] = []
    for line in (part for ln in text.splitlines() for part in _sentences(ln)):
        a = analyse(line)
        if not a.seq:
            continue
        if seq:
            seq.append(BREAK)
            words.append("|")
        seq += a.seq
        content += a.content
        words += a.words
    return Analysis(seq, content, words)


def _add_joined(
    text: str, seq: list[str], words: list[str], show: Callable[[int, int], str] | None = None
) -> None:
    """Append ``text``'s hyphenated words, joined, to its ``seq`` (and to its ``words`` as
    ``text`` writes them, or as ``show`` shows that span of it), each after ``BREAK``."""
    if "-" not in text:
        return
    for match in _HYPHENATED.finditer(text):
        written = match.group()
        if written.count("-") < _JOINED_PARTS and len(written) <= _JOINED_MAX:
            seq += [BREAK, _token(written.replace("-", "").lower())]
            words += ["|", written if show is None else show(*match.span())]


def _add_countries(seq: list[str], folded: list[str], words: list[str]) -> None:
    """Append the country of each country adjective in ``folded`` (after ``BREAK``) to
    ``seq``, and the adjective as ``words`` writes it to ``words``."""
    country_of = _COUNTRY_OF_ADJECTIVE.get
    for i in range(len(folded)):
        country = country_of(folded[i].lower())
        if country is not None:
            seq += [BREAK, _token(country)]
            words += ["|", words[i]]


def sequence(text: str) -> list[str]:
    """Only the sequence tokens of ``text``, nothing joined or added (a quick test of
    whether a text has any content word)."""
    get = _TOKEN_CACHE.get
    return [get(w) or _token(w) for w in _WORDS.findall(_fold(text))]


def is_stop(token: str) -> bool:
    """True for a stopword token of a sequence."""
    return token.startswith(_STOP_MARK)


def surface(token: str) -> str:
    """The printable form of a sequence token (stopwords lose their marker)."""
    return token[1:] if token.startswith(_STOP_MARK) else token


def _cased(text: str) -> tuple[list[str], list[str]]:
    """(sequence tokens, the words as written) of ``text``, hyphenated words also joined and
    country adjectives also read as the country."""
    folded, origin = _fold_mapped(text)
    get = _TOKEN_CACHE.get
    show: Callable[[int, int], str] | None = None
    if folded == text:  # nothing folded (ASCII, or quotes and dashes only): as written
        words = shown = _CASED_WORDS.findall(folded)
    else:

        def show(start: int, end: int) -> str:
            if origin is None:
                return text[start:end]
            return text[origin[start] : origin[end - 1] + 1]

        spans = [m.span(1) for m in _CASED_WORDS.finditer(folded)]
        words = [folded[a:b] for a, b in spans]
        shown = [show(a, b) for a, b in spans]
    seq = []
    for w in words:
        low = w.lower()
        seq.append(get(low) or _token(low))
    _add_joined(folded, seq, shown, show)
    _add_countries(seq, words, shown)
    return seq, shown


def tokenise(title: str, summary: str, *, meaning: bool = True) -> Tokens:
    """The sequence tokens of an item's title and summary, the words behind them and (unless
    ``meaning`` is false, or the model is not installed) the text's embedding: all the text
    analysis scoring, explaining and story grouping need, computed once."""
    t_seq, t_words = _cased(title)
    s_seq, s_words = _cased(summary)
    model = embedder() if meaning else None
    vector = model.vector(f"{title}\n\n{summary}") if model is not None else None
    return Tokens(tuple(t_seq), tuple(s_seq), (*t_words, *s_words), vector)


def tokenise_feed(parsed: ParsedFeed) -> ParsedFeed:
    """``parsed`` with every entry's :attr:`~monitor._models.Entry.tokens` filled in (run in
    the parser workers, so that the main process does not tokenise)."""
    entries = tuple(
        dataclasses.replace(e, tokens=tokenise(e.title, e.summary)) for e in parsed.entries
    )
    return dataclasses.replace(parsed, entries=entries)
