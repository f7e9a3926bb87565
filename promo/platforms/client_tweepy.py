"""tweepy (over requests), as the X adapter uses it: routed hosts, a timeout, and its error map.

tweepy hard-codes ``https://api.twitter.com`` and passes no timeout, so its client talks through a
``RoutingClient``: a ``requests.Session`` that sends the X hosts to the account's ``base_url`` (and
``upload_base_url``), adds the timeout to every request and streams uploads from disk.
``TWEEPY_ERRORS`` maps tweepy's status exceptions, then requests' transport errors
(``client_requests``). Imported only when the X adapter first calls X.
"""

from __future__ import annotations

from typing import Any

import requests
import tweepy

from promo.errors import AuthError, Duplicate, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import USER_AGENT, ErrorMap, retry_at
from promo.platforms.client_requests import REQUESTS_ERRORS
from promo.platforms.streaming import StreamingSession

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
UPLOAD_HOSTS = ("https://upload.twitter.com", "https://upload.x.com")
_DUPLICATE = "duplicate content"
_STATUS_ERRORS: dict[int, type[tweepy.HTTPException]] = {
    400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden, 404: tweepy.NotFound,
}


class RoutingClient(StreamingSession):
    """A requests Session that sends the X hosts to configured base URLs, always with a timeout;
    open files in ``files=`` are streamed from disk (``StreamingSession``)."""

    def __init__(self, api: str, upload: str, timeout: float) -> None:
        super().__init__()
        self.routes = {host: api for host in X_HOSTS} | {host: upload for host in UPLOAD_HOSTS}
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        for prefix, target in self.routes.items():
            if text.startswith(prefix):
                text = target + text[len(prefix) :]
                break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, text, *args, **kwargs)


def raise_for_upload(response: requests.Response) -> None:
    """Raise tweepy's exception for an error answer to a call tweepy does not make (the v2 upload)."""
    if response.status_code < 400:
        return
    if response.status_code == 429:
        raise tweepy.TooManyRequests(response)
    if response.status_code >= 500:
        raise tweepy.TwitterServerError(response)
    raise _STATUS_ERRORS.get(response.status_code, tweepy.HTTPException)(response)


def _reason(exc: tweepy.HTTPException) -> str:
    messages = [str(m) for m in exc.api_messages if m]
    details = [str(e.get("detail")) for e in exc.api_errors if isinstance(e, dict) and e.get("detail")]
    return "; ".join(messages + details) or f"{exc.response.status_code} {exc.response.reason}"


def _rate_limited(platform: str, exc: Any) -> PublishError:
    return RateLimited(f"rate limited: {_reason(exc)}", platform=platform, retry_at=retry_at(exc.response.headers))


def _unauthorized(platform: str, exc: Any) -> PublishError:
    return AuthError(f"credentials refused: {_reason(exc)}", platform=platform)


def _server_error(platform: str, exc: Any) -> PublishError:
    return Retryable(f"server error {exc.response.status_code}: {_reason(exc)}", platform=platform)


def _forbidden(platform: str, exc: Any) -> PublishError:
    if _DUPLICATE in _reason(exc).lower():
        return Duplicate(f"X says: {_reason(exc)}", platform=platform)
    return Permanent(f"forbidden: {_reason(exc)}", platform=platform)


def _refused(platform: str, exc: Any) -> PublishError:
    return Permanent(f"refused ({exc.response.status_code}): {_reason(exc)}", platform=platform)


TWEEPY_ERRORS = ErrorMap((
    (tweepy.TooManyRequests, _rate_limited),
    (tweepy.Unauthorized, _unauthorized),
    (tweepy.TwitterServerError, _server_error),
    (tweepy.Forbidden, _forbidden),
    (tweepy.HTTPException, _refused),
)) + REQUESTS_ERRORS
