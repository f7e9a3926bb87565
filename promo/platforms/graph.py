"""Meta's Graph API (Threads, Facebook): ``GraphAdapter`` adds the version to every path, sends the
token as the ``access_token`` field (masked in logs) and classifies Graph errors.

Errors come as ``{"error": {message, type, code, error_subcode}}``; the code says what happened::

    1, 2                       -> Retryable   (transient)
    4, 17, 32, 613, 80001      -> RateLimited (throttled)
    102, 190                   -> AuthError   (token invalid or expired)
    506                        -> Duplicate
    other codes, below 500     -> Permanent   (the message)
    no code                    -> by status (``error_for_status``)

Media that the platform processes after it is handed over (a Threads container, a Facebook video)
is polled with ``GraphAdapter.wait_for``: every ``poll_seconds`` until ready, for at most
``wait_seconds`` in one publish; still processing then is ``Retryable``, and the retry picks the
same container or video up from the journal (both stay well inside ``publish_time_limit``).
Calls that publish nothing (making a container, an upload chunk, a status look) run inside
``repeatable``: no answer to one is ``Retryable``, not ``Ambiguous``, since a retry cannot double a post.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from promo.errors import Ambiguous, AuthError, Duplicate, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import error_for_status, retry_at
from promo.platforms.http import HttpAdapter, error_message, json_object, redact

if TYPE_CHECKING:
    import httpx

TRANSIENT = {1, 2}
THROTTLED = {4, 17, 32, 613, 80001}
TOKEN_REFUSED = {102, 190}
DUPLICATE = {506}
Ready = TypeVar("Ready")


def error_fields(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error answer (``code``, ``error_subcode``, ``error_data``...), or {}."""
    error = json_object(response).get("error") or {}
    return error if isinstance(error, dict) else {"message": str(error)}


def graph_error(platform: str, response: httpx.Response) -> PublishError:
    """The promo error for a Graph API error answer, by its code."""
    error = error_fields(response)
    code = error.get("code")
    reason = str(error.get("error_user_msg") or error.get("message") or error_message(response))
    if code in TRANSIENT:
        return Retryable(f"temporary Graph error {code}: {reason}", platform=platform)
    if code in THROTTLED:
        return RateLimited(f"throttled (code {code}): {reason}", platform=platform, retry_at=retry_at(response.headers))
    if code in TOKEN_REFUSED:
        return AuthError(f"token refused (code {code}): {reason}", platform=platform)
    if code in DUPLICATE:
        return Duplicate(f"duplicate post: {reason}", platform=platform)
    if code is not None and response.status_code < 500 and response.status_code != 429:
        return Permanent(f"refused (code {code}): {reason}", platform=platform)
    return error_for_status(platform, response.status_code, reason, response.headers)


class GraphAdapter(HttpAdapter):
    """A Graph API adapter: ``{origin}/{version}/...`` with the token in each call's fields."""

    token_credential: ClassVar[str] = "access_token"
    poll_seconds: float = 5.0    # between two looks at media still processing
    wait_seconds: float = 60.0   # at most this long in one publish; then Retryable, and a retry resumes

    def graph_version(self) -> str:
        raise NotImplementedError

    def endpoint(self) -> str:
        return f"{self.origin()}/{self.graph_version()}"

    @property
    def token(self) -> dict[str, str]:
        token = self.account.secret(self.token_credential)
        redact(token)
        return {"access_token": token}

    def raise_for(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise graph_error(self.platform, response)

    @contextmanager
    def repeatable(self, what: str) -> Iterator[None]:
        """For calls that publish nothing: an unanswered one is safe to repeat (Retryable, not Ambiguous)."""
        try:
            yield
        except Ambiguous as exc:
            raise Retryable(f"no answer to {what}; nothing is published by it, so a retry resumes",
                            platform=self.platform) from exc

    def wait_for(self, look: Callable[[], Ready | None], what: str) -> Ready:
        """``look()`` every ``poll_seconds`` until it answers; ``Retryable`` after ``wait_seconds``."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            found = look()
            if found is not None:
                return found
            if time.monotonic() + self.poll_seconds > deadline:
                raise Retryable(
                    f"{what} is still processing after {self.wait_seconds:g}s; a retry picks it up where it is",
                    platform=self.platform,
                )
            time.sleep(self.poll_seconds)
