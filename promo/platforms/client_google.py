"""google-api-python-client (googleapiclient over httplib2): the YouTube client promo builds, and its error map.

``youtube_client(base_url, token, timeout)`` builds the YouTube Data API v3 service from the
discovery document shipped inside googleapiclient (no discovery request), with its ``rootUrl`` set
to the account's ``base_url``: every call, and the media upload path (``/upload/youtube/v3/...``),
then goes there, so a test points it at a local fake (``client_options.api_endpoint`` would move
only the host of upload URLs, never their scheme). Requests carry the access token through
google-auth's ``AuthorizedHttp`` with its own refresh turned off: a 401 becomes ``AuthError`` and
the engine refreshes connected tokens itself (``promo.engine.runtime``). httplib2 is told that 308
is YouTube's "resume incomplete", not a redirect, as googleapiclient's own ``build_http`` does.

``GOOGLE_ERRORS`` (what ``HttpError`` and the transport's exceptions mean)::

    401                                       -> AuthError (refresh once, then reconnect)
    403 insufficientPermissions / scopes       -> AuthError (connect again with the YouTube scopes)
    403 quotaExceeded / dailyLimitExceeded     -> RateLimited until the next midnight Pacific Time
    400 uploadLimitExceeded                    -> RateLimited for 24 hours (YouTube names no reset; unverified)
    429, rateLimitExceeded, userRateLimit...   -> RateLimited (Retry-After, else a minute)
    5xx                                        -> Retryable
    other 4xx                                  -> Permanent with YouTube's message and reason
    connection refused / DNS                   -> Retryable;  timeout / dropped after sending -> Ambiguous
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError, MediaUploadSizeError

from promo.errors import AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import ErrorMap, no_answer, retry_at, short, unreachable
from promo.rules.youtube import next_reset
from promo.times import utcnow

QUOTA = ("quotaExceeded", "dailyLimitExceeded")
RATE = ("rateLimitExceeded", "userRateLimitExceeded", "uploadRateLimitExceeded")
SCOPES = ("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT")


@dataclass(frozen=True)
class YouTubeClient:
    """The built service and the authorised httplib2 client it speaks through (for session queries)."""

    service: Any
    http: Any


def youtube_client(base_url: str, token: str, timeout: float) -> YouTubeClient:
    """The YouTube Data API v3 service for ``base_url`` (scheme://host[:port]), sending ``token``."""
    from google.oauth2.credentials import Credentials
    from google_auth_httplib2 import AuthorizedHttp
    from googleapiclient.discovery import build_from_document
    from googleapiclient.discovery_cache import get_static_doc

    document = json.loads(get_static_doc("youtube", "v3") or "{}")
    if not document:
        raise Permanent("googleapiclient ships no YouTube v3 discovery document: reinstall "
                        "google-api-python-client", platform="youtube")
    root = base_url.rstrip("/") + "/"
    document["rootUrl"] = document["mtlsRootUrl"] = root
    transport = httplib2.Http(timeout=timeout)
    transport.redirect_codes = transport.redirect_codes - {308}  # 308 is "resume incomplete" here
    authorised = AuthorizedHttp(Credentials(token), http=transport, refresh_status_codes=())
    service = build_from_document(document, http=authorised)
    return YouTubeClient(service, authorised)


def error_parts(exc: HttpError) -> tuple[int, str, str]:
    """``(status, reason, message)`` of a YouTube error answer."""
    status = int(getattr(exc.resp, "status", 0) or 0)
    try:
        body = json.loads(exc.content.decode("utf-8") if isinstance(exc.content, bytes) else exc.content)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return status, "", short(exc)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return status, "", str(error or short(exc))
    errors = error.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    reason = str(first.get("reason") or error.get("status") or "")
    return status, reason, str(error.get("message") or first.get("message") or reason)


def http_error(platform: str, exc: BaseException) -> PublishError:
    assert isinstance(exc, HttpError)
    status, reason, message = error_parts(exc)
    said = f"{message} ({reason})" if reason and reason not in message else message
    headers = {k: str(v) for k, v in dict(exc.resp or {}).items()}
    if status == 401:
        return AuthError(f"YouTube refused the token: {said}", platform=platform)
    if reason in SCOPES:
        return AuthError(f"the token lacks a YouTube scope ({said}): connect the account again, allowing "
                         "youtube and youtube.upload", platform=platform)
    if reason in QUOTA:
        reset = next_reset(utcnow())
        return RateLimited(f"the Google Cloud project's daily YouTube quota is spent ({said}); blocked until "
                           "midnight Pacific Time, when it resets", platform=platform, retry_at=reset)
    if reason == "uploadLimitExceeded":
        return RateLimited(f"the channel has uploaded as many videos as YouTube allows for now ({said}); "
                           "trying again in 24 hours", platform=platform, retry_at=utcnow() + timedelta(hours=24))
    if status == 429 or reason in RATE:
        when = retry_at(headers) or utcnow() + timedelta(minutes=1)
        return RateLimited(f"rate limited: {said}", platform=platform, retry_at=when)
    if status >= 500:
        return Retryable(f"server error {status}: {said}", platform=platform)
    return Permanent(f"refused ({status}): {said}", platform=platform)


def _refresh_error(platform: str, exc: BaseException) -> PublishError:
    return AuthError(f"google-auth could not use the token: {short(exc)}", platform=platform)


def _too_large(platform: str, exc: BaseException) -> PublishError:
    return Permanent(f"the file is over YouTube's size limit for this upload: {short(exc)}", platform=platform)


GOOGLE_ERRORS = ErrorMap((
    (HttpError, http_error),
    (MediaUploadSizeError, _too_large),
    (RefreshError, _refresh_error),
    (httplib2.ServerNotFoundError, unreachable),
    (ConnectionRefusedError, unreachable),
    (TimeoutError, no_answer),
    (http.client.RemoteDisconnected, no_answer),
    (ConnectionError, no_answer),
    (http.client.HTTPException, no_answer),
    (httplib2.HttpLib2Error, unreachable),
))
