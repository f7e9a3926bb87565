"""The authorisation itself: PKCE S256 and the state are checked on both sides, scopes and redirect URI
are what the platform documents, a pasted address is read, a refusal is one clear error, and Bluesky's
app password is verified by creating a session before it is stored."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from promo.errors import ConfigError
from promo.manage.connections import connect_app_password
from promo.platforms.oauth import flow_for
from promo.platforms.oauth.loopback import AuthorizationFailed, read_pasted
from promo.store import tokens
from tests.connect.connectkit import KEY, connect, network, project
from tests.engine.enginekit import settings_for
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.oauth import s256

REDIRECT = "http://127.0.0.1:8765/callback"


def _answer(url: str) -> dict[str, str]:
    """The person allows access: the parameters the authorisation server redirects back with."""
    location = httpx.get(url, follow_redirects=False, timeout=10).headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_x_asks_for_its_scopes_with_an_s256_challenge_and_checks_the_state(tmp_path: Path, sqlite_url: str) -> None:
    with network("x") as net:
        _, accounts = project(tmp_path, sqlite_url, net, "jj-x")
        flow = flow_for("x")
        started = flow.begin(flow.app(accounts["jj-x"]), REDIRECT)
        query = {k: v[0] for k, v in parse_qs(urlsplit(started.url).query).items()}
        assert query["scope"].split() == ["tweet.read", "tweet.write", "users.read", "offline.access", "media.write"]
        assert (query["code_challenge_method"], query["redirect_uri"]) == ("S256", REDIRECT)
        assert query["code_challenge"] == s256(started.verifier or "") and len(started.verifier or "") >= 43
        answer = _answer(started.url)
        with pytest.raises(AuthorizationFailed, match="state does not match"):
            flow.complete(started, {**answer, "state": "forged"})
        tokens_ = flow.complete(started, answer)
        assert tokens_.refresh_token and tokens_.lifetime_s == 7200 and "offline.access" in tokens_.scopes


def test_the_server_refuses_a_wrong_verifier_and_a_reused_code(tmp_path: Path, sqlite_url: str) -> None:
    with network("x") as net:
        _, accounts = project(tmp_path, sqlite_url, net, "jj-x")
        flow = flow_for("x")
        started = flow.begin(flow.app(accounts["jj-x"]), REDIRECT)
        answer = _answer(started.url)
        started.verifier = "x" * 64  # not the one the challenge was made from
        with pytest.raises(AuthorizationFailed, match="the code was not accepted: invalid_grant"):
            flow.complete(started, answer)
        other = flow.begin(flow.app(accounts["jj-x"]), REDIRECT)
        second = _answer(other.url)
        flow.complete(other, second)
        with pytest.raises(AuthorizationFailed, match="invalid_grant"):
            flow.complete(other, second)  # a code is good once


def test_a_person_who_refuses_gets_one_clear_error(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                                   engine: Engine) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)
    with network("linkedin") as net:
        settings, accounts = project(tmp_path, sqlite_url, net, "jj-linkedin")
        net.server.deny = True
        with pytest.raises(AuthorizationFailed, match="linkedin did not authorise promo: access_denied"):
            connect(settings, engine, accounts["jj-linkedin"])
        with engine.connect() as connection:
            assert tokens.load(connection, "jj-linkedin") is None


def test_connecting_needs_a_client_id_and_secret(tmp_path: Path, sqlite_url: str) -> None:
    with network("linkedin") as net:
        _, accounts = project(tmp_path, sqlite_url, net, "jj-linkedin")
        account = accounts["jj-linkedin"]
        flow = flow_for("linkedin")
        bare = flow.app(account.__class__(account.name, account.platform, account.base_url, account.options))
        with pytest.raises(ConfigError, match=r"client_id is not set: add client_id"):
            flow.begin(bare, REDIRECT)


@pytest.mark.parametrize(("pasted", "expected"), [
    (f"{REDIRECT}?code=abc&state=s1", {"code": "abc", "state": "s1"}),
    ("?code=abc&state=s1", {"code": "abc", "state": "s1"}),
    ("code=abc&state=s1", {"code": "abc", "state": "s1"}),
    ("  abc  ", {"code": "abc"}),
    (f"{REDIRECT}?error=access_denied&state=s1", {"error": "access_denied", "state": "s1"}),
])
def test_a_pasted_address_or_code_is_read(pasted: str, expected: dict[str, str]) -> None:
    assert read_pasted(pasted) == expected


def test_a_paste_without_a_code_is_refused() -> None:
    with pytest.raises(AuthorizationFailed, match="has no code"):
        read_pasted(f"{REDIRECT}?state=s1")


def test_bluesky_connects_with_a_verified_app_password(tmp_path: Path, sqlite_url: str, engine: Engine) -> None:
    env = {"PROMO_SECRET_KEY": KEY}
    with FakeBluesky() as fake:
        (tmp_path / "promo.toml").write_text(f'[accounts.jj-bluesky]\nplatform = "bluesky"\nhandle = "{HANDLE}"\n'
                                             f'base_url = "{fake.url}"\n', encoding="utf-8")
        from promo.accounts import load_accounts

        settings = settings_for(tmp_path, sqlite_url)
        account = load_accounts(settings.config_file, environ={})["jj-bluesky"]
        with pytest.raises(AuthorizationFailed, match="Bluesky refused the app password"):
            connect_app_password(settings, engine, account, "wrong-pass-word-0000", env)
        result = connect_app_password(settings, engine, account, APP_PASSWORD + "\n", env)
        assert result["verified"].startswith("ok") and result["expires_at"] is None
        with engine.connect() as connection:
            stored = tokens.load(connection, "jj-bluesky", tokens.cipher(env))
        assert stored is not None and stored.tokens is not None and stored.tokens.access_token == APP_PASSWORD
        assert APP_PASSWORD not in repr(result)
