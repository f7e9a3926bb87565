"""PRAW (over prawcore and requests), as the Reddit adapter uses it: a client that never waits or
retries on its own, uploads streamed from disk, and its error map.

``make_reddit`` builds a ``praw.Reddit`` pointed at the account's ``base_url`` (``oauth_url``) and
``reddit_url``, speaking through a ``StreamingSession`` with the timeout set, authorised with the
account's bearer token (``auth.implicit``: PRAW never refreshes it; promo does, see
``promo.platforms.oauth.reddit``). What promo changes in PRAW's behaviour, and why:

- ``ratelimit_seconds=0``: PRAW sleeps and re-submits on a ``RATELIMIT`` answer; here it raises, and
  the map turns "try again in N minutes" into ``RateLimited`` at that time (the worker owns waits).
- no retries (``NoRetry``): prawcore re-sends a request after a read timeout or a 5xx, which for a
  submission that Reddit took could post twice.
- ``OwnedWaits``: prawcore sleeps until the rate-limit window resets (up to ten minutes) when
  ``X-Ratelimit-Remaining`` is 0; here that raises ``WindowSpent``, mapped to ``RateLimited``.
- ``StreamedMedia``: PRAW reads a media file whole into memory; this one streams it from disk to
  the upload URL Reddit's lease names (``media_upload_url`` may route that host, for a fake).

Imported only when the Reddit adapter first calls Reddit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import praw
import praw.exceptions
import prawcore
import requests
from praw.models import PostMedia
from prawcore.rate_limit import RateLimiter
from prawcore.sessions import RetryStrategy

from promo.errors import Ambiguous, AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import USER_AGENT, ErrorMap, retry_at, short
from promo.platforms.client_requests import REQUESTS_ERRORS
from promo.platforms.streaming import StreamingSession
from promo.times import utcnow

SCOPES = "submit identity read flair"
_WAIT = re.compile(r"(\d+)\s*(milliseconds?|seconds?|minutes?|hours?)", re.IGNORECASE)
UPLOAD_HOST = "https://reddit-uploaded-media.s3-accelerate.amazonaws.com"


class WindowSpent(Exception):
    """Reddit's rate-limit window is used up: the next request may go in ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Reddit's rate-limit window is spent; it resets in {seconds:.0f} s")
        self.seconds = seconds


@dataclass(frozen=True)
class NoRetry(RetryStrategy):
    """prawcore's retry strategy, never retrying: a re-sent submission could post twice."""

    def _sleep_seconds(self) -> float | None:
        return None

    def consume_available_retry(self) -> NoRetry:
        return self

    def should_retry_on_failure(self) -> bool:
        return False


class OwnedWaits(RateLimiter):
    """prawcore's limiter without its sleeps: a spent window raises ``WindowSpent`` instead."""

    def delay(self) -> None:
        if self.next_request_timestamp_ns is None or self.remaining is None or self.remaining > 0:
            return
        seconds = (self.next_request_timestamp_ns - time.monotonic_ns()) / 1e9
        if seconds > 0:
            raise WindowSpent(seconds)


class RoutedSession(StreamingSession):
    """A requests Session streaming ``files=`` from disk, with a timeout on every request, that
    sends the upload host to ``upload`` (a fake's address in tests)."""

    def __init__(self, timeout: float, upload: str | None) -> None:
        super().__init__()
        self.timeout, self.upload = timeout, upload.rstrip("/") if upload else None
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        if self.upload and text.startswith(UPLOAD_HOST):
            text = self.upload + text[len(UPLOAD_HOST):]
        kwargs["timeout"] = self.timeout  # promo's, not prawcore's own 16 s
        return super().request(method, text, *args, **kwargs)


class StreamedMedia(PostMedia):
    """A ``PostMedia`` read from disk while it is sent, never whole into memory."""

    def __init__(self, path: Path, mime: str) -> None:
        self.name, self.path, self._data = path.name, path, b""
        self.__dict__["_mime_type"] = mime

    def __hash__(self) -> int:
        return hash(str(self.path))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamedMedia) and other.path == self.path

    def _post_to_s3(self, reddit: praw.Reddit, upload_data: dict[str, str], upload_url: str, /) -> Any:
        assert reddit._core is not None
        with self.path.open("rb") as handle:
            return reddit._core.requestor.request(
                "POST", upload_url, data=upload_data, files={"file": (self.name, handle, self._mime_type)})


class Uploaded(PostMedia):
    """Media already on Reddit's upload host (its URL journaled): ``submit`` uses it as it is."""

    def __init__(self, url: str) -> None:
        self.name, self.url, self._data = url.rsplit("/", 1)[-1], url, b""

    def __hash__(self) -> int:
        return hash(self.url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Uploaded) and other.url == self.url

    def _upload(self, reddit: praw.Reddit, /, *, expected_mime_prefix: str | None = None,  # type: ignore[override]
                upload_type: str = "link") -> str:
        return self.url


