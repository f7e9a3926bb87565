"""The shared base of the adapters that speak plain HTTP through httpx, and what they share.

``HttpAdapter`` holds one ``httpx.Client`` (given, e.g. pointed at a fake, or made on first use)
with the timeout and the account's address set. ``request`` sends inside the boundary (transport
errors -> promo errors, ``client_httpx.HTTPX_ERRORS``); ``call`` also turns an error status into a
promo error through ``raise_for``, which a platform overrides for its own error bodies.

Where requests go (the one ``base_url`` rule, docs/platforms/README.md): ``origin()`` is the
account's ``base_url``, scheme://host[:port] and nothing more, else the platform's default;
``endpoint()`` adds the path every call starts with (an API version, a bot token, a webhook path).
httpx itself is imported only when the client is first needed, so the registry stays light.

Uploads stream from disk (``streamed`` for a file or a byte range of it, ``Multipart`` for a
multipart body): at most ``CHUNK`` bytes of a file are in memory at once, whatever its size.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from promo.errors import Ambiguous
from promo.platforms.base import BaseAdapter
from promo.platforms.boundary import ErrorMap, error_for_status

if TYPE_CHECKING:
    import httpx

class _Redactor(logging.Filter):
    """Masks registered secrets (bot tokens, webhook paths) in log records: httpx logs every URL."""

    secrets: ClassVar[set[str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_REDACTOR = _Redactor()
for _name in ("httpx", "urllib3.connectionpool"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def redact(secret: str) -> None:
    """Never let ``secret`` (part of a URL) reach a log line."""
    if len(secret) >= 6:
        _REDACTOR.secrets.add(secret)


class HttpAdapter(BaseAdapter["httpx.Client"]):
    """An adapter speaking plain HTTP through httpx: one client, one error boundary."""

    def origin(self) -> str:
        """scheme://host[:port] of the API: the account's ``base_url``, else the platform's default."""
        return self.account.api_base

    def endpoint(self) -> str:
        """The URL every call's path is relative to: ``origin()`` plus the API's own prefix."""
        return self.origin()

    def auth_headers(self) -> dict[str, str]:
        return {}

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_httpx import HTTPX_ERRORS

        return HTTPX_ERRORS

    @cached_property
    def http(self) -> httpx.Client:
        from promo.platforms.client_httpx import make_client

        return make_client(self.endpoint(), self.timeout, self.given_http, self.auth_headers())

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a transport error leaves as a promo error, any answer is returned."""
        target = path or self.endpoint()  # "": the endpoint itself (webhooks)
        with self.boundary():
            return self.http.request(method, target, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; transport errors and error statuses leave as promo errors."""
        response = self.request(method, path, **kwargs)
        self.raise_for(response)
        return response

    def call_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_body(self.platform, self.call(method, path, **kwargs))

    def raise_for(self, response: httpx.Response) -> None:
        """Override to classify a platform's own error bodies (duplicates, Graph codes)."""
        if not response.is_success:
            raise error_for_status(self.platform, response.status_code, error_message(response), response.headers)


def error_message(response: httpx.Response) -> str:
    """A readable reason from an error body (JSON ``message``/``error``/``detail`` or plain text)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else response.reason_phrase
    return describe(body) or response.reason_phrase


def describe(body: Any) -> str:
    """Find the human message in a JSON error body without ever printing an object's repr."""
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(filter(None, (describe(item) for item in body)))
    if not isinstance(body, dict):
        return ""
    for key in ("message", "error_description", "description", "detail", "error", "errors", "title"):
        if body.get(key):
            found = describe(body[key])
            if found:
                return found
    return ""


