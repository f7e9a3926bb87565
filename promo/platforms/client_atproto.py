"""atproto (over httpx), as the Bluesky adapter uses it: a client with a timeout, and its error map.

atproto raises one family (``RequestErrorBase``) for both kinds of failure: with a response (the
PDS answered: its status decides) or without one (transport: the httpx error underneath decides,
through ``client_httpx.HTTPX_ERRORS``). Imported only when the Bluesky adapter first calls the PDS.
"""

from __future__ import annotations

import httpx
from atproto import Client
from atproto_client import exceptions as atp
from atproto_client.request import Request

from promo.errors import AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import ErrorMap, error_for_status, retry_at
from promo.platforms.client_httpx import HTTPX_ERRORS


def make_api(base_url: str, timeout: float, http: httpx.Client | None) -> Client:
    """An atproto client for the PDS at ``base_url`` (atproto adds ``/xrpc``), through ``http`` if given."""
    request = Request(timeout=timeout)
    if http is not None:
        request._client = http
    return Client(base_url=base_url, request=request)


def _request_error(platform: str, exc: BaseException) -> PublishError:
    assert isinstance(exc, atp.RequestErrorBase)
    response, cause = exc.response, exc.__cause__
    if response is None:
        mapped = HTTPX_ERRORS.translate(platform, cause) if cause is not None else None
        return mapped or Retryable(f"could not reach the PDS: {_reason(exc)}", platform=platform)
    status, reason = response.status_code, _reason(exc)
    if status == 429:
        return RateLimited(f"rate limited: {reason}", platform=platform, retry_at=retry_at(response.headers))
    if status in (401, 403):
        return AuthError(f"session refused: {reason}", platform=platform)
    if status == 400:
        return Permanent(f"refused: {reason}", platform=platform)
    if status:
        return error_for_status(platform, status, reason, response.headers)
    return Retryable(f"could not reach the PDS: {reason}", platform=platform)


def _reason(exc: atp.RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    message = getattr(content, "message", None)
    error = getattr(content, "error", None)
    if error or message:
        return f"{error or ''}: {message or ''}".strip(": ")
    return str(exc) or type(exc).__name__


ATPROTO_ERRORS = ErrorMap(((atp.RequestErrorBase, _request_error),))
