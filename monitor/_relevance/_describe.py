"""What a tracker's decisions and profile look like to a person: features as the item writes
them, what the seed profile rests on, the keyword alert a user would write. Pure."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from monitor._models import Tokens
from monitor._relevance._text import is_stop, surface, tokenise

__all__ = ["COMMON", "Readable", "describe", "explain", "keywords"]

COMMON = 0.05  # a profile term in this share of the stream's items is common news
# Words English texts of some length use and other languages' texts do not (the stopwords and
# the stemmer are English); none of them is a word of French, German, Dutch, Spanish,
# Portuguese or Italian ("is", "was", "will", "over", "in", "on", "as" are, so left out).
# Headlines write few of the first ones ("Nightclub fire kills 51 people in North
# Macedonia"): "at", "least", "people" and the like are there for them. Measured: the
# project's English seeds of 25 words or more have 6.2 % or more of their words among these;
# paragraphs of those six languages none; four random English headlines from the dev items
# fell under ENGLISH_LEAST in 6 of 10,000 draws (10 before the headline words).
ENGLISH = frozenset(
    """the and of to that with for from this are has have its by were be been after says
    said amid into what how why who new more than their they he she his her it not but
    at about against between could would should because while during before under there
    which when where up out off down least people""".split()
)
# Function words of those six languages that English does not write (not "die", "van",
# "von", "de", "la", "el", nor "los", "las", "des", "du": English names and words, see
# ALSO_ENGLISH). A seed of any length with two or more of them, and more of them than of
# ENGLISH, is not English; a headline is, with fewer (FOREIGN_LEAST, FOREIGN_SHARE). Of the
# 1,355 dev items (title and summary), five are so, all five German or French; of their
# titles alone three, all three German or French.
FOREIGN = frozenset(
    """les une est pour dans sur avec aux et devant après selon contre avant sous qui que
    sont été mais vers chez sans leur leurs cette ces ils elle elles nous vous sera était lors
    très déjà où à und ist nicht mit für sich auf eine einer über zu im dem zum vom das ein
    wird nach bei wie auch noch sind wir ich werden nur sie zur gegen unter einem einen ihre
    het een voor niet zijn ook naar bij maar wordt worden dat aan uit nog werd deze tegen
    onder del por para una con pero más tras sobre hasta desde según não uma com dos ao aos
    às pelo pela após mais foi sob quer della che sono nel degli gli dei delle alla dalla
    anche dopo nella sul sulla più è si ai dal dai nei negli sui sulle sugli fra hanno stato
    stata senza verso ancora questo questa può deve vuole hat haben kann soll muss durch seit
    ohne oder aber schon dass beim heeft hebben wil moet zal tussen zich hun han fue será
    puede entre muy unos unas""".split()
)
# Function words of those languages that English writes too, in names ("Le Pen", "De
# Gaulle", "La Liga", "Van Gogh", "Los Angeles", "Des Moines", "Al Jazeera", "UN") or as
# words ("son", "die", "per", "sin"), and French elisions (l', d', qu'): a headline's share
# of them says its language only beside a word of FOREIGN.
ALSO_ENGLISH = frozenset(
    """le la l d qu de di da del van von der den die el du des los las al en au un il se ne pas
    son sa ce y su sus lo como ante sin em na os tra per ma dal aus es er vor seine om te
    op""".split()
)
# A short seed is not English when this many of its words, and this share of them, are
# function words of those languages (one of FOREIGN at least), more than of ENGLISH: the
# French headlines seeded beside English ones have 5-8 of 12-17 (Trump's Greenland,
# March 2025); no title or item of the dev stream in English has the three.
FOREIGN_LEAST = 3
FOREIGN_SHARE = 0.2
# A headline of HEADLINE_WORDS words or more with no English function word at all (ENGLISH,
# or the possessive "'s" and "says" that headlines write instead) is not English when it
# writes one function word of those languages as a word: one of FOREIGN, or of ALSO_ENGLISH
# in lower case and not a name's particle ("de Gaulle", "von der Leyen": PARTICLES before a
# capital), nor an English word ("die", "per", "son": ENGLISH_HOMOGRAPHS) but before a
# capital ("in die Ukraine"); or "a" before a lower-case vowel, where English writes "an"
# ("pronti a inviare"). English headlines name "Le Pen", "La Scala", "Los Angeles" with a
# capital. Measured on the 1,355 dev titles: the three flagged before (German, French), no
# other. Five words can say too little: "Selenskyj trifft Macron in Paris" reads as English.
HEADLINE_WORDS = 5
HEADLINE_ENGLISH = ENGLISH | {"says"}
_POSSESSIVE = re.compile(r"\w['’]s\b")  # "Macron's": the tokeniser drops the "s"
PARTICLES = frozenset(
    "de da di do dos das du des del della van von der den ter ten la le el al y".split()
)
ENGLISH_HOMOGRAPHS = frozenset("die son per sin ante lo ma op em er es om te pas".split())
ENGLISH_LEAST = 0.02
ENGLISH_WORDS = 25  # fewer words (a headline) say too little of their language


class Readable:
    """Features as the item writes them: the stem ``franc`` as "France", a phrase as its
    words in the item; the seeds' wording (``labels``), or the stems, where the item's words
    are unknown."""

    __slots__ = ("labels", "seq", "words")

    def __init__(self, tokens: Tokens, labels: dict[str, str]) -> None:
        self.seq = (*tokens.title, *tokens.summary)
        self.words = tokens.words if len(tokens.words) == len(self.seq) else ()
        self.labels = labels

    def __call__(self, feature: str) -> str:
        return (
            self.find(feature)
            or self.labels.get(feature)
            or " ".join(surface(t) for t in feature.split(" "))
        )

    def find(self, feature: str) -> str | None:
        """The feature as the text writes it where it first occurs; None if it does not."""
        parts = feature.split(" ")
        if self.words:
            seq, n, first, i = self.seq, len(parts), parts[0], -1
            with contextlib.suppress(ValueError):  # index() raises when none is left
                while True:
                    i = seq.index(first, i + 1)
                    if n == 1 or list(seq[i : i + n]) == parts:
                        return " ".join(self.words[i : i + n])
        return None


def describe(
    profile: dict[str, float],
    labels: dict[str, str],
    seeds: Sequence[str],
    threshold: float,
    limit: int = 15,
    *,
    rates: dict[str, float] | None = None,
    more: Sequence[str] = (),
) -> dict[str, Any]:
    """The heaviest terms and phrases of a seed ``profile`` (as the seeds write them, with
    their share of the profile's weight), each seed's non-blank lines (items pasted into one
    file are one seed), how much the seeds agree (the share of each seed's distinct words that
    another seed also uses) and, given the stream's ``rates`` (the share of items that use a
    feature), which of the heaviest terms are common news (in at least ``COMMON`` of the
    items): words that cannot tell the topic from its surroundings; each seed's share of
    common English words (``ENGLISH``; None for a seed too short to tell) and the seeds
    that do not read as English (see :func:`_languages`); the seeds that are one text.
    Terms that no seed writes are shown as the ``more`` texts write them (configured
    phrases, judged items)."""
    total = sum(profile.values()) or 1.0
    forms: dict[str, Counter[str]] = {}
    sets: list[set[str]] = []
    analysed = [tokenise(text, "", meaning=False) for text in seeds]
    for tokens in analysed:
        sets.append({t for t in tokens.title if not is_stop(t)})
        _count_forms(tokens, forms)
    more_forms: dict[str, Counter[str]] = {}
    for text in more:
        _count_forms(tokenise(text, "", meaning=False), more_forms)
    for tok, counts in more_forms.items():
        forms.setdefault(tok, counts)

    readers = [Readable(tokens, {}) for tokens in analysed]

    def label(feature: str) -> str:
        parts = feature.split(" ")
        if len(parts) > 1:  # a phrase as most seeds that use it write it
            written = Counter(w for r in readers if (w := r.find(feature)))
            if written:
                return written.most_common(1)[0][0]
        if all(t in forms for t in parts):  # as the seeds write it (else word by word)
            return " ".join(forms[t].most_common(1)[0][0] for t in parts)
        if len(parts) > 1:
            return labels.get(feature) or " ".join(surface(t) for t in parts)
        return feature

    def by_label(features: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """Shares of features that read alike added up ("Venezuelans": the word and the
        country it names), heaviest first."""
        out: dict[str, float] = {}
        for f, w in features:
            out[label(f)] = out.get(label(f), 0.0) + w / total
        ranked = sorted(out.items(), key=lambda lw: -lw[1])[:limit]
        return [(name, round(w, 4)) for name, w in ranked]

    ranked = sorted(profile.items(), key=lambda fw: (-fw[1], fw[0]))
    shared = []
    for i, own in enumerate(sets):
        others: set[str] = set().union(*(o for j, o in enumerate(sets) if j != i))
        shared.append(round(len(own & others) / len(own), 3) if own else 0.0)
    heavy = [f for f, _ in ranked if " " not in f][:limit]
    rate = rates or {}
    common = [(label(f), round(rate[f], 3)) for f in heavy if rate.get(f, 0.0) >= COMMON]
    return {
        "common": common,
        "seeds": len(seeds),
        "lines": [sum(1 for line in text.splitlines() if line.strip()) for text in seeds],
        "words": [len(t) for t in sets],
        "shared": shared,
        **_languages(seeds, analysed),
        "same_text": _same_texts(seeds),
        "shared_lines": _shared_lines(seeds),
        "terms": by_label([(f, w) for f, w in ranked if " " not in f]),
        "phrases": by_label([(f, w) for f, w in ranked if " " in f]),
        "threshold": threshold,
    }


def _languages(seeds: Sequence[str], analysed: Sequence[Tokens]) -> dict[str, Any]:
    """What the seeds are written in, as far as matching is concerned: ``english``, each
    seed's share of common English words (``ENGLISH``; None under ``ENGLISH_WORDS`` words);
    ``not_english``, the seeds that do not read as English (all of them when only together
    they have the words to tell); ``unread_script``, the seeds mostly in a script other than
    Latin, whose words the tokeniser does not read."""
    english: list[float | None] = []
    every: list[str] = []
    unread = []
    for n, (text, tokens) in enumerate(zip(seeds, analysed, strict=True), 1):
        words = [w.lower() for w in tokens.words if len(w) > 1 and w.isalpha()]
        every += words
        share = sum(w in ENGLISH for w in words) / len(words) if words else 0.0
        english.append(round(share, 3) if len(words) >= ENGLISH_WORDS else None)
        letters = [c for c in text if c.isalpha()]
        if sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters) * 2 > len(letters):
            unread.append(n)
    together = sum(w in ENGLISH for w in every) / len(every) if every else 1.0
    if len(every) >= ENGLISH_WORDS and together < ENGLISH_LEAST:  # the seeds as a whole
        not_english = [n for n in range(1, len(seeds) + 1) if n not in unread]
    else:  # ... or some of them: one long enough to tell alone, or short but plainly foreign
        not_english = [
            n
            for n, e in enumerate(english, 1)
            if (e is not None and e < ENGLISH_LEAST) or _foreign(analysed[n - 1], seeds[n - 1])
        ]
    return {"english": english, "not_english": not_english, "unread_script": unread}


def _foreign(tokens: Tokens, text: str = "") -> bool:
    """A seed, however short, written in another language: more FOREIGN than ENGLISH words,
    two at least; or, a headline's worth, FOREIGN_LEAST of its words and FOREIGN_SHARE of
    them function words of those languages (ALSO_ENGLISH beside one of FOREIGN), more than
    its ENGLISH words; or a headline with no English function word that writes one of
    those languages' (see ``HEADLINE_WORDS``; ``text``: the seed as written). A name ("Le
    Pen", "La Liga") or one foreign word in an English sentence is not enough."""
    words = [w.lower() for w in tokens.words]
    foreign = sum(w in FOREIGN for w in words)
    english = sum(w in ENGLISH for w in words)
    if foreign >= 2 and foreign > english:
        return True
    function = foreign + sum(w in ALSO_ENGLISH for w in words) if foreign else 0
    if function >= FOREIGN_LEAST and function >= FOREIGN_SHARE * len(words) and function > english:
        return True
    return (
        len(words) >= HEADLINE_WORDS
        and not any(w in HEADLINE_ENGLISH for w in words)
        and not _POSSESSIVE.search(text)
        and (foreign > 0 or _written_foreign(tokens.words))
    )


