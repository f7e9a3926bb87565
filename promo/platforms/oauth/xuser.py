"""The X adapter for a connected account: OAuth 2.0 user context (a bearer token) instead of OAuth 1.0a.

Everything the X adapter does stays as it is (``promo.platforms.x``); only how a request is signed
changes. tweepy's ``Client`` sends its bearer token when a call is not made with ``user_auth``, so
``UserContextClient`` makes every call that way with the user's access token; the media upload's
auth (``_oauth_handler().apply_auth()``) becomes the same bearer header. X's v2 media upload takes
OAuth 2.0 user tokens with the ``media.write`` scope. The v1.1 fallback does not take them.
"""

from __future__ import annotations

import logging
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests

from promo.platforms.http import redact
from promo.platforms.x import XAdapter

if TYPE_CHECKING:
    import tweepy

_BEARER = re.compile(r"Bearer [^'\"\s,}]+")


class _MaskBearer(logging.Filter):
    """tweepy logs each request's headers at DEBUG: a bearer token never reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer " in message:
            record.msg, record.args = _BEARER.sub("Bearer ***", message), None
        return True


logging.getLogger("tweepy.client").addFilter(_MaskBearer())


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class _BearerHandler:
    """Stands where tweepy's ``OAuth1UserHandler`` stood: ``apply_auth()`` gives the request's auth."""

    def __init__(self, token: str) -> None:
        self.token = token

    def apply_auth(self) -> _Bearer:
        return _Bearer(self.token)


class XUserAdapter(XAdapter):
    """X with an OAuth 2.0 user access token (``promo accounts connect``)."""

    @cached_property
    def api(self) -> tweepy.Client:
        import tweepy

        class UserContextClient(tweepy.Client):
            def request(self, method: str, route: str, params: Any = None, json: Any = None,
                        user_auth: bool = False) -> Any:
                return super().request(method, route, params, json, user_auth=False)

        token = self.account.secret("access_token")
        redact(token)  # tweepy logs its request headers at DEBUG: the bearer token is masked there
        client = UserContextClient(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
        client.session = self.http
        return client

    def _oauth_handler(self) -> Any:
        return _BearerHandler(self.account.secret("access_token"))
