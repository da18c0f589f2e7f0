"""Decoding a response's Content-Encoding with a bounded output: a gzip bomb costs at most
the caller's cap. ``_fetch`` streams the body through it; zlib errors become ``FetchError``
here."""

from __future__ import annotations

import zlib

from ._errors import MAX_MESSAGE, FetchError

__all__ = ["Inflater"]


class Inflater:
    """Decodes a Content-Encoding incrementally with a bounded output per call."""

    __slots__ = ("_zlib",)

    def __init__(self, decompressor: zlib._Decompress | None) -> None:
        self._zlib = decompressor

    @classmethod
    def for_encoding(cls, header: str) -> Inflater:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return cls(None)
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip"):
            return cls(zlib.decompressobj(zlib.MAX_WBITS | 16))
        if len(codings) == 1 and codings[0] == "deflate":
            return _RawOrZlibDeflate(zlib.decompressobj())
        raise FetchError(f"unsupported Content-Encoding {header.strip()!r}"[:MAX_MESSAGE])

    def inflate(self, data: bytes, limit: int) -> bytes:
        """Decode ``data``; return at most ``limit`` bytes (more input is then ignored: the
        caller stops because the cap is exceeded)."""
        if self._zlib is None:
            return data[:limit]
        try:
            return self._zlib.decompress(data, limit)
        except zlib.error as exc:
            raise FetchError(f"cannot decode compressed body: {exc}"[:MAX_MESSAGE]) from exc

    def flush(self, limit: int) -> bytes:
        if self._zlib is None or self._zlib.eof:
            return b""
        try:
            rest = self._zlib.decompress(self._zlib.unconsumed_tail, limit)
        except zlib.error as exc:
            raise FetchError(f"cannot decode compressed body: {exc}"[:MAX_MESSAGE]) from exc
        if not self._zlib.eof and len(rest) < limit:
            raise FetchError("cannot decode compressed body: truncated")
        return rest


class _RawOrZlibDeflate(Inflater):
    """``deflate`` should be zlib-wrapped, but some servers send raw deflate (as httpx does,
    retry as raw on the first error)."""

    __slots__ = ("_head",)

    def __init__(self, decompressor: zlib._Decompress) -> None:
        super().__init__(decompressor)
        self._head: bytes | None = b""  # input so far, until the 2-byte zlib header is judged

    def inflate(self, data: bytes, limit: int) -> bytes:
        if self._head is not None and self._zlib is not None:
            self._head += data
            try:
                out = self._zlib.decompress(data, limit)
            except zlib.error:  # not zlib-wrapped: start again as raw, from the first byte
                head, self._head = self._head, None
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return super().inflate(head, limit)
            if len(self._head) >= 2:  # the header was accepted
                self._head = None
            return out
        return super().inflate(data, limit)