def json_body(platform: str, response: httpx.Response) -> Any:
    """The JSON of a success response; a platform answering garbage is ambiguous (it did answer 2xx)."""
    try:
        return response.json()
    except ValueError as exc:
        raise Ambiguous(f"unreadable answer ({response.status_code}) after sending", platform=platform) from exc


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or ``{}`` when it has none (an error body, a bare ``ok``)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class HookUrlAdapter(HttpAdapter):
    """An adapter that posts to one configured URL (Discord, Slack, generic webhooks).

    The URL's own scheme://host[:port] is the default ``base_url``; an account's ``base_url``
    replaces it (a fake, a proxy) and the URL's path and query are kept.
    """

    def hook_url(self) -> str:
        raise NotImplementedError

    def origin(self) -> str:
        if self.account.base_url:
            return self.account.base_url.rstrip("/")
        parts = urlsplit(self.hook_url())
        return f"{parts.scheme}://{parts.netloc}"

    def endpoint(self) -> str:
        parts = urlsplit(self.hook_url())
        return self.origin() + parts.path + (f"?{parts.query}" if parts.query else "")


def secret_hook_url(adapter: HttpAdapter, credential: str = "webhook_url") -> str:
    """A webhook URL kept as a credential; its token (the last path segment) is masked in logs."""
    url = adapter.account.secret(credential)
    redact(urlsplit(url).path.rsplit("/", 1)[-1])
    return url


# -- uploads streamed from disk --------------------------------------------------------------------
CHUNK = 64 * 1024  # bytes read from disk per write: an upload never holds more of a file in memory


def file_chunks(path: Path, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``start`` (to the end when None), read ``CHUNK`` at a time."""
    with path.open("rb") as handle:
        handle.seek(start)
        left = path.stat().st_size - start if length is None else length
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                raise OSError(f"{path.name} ended {left} bytes early: it changed during the upload")
            left -= len(data)
            yield data


def streamed(path: Path, start: int = 0, length: int | None = None) -> tuple[Iterator[bytes], dict[str, str]]:
    """``(content, headers)`` for an httpx request that streams a file (or a byte range of it) from disk,
    with its ``Content-Length`` set, so httpx neither reads it whole nor falls back to chunked encoding."""
    size = path.stat().st_size - start if length is None else length
    return file_chunks(path, start, size), {"Content-Length": str(size)}


@dataclass(frozen=True)
class FilePart:
    """One file of a multipart body: the form field, the file on disk, the name and type sent."""

    field: str
    path: Path
    filename: str
    mime: str


class Multipart:
    """A ``multipart/form-data`` body streamed from disk: small fields in memory, files chunk by chunk.

    ``headers`` carries the boundary and the exact ``Content-Length`` (computed from the files'
    sizes, so nothing is buffered). ``on_sent`` runs once the last byte has been handed to the
    connection: before that, a request cut off (a killed worker) cannot have been accepted.
    """

    def __init__(self, fields: list[tuple[str, bytes, str]], files: list[FilePart],
                 on_sent: Callable[[], None] | None = None) -> None:
        self.boundary = secrets.token_hex(16)
        self.fields, self.files, self.on_sent = fields, files, on_sent

    @property
    def headers(self) -> dict[str, str]:
        length = sum(len(head) + len(body) + 2 for head, body in self._small())
        length += sum(len(self._head(f.field, f.mime, f.filename)) + f.path.stat().st_size + 2 for f in self.files)
        length += len(self._close())
        return {"Content-Type": f"multipart/form-data; boundary={self.boundary}", "Content-Length": str(length)}

    def __iter__(self) -> Iterator[bytes]:
        for head, body in self._small():
            yield head + body + b"\r\n"
        for item in self.files:
            yield self._head(item.field, item.mime, item.filename)
            yield from file_chunks(item.path)
            yield b"\r\n"
        yield self._close()
        if self.on_sent is not None:
            self.on_sent()

    def _small(self) -> list[tuple[bytes, bytes]]:
        return [(self._head(name, mime), body) for name, body, mime in self.fields]

    def _head(self, name: str, mime: str, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{_quoted(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quoted(filename)}"'
        return (f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
                f"Content-Type: {mime}\r\n\r\n").encode()

    def _close(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()


def _quoted(value: str) -> str:
    """A form parameter value as browsers send it (HTML5): quote, CR and LF percent-encoded."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
