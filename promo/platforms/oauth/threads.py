"""Threads: authorisation code, then a short-lived token exchanged for a long-lived one
(developers.facebook.com/docs/threads, "Get Access Tokens and Permissions", "Long-Lived Tokens").

Authorise at ``https://threads.net/oauth/authorize`` (scopes ``threads_basic,
threads_content_publish``), exchange the code at ``https://graph.threads.net/oauth/access_token``
(client id and secret in the body) for a short-lived token (one hour), then that at
``GET /access_token?grant_type=th_exchange_token`` for a long-lived one (60 days). A long-lived
token is refreshed with ``GET /refresh_access_token?grant_type=th_refresh_token`` while it is still
valid (and at least a day old): another 60 days. Both live beside the token URL, on its host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promo.platforms.oauth.authcode import (
    App,
    AuthorizationFailed,
    Flow,
    RefreshRefused,
    get_json,
    origin,
    token_set,
)
from promo.store.tokens import TokenSet

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client


class ThreadsFlow(Flow):
    platform = "threads"
    authorize_url = "https://threads.net/oauth/authorize"
    token_url = "https://graph.threads.net/oauth/access_token"
    scopes = ("threads_basic", "threads_content_publish")
    scope_separator = ","
    client_auth = "client_secret_post"

    def after_code(self, client: OAuth2Client, app: App, token: Mapping[str, Any]) -> TokenSet:
        params = {"grant_type": "th_exchange_token", "client_secret": app.client_secret or "",
                  "access_token": str(token["access_token"])}
        long_lived = get_json(client, f"{origin(app.token_url)}/access_token", params, AuthorizationFailed,
                              "the short-lived token was not exchanged")
        extras = {"user_id": str(token["user_id"])} if token.get("user_id") else {}
        return token_set(long_lived, app.scopes, extras=extras, renewable=True)

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        with self.client(app) as client:
            answer = get_json(client, f"{origin(app.token_url)}/refresh_access_token",
                              {"grant_type": "th_refresh_token", "access_token": tokens.access_token},
                              RefreshRefused, "the long-lived token was not refreshed")
        return token_set(answer, tokens.scopes, extras=tokens.extras, renewable=True)


FLOW = ThreadsFlow()
