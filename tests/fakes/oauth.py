"""A fake authorisation server (RFC 6749 + RFC 7636 PKCE, and Meta's and Mastodon's variants), and the
platform fakes gated by the tokens it issues.

``AuthServer`` holds the state and answers the endpoints a platform's flow uses, as the platforms
document them:

- ``GET .../authorize`` (any path ending in ``authorize`` or ``/dialog/oauth``): checks the client
  id, the redirect URI (registered exactly, or any loopback port when ``loopback_any_port``), the
  scopes, and a PKCE S256 challenge (required when ``require_pkce``); then, as a person allowing
  access, redirects to the redirect URI with a one-time code and the state unchanged.
- ``POST .../token`` / ``.../oauth/access_token``: ``authorization_code`` (client authenticated by
  HTTP Basic or form fields, code unused, same redirect URI, ``S256(code_verifier) ==
  code_challenge``) and ``refresh_token`` (rotated: the old refresh token dies); Facebook's
  ``fb_exchange_token`` (GET, short- to long-lived user token).
- Threads: ``GET /access_token?grant_type=th_exchange_token``, ``GET /refresh_access_token?
  grant_type=th_refresh_token``. Facebook: ``GET /<version>/me/accounts`` (the Page tokens).
- Mastodon: ``POST /api/v1/apps`` (registers a client for the redirect URI), ``POST /oauth/revoke``.

Tokens expire on the server's clock (``advance(seconds)`` moves it) and ``revoke_all()`` kills every
token and refresh token issued so far. ``verdict(token)`` says ``valid``, ``expired``, ``revoked`` or
``unknown``: the gated platform fakes (``GatedX``, ``GatedLinkedIn``, ...) answer anything but
``valid`` with the platform's own 401 (or Graph code 190), and pass a valid request on to the
platform fake as if it carried that fake's fixed token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.wrappers import Request, Response

from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, FakeFacebook
from tests.fakes.harness import FakeServer
from tests.fakes.linkedin import LINKEDIN_TOKEN, FakeLinkedIn
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon
from tests.fakes.threads import THREADS_TOKEN, USER_ID, FakeThreads
from tests.fakes.x import CREDENTIALS, FakeX

CLIENT_ID, CLIENT_SECRET = "promo-client-id", "promo-client-secret-5b2e"


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)


@dataclass
class Token:
    value: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float | None  # on the server's clock
    kind: str = "access"      # access, refresh, page
    revoked: bool = False


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class AuthServer:
    """One platform's authorisation server: clients, codes, tokens, a clock."""

    def __init__(self, *, scopes: set[str], lifetime: float | None = 7200.0, refresh: bool = True,
                 require_pkce: bool = True, loopback_any_port: bool = True, scope_separator: str = " ",
                 long_lifetime: float = 60 * 86400.0) -> None:
        self.clients: dict[str, Client] = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, set(), scopes)}
        self.lifetime, self.long_lifetime, self.refresh = lifetime, long_lifetime, refresh
        self.require_pkce, self.loopback_any_port, self.separator = require_pkce, loopback_any_port, scope_separator
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.offset = 0.0
        self.deny = False  # the person refuses access
        self.lock = threading.Lock()
        self.refreshes = 0  # refresh grants answered (a test counts them)

    # -- controls -----------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def revoke_all(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.revoked = True

    def verdict(self, value: str | None, kind: str = "access") -> str:
        token = self.tokens.get(value or "")
        if token is None or token.kind != kind:
            return "unknown"
        if token.revoked:
            return "revoked"
        if token.expires_at is not None and token.expires_at <= self.now():
            return "expired"
        return "valid"

    def issued(self, kind: str = "access") -> list[str]:
        return [t.value for t in self.tokens.values() if t.kind == kind]

    # -- serving ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        path = request.path
        if path.endswith("authorize") or path.endswith("/dialog/oauth"):
            return self._authorize(request)
        if path == "/api/v1/apps" and request.method == "POST":
            return self._register(request)
        if path.endswith("/oauth/revoke"):
            self.revoke_all()
            return _json({})
        if path.endswith("/me/accounts"):
            return self._pages(request)
        if path.endswith("/refresh_access_token"):
            return self._threads_refresh(request)
        if path.endswith("/oauth/access_token") and _fields(request).get("grant_type") == "fb_exchange_token":
            return self._fb_exchange(request)
        if path.endswith("/access_token") and _fields(request).get("grant_type") == "th_exchange_token":
            return self._threads_exchange(request)
        if path.endswith("token") and request.method == "POST":
            return self._token(request)
        return None

    def _authorize(self, request: Request) -> Response:
        q = request.args
        client = self.clients.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if client is None or not self._registered(client, redirect):
            return Response("unknown client or unregistered redirect_uri", status=400)  # never redirect then
        wanted = q.get("scope", "").replace(",", " ").split()
        error = None
        if q.get("response_type") != "code":
            error = "unsupported_response_type"
        elif not wanted or not set(wanted) <= client.scopes:
            error = "invalid_scope"
        elif self.require_pkce and (not q.get("code_challenge") or q.get("code_challenge_method") != "S256"):
            error = "invalid_request"
        elif self.deny:
            error = "access_denied"
        if error:
            return _redirect(redirect, {"error": error, "state": q.get("state", "")})
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"client_id": client.client_id, "redirect_uri": redirect, "scopes": tuple(wanted),
                            "challenge": q.get("code_challenge"), "used": False}
        return _redirect(redirect, {"code": code, "state": q.get("state", "")})

    def _registered(self, client: Client, redirect: str) -> bool:
        if redirect in client.redirect_uris:
            return True
        parts = urlsplit(redirect)
        return self.loopback_any_port and parts.scheme == "http" and parts.hostname == "127.0.0.1" \
            and parts.path == "/callback"

    def _client(self, request: Request) -> Client | None:
        """The client authenticated by HTTP Basic or form fields (a public client: its id alone)."""
        form = _fields(request)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        client = self.clients.get(client_id or "")
        if client is None or (client.client_secret is not None and secret != client.client_secret):
            return None
        return client

    def _token(self, request: Request) -> Response:
        client = self._client(request)
        if client is None:
            return _json({"error": "invalid_client"}, 401)
        form = _fields(request)
        if form.get("grant_type") == "authorization_code":
            return self._code_grant(client, form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh_grant(client, form)
        return _json({"error": "unsupported_grant_type"}, 400)

    def _code_grant(self, client: Client, form: dict[str, str]) -> Response:
        with self.lock:
            code = self.codes.get(form.get("code", ""))
            if code is None or code["used"] or code["client_id"] != client.client_id:
                return _json({"error": "invalid_grant", "error_description": "unknown or used code"}, 400)
            code["used"] = True
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400)
        if code["challenge"] and s256(form.get("code_verifier", "")) != code["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        return _json(self.grant(client.client_id, code["scopes"], self.lifetime, self.refresh))

    def _refresh_grant(self, client: Client, form: dict[str, str]) -> Response:
        with self.lock:
            old = self.tokens.get(form.get("refresh_token", ""))
            if old is None or old.kind != "refresh" or old.revoked or old.client_id != client.client_id:
                return _json({"error": "invalid_grant", "error_description": "refresh token invalid"}, 400)
            old.revoked = True  # rotated: the old refresh token dies now
            self.refreshes += 1
        return _json(self.grant(client.client_id, old.scopes, self.lifetime, True))

    def grant(self, client_id: str, scopes: tuple[str, ...], lifetime: float | None, refresh: bool,
              kind: str = "access") -> dict[str, Any]:
        access = self._issue(client_id, scopes, lifetime, kind)
        answer: dict[str, Any] = {"access_token": access, "token_type": "bearer",
                                  "scope": self.separator.join(scopes)}
        if lifetime is not None:
            answer["expires_in"] = int(lifetime)
        if refresh:
            answer["refresh_token"] = self._issue(client_id, scopes, None, "refresh")
        return answer

    def _issue(self, client_id: str, scopes: tuple[str, ...], lifetime: float | None, kind: str) -> str:
        value = f"{kind}-{secrets.token_urlsafe(18)}"
        with self.lock:
            self.tokens[value] = Token(value, client_id, scopes, self.now() + lifetime if lifetime else None, kind)
        return value

    # -- Meta and Mastodon --------------------------------------------------------------------------
    def _threads_exchange(self, request: Request) -> Response:
        form = _fields(request)
        short = self.tokens.get(form.get("access_token", ""))
        if short is None or form.get("client_secret") != CLIENT_SECRET or self.verdict(short.value) != "valid":
            return _graph_error()
        return _json({k: v for k, v in self.grant(short.client_id, short.scopes, self.long_lifetime, False).items()
                      if k != "scope"})

    def _threads_refresh(self, request: Request) -> Response:
        form = _fields(request)
        token = self.tokens.get(form.get("access_token", ""))
        if form.get("grant_type") != "th_refresh_token" or token is None or self.verdict(token.value) != "valid":
            return _graph_error()
        self.refreshes += 1
        return _json({k: v for k, v in self.grant(token.client_id, token.scopes, self.long_lifetime, False).items()
                      if k != "scope"})

    def _fb_exchange(self, request: Request) -> Response:
        form = _fields(request)
        user = self.tokens.get(form.get("fb_exchange_token", ""))
        client = self.clients.get(form.get("client_id", ""))
        if client is None or form.get("client_secret") != client.client_secret or user is None \
                or self.verdict(user.value) != "valid":
            return _graph_error()
        if user.expires_at is not None and user.expires_at - self.now() > (self.lifetime or 0):
            self.refreshes += 1  # exchanging a long-lived token again: Meta's way of extending it
        return _json({k: v for k, v in self.grant(user.client_id, user.scopes, self.long_lifetime, False).items()
                      if k != "scope"})

    def _pages(self, request: Request) -> Response:
        user = _fields(request).get("access_token", "")
        if self.verdict(user) != "valid":
            return _graph_error()
        page = self._issue(self.tokens[user].client_id, self.tokens[user].scopes, None, "page")
        return _json({"data": [{"id": PAGE_ID, "name": "Jessica Jones", "access_token": page,
                                "tasks": ["CREATE_CONTENT", "MANAGE"]}]})

    def _register(self, request: Request) -> Response:
        form = _fields(request)
        client = Client(f"app-{secrets.token_hex(4)}", f"app-secret-{secrets.token_hex(8)}",
                        {form.get("redirect_uris", "")}, set(form.get("scopes", "").split()))
        self.clients[client.client_id] = client
        return _json({"id": "1", "name": form.get("client_name"), "redirect_uri": form.get("redirect_uris"),
                      "client_id": client.client_id, "client_secret": client.client_secret})


class FakeOAuth(FakeServer):
    """An authorisation server on its own port (X, LinkedIn, Threads and Facebook's token hosts)."""

    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        return self.server.handle(request) or self.json({"error": "not found"}, 404)


def _fields(request: Request) -> dict[str, str]:
    return {**request.args.to_dict(), **request.form.to_dict()}


def _json(body: Any, status: int = 200) -> Response:
    return FakeServer.json(body, status)


def _graph_error() -> Response:
    return _json({"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}, 400)


def _redirect(uri: str, params: dict[str, str]) -> Response:
    glue = "&" if urlsplit(uri).query else "?"
    return Response(status=302, headers={"Location": uri + glue + urlencode(params)})


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


# -- the platform fakes, gated by the tokens the server issued ------------------------------------
class GatedX(FakeX):
    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        if self.server.verdict(_bearer(request)) != "valid":
            return self.problem(401, "Unauthorized", "Unauthorized")
        request.environ["HTTP_AUTHORIZATION"] = (f'OAuth oauth_consumer_key="{CREDENTIALS["api_key"]}", '
                                                 f'oauth_token="{CREDENTIALS["access_token"]}"')
        return super().handle(request)


class GatedLinkedIn(FakeLinkedIn):
    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        if self.server.verdict(_bearer(request)) != "valid":
            return self.json({"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                              "message": "The token used in the request has been revoked or expired"}, 401)
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {LINKEDIN_TOKEN}"
        return super().handle(request)


class GatedMastodon(FakeMastodon):
    """The instance: its own authorisation server (apps, authorize, token, revoke) and its API."""

    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        answered = self.server.handle(request) if not request.path.startswith("/api/v2/") else None
        if answered is not None:
            return answered
        if request.path.rstrip("/") == "/api/v1/instance":  # public, as on an instance: Mastodon.py reads it
            return self.json({"uri": "fake.social", "title": "fake", "version": "4.2.0", "urls": {}})
        if request.path.startswith("/api/v1/") and self.server.verdict(_bearer(request)) != "valid":
            return self.json({"error": "The access token is invalid"}, 401)
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {MASTODON_TOKEN}"
        return super().handle(request)


class _GatedGraph:
    server: AuthServer
    fixed: str
    token_kind = "access"

    def gate(self, request: Request) -> bool:
        fields = _fields(request)
        token = fields.get("access_token") or _bearer(request)
        if self.server.verdict(token, self.token_kind) != "valid":
            return False
        if "access_token" in request.args:
            request.args = ImmutableMultiDict({**request.args.to_dict(), "access_token": self.fixed})  # type: ignore[misc]
        if "access_token" in request.form:
            request.form = ImmutableMultiDict({**request.form.to_dict(), "access_token": self.fixed})  # type: ignore[misc]
        if _bearer(request):
            request.environ["HTTP_AUTHORIZATION"] = f"Bearer {self.fixed}"
        return True


class GatedThreads(_GatedGraph, FakeThreads):
    fixed = THREADS_TOKEN

    def __init__(self, server: AuthServer) -> None:
        FakeThreads.__init__(self)
        self.server = server

    def handle(self, request: Request) -> Response:
        return FakeThreads.handle(self, request) if self.gate(request) else self.invalid_token()


class GatedFacebook(_GatedGraph, FakeFacebook):
    fixed = PAGE_TOKEN
    token_kind = "page"

    def __init__(self, server: AuthServer) -> None:
        FakeFacebook.__init__(self)
        self.server = server

    def handle(self, request: Request) -> Response:
        return FakeFacebook.handle(self, request) if self.gate(request) else self.invalid_token()


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "USER_ID", "AuthServer", "FakeOAuth", "GatedFacebook", "GatedLinkedIn",
           "GatedMastodon", "GatedThreads", "GatedX", "parse_qsl", "s256"]
