"""The English (Porter2) Snowball stemmer, in plain Python.

A from-the-description implementation of https://snowballstem.org/algorithms/english/
(as of Snowball 3: prefixes with fixed R1, "past" as a short syllable, the "-ing"
exceptions), so that the project needs no stemming dependency. Input: a lower-case word of
ASCII letters and digits, as produced by the tokeniser.
"""

from __future__ import annotations

__all__ = ["stem_english"]

_VOWELS = frozenset("aeiouy")
_NOT_SHORT_END = frozenset("aeiouywxY")  # letters a short syllable cannot end with
_VALID_LI = frozenset("cdeghkmnrt")
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_R1_PREFIXES = ("arsen", "commun", "emerg", "gener", "inter", "later", "organ", "past", "univers")
_EXCEPTIONS = {
    "skis": "ski",
    "skies": "sky",
    "idly": "idl",
    "gently": "gentl",
    "ugly": "ugli",
    "early": "earli",
    "only": "onli",
    "singly": "singl",
    "sky": "sky",
    "news": "news",
    "howe": "howe",
    "atlas": "atlas",
    "cosmos": "cosmos",
    "bias": "bias",
    "andes": "andes",
}
_ING_WHOLE = ("even", "cann", "inn", "earr", "herr", "out")  # "evening", "inning"... stay

# (suffix, replacement) by step, longest first; "" as replacement deletes.
_STEP2 = (
    ("ization", "ize"),
    ("ational", "ate"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("iveness", "ive"),
    ("tional", "tion"),
    ("biliti", "ble"),
    ("lessli", "less"),
    ("entli", "ent"),
    ("ation", "ate"),
    ("alism", "al"),
    ("aliti", "al"),
    ("ousli", "ous"),
    ("iviti", "ive"),
    ("fulli", "ful"),
    ("ogist", "og"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("abli", "able"),
    ("izer", "ize"),
    ("ator", "ate"),
    ("alli", "al"),
    ("bli", "ble"),
    ("ogi", "og"),  # only after "l"
    ("li", ""),  # only after a valid li-ending
)
_STEP3 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("alize", "al"),
    ("icate", "ic"),
    ("iciti", "ic"),
    ("ative", ""),  # only in R2
    ("ical", "ic"),
    ("ness", ""),
    ("ful", ""),
)
_STEP4 = (
    "ement",
    "ance",
    "ence",
    "able",
    "ible",
    "ment",
    "ant",
    "ent",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
    "ion",  # only after "s" or "t"
    "al",
    "er",
    "ic",
)


def _regions(word: str) -> tuple[int, int]:
    """R1 and R2 start positions (len(word) when empty)."""
    n = len(word)

    def after_vc(start: int) -> int:
        i = start
        while i < n and word[i] not in _VOWELS:
            i += 1
        while i < n and word[i] in _VOWELS:
            i += 1
        return min(i + 1, n) if i < n else n

    p1 = -1
    for prefix in _R1_PREFIXES:
        if word.startswith(prefix):
            p1 = len(prefix)
            break
    if p1 < 0:
        p1 = after_vc(0)
    return p1, after_vc(p1)


def _short_syllable_at_end(word: str) -> bool:
    """Does ``word`` end with a short syllable (or with "past")?"""
    n = len(word)
    if (
        n >= 3
        and word[-1] not in _NOT_SHORT_END
        and word[-2] in _VOWELS
        and word[-3] not in _VOWELS
    ):
        return True
    if n == 2 and word[0] in _VOWELS and word[1] not in _VOWELS:
        return True
    return word.endswith("past")


def _has_vowel(text: str) -> bool:
    return any(c in _VOWELS for c in text)


def stem_english(word: str) -> str:
    """Stem one lower-case English word with the Porter2 (Snowball English) algorithm."""
    special = _EXCEPTIONS.get(word)
    if special is not None:
        return special
    if len(word) < 3:
        return word
    # Prelude: initial y, and y after a vowel, are consonants (Y).
    chars = list(word)
    found_y = False
    if chars[0] == "y":
        chars[0] = "Y"
        found_y = True
    for i in range(1, len(chars)):
        if chars[i] == "y" and chars[i - 1] in _VOWELS:
            chars[i] = "Y"
            found_y = True
    w = "".join(chars)
    p1, p2 = _regions(w)

    # Step 1a
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("ied", "ies")):
        w = w[:-3] + ("i" if len(w) > 4 else "ie")
    elif w.endswith(("us", "ss")):
        pass
    elif w.endswith("s") and _has_vowel(w[:-2]):
        w = w[:-1]

    # Step 1b
    w = _step1b(w, p1)

    # Step 1c
    if len(w) > 2 and w[-1] in "yY" and w[-2] not in _VOWELS:
        w = w[:-1] + "i"

    # Step 2
    for suffix, repl in _STEP2:
        if w.endswith(suffix):
            start = len(w) - len(suffix)
            if start >= p1:
                if suffix == "ogi":
                    if w[start - 1 : start] == "l":
                        w = w[:start] + repl
                elif suffix == "li":
                    if start > 0 and w[start - 1] in _VALID_LI:
                        w = w[:start]
                else:
                    w = w[:start] + repl
            break

    # Step 3
    for suffix, repl in _STEP3:
        if w.endswith(suffix):
            start = len(w) - len(suffix)
            if start >= p1 and (suffix != "ative" or start >= p2):
                w = w[:start] + repl
            break

    # Step 4
    for suffix in _STEP4:
        if w.endswith(suffix):
            start = len(w) - len(suffix)
            if start >= p2 and (suffix != "ion" or w[start - 1 : start] in ("s", "t")):
                w = w[:start]
            break

    # Step 5
    if w.endswith("e"):
        start = len(w) - 1
        if start >= p2 or (start >= p1 and not _short_syllable_at_end(w[:-1])):
            w = w[:-1]
    elif w.endswith("l"):
        start = len(w) - 1
        if start >= p2 and w[start - 1 : start] == "l":
            w = w[:-1]

    return w.replace("Y", "y") if found_y else w


def _step1b(w: str, p1: int) -> str:
    for suffix in ("eedly", "ingly", "edly", "eed", "ing", "ed"):
        if w.endswith(suffix):
            break
    else:
        return w
    start = len(w) - len(suffix)
    stem = w[:start]
    if suffix in ("eed", "eedly"):
        if start >= p1 and stem not in ("succ", "proc", "exc"):
            return stem + "ee"
        return w
    if suffix == "ing":
        if len(stem) == 2 and stem[1] == "y" and stem[0] not in _VOWELS:
            return stem[0] + "ie"  # dying, lying, tying
        if stem in _ING_WHOLE:
            return w
    if not _has_vowel(stem):
        return w
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if stem.endswith(_DOUBLES):
        if len(stem) == 3 and stem[0] in "aeo":
            return stem  # "added", "egged", "offing" keep the double
        return stem[:-1]
    if len(stem) == p1 and _short_syllable_at_end(stem):
        return stem + "e"
    return stem
