"""Identities derived from keys: pure (no I/O), shared by the poller and ``classify``."""

from __future__ import annotations

import hashlib


def story_id(first_key: str) -> str:
    """The id of a story: derived from the key of its first item."""
    return "story_" + hashlib.sha256(first_key.encode()).hexdigest()[:16]
