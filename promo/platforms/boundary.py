"""The one place a client library's error becomes a promo error, and the one reader of reset times.

Each client library has one ``ErrorMap`` (``client_httpx``, ``client_requests``, ``client_tweepy``,
``client_mastodon``, ``client_atproto``): rows of (exception class, rule), the first match wins.
An adapter runs every library call inside ``boundary(platform, error_map)``, the way httpx wraps
httpcore in ``map_httpcore_exceptions``::

    library error ──> ErrorMap row ──> PublishError subclass, raised ``from`` the library's error

What the rows say, for every library alike (``promo.errors`` draws the tree)::

    connect refused / connect timeout / pool timeout  -> Retryable   (nothing reached the platform)
    read timeout / connection dropped after sending   -> Ambiguous   (the post may exist)
    429                                               -> RateLimited (.retry_at from ``retry_at``)
    401                                               -> AuthError
    5xx                                               -> Retryable
    other 4xx                                         -> Permanent   (the platform's own message)

A platform answering with an error status (httpx raises nothing for one) goes through
``error_for_status``; platform modules add their own cases (duplicates, Graph codes) before it.
No client library is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from promo.errors import Ambiguous, AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.times import utcnow

USER_AGENT = "promo (+https://github.com/promo-scheduler/promo)"
RESET_HEADERS = ("retry-after", "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value above this is epoch seconds, below it a delay

# rule(platform, the library's exception) -> the promo error it means
Rule = Callable[[str, BaseException], PublishError]


@dataclass(frozen=True)
class ErrorMap:
    """What one client library's exceptions mean: ``(exception class, rule)`` rows, first match wins."""

    rows: tuple[tuple[type[BaseException], Rule], ...]

    def translate(self, platform: str, exc: BaseException) -> PublishError | None:
        for kind, rule in self.rows:
            if isinstance(exc, kind):
                return rule(platform, exc)
        return None

    def __add__(self, other: ErrorMap) -> ErrorMap:
        return ErrorMap(self.rows + other.rows)


@contextmanager
def boundary(platform: str, error_map: ErrorMap) -> Iterator[None]:
    """Translate the library errors raised inside the block; promo errors and others pass untouched."""
    try:
        yield
    except PublishError:
        raise
    except Exception as exc:
        mapped = error_map.translate(platform, exc)
        if mapped is None:
            raise
        raise mapped from exc


# -- rules every map uses ------------------------------------------------------------------------
def unreachable(platform: str, exc: BaseException) -> PublishError:
    """Nothing reached the platform: safe to send again."""
    return Retryable(f"could not reach the platform ({type(exc).__name__}: {short(exc)})", platform=platform)


def no_answer(platform: str, exc: BaseException) -> PublishError:
    """The request left; the answer did not come: the post may exist."""
    return Ambiguous(
        f"no answer after the request was sent ({type(exc).__name__}); the post may exist", platform=platform
    )


def short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


def error_for_status(
    platform: str, status: int, reason: str, headers: Mapping[str, str], retry_after: float | str | None = None
) -> PublishError:
    """The promo error for an HTTP status the platform answered with; ``reason`` is its own message."""
    if status == 429:
        return RateLimited(f"rate limited: {reason}", platform=platform, retry_at=retry_at(headers, retry_after))
    if status == 401:
        return AuthError(f"credentials refused: {reason}", platform=platform)
    if status >= 500:
        return Retryable(f"server error {status}: {reason}", platform=platform)
    return Permanent(f"refused ({status}): {reason}", platform=platform)


# -- reset times ---------------------------------------------------------------------------------
def retry_at(
    headers: Mapping[str, str], retry_after: float | str | None = None, now: datetime | None = None
) -> datetime | None:
    """When the platform says we may try again: a body ``retry_after`` (seconds), else the first
    readable of ``Retry-After`` and the reset headers (``RESET_HEADERS``)."""
    now = now or utcnow()
    if retry_after is not None:
        try:
            return now + timedelta(seconds=float(retry_after))
        except (TypeError, ValueError):
            pass
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in RESET_HEADERS:
        if name in lowered:
            parsed = reset_time(lowered[name], now)
            if parsed is not None:
                return parsed
    return None


def reset_time(value: str | float, now: datetime | None = None) -> datetime | None:
    """One reset value: epoch seconds, seconds from now, an HTTP date or an ISO timestamp."""
    now = now or utcnow()
    try:
        number = float(str(value).strip())
    except ValueError:
        return _parse_date(str(value).strip())
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
