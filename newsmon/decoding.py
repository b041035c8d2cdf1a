"""Content-Encoding decoding with a size cap enforced *while* decoding.

A response may stack encodings (``Content-Encoding: gzip, gzip``): 3.5 KB on the wire can inflate
to gigabytes, and a decoder that inflates a whole chunk before checking the size has already spent
the memory. Here every layer inflates at most :data:`STEP` bytes per call (``zlib``'s
``max_length``), and every layer's running total is checked against the cap, so memory stays
bounded by about the cap, whatever the input.

Supported: ``identity``, ``gzip``/``x-gzip`` (several members too), ``deflate`` (zlib or raw).
newsmon asks for ``gzip, deflate`` only; any other encoding is refused as :class:`UnsupportedEncoding`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = ["STEP", "DecodedTooLarge", "StackedDecoder", "UnsupportedEncoding", "decode_capped", "gunzip_capped"]

STEP = 64 * 1024  # bytes inflated per zlib call
_MAX_LAYERS = 4


class DecodedTooLarge(Exception):
    """The decoded body would exceed the cap (raised before the excess is produced)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"decoded body larger than {limit} bytes")


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` newsmon does not decode (or a body that is not what it claims)."""


class _Layer:
    """One inflating layer; its running output is capped at ``limit``."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.total = 0
        self._started = False
        self._obj = self._new()

    def _new(self, raw_deflate: bool = False) -> zlib._Decompress:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._obj.decompress(data, STEP)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    self._obj = self._new(raw_deflate=True)  # servers send raw deflate as "deflate" too
                    self._started = True
                    continue
                raise UnsupportedEncoding(f"cannot decode {self.encoding}: {exc}") from exc
            self._started = True
            self.total += len(out)
            if self.total > self.limit:
                raise DecodedTooLarge(self.limit)
            if out:
                yield out
            data = self._obj.unconsumed_tail
            if not data and self._obj.eof and self._obj.unused_data and self.encoding != "deflate":
                data = self._obj.unused_data  # the next gzip member
                self._obj = self._new()

    def flush(self) -> Iterator[bytes]:
        out = self._obj.flush(STEP)
        self.total += len(out)
        if self.total > self.limit:
            raise DecodedTooLarge(self.limit)
        if out:
            yield out


class StackedDecoder:
    """Decode a body with the encodings of a ``Content-Encoding`` header, capped at ``limit`` bytes.

    ``feed(chunk)`` yields decoded pieces; ``finish()`` yields the rest. Intermediate layers are capped
    too (at ``limit`` plus slack: compressed data is about as large as what it holds, at most).
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        if len(names) > _MAX_LAYERS:
            raise UnsupportedEncoding(f"{len(names)} stacked content encodings; at most {_MAX_LAYERS} accepted")
        for n in names:
            if n not in ("gzip", "x-gzip", "deflate"):
                raise UnsupportedEncoding(f"content encoding {n!r} is not supported (newsmon asks for gzip, deflate)")
        slack = limit + limit // 50 + STEP
        # decoding order: the last encoding applied is removed first
        self._layers = [_Layer(n, limit if i == len(names) - 1 else slack) for i, n in enumerate(reversed(names))]
        self.limit = limit
        self.total = 0

    def _through(self, pieces: Iterable[bytes], start: int) -> Iterator[bytes]:
        if start == len(self._layers):
            for piece in pieces:
                self.total += len(piece)
                if self.total > self.limit:
                    raise DecodedTooLarge(self.limit)
                yield piece
            return
        layer = self._layers[start]
        for piece in pieces:
            yield from self._through(layer.feed(piece), start + 1)

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        yield from self._through([chunk], 0)

    def finish(self) -> Iterator[bytes]:
        for i, layer in enumerate(self._layers):
            yield from self._through(layer.flush(), i + 1)


def decode_capped(chunks: Iterable[bytes], content_encoding: str, limit: int) -> bytes:
    """Decode a whole body (an iterable of raw chunks) and return it; raises past ``limit`` bytes."""
    decoder = StackedDecoder(content_encoding, limit)
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.finish())
    return b"".join(out)


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress a ``.gz`` file's bytes, refusing output over ``limit`` bytes (checked while inflating)."""
    return decode_capped([data], "gzip", limit)
