"""TikTok: Login Kit, OAuth 2.0 authorisation code with PKCE (developers.tiktok.com, "Login Kit for
Desktop" and "Manage User Access Tokens").

TikTok names the client ``client_key``, not ``client_id``, in the authorise URL and in every token
request, so promo writes both itself (Authlib would send ``client_id``). Authorise at
``https://www.tiktok.com/v2/auth/authorize/`` (``client_key``, comma-separated ``scope``,
``response_type=code``, ``redirect_uri``, ``state``, ``code_challenge`` with
``code_challenge_method=S256``); exchange and refresh at ``https://open.tiktokapis.com/v2/oauth/token/``
(a form with ``client_key`` and ``client_secret``). TikTok's desktop guide makes the challenge the
SHA-256 of the verifier hex-encoded (not base64url as RFC 7636): promo does as TikTok says
(unverified against the live service). Scopes: ``user.info.basic,video.publish,video.upload``.
Access tokens live 24 hours, refresh tokens 365 days; a refresh may return a new refresh token,
which promo stores before the old one is discarded.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from promo.errors import PromoError
from promo.platforms.oauth.authcode import (
    App,
    AuthorizationFailed,
    Flow,
    RefreshFailed,
    RefreshRefused,
    Started,
    token_set,
)
from promo.store.tokens import TokenSet


def challenge(verifier: str) -> str:
    """TikTok's code challenge: SHA-256 of the verifier, hex-encoded."""
    return hashlib.sha256(verifier.encode()).hexdigest()


class TikTokFlow(Flow):
    platform = "tiktok"
    authorize_url = "https://www.tiktok.com/v2/auth/authorize/"
    token_url = "https://open.tiktokapis.com/v2/oauth/token/"
    scopes = ("user.info.basic", "video.publish", "video.upload")
    scope_separator = ","
    client_auth = "client_secret_post"

    def begin(self, app: App, redirect_uri: str) -> Started:
        self.require_client(app)
        verifier, state = secrets.token_urlsafe(64), secrets.token_urlsafe(24)
        query = {"client_key": app.client_id or "", "scope": self.scope_separator.join(app.scopes),
                 "response_type": "code", "redirect_uri": redirect_uri, "state": state,
                 "code_challenge": challenge(verifier), "code_challenge_method": "S256"}
        return Started(f"{app.authorize_url}?{urlencode(query)}", state, verifier, redirect_uri, app)

    def exchange(self, started: Started, code: str) -> TokenSet:
        form = {"code": code, "grant_type": "authorization_code", "redirect_uri": started.redirect_uri,
                "code_verifier": started.verifier or ""}
        answer = _token_request(started.app, form, AuthorizationFailed, "the code was not accepted")
        return token_set(answer, started.app.scopes, extras=_extras(answer))

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise RefreshRefused("tiktok gave no refresh token: connect the account again")
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        answer = _token_request(app, form, RefreshRefused, "the refresh was refused")
        fresh = token_set(answer, tokens.scopes, extras={**tokens.extras, **_extras(answer)})
        return TokenSet(fresh.access_token, fresh.refresh_token or tokens.refresh_token, fresh.token_type,
                        fresh.scopes, fresh.expires_at, fresh.lifetime_s, fresh.extras)


def _extras(answer: Mapping[str, Any]) -> dict[str, str]:
    return {"open_id": str(answer["open_id"])} if answer.get("open_id") else {}


def _token_request(app: App, form: Mapping[str, str], refused: type[PromoError], what: str) -> dict[str, Any]:
    """POST the token endpoint with ``client_key``/``client_secret``: TikTok's refusal -> ``refused``."""
    import httpx

    from promo.platforms.boundary import USER_AGENT

    body = {"client_key": app.client_id or "", "client_secret": app.client_secret or "", **form}
    try:
        response = httpx.post(app.token_url, data=body, timeout=app.timeout,
                              headers={"User-Agent": USER_AGENT, "Cache-Control": "no-cache"})
    except httpx.HTTPError as exc:
        raise RefreshFailed(f"{what}: no answer from the token endpoint ({type(exc).__name__}); "
                            "promo tries again later") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if answer.get("error") or response.status_code >= 400:
        reason = answer.get("error_description") or answer.get("error") or response.status_code
        if response.status_code >= 500 or response.status_code == 429:
            raise RefreshFailed(f"{what}: the token endpoint answered {response.status_code}; promo tries again later")
        raise refused(f"{what}: {reason}")
    return answer


FLOW = TikTokFlow()
