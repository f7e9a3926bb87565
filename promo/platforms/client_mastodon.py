"""Mastodon.py, as the Mastodon adapter uses it: no waiting, a timeout, and its error map.

Mastodon.py raises ``MastodonRatelimitError`` without the response; the reset time it read from
``X-RateLimit-Reset`` is on the client (``ratelimit_reset``), so the map is built per client.
A ``MastodonNetworkError`` wraps requests' own error, which ``client_requests`` classifies.
Its session is a ``streaming.StreamingSession``, so ``media_post`` streams a video from disk.
Imported only when the Mastodon adapter first calls its instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from promo.errors import AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import USER_AGENT, ErrorMap, reset_time, unreachable
from promo.platforms.client_requests import REQUESTS_ERRORS
from promo.platforms.streaming import StreamingSession


def make_api(base_url: str, access_token: str, timeout: float, http: requests.Session | None) -> Mastodon:
    """A Mastodon.py client that throws on a rate limit instead of sleeping, with every request timed out;
    its session streams uploads from disk (``StreamingSession``: requests would read a video whole)."""
    return Mastodon(
        access_token=access_token,
        api_base_url=base_url,
        ratelimit_method="throw",
        request_timeout=timeout,
        session=http if http is not None else StreamingSession(),
        mastodon_version="4.2.0",
        version_check_mode="created",
        user_agent=USER_AGENT,
    )


def mastodon_errors(api: Mastodon) -> ErrorMap:
    """The map for one client: its rate-limit rule reads that client's ``ratelimit_reset``."""
    return ErrorMap((
        (MastodonRatelimitError, _rate_limited(lambda: getattr(api, "ratelimit_reset", None))),
        (MastodonUnauthorizedError, lambda p, exc: AuthError(f"token refused: {_reason(exc)}", platform=p)),
        (MastodonServerError, lambda p, exc: Retryable(f"server error: {_reason(exc)}", platform=p)),
        (MastodonAPIError, lambda p, exc: Permanent(f"refused: {_reason(exc)}", platform=p)),
        (MastodonNetworkError, _network),
        (MastodonError, lambda p, exc: Permanent(f"cannot send: {exc}", platform=p)),
    ))


def _rate_limited(reset: Callable[[], float | None]) -> Callable[[str, BaseException], PublishError]:
    def rule(platform: str, exc: BaseException) -> PublishError:
        value = reset()
        when = reset_time(value) if value and value > time.time() else None
        return RateLimited("rate limited", platform=platform, retry_at=when)

    return rule


def _network(platform: str, exc: BaseException) -> PublishError:
    cause = exc.__context__
    mapped = REQUESTS_ERRORS.translate(platform, cause) if cause is not None else None
    return mapped or unreachable(platform, exc)


def _reason(exc: BaseException) -> str:
    args = [a for a in exc.args if isinstance(a, str) and a and a != "Mastodon API returned error"]
    return args[-1] if args else type(exc).__name__
