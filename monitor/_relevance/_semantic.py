"""The semantic channel's text embedding: a static word-embedding model, mean-pooled.

The model is WordLlama's ``l2_supercat`` (256 dimensions, a 32,000-token vocabulary; MIT
licence), whose weights and tokenizer ship *inside* the ``wordllama`` wheel on PyPI: nothing
is downloaded at run time. We read those two files ourselves (``tokenizers`` + numpy, the
weights memory-mapped) rather than through ``WordLlama.load``, which looks for the tokenizer
in a folder the wheel does not have and then tries the network.

An embedding is the mean of the text's token vectors, L2-normalised, stored as float32 bytes
(hashable and cheap to send from the parser workers). Without the packages the channel is
off and :func:`embedder` returns ``None``; scoring then works as before.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor._relevance._channels import Norm

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    # Seed texts -> their vectors (None for a text without tokens), or None when it cannot.
    SeedEmbedder = Callable[[Sequence[str]], Sequence[bytes | None] | None]

    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "MEANING",
    "MEANING_LABEL",
    "Embedder",
    "Meaning",
    "embed_seeds",
    "embedder",
    "model_available",
    "release_model",
]

# The semantic channel's entry among an explanation's features, and how it reads.
MEANING = "\x01meaning"
MEANING_LABEL = "(close in meaning to the seeds)"

_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
_MAX_TOKENS = 2_000  # a text's first tokens are enough to place it
_MAX_CHARS = 20_000  # ... and its first characters (a hostile megabyte title costs nothing)
_WORD_MAX = 40  # longer "words" are junk (base64, a run of one letter), not meaning
_WORDS_MAX = 200_000  # distinct words whose tokens are cached (an estimated 30 MB at most)


class Embedder:
    """Text → unit vector, from a token embedding table and its tokenizer.

    Texts are split at white space and each distinct word is tokenised once (a bounded
    cache): on the dev items a vector took ~250 µs through the tokenizer, ~100 µs with the
    cache. Line breaks are therefore plain spaces, which is all they mean in a feed item.
    """

    def __init__(self, folder: Path) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        self._np = np
        self._tok = Tokenizer.from_file(str(folder.joinpath(*_TOKENIZER)))
        self._tok.no_padding()
        self._tok.no_truncation()
        self._table = _map_tensor(folder.joinpath(*_WEIGHTS), "embedding.weight")
        self.dim = int(self._table.shape[1])
        self._words: dict[str, list[int]] = {}

    def _ids(self, text: str) -> list[int]:
        words = self._words
        if len(words) > _WORDS_MAX:
            words.clear()
        encode = self._tok.encode
        out: list[int] = []
        for word in text[:_MAX_CHARS].split():
            if len(word) > _WORD_MAX:
                continue
            ids = words.get(word)
            if ids is None:
                ids = words[word] = encode(word, add_special_tokens=False).ids
            out.extend(ids)
            if len(out) >= _MAX_TOKENS:
                break
        return out

    def vector(self, text: str) -> bytes | None:
        """The unit mean token vector of ``text`` as float32 bytes (None for no tokens)."""
        ids = self._ids(text)
        if not ids:
            return None
        np = self._np
        v = self._table[ids].mean(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(v))
        return (v / norm).tobytes() if norm > 0 else None

    def seed_vector(self, text: str) -> bytes | None:
        """A seed's vector: the mean of its paragraphs' unit vectors, so that a long article
        counts each paragraph once instead of being cut at ``_MAX_TOKENS``."""
        paragraphs = [p for p in text.split("\n\n") if p.strip()] or [text]
        vs = [self.array(b) for p in paragraphs if (b := self.vector(p)) is not None]
        if not vs:
            return None
        v = self._np.mean(vs, axis=0)
        norm = float(self._np.linalg.norm(v))
        return (v / norm).astype(self._np.float32).tobytes() if norm > 0 else None

    def array(self, blob: bytes) -> NDArray[np.float32]:
        return self._np.frombuffer(blob, dtype=self._np.float32)

    def matrix(self, blobs: Sequence[bytes]) -> NDArray[np.float32]:
        return self._np.stack([self.array(b) for b in blobs])


def _map_tensor(path: Path, name: str) -> NDArray[Any]:
    """One tensor of a safetensors file, memory-mapped read-only: the daemon and its parser
    workers share the file's pages instead of each holding a copy. The format is an 8-byte
    little-endian header length, a JSON header ({name: {dtype, shape, data_offsets}}), then
    the raw little-endian data."""
    import numpy as np

    dtypes = {"F16": "<f2", "F32": "<f4", "BF16": None}
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    entry = header[name]
    dtype = dtypes.get(entry["dtype"])
    if dtype is None:
        raise ValueError(f"{path}: unsupported tensor type {entry['dtype']}")
    start, end = entry["data_offsets"]
    shape = tuple(int(n) for n in entry["shape"])
    table: NDArray[Any] = np.memmap(
        path, dtype=dtype, mode="r", offset=8 + size + start, shape=shape
    )
    if table.nbytes != end - start:
        raise ValueError(f"{path}: tensor {name} has {end - start} bytes, expected {table.nbytes}")
    return table


def embed_seeds(texts: Sequence[str]) -> list[bytes | None] | None:
    """The seed vectors of ``texts`` in this process (None without the model): what a child
    process runs for :meth:`Meaning.prepare`'s ``embed``."""
    model = embedder()
    return None if model is None else [model.seed_vector(t) for t in texts]