def upload(reddit: praw.Reddit, path: Path | None, mime: str, data: bytes | None = None) -> str:
    """Put a file (streamed from disk) or small ``data`` (a poster) on Reddit's upload host: its URL."""
    media = StreamedMedia(path, mime) if path is not None else PostMedia(data or b"", name="poster.jpg")
    return media._upload(reddit, expected_mime_prefix=mime.split("/", 1)[0])


def make_reddit(oauth_url: str, reddit_url: str, token: str, timeout: float, upload: str | None = None,
                session: requests.Session | None = None) -> praw.Reddit:
    """A ``praw.Reddit`` speaking with ``token`` to ``oauth_url``, promo's way (above)."""
    http = session if session is not None else RoutedSession(timeout, upload)
    reddit = praw.Reddit(client_id="promo", client_secret=None, user_agent=USER_AGENT, oauth_url=oauth_url,
                         reddit_url=reddit_url, ratelimit_seconds=0, check_for_updates=False, check_for_async=False,
                         requestor_kwargs={"session": http, "timeout": timeout})
    reddit.auth.implicit(access_token=token, expires_in=3600, scope=SCOPES)
    core = reddit._core
    assert core is not None
    core._retry_strategy_class = NoRetry  # type: ignore[assignment]
    core._rate_limiter = OwnedWaits(window_size=reddit.config.window_size)
    return reddit


# -- the error map ---------------------------------------------------------------------------------
def wait_of(message: str) -> timedelta | None:
    """"try again in 9 minutes" / "Take a break for 5 minutes" -> how long; None if it names none."""
    found = _WAIT.search(message)
    if found is None:
        return None
    amount, unit = int(found.group(1)), found.group(2).lower()
    factor = {"m": 60, "h": 3600}.get(unit[0], 1) if not unit.startswith("milli") else 0.001
    return timedelta(seconds=amount * factor)


def _api_error(platform: str, exc: Any) -> PublishError:
    items = list(exc.items)
    text = "; ".join(f"{i.error_type}: {i.message}" + (f" ({i.field})" if i.field else "") for i in items)
    for item in items:
        if item.error_type == "RATELIMIT":
            wait = wait_of(item.message or "") or timedelta(minutes=10)
            return RateLimited(f"Reddit says: {item.message}", platform=platform, retry_at=utcnow() + wait)
    return Permanent(f"Reddit refused the submission: {text}", platform=platform)


def _too_many(platform: str, exc: Any) -> PublishError:
    headers: Mapping[str, str] = exc.response.headers
    found = retry_at(headers) or retry_at({"retry-after": headers.get("x-ratelimit-reset", "60")})
    return RateLimited("rate limited (429)", platform=platform, retry_at=found)


def _window(platform: str, exc: Any) -> PublishError:
    return RateLimited(str(exc), platform=platform, retry_at=utcnow() + timedelta(seconds=exc.seconds))


def _status(platform: str, exc: Any) -> PublishError:
    response = exc.response
    status, reason = response.status_code, short(exc)
    if status == 401:
        return AuthError(f"credentials refused: {reason}", platform=platform)
    if status >= 500:
        return Retryable(f"server error {status}: {reason}", platform=platform)
    if status == 403:
        return Permanent("forbidden (403): the account may be banned from the subreddit, or it is private",
                         platform=platform)
    if status == 404:
        return Permanent("not found (404): check the subreddit's name", platform=platform)
    return Permanent(f"refused ({status}): {reason}", platform=platform)


def _auth(platform: str, exc: BaseException) -> PublishError:
    return AuthError(f"credentials refused: {short(exc)}", platform=platform)


def _transport(platform: str, exc: Any) -> PublishError:
    original = exc.original_exception
    mapped = REQUESTS_ERRORS.translate(platform, original)
    if mapped is not None:
        return mapped
    if isinstance(original, OSError):  # a media file that could not be read
        return Permanent(f"cannot read media file: {short(original)}", platform=platform)
    return Retryable(f"could not reach Reddit ({short(original)})", platform=platform)


def _fixed(kind: type[PublishError], message: str) -> Any:
    return lambda platform, exc: kind(f"{message} ({short(exc)})", platform=platform)


PRAW_ERRORS = ErrorMap((
    (WindowSpent, _window),
    (praw.exceptions.RedditAPIException, _api_error),
    (praw.exceptions.MediaPostFailed, _fixed(Permanent, "Reddit could not make a post of the media")),
    (praw.exceptions.WebSocketException,
     _fixed(Ambiguous, "no answer on Reddit's websocket after the media post was submitted; the post may exist")),
    (praw.exceptions.TooLargeMediaException, _fixed(Permanent, "the media file is too large for Reddit")),
    (prawcore.TooManyRequests, _too_many),
    (prawcore.InvalidToken, _auth),
    (prawcore.InsufficientScope, _fixed(AuthError, "the token lacks a scope: connect the account again")),
    (prawcore.OAuthException, _auth),
    (prawcore.BadJSON, _fixed(Ambiguous, "unreadable answer from Reddit after sending")),
    (prawcore.ResponseException, _status),
    (prawcore.RequestException, _transport),
    (praw.exceptions.ClientException, _fixed(Permanent, "PRAW refused the request")),
)) + REQUESTS_ERRORS
