"""Reddit and TikTok: connect through each one's fake authorisation server (Reddit: no PKCE,
``duration=permanent``; TikTok: ``client_key`` and its hex-encoded PKCE challenge), publish, let the
token expire, refresh it as the beat does, publish again; no secret in the logs, events or database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, select, update

from promo.accounts import Account, load_accounts
from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.engine.runtime import Runtime
from promo.manage.connections import refresh_due
from promo.platforms.oauth import flow_for
from promo.platforms.oauth.loopback import AuthorizationFailed
from promo.posts import Media, Post
from promo.settings import Settings
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import Event, PostRow
from promo.times import utcnow
from tests.connect.connectkit import KEY, connect, environment, leaks
from tests.engine.enginekit import add_post, settings_for
from tests.fakes.harness import FakeServer
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, AuthServer, FakeOAuth
from tests.fakes.reddit import SUBREDDIT, GatedReddit
from tests.fakes.tiktok import GatedTikTok, TikTokAuth
from tests.media.mediakit import tiny_video

REDIRECT = "http://127.0.0.1:8765/callback"


@dataclass
class Network:
    platform: str
    server: AuthServer
    api: FakeServer
    oauth: FakeServer
    lifetime: float

    def toml(self, name: str) -> str:
        token_path = {"reddit": "/api/v1/access_token", "tiktok": "/v2/oauth/token/"}[self.platform]
        authorize = {"reddit": "/api/v1/authorize", "tiktok": "/v2/auth/authorize/"}[self.platform]
        extra = {"reddit": f'subreddit = "{SUBREDDIT}"\nmedia_upload_url = "{self.api.url}"',
                 "tiktok": "status_poll_s = 0.02"}[self.platform]
        return (f'[accounts.{name}]\nplatform = "{self.platform}"\nbase_url = "{self.api.url}"\n{extra}\n'
                f'client_id = "{CLIENT_ID}"\nauthorize_url = "{self.oauth.url}{authorize}"\n'
                f'token_url = "{self.oauth.url}{token_path}"\n')


@contextmanager
def network(platform: str) -> Iterator[Network]:
    if platform == "reddit":
        server = AuthServer(scopes={"submit", "identity", "read", "flair"}, lifetime=3600.0, require_pkce=False)
        api: FakeServer = GatedReddit(server).start()
    else:
        server = TikTokAuth()
        api = GatedTikTok(server).start()
    oauth = FakeOAuth(server).start()
    try:
        yield Network(platform, server, api, oauth, float(server.lifetime or 0))
    finally:
        api.stop()
        oauth.stop()


def project(tmp_path: Path, database_url: str, net: Network, name: str) -> tuple[Settings, dict[str, Account]]:
    (tmp_path / "promo.toml").write_text(net.toml(name), encoding="utf-8")
    settings = settings_for(tmp_path, database_url)
    return settings, load_accounts(settings.config_file, environ=environment(name))


def publish_one(runtime: Runtime, engine: Engine, post: Post) -> str:
    name = next(iter(runtime.accounts))
    post_id = add_post(engine, text=post.text, account=name, platform=runtime.accounts[name].platform)
    with engine.begin() as connection:
        connection.execute(update(PostRow).where(PostRow.id == post_id).values(payload=post.to_payload()))
    claims = [c for c in dispatch(runtime.db, runtime.settings, runtime.accounts) if c.post_id == post_id]
    assert claims, "the post was not claimed"
    return publish_claimed(runtime, post_id, claims[0].attempt_id)


def post_for(platform: str, name: str, tmp_path: Path, text: str) -> Post:
    if platform == "reddit":
        return Post.single(platform, name, f"{text}\nhttps://www.netflix.com/title/80002311")
    video = tiny_video(tmp_path, seconds=4)
    return Post.single(platform, name, text, Media(str(video), "", video.stat().st_size, "video/mp4"))


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)


@pytest.mark.parametrize("platform", ["reddit", "tiktok"])
def test_connect_publish_expire_refresh_publish(platform: str, tmp_path: Path, sqlite_url: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    name = f"jj-{platform}"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with network(platform) as net:
        settings, accounts = project(tmp_path, sqlite_url, net, name)
        result = connect(settings, engine, accounts[name])
        assert result["verified"].startswith("ok"), result
        runtime = Runtime(settings, engine, accounts, actor="test")
        assert publish_one(runtime, engine, post_for(platform, name, tmp_path, "Jessica Jones returns")) == "published"

        first = _stored_access(engine, name)
        net.server.advance(net.lifetime * 0.9)  # 10% of its life left: under the 20% margin
        done = refresh_due(settings, engine, accounts, owner="beat",
                           now=utcnow() + timedelta(seconds=net.lifetime * 0.9), environ=environment(name))
        assert [(r.account, r.outcome) for r in done] == [(name, "refreshed")], done
        net.server.advance(net.lifetime * 0.2)
        assert net.server.verdict(first) == "expired" and _stored_access(engine, name) != first
        second = post_for(platform, name, tmp_path, "Season 3 is streaming")
        assert publish_one(runtime, engine, second) == "published"

        with engine.connect() as connection:
            events = [repr(tuple(row)) for row in connection.execute(select(Event))]
        database = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes().decode("latin-1")
        secrets = [CLIENT_SECRET, *net.server.tokens]
        assert leaks([caplog.text, repr(result), *events, database], secrets) == []
    engine.dispose()


def test_reddit_asks_for_a_permanent_token_without_pkce(tmp_path: Path, sqlite_url: str) -> None:
    with network("reddit") as net:
        _, accounts = project(tmp_path, sqlite_url, net, "jj-reddit")
        flow = flow_for("reddit")
        started = flow.begin(flow.app(accounts["jj-reddit"]), REDIRECT)
        query = {k: v[0] for k, v in parse_qs(urlsplit(started.url).query).items()}
        assert query["duration"] == "permanent" and query["scope"].split() == ["submit", "identity", "read", "flair"]
        assert "code_challenge" not in query and started.verifier is None
        tokens = flow.complete(started, _answer(started.url))
        assert tokens.refresh_token and tokens.lifetime_s == 3600
        token_call = net.oauth.requests_to("/api/v1/access_token")[0]
        assert token_call.auth.startswith("Basic ")  # the app's id and secret as HTTP Basic auth


def test_tiktok_sends_client_key_and_a_hex_challenge(tmp_path: Path, sqlite_url: str) -> None:
    with network("tiktok") as net:
        _, accounts = project(tmp_path, sqlite_url, net, "jj-tiktok")
        flow = flow_for("tiktok")
        started = flow.begin(flow.app(accounts["jj-tiktok"]), REDIRECT)
        query = {k: v[0] for k, v in parse_qs(urlsplit(started.url).query).items()}
        assert query["client_key"] == CLIENT_ID and "client_id" not in query
        assert query["scope"] == "user.info.basic,video.publish,video.upload"
        answer = _answer(started.url)
        with pytest.raises(AuthorizationFailed, match="state does not match"):
            flow.complete(started, {**answer, "state": "forged"})
        tokens = flow.complete(started, answer)
        assert tokens.lifetime_s == 86400 and tokens.extras == {"open_id": "open-id-jj"}
        form = net.oauth.requests_to("/v2/oauth/token/")[0].form
        assert form["client_key"] == CLIENT_ID and "client_id" not in form and form["code_verifier"]
        again = flow.begin(flow.app(accounts["jj-tiktok"]), REDIRECT)
        again.verifier = "x" * 64  # not the one the challenge was made from
        with pytest.raises(AuthorizationFailed, match="code_verifier"):
            flow.complete(again, _answer(again.url))


def _answer(url: str) -> dict[str, str]:
    location = httpx.get(url, follow_redirects=False, timeout=10).headers["location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _stored_access(engine: Engine, name: str) -> str:
    from promo.store.tokens import cipher, load

    with engine.connect() as connection:
        found = load(connection, name, cipher({"PROMO_SECRET_KEY": KEY}))
    assert found is not None and found.tokens is not None
    return found.tokens.access_token