def release_model() -> None:
    """Drop this process's model (about 35 MiB with the tokenizer); the next
    :func:`embedder` call loads it again. The daemon's main process calls it once its
    trackers are built: the parser workers embed the items."""
    embedder.cache_clear()


@functools.cache
def embedder() -> Embedder | None:
    """The process's embedder, loaded once; None when ``wordllama`` (or numpy, tokenizers) is
    not installed or its files are not what we read."""
    try:
        spec = importlib.util.find_spec("wordllama")
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not folder.joinpath(*_WEIGHTS).exists():
        return None
    try:
        return Embedder(folder)
    except (ImportError, OSError, KeyError, ValueError):
        return None  # a broken or unexpected model file: the channel is off, scoring goes on


def model_available() -> bool:
    """Whether the semantic channel's model is installed (and readable) in this process."""
    return embedder() is not None


class Meaning:
    """The semantic channel: an item's cosine with the seeds' centroid (what the seeds share
    in meaning, as the seed channel weighs what they share in words), and the stream
    normalisation of that cosine. Off (``raw`` is None) without the model or the seeds.

    It keeps the seeds' vectors only, not the model: items arrive embedded (``Tokens.meaning``,
    from the parser workers). The seeds are embedded on first use, unless :meth:`restore` gave
    their vectors from a saved state (the same seed texts and model): then the process never
    loads the model, and the daemon's main process lets it go once its trackers are built
    (:func:`release_model`)."""

    __slots__ = ("_centre", "_index", "_key", "_np", "_ready", "_seeds", "_texts", "norm")

    def __init__(self, seeds: Sequence[str], norm: Norm) -> None:
        self.norm = norm
        self._texts = list(seeds)
        self._key = _seed_key(self._texts) if self._texts else None
        self._seeds: NDArray[np.float32] | None = None
        self._index: list[int] = []  # the seed (position in the texts) of each row of _seeds
        self._centre: NDArray[np.float32] | None = None  # the seeds' mean, unit length
        self._np: Any = None
        self._ready = self._key is None  # nothing to embed: off

    def _load(self) -> None:
        self._ready = True
        model = embedder()
        if model is None:
            return
        self._use([model.seed_vector(s) for s in self._texts])

    def _use(self, blobs: Sequence[bytes | None]) -> None:
        import numpy as np

        rows = [np.frombuffer(b, dtype=np.float32) for b in blobs if b is not None]
        if rows:
            self._set(np.stack(rows), [i for i, b in enumerate(blobs) if b is not None], np)

    def _set(self, seeds: NDArray[np.float32], index: list[int], np: Any) -> None:
        centre = seeds.mean(axis=0)
        length = float(np.linalg.norm(centre))
        self._seeds, self._index, self._np, self._ready = seeds, index, np, True
        self._centre = centre / length if length else centre

    def prepare(self, embed: SeedEmbedder | None = None) -> None:
        """Have the seeds' vectors now: from a restored state, from ``embed`` (the seed texts'
        vectors computed elsewhere, e.g. in a child process, so that this one never loads the
        model; None when it could not), else embedded here."""
        if self._ready:
            return
        if embed is not None and self._key is not None:
            blobs = embed(self._texts)
            if blobs is not None and len(blobs) == len(self._texts):
                self._ready = True
                self._use(blobs)
                return
        self._load()

    @property
    def on(self) -> bool:
        if not self._ready:
            self._load()
        return self._seeds is not None

    def agreement(self) -> list[float | None]:
        """Each seed's cosine with the (normalised) mean of the other seeds' vectors: how well
        the seeds agree in meaning; None for a seed without a vector (no word the model
        reads). Empty when the channel is off or there is one seed."""
        if not self.on:
            return []
        seeds, np = self._seeds, self._np
        if seeds is None or len(self._texts) < 2:
            return []
        out: list[float | None] = [None] * len(self._texts)
        if len(seeds) < 2:  # one vector: nothing to agree with
            return out
        for row, i in enumerate(self._index):
            others = np.delete(seeds, row, axis=0).mean(axis=0)
            norm = float(np.linalg.norm(others))
            out[i] = round(float(seeds[row] @ others) / norm, 3) if norm else 0.0
        return out

    def raw(self, meaning: bytes | None) -> float | None:
        if meaning is None or not self.on or self._centre is None:
            return None
        return float(self._centre @ self._np.frombuffer(meaning, dtype=self._np.float32))

    def state(self) -> dict[str, Any] | None:
        """The seeds' vectors with the key they were made under (JSON-serialisable)."""
        if self._key is None or not self.on or self._seeds is None:
            return None
        blobs: list[str | None] = [None] * len(self._texts)  # a seed without a vector: null
        for row, i in zip(self._seeds, self._index, strict=True):
            blobs[i] = base64.b64encode(row.tobytes()).decode("ascii")
        return {"key": self._key, "seeds": blobs}

    def restore(self, saved: Any) -> None:
        """Take the seeds' vectors from :meth:`state` output made from the same seed texts by
        the same model; anything else is ignored (the seeds are embedded on first use)."""
        if self._ready or not isinstance(saved, dict) or saved.get("key") != self._key:
            return
        blobs = saved.get("seeds")
        # one entry per seed text, null where it has no vector (a state saved before that
        # listed only the vectors: the seeds are embedded again unless all had one)
        if not isinstance(blobs, list) or len(blobs) != len(self._texts):
            return
        try:
            import numpy as np

            index = [i for i, b in enumerate(blobs) if b is not None]
            rows = [np.frombuffer(base64.b64decode(blobs[i]), dtype=np.float32) for i in index]
            matrix = np.stack(rows)
        except (ImportError, TypeError, ValueError):
            return
        if matrix.ndim == 2 and len(matrix) and np.isfinite(matrix).all():
            self._set(matrix, index, np)


def _seed_key(texts: Sequence[str]) -> str | None:
    """What seed vectors depend on: the model (the ``wordllama`` release) and the texts. None
    when the model is not installed."""
    try:
        version = importlib.metadata.version("wordllama")
    except importlib.metadata.PackageNotFoundError:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for text in (f"wordllama {version} {_WEIGHTS[1]} paragraphs", *texts):
        digest.update(text.encode("utf-8") + b"\x00")
    return digest.hexdigest()
