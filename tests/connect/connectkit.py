"""What the connection tests share: a fake authorisation server and platform per network, a project
whose account points at both, a browser played by an HTTP client, and a grep for secrets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from promo.accounts import Account, env_name, load_accounts
from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.engine.runtime import Runtime
from promo.manage.connections import connect_account
from promo.settings import Settings
from tests.engine.enginekit import add_post, settings_for
from tests.fakes.harness import FakeServer
from tests.fakes.oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    AuthServer,
    FakeOAuth,
    GatedFacebook,
    GatedLinkedIn,
    GatedMastodon,
    GatedThreads,
    GatedX,
)
from tests.fakes.threads import USER_ID

KEY = Fernet.generate_key().decode()


@dataclass
class Network:
    """One platform: its authorisation server, its API fake, and how promo.toml names them."""

    platform: str
    server: AuthServer
    api: FakeServer
    oauth: FakeServer | None  # None: the API host is its own authorisation server (Mastodon)
    lifetime: float | None

    def account_toml(self, name: str) -> str:
        lines = [f"[accounts.{name}]", f'platform = "{self.platform}"', f'base_url = "{self.api.url}"']
        lines += {"x": ['handle = "JessicaJones"'], "linkedin": ['author = "urn:li:organization:777"'],
                  "threads": [f'user_id = "{USER_ID}"'], "facebook": ['page_id = "1234"'],
                  "mastodon": []}[self.platform]
        if self.oauth is not None:
            base = self.oauth.url
            token = {"threads": f"{base}/oauth/access_token",
                     "facebook": f"{base}/v21.0/oauth/access_token"}.get(self.platform, f"{base}/oauth2/token")
            lines += [f'client_id = "{CLIENT_ID}"', f'authorize_url = "{base}/oauth2/authorize"',
                      f'token_url = "{token}"']
        return "\n".join(lines) + "\n"


PROFILES: dict[str, dict[str, Any]] = {
    "x": {"scopes": {"tweet.read", "tweet.write", "users.read", "offline.access", "media.write"},
          "lifetime": 7200.0},
    "linkedin": {"scopes": {"openid", "profile", "w_organization_social", "w_member_social"},
                 "lifetime": 60 * 86400.0, "require_pkce": False},
    "threads": {"scopes": {"threads_basic", "threads_content_publish"}, "lifetime": 3600.0, "refresh": False,
                "require_pkce": False, "scope_separator": ","},
    "facebook": {"scopes": {"pages_show_list", "pages_manage_posts", "pages_read_engagement"}, "lifetime": 3600.0,
                 "refresh": False, "require_pkce": False, "scope_separator": ","},
    "mastodon": {"scopes": {"read", "write"}, "lifetime": None, "refresh": False, "require_pkce": False},
}
GATES = {"x": GatedX, "linkedin": GatedLinkedIn, "threads": GatedThreads, "facebook": GatedFacebook,
         "mastodon": GatedMastodon}


@contextmanager
def network(platform: str) -> Iterator[Network]:
    server = AuthServer(**PROFILES[platform])
    api = GATES[platform](server).start()
    oauth = None if platform == "mastodon" else FakeOAuth(server).start()
    try:
        yield Network(platform, server, api, oauth, PROFILES[platform]["lifetime"])
    finally:
        api.stop()
        if oauth is not None:
            oauth.stop()


def lifetime_of(net: Network) -> float:
    """How long the token promo keeps lives (Threads and Facebook keep the long-lived one)."""
    return 60 * 86400.0 if net.platform in ("threads", "facebook") else float(net.lifetime or 0)


def environment(name: str) -> dict[str, str]:
    return {"PROMO_SECRET_KEY": KEY, env_name(name, "client_secret"): CLIENT_SECRET}


def project(tmp_path: Path, database_url: str, net: Network, name: str) -> tuple[Settings, dict[str, Account]]:
    (tmp_path / "promo.toml").write_text(net.account_toml(name), encoding="utf-8")
    settings = settings_for(tmp_path, database_url)
    return settings, load_accounts(settings.config_file, environ=environment(name))


class Browser:
    """A person at a browser: opens the URL promo shows and follows the redirects back to promo."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.answers: list[int] = []
        self.thread: threading.Thread | None = None

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        self.thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        self.thread.start()

    def _visit(self, url: str) -> None:
        self.answers.append(httpx.get(url, follow_redirects=True, timeout=10).status_code)


def connect(settings: Settings, engine: Engine, account: Account, **kwargs: Any) -> dict[str, Any]:
    browser = Browser()
    result = connect_account(settings, engine, account, show=browser, wait_s=20, environ=environment(account.name),
                             **kwargs)
    assert browser.answers == [200], browser.answers
    return result


def publish_one(runtime: Runtime, engine: Engine, text: str) -> tuple[int, str]:
    name = next(iter(runtime.accounts))
    account = runtime.accounts[name]
    post_id = add_post(engine, text=text, account=name, platform=account.platform)
    claims = [c for c in dispatch(runtime.db, runtime.settings, runtime.accounts) if c.post_id == post_id]
    assert claims, "the post was not claimed"
    return post_id, publish_claimed(runtime, post_id, claims[0].attempt_id)


def secrets_of(net: Network) -> list[str]:
    """Every secret the authorisation server ever issued or holds, and the client secrets."""
    found = [CLIENT_SECRET, *net.server.tokens]
    found += [c.client_secret for c in net.server.clients.values() if c.client_secret]
    return found


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    return [f"{secret[:12]}... in {text[:120]!r}" for secret in secrets for text in texts if secret in text]
