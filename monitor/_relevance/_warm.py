"""Loads the semantic channel's model on import.

The parser pool's fork server imports this before any worker forks from it, so every worker
starts with the model in place (its memory-mapped table shared) and no parse's timeout pays
for loading it.
"""

from __future__ import annotations

from monitor._relevance._semantic import embedder

embedder()
