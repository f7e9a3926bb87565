"""Upload bodies read from disk piece by piece, for the adapters speaking requests (X, Mastodon).

A video is never read whole into memory (issue 13):

- ``FileSlice``: a byte range of a file (an X APPEND segment), read 64 KiB at a time.
- ``MultipartBody``: a ``multipart/form-data`` body of form fields and files, read piece by piece
  with a known length, so requests sends it with a ``Content-Length`` instead of building it in
  memory (requests' own ``files=`` reads every file whole).
- ``StreamingSession``: a ``requests.Session`` that turns ``files=`` holding open files into a
  ``MultipartBody``; Mastodon.py and tweepy talk through it, so their own calls stream too.

The httpx adapters stream with ``promo.platforms.http`` (``streamed``, ``Multipart``); this module
is the requests side, imported (with requests) only by ``client_tweepy`` and ``client_mastodon``
and by adapters when they first upload.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Protocol

import requests

CHUNK = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class FileSlice:
    """``length`` bytes of an open file from ``offset``, read in pieces; ``len()`` is known up front."""

    def __init__(self, handle: BinaryIO, offset: int, length: int) -> None:
        self.handle, self.offset, self.length, self.done = handle, offset, length, 0

    def __len__(self) -> int:
        return self.length - self.done

    def read(self, size: int = -1) -> bytes:
        wanted = len(self) if size is None or size < 0 else min(size, len(self))
        if wanted <= 0:
            return b""
        self.handle.seek(self.offset + self.done)
        data = self.handle.read(wanted)
        self.done += len(data)
        return data


def stream_length(stream: Any) -> int:
    """Bytes left in a FileSlice, an open file (from its position) or bytes."""
    if isinstance(stream, (bytes, bytearray)):
        return len(stream)
    if isinstance(stream, str):
        return len(stream.encode())
    if hasattr(stream, "__len__"):
        return len(stream)
    try:
        return os.fstat(stream.fileno()).st_size - stream.tell()
    except (AttributeError, OSError):  # an in-memory file (io.UnsupportedOperation is an OSError)
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
        return int(end - here)


class MultipartBody:
    """``multipart/form-data`` read piece by piece: fields, then files, with a known total length."""

    def __init__(self, fields: Mapping[str, Any], files: Mapping[str, tuple[str | None, Any, str | None]]) -> None:
        self.boundary = secrets.token_hex(16)
        self.pieces: list[bytes | Readable] = []
        for name, value in fields.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if item is not None:
                    self._part(name, None, None, str(item).encode())
        for name, (filename, stream, mime) in files.items():
            self._part(name, filename, mime, stream.encode() if isinstance(stream, str) else stream)
        self.pieces.append(f"--{self.boundary}--\r\n".encode())
        self.length = sum(stream_length(piece) for piece in self.pieces)
        self.sent = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _part(self, name: str, filename: str | None, mime: str | None, body: bytes | Readable) -> None:
        header = f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if filename is not None:
            header += f'; filename="{filename}"\r\nContent-Type: {mime or "application/octet-stream"}'
        self.pieces += [f"{header}\r\n\r\n".encode(), body, b"\r\n"]

    def __len__(self) -> int:
        return self.length - self.sent

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        out = bytearray()
        while self.pieces and len(out) < size:
            piece = self.pieces[0]
            if isinstance(piece, (bytes, bytearray)):
                take = bytes(piece[: size - len(out)])
                rest = piece[len(take):]
                self.pieces[0] = rest
                if not rest:
                    self.pieces.pop(0)
            else:
                take = piece.read(size - len(out))
                if not take:
                    self.pieces.pop(0)
            out += take
        self.sent += len(out)
        return bytes(out)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def _streams(files: Any) -> bool:
    values = files.values() if isinstance(files, Mapping) else []
    return any(isinstance(v, tuple) and len(v) >= 2 and hasattr(v[1], "read") for v in values)


class StreamingSession(requests.Session):
    """A requests Session whose ``files=`` holding open files are streamed as a ``MultipartBody``."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if _streams(kwargs.get("files")):
            files = {name: (v[0], v[1], v[2] if len(v) > 2 else None) for name, v in kwargs.pop("files").items()}
            body = MultipartBody(kwargs.pop("data", None) or {}, files)
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Content-Type": body.content_type}
            kwargs["data"] = body
        return super().request(method, url, *args, **kwargs)
