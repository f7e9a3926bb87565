"""Meta's Graph API (Threads, Facebook): ``GraphAdapter`` adds the version to every path, sends the
token as the ``access_token`` field (masked in logs) and classifies Graph errors.

Errors come as ``{"error": {message, type, code, error_subcode}}``; the code says what happened::

    1, 2                       -> Retryable   (transient)
    4, 17, 32, 613, 80001      -> RateLimited (throttled)
    102, 190                   -> AuthError   (token invalid or expired)
    506                        -> Duplicate
    other codes, below 500     -> Permanent   (the message)
    no code                    -> by status (``error_for_status``)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from promo.errors import AuthError, Duplicate, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.boundary import error_for_status, retry_at
from promo.platforms.http import HttpAdapter, error_message, json_object, redact

if TYPE_CHECKING:
    import httpx

TRANSIENT = {1, 2}
THROTTLED = {4, 17, 32, 613, 80001}
TOKEN_REFUSED = {102, 190}
DUPLICATE = {506}


def graph_error(platform: str, response: httpx.Response) -> PublishError:
    """The promo error for a Graph API error answer, by its code."""
    error = json_object(response).get("error") or {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
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
