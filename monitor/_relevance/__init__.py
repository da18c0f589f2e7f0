"""Relevance tracking: is a feed item about a topic described by seed articles?

Public API (the rest of the package is private)::

    DEFAULT_THRESHOLD            calibrated default threshold for Tracker scores (0..1)
    read_seeds(folder)           seed texts from .txt/.md/.html files, sorted by name
    read_seed_files(folder)      the same files with their names (SeedFile), also those that
                                 give no text; readable(text): whether a seed has a word
    Tracker(name, seeds, ...)    judge / observe / state / restore / set_feedback
    StoryGrouper(...)            near-duplicate story grouping across feeds
    tokenise / tokenise_feed     the text analysis scoring and grouping start from (the
                                 parser workers run it; judge_tokens / assign_tokens take it)
    release_model()              let this process's embedding model go (the daemon's main
                                 process, once its trackers are built)
    embed_seeds(texts)           seed vectors for Tracker.prepare(embed=...), in a child
    model_available()            whether the semantic channel's model is installed

The tracker learns only from its seeds, from the unlabelled stream it observes and from
explicit feedback; no topic words are built in.
"""

from __future__ import annotations

from monitor._models import Judgement
from monitor._relevance._seeds import SeedFile, read_seed_files, read_seeds, readable
from monitor._relevance._semantic import embed_seeds, model_available, release_model
from monitor._relevance._stories import StoryGrouper
from monitor._relevance._text import tokenise, tokenise_feed
from monitor._relevance._tracker import DEFAULT_THRESHOLD, Params, Tracker

__all__ = [
    "DEFAULT_THRESHOLD",
    "Judgement",
    "Params",
    "SeedFile",
    "StoryGrouper",
    "Tracker",
    "embed_seeds",
    "model_available",
    "read_seed_files",
    "read_seeds",
    "readable",
    "release_model",
    "tokenise",
    "tokenise_feed",
]
