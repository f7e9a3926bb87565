"""Mastodon: register an app on the instance, then authorise it, through Mastodon.py
(docs.joinmastodon.org, "Obtaining client app access" and "OAuth").

``POST /api/v1/apps`` registers promo on the account's instance (its ``base_url``) with the loopback
redirect URI, unless ``client_id`` is set (an app you registered; its secret in
``PROMO_ACCOUNT_<NAME>_CLIENT_SECRET``). The person authorises at the instance's
``/oauth/authorize`` (Mastodon.py reads the endpoints from
``/.well-known/oauth-authorization-server`` where the instance has it) and the code is exchanged at
``/oauth/token``. Mastodon.py sends no PKCE; the code is bound to the app's client secret. Mastodon
access tokens do not expire; the registered client id and secret are stored (encrypted) with the
token. An instance that does issue a refresh token has it used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from promo.errors import PromoError
from promo.platforms.boundary import USER_AGENT
from promo.platforms.oauth.authcode import App, AuthorizationFailed, Flow, RefreshFailed, RefreshRefused, Started
from promo.store.tokens import TokenSet

if TYPE_CHECKING:
    from mastodon import Mastodon

SCOPES = ("read", "write")


class MastodonFlow(Flow):
    platform = "mastodon"
    scopes = SCOPES
    pkce = False
    needs_secret = False
    refreshable = False

    def begin(self, app: App, redirect_uri: str) -> Started:
        client_id, secret = app.client_id, app.client_secret
        if not client_id:
            client_id, secret = _call(lambda: _register(app, redirect_uri), AuthorizationFailed,
                                      "the instance did not register promo's app")
        import secrets as random

        state = random.token_urlsafe(24)
        api = _api(app, client_id, secret)
        url = _call(lambda: api.auth_request_url(redirect_uris=redirect_uri, scopes=list(app.scopes), state=state,
                                                 allow_http=_loopback(app.api_base)),
                    AuthorizationFailed, "no authorisation URL")
        return Started(url, state, None, redirect_uri, app, {"client_id": client_id, "client_secret": secret or ""})

    def exchange(self, started: Started, code: str) -> TokenSet:
        app, memo = started.app, started.memo
        api = _api(app, memo["client_id"], memo["client_secret"])
        token = _call(lambda: api.log_in(code=code, redirect_uri=started.redirect_uri, scopes=list(app.scopes),
                                         allow_http=_loopback(app.api_base)),
                      AuthorizationFailed, "the code was not accepted")
        refresh = getattr(api, "_Mastodon__refresh_token", None)
        return TokenSet(str(token), refresh, "bearer", app.scopes,
                        extras={"client_id": memo["client_id"], "client_secret": memo["client_secret"]})

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise RefreshRefused("Mastodon gave no refresh token (its tokens do not expire): connect again")
        api = _api(app, app.client_id, app.client_secret)
        token = _call(lambda: api.log_in(refresh_token=tokens.refresh_token, scopes=list(tokens.scopes),
                                         allow_http=_loopback(app.api_base)), RefreshRefused, "the refresh was refused")
        return TokenSet(str(token), tokens.refresh_token, "bearer", tokens.scopes, extras=tokens.extras)


def _register(app: App, redirect_uri: str) -> tuple[str, str]:
    from mastodon import Mastodon

    found: tuple[str, str] = Mastodon.create_app("promo", scopes=list(app.scopes), redirect_uris=redirect_uri,
                                                 api_base_url=app.api_base, request_timeout=app.timeout,
                                                 user_agent=USER_AGENT)
    return found


def _api(app: App, client_id: str | None, secret: str | None) -> Mastodon:
    from mastodon import Mastodon

    return Mastodon(client_id=client_id, client_secret=secret, api_base_url=app.api_base,
                    request_timeout=app.timeout, version_check_mode="none", user_agent=USER_AGENT)


def _loopback(base: str) -> bool:
    """http is allowed only for an instance on this machine (a test's fake, a local development server)."""
    parts = urlsplit(base)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _call(call: Callable[[], Any], refused: type[PromoError], what: str) -> Any:
    from mastodon.errors import MastodonError, MastodonNetworkError

    try:
        return call()
    except MastodonNetworkError:
        raise RefreshFailed(f"{what}: the instance could not be reached; try again later") from None
    except MastodonError as exc:
        reason = next((str(a) for a in reversed(exc.args) if isinstance(a, str) and a), type(exc).__name__)
        raise refused(f"{what}: {reason}") from None
    except RecursionError:  # Mastodon.py loops when an instance hides its version (limited federation)
        raise refused(f"{what}: the instance does not tell Mastodon.py its version") from None


FLOW = MastodonFlow()
