"""What the HTTP adapters share: a client with timeouts, and the one map from transport to error tree.

``boundary(platform)`` is the single place where an ``httpx`` (or ``requests``) transport error
becomes a promo error, and ``raise_for_status`` the single place a status code does::

    connect refused / connect timeout / pool timeout  -> Retryable   (nothing reached the platform)
    read timeout / connection dropped after sending   -> Ambiguous   (the post may exist)
    429                                               -> RateLimited (.retry_at from the headers)
    401                                               -> AuthError
    5xx                                               -> Retryable
    other 4xx                                         -> Permanent   (the platform's own message)

Platform modules add their special cases (duplicates, Graph error codes) before calling it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import httpx

from promo.errors import Ambiguous, AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.base import BaseAdapter
from promo.times import utcnow

if TYPE_CHECKING:
    from promo.accounts import Account

USER_AGENT = "promo (+https://github.com/promo-scheduler/promo)"
RESET_HEADERS = ("retry-after", "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value above this is epoch seconds, below it a delay


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


def webhook_endpoint(account: Account) -> str:
    """A secret webhook URL (Discord, Slack), its token redacted from logs; ``base_url`` replaces the host."""
    webhook = urlsplit(account.secret("webhook_url"))
    redact(webhook.path.rsplit("/", 1)[-1])  # the webhook token
    host = account.base_url.rstrip("/") if account.base_url else f"{webhook.scheme}://{webhook.netloc}"
    return host + webhook.path


def make_client(
    base_url: str,
    timeout: float,
    session: httpx.Client | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Client:
    """An httpx client for ``base_url`` with every timeout set; an injected ``session`` is re-pointed."""
    client = session if session is not None else httpx.Client()
    client.timeout = httpx.Timeout(timeout)
    client.base_url = httpx.URL(base_url.rstrip("/") + "/")
    client.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
    return client


def retry_at(
    headers: Mapping[str, str], retry_after: float | None = None, now: datetime | None = None
) -> datetime | None:
    """When the platform says we may try again: a body ``retry_after``, ``Retry-After`` or a reset header."""
    now = now or utcnow()
    if retry_after is not None:
        return now + timedelta(seconds=float(retry_after))
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in RESET_HEADERS:
        if name in lowered:
            parsed = _parse_reset(lowered[name].strip(), now)
            if parsed is not None:
                return parsed
    return None


def _parse_reset(value: str, now: datetime) -> datetime | None:
    try:
        number = float(value)
    except ValueError:
        return _parse_date(value)
    if number > _EPOCH_THRESHOLD:
        return datetime.fromtimestamp(number, UTC)
    return now + timedelta(seconds=number)


def _parse_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def transport_error(platform: str, exc: Exception) -> PublishError:
    """A transport failure (httpx or requests) as a promo error: was the request sent or not?"""
    name = type(exc).__name__
    sent = name in ("ReadTimeout", "ReadError", "RemoteProtocolError", "ChunkedEncodingError") or (
        name == "ConnectionError" and _dropped_after_sending(exc)
    )
    if sent:
        return Ambiguous(
            f"no answer after the request was sent ({name}); the post may exist", platform=platform
        )
    return Retryable(f"could not reach the platform ({name}: {_short(exc)})", platform=platform)


def _dropped_after_sending(exc: Exception) -> bool:
    """requests wraps 'connection aborted / remote disconnected' in ConnectionError too."""
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


@contextmanager
def boundary(platform: str) -> Iterator[None]:
    """Translate transport errors raised inside the block; promo errors pass through untouched."""
    try:
        yield
    except PublishError:
        raise
    except httpx.TransportError as exc:
        raise transport_error(platform, exc) from exc


def error_for_status(
    platform: str, status: int, reason: str, headers: Mapping[str, str], retry_after: float | None = None
) -> PublishError:
    """The promo error for an HTTP status the platform answered with."""
    if status == 429:
        when = retry_at(headers, retry_after)
        return RateLimited(f"rate limited: {reason}", platform=platform, retry_at=when)
    if status == 401:
        return AuthError(f"credentials refused: {reason}", platform=platform)
    if status >= 500:
        return Retryable(f"server error {status}: {reason}", platform=platform)
    return Permanent(f"refused ({status}): {reason}", platform=platform)


def raise_for_status(
    platform: str, response: httpx.Response, reason: str | None = None, retry_after: float | None = None
) -> None:
    """Raise the promo error for a non-2xx response; ``reason`` is the platform's own message."""
    if response.is_success:
        return
    text = reason or error_message(response)
    raise error_for_status(platform, response.status_code, text, response.headers, retry_after)


def error_message(response: httpx.Response) -> str:
    """A readable reason from an error body (JSON ``message``/``error``/``detail`` or plain text)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
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
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise Ambiguous(
            f"unreadable answer ({response.status_code}) after sending", platform=platform
        ) from exc


class HttpAdapter(BaseAdapter):
    """An adapter speaking plain HTTP through httpx: one client, one error boundary."""

    def base_url(self) -> str:
        return self.account.api_base

    def auth_headers(self) -> dict[str, str]:
        return {}

    @cached_property
    def client(self) -> httpx.Client:
        return make_client(self.base_url(), self.timeout, self.session, self.auth_headers())

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; transport errors and error statuses leave as promo errors."""
        target = path or str(self.client.base_url).rstrip("/")  # "": the base URL itself (webhooks)
        with boundary(self.platform):
            response = self.client.request(method, target, **kwargs)
        self.raise_for(response)
        return response

    def raise_for(self, response: httpx.Response) -> None:
        """Override to classify a platform's own error bodies (duplicates, Graph codes)."""
        raise_for_status(self.platform, response)

    def call_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_body(self.platform, self.call(method, path, **kwargs))


def media_file(platform: str, media: Any) -> tuple[str, bytes, str]:
    """``(file name, bytes, mime)`` of a local Media file; a missing file is Permanent."""
    import mimetypes
    from pathlib import Path

    path = Path(media.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Permanent(f"cannot read media file {media.path}: {exc.strerror}", platform=platform) from None
    mime = media.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.name, data, mime


GRAPH_TRANSIENT = {1, 2}
GRAPH_THROTTLED = {4, 17, 32, 613, 80001}
GRAPH_AUTH = {102, 190}
GRAPH_DUPLICATE = {506}


def graph_error(platform: str, response: httpx.Response) -> PublishError:
    """Meta Graph API errors ``{"error": {message, type, code, error_subcode}}`` by their code."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code = error.get("code")
    reason = str(error.get("error_user_msg") or error.get("message") or error_message(response))
    if code in GRAPH_TRANSIENT:
        return Retryable(f"temporary Graph error {code}: {reason}", platform=platform)
    if code in GRAPH_THROTTLED:
        return RateLimited(
            f"throttled (code {code}): {reason}", platform=platform, retry_at=retry_at(response.headers)
        )
    if code in GRAPH_AUTH:
        return AuthError(f"token refused (code {code}): {reason}", platform=platform)
    if code in GRAPH_DUPLICATE:
        from promo.errors import Duplicate

        return Duplicate(f"duplicate post: {reason}", platform=platform)
    if code is not None and response.status_code < 500 and response.status_code != 429:
        return Permanent(f"refused (code {code}): {reason}", platform=platform)
    return error_for_status(platform, response.status_code, reason, response.headers)
