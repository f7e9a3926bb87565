"""requests, under tweepy and Mastodon.py: its error map.

requests reports "connection aborted / remote disconnected" (the request left, no answer came) as a
``ConnectionError``, like a refused connection: the rule reads the message to tell them apart.
"""

from __future__ import annotations

import requests

from promo.errors import PublishError
from promo.platforms.boundary import ErrorMap, no_answer, unreachable


def _connection_error(platform: str, exc: BaseException) -> PublishError:
    text = str(exc)
    dropped = "RemoteDisconnected" in text or "Connection aborted" in text
    return no_answer(platform, exc) if dropped else unreachable(platform, exc)


REQUESTS_ERRORS = ErrorMap((
    (requests.ConnectTimeout, unreachable),
    (requests.ReadTimeout, no_answer),
    (requests.exceptions.ChunkedEncodingError, no_answer),
    (requests.ConnectionError, _connection_error),
    (requests.RequestException, unreachable),
))