def _written_foreign(words: Sequence[str]) -> bool:
    """Whether a headline writes a function word of those languages that English writes too
    as a word of its language, not in a name (see ``HEADLINE_WORDS``)."""
    for n, word in enumerate(words):
        after = words[n + 1 :]
        capital = bool(after) and after[0][:1].isupper()
        if word == "a" and after and after[0][:1] in "aeio" and not after[0].startswith("one"):
            return True
        if word not in ALSO_ENGLISH:
            continue
        rest = [w for w in after if w not in PARTICLES]
        particle = word in PARTICLES and bool(rest) and rest[0][:1].isupper()
        if not particle and (word not in ENGLISH_HOMOGRAPHS or capital):
            return True
    return False


SHARED_LINE_WORDS = 5  # a shorter line two seeds share may be a common phrase, not furniture


def _shared_lines(seeds: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Lines (of ``SHARED_LINE_WORDS`` words or more) found in several seeds that are not
    one text, with the seeds (numbered from 1) that have them: a page's furniture
    ("Sign up for our newsletter") pasted with each article, or a quote they share."""
    seen: dict[str, list[int]] = {}
    texts = {" ".join(text.split()) for text in seeds}
    if len(texts) < 2:
        return []
    for n, text in enumerate(seeds, 1):
        for line in dict.fromkeys(" ".join(line.split()) for line in text.splitlines()):
            if len(line.split()) >= SHARED_LINE_WORDS:
                seen.setdefault(line, []).append(n)
    same = {tuple(group) for group in _same_texts(seeds)}
    return [(line, ns) for line, ns in seen.items() if len(ns) > 1 and tuple(ns) not in same]


def _same_texts(seeds: Sequence[str]) -> list[list[int]]:
    """The groups of seeds (numbered from 1) that are one text but for white space."""
    groups: dict[str, list[int]] = {}
    for n, text in enumerate(seeds, 1):
        groups.setdefault(" ".join(text.split()), []).append(n)
    return [g for g in groups.values() if len(g) > 1]


def _count_forms(tokens: Tokens, forms: dict[str, Counter[str]]) -> None:
    """Count how ``tokens``' text writes each of its tokens into ``forms``."""
    for tok, word in zip(tokens.title, tokens.words, strict=False):
        forms.setdefault(tok, Counter())[word] += 1


def keywords(
    phrases: dict[str, float], idf: dict[str, float], labels: dict[str, str], limit: int
) -> list[str]:
    """The ``limit`` seed phrases that most seeds use (the stream's rarer first), none inside
    another, as the seeds write them."""
    ranked = sorted(phrases, key=lambda k: (-phrases[k], -idf.get(k, 0.0), k))
    chosen: list[str] = []
    for key in ranked:
        if len(chosen) == limit:
            break
        if not any(key in c or c in key for c in chosen):
            chosen.append(key)
    return [labels.get(k) or k for k in chosen]


def explain(
    parts: list[tuple[str, float]],
    score: float,
    tokens: Tokens,
    labels: dict[str, str],
    limit: int,
) -> tuple[tuple[str, float], ...]:
    """The ``limit`` heaviest features of a score's ``parts`` (feature, contribution), each with
    its share of the ``score``, as the item writes them (features read alike add up)."""
    positive = [(f, c) for f, c in parts if c > 0.0]
    total = sum(c for _, c in positive)
    if total <= 0.0:
        return ()
    positive.sort(key=lambda fc: fc[1], reverse=True)
    readable = Readable(tokens, labels)
    out: dict[str, float] = {}
    for f, c in positive:
        label = readable(f)
        out[label] = out.get(label, 0.0) + score * c / total
        if len(out) == limit:
            break
    ranked = sorted(out.items(), key=lambda lw: lw[1], reverse=True)  # after adding up
    return tuple((label, round(w, 4)) for label, w in ranked)
