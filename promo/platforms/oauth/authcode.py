"""OAuth 2.0 authorisation code with PKCE (S256) through Authlib, and ``Flow``, what a platform fills in.

A connection runs in two halves, so the caller decides where the browser comes back (a loopback
redirect or a pasted URL)::

    app = flow.app(account, timeout)                    # client id/secret, endpoints, scopes
    started = flow.begin(app, redirect_uri)             # the URL to open, a fresh state and verifier
    tokens = flow.complete(started, redirect_params)    # state checked, code exchanged (+ the
                                                        # platform's own exchanges), a TokenSet
    tokens = flow.refresh(app, tokens)                  # before expiry, or after a 401

Each platform's authorise and token URLs are account settings (``authorize_url``, ``token_url`` in
promo.toml) defaulting to the platform's documented ones, so tests run the whole flow against a
local fake. ``client_id`` is a setting too; the client secret is read from
``PROMO_ACCOUNT_<NAME>_CLIENT_SECRET`` (or ``client_secret_env``), never from the file.

Errors: ``AuthorizationFailed`` (refused, wrong state, code not accepted: connect again),
``RefreshRefused`` (the platform refused the refresh: the account needs reconnecting) and
``RefreshFailed`` (the platform could not be reached: try again later).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from promo.errors import ConfigError, PromoError
from promo.platforms.oauth.loopback import AuthorizationFailed
from promo.store.tokens import TokenSet
from promo.times import utcnow

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = ["App", "AuthorizationFailed", "Flow", "RefreshFailed", "RefreshRefused", "Started"]


SECRET_PARAMS = ("access_token", "client_secret", "fb_exchange_token", "refresh_token", "code")


class RefreshRefused(PromoError):
    """The platform refused the refresh (revoked, expired, rotated away): a person must reconnect."""


class RefreshFailed(PromoError):
    """The refresh did not reach the platform or got no usable answer: try again later."""


class ConnectAccount(Protocol):
    """What a flow reads of an account (``promo.accounts.Account`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def api_base(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def connect(self) -> Mapping[str, Any]: ...
    @property
    def client_secret(self) -> str | None: ...


@dataclass(frozen=True)
class App:
    """How one account connects: its client (app) and the platform's endpoints. ``repr`` hides the secret."""

    account: str
    client_id: str | None
    client_secret: str | None
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    api_base: str
    options: Mapping[str, Any]
    timeout: float = 10.0

    def __repr__(self) -> str:
        return f"App(account={self.account!r}, client_id={self.client_id!r}, token_url={self.token_url!r})"


@dataclass
class Started:
    """One authorisation under way: the URL to open and what the answer must match."""

    url: str
    state: str
    verifier: str | None
    redirect_uri: str
    app: App
    memo: dict[str, str] = field(default_factory=dict)  # a flow's own (Mastodon's registered client)

    def __repr__(self) -> str:
        return f"Started(account={self.app.account!r}, redirect_uri={self.redirect_uri!r})"


class Flow:
    """A platform's authorisation: the standard code flow; platforms override what differs."""

    platform: ClassVar[str] = ""
    authorize_url: ClassVar[str] = ""
    token_url: ClassVar[str] = ""
    scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    pkce: ClassVar[bool] = True
    client_auth: ClassVar[str] = "client_secret_basic"  # or client_secret_post, none (a public client)
    needs_secret: ClassVar[bool] = True
    credential: ClassVar[str] = "access_token"  # the adapter's credential the access token fills
    adapter: ClassVar[str | None] = None  # "module:Class" to use instead of the platform's adapter
    refreshable: ClassVar[bool] = True

    # -- the account's settings --------------------------------------------------------------------
    def app(self, account: ConnectAccount, timeout: float = 10.0, stored: TokenSet | None = None) -> App:
        """The client and endpoints: promo.toml and the environment first, else what connecting stored."""
        options = account.connect
        extras = stored.extras if stored is not None else {}
        client_id = str(options.get("client_id") or extras.get("client_id") or "") or None
        secret = account.client_secret or extras.get("client_secret")
        return App(account.name, client_id, secret, str(options.get("authorize_url") or self.authorize_url),
                   str(options.get("token_url") or self.token_url), self.scopes_of(account),
                   account.api_base, account.options, timeout)

    def scopes_of(self, account: ConnectAccount) -> tuple[str, ...]:
        configured = account.connect.get("scopes")
        if isinstance(configured, str):
            return tuple(configured.replace(",", " ").split())
        if isinstance(configured, list):
            return tuple(str(scope) for scope in configured)
        return self.default_scopes(account)

    def default_scopes(self, account: ConnectAccount) -> tuple[str, ...]:
        return self.scopes

    def require_client(self, app: App) -> None:
        variable = "PROMO_ACCOUNT_" + "".join(c if c.isalnum() else "_" for c in app.account).upper()
        if not app.client_id:
            raise ConfigError(f"account {app.account}: client_id is not set: add client_id = \"...\" (your "
                              f"developer app's client id) under [accounts.{app.account}] in promo.toml")
        if self.needs_secret and not app.client_secret:
            raise ConfigError(f"account {app.account}: the app's client secret is not set: set "
                              f"{variable}_CLIENT_SECRET")

    # -- the two halves ---------------------------------------------------------------------------
    def begin(self, app: App, redirect_uri: str) -> Started:
        """A fresh state (and PKCE verifier), and the platform's authorise URL carrying them."""
        self.require_client(app)
        verifier = secrets.token_urlsafe(64) if self.pkce else None
        with self.client(app, redirect_uri) as client:
            url, state = client.create_authorization_url(app.authorize_url, state=secrets.token_urlsafe(24),
                                                         code_verifier=verifier)
        return Started(url, state, verifier, redirect_uri, app)

    def complete(self, started: Started, params: Mapping[str, str]) -> TokenSet:
        """Check the answer (error, state), exchange the code, then the platform's own steps."""
        if params.get("error"):
            why = params.get("error_description") or params["error"]
            raise AuthorizationFailed(f"{self.platform} did not authorise promo: {why}")
        if "state" in params and params["state"] != started.state:
            raise AuthorizationFailed("the answer's state does not match this request (an old or forged "
                                      "redirect); run the command again")
        code = params.get("code")
        if not code:
            raise AuthorizationFailed("the answer carries no code; run the command again")
        return self.exchange(started, code)

    def exchange(self, started: Started, code: str) -> TokenSet:
        """The code for tokens at the token endpoint (Authlib), with the PKCE verifier."""
        with self.client(started.app, started.redirect_uri) as client:
            extra = {"code_verifier": started.verifier} if started.verifier else {}
            token = guarded(lambda: client.fetch_token(started.app.token_url, code=code, **extra),
                            AuthorizationFailed, "the code was not accepted")
            return self.after_code(client, started.app, token)

    def after_code(self, client: OAuth2Client, app: App, token: Mapping[str, Any]) -> TokenSet:
        """What the code's tokens become (Threads and Facebook exchange them further)."""
        return token_set(token, app.scopes)

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token (a rotated refresh token comes back with them)."""
        if not tokens.refresh_token:
            raise RefreshRefused(f"{self.platform} gave no refresh token: reconnect the account before it expires")
        with self.client(app) as client:
            token = guarded(lambda: client.refresh_token(app.token_url, refresh_token=tokens.refresh_token),
                            RefreshRefused, "the refresh was refused")
        fresh = token_set(token, tokens.scopes)
        return TokenSet(fresh.access_token, fresh.refresh_token or tokens.refresh_token, fresh.token_type,
                        fresh.scopes, fresh.expires_at, fresh.lifetime_s, tokens.extras)

    def credentials(self, tokens: TokenSet) -> dict[str, str]:
        """The adapter's credentials this connection supplies."""
        return {self.credential: tokens.access_token}

    # -- the client -------------------------------------------------------------------------------
    def client(self, app: App, redirect_uri: str | None = None) -> OAuth2Client:
        from authlib.integrations.httpx_client import OAuth2Client

        from promo.platforms.boundary import USER_AGENT

        method = self.client_auth if app.client_secret else "none"
        return OAuth2Client(app.client_id, app.client_secret, scope=self.scope_separator.join(app.scopes),
                            redirect_uri=redirect_uri, code_challenge_method="S256" if self.pkce else None,
                            token_endpoint_auth_method=method, timeout=app.timeout,
                            headers={"User-Agent": USER_AGENT})


def guarded(call: Any, refused: type[PromoError], what: str) -> Any:
    """Run a token request: the platform's refusal -> ``refused``; no usable answer -> ``RefreshFailed``."""
    from authlib.integrations.base_client.errors import OAuthError

    httpx = _transport()

    try:
        return call()
    except OAuthError as exc:
        raise refused(f"{what}: {exc.error}" + (f" ({exc.description})" if exc.description else "")) from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if 400 <= status < 500 and status != 429:
            raise refused(f"{what}: the token endpoint answered {status}") from None
        raise RefreshFailed(f"{what}: the token endpoint answered {status}; promo tries again later") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise RefreshFailed(f"{what}: no usable answer from the token endpoint ({type(exc).__name__}); "
                            "promo tries again later") from None


def token_set(token: Mapping[str, Any], asked: tuple[str, ...], now: datetime | None = None,
              extras: Mapping[str, str] | None = None, *, renewable: bool = False) -> TokenSet:
    """A token endpoint's answer as a TokenSet: ``expires_in`` becomes an aware ``expires_at``."""
    if not token.get("access_token"):
        raise RefreshFailed("the token endpoint answered without an access token")
    now = now or utcnow()
    lifetime = int(token["expires_in"]) if token.get("expires_in") not in (None, "") else None
    granted = str(token.get("scope") or "").replace(",", " ").split()
    return TokenSet(str(token["access_token"]), token.get("refresh_token") or None,
                    str(token.get("token_type") or "bearer"), tuple(granted) or asked,
                    now + timedelta(seconds=lifetime) if lifetime else None, lifetime, dict(extras or {}),
                    renewable)


def get_json(client: OAuth2Client, url: str, params: Mapping[str, str], refused: type[PromoError],
             what: str) -> dict[str, Any]:
    """A plain GET beside the token endpoint (Meta's exchanges), its refusals mapped as ``guarded`` does."""
    httpx = _transport()

    from promo.platforms.http import redact

    for name in SECRET_PARAMS:  # in the query: httpx logs every URL
        if params.get(name):
            redact(params[name])

    def call() -> dict[str, Any]:
        response = client.request("GET", url, params=dict(params), withhold_token=True)
        if response.status_code >= 400:
            body = _json(response).get("error") or {}
            message = body.get("message") if isinstance(body, dict) else str(body)
            if response.status_code < 500 and response.status_code != 429:
                raise refused(f"{what}: {message or response.status_code}")
            response.raise_for_status()
        return _json(response)

    try:
        return call()
    except httpx.HTTPError as exc:
        raise RefreshFailed(f"{what}: no usable answer ({type(exc).__name__}); promo tries again later") from None


def _transport() -> Any:
    """The HTTP library Authlib's client speaks through (httpx, or httpx2 where installed): its errors."""
    from authlib.integrations.httpx_client import oauth2_client

    return oauth2_client.httpx2


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def origin(url: str) -> str:
    """scheme://host[:port] of a URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
