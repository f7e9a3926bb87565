"""YouTube accounts that stay connected: Google's OAuth (PKCE, offline access) through the fake authorisation
server, a video published, the token expired and refreshed (by the beat, and after a 401), published again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, update
from werkzeug.wrappers import Request, Response

from promo.accounts import load_accounts
from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.engine.runtime import Runtime
from promo.manage.connections import connect_account, refresh_due
from promo.platforms.oauth.youtube import SCOPES
from promo.posts import Media, Post
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import PostRow
from promo.times import utcnow
from tests.connect.connectkit import KEY, Browser, environment, leaks
from tests.engine.enginekit import add_post, settings_for
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, AuthServer, FakeOAuth
from tests.fakes.youtube import TOKEN, FakeYouTube
from tests.media.mediakit import tiny_video

NAME = "jj-youtube"


class GatedYouTube(FakeYouTube):
    """The YouTube fake, answering only tokens the authorisation server issued and still honours."""

    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if self.server.verdict(auth.removeprefix("Bearer ")) != "valid":
            return self.json({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                        "errors": [{"reason": "authError"}], "status": "UNAUTHENTICATED"}}, 401)
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
        return super().handle(request)


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)


@pytest.fixture
def google() -> Iterator[tuple[AuthServer, FakeOAuth, GatedYouTube]]:
    server = AuthServer(scopes=set(SCOPES), lifetime=3600.0, refresh=True, require_pkce=True)
    oauth, api = FakeOAuth(server).start(), GatedYouTube(server).start()
    try:
        yield server, oauth, api  # type: ignore[misc]
    finally:
        api.stop()
        oauth.stop()


def publish_video(runtime: Runtime, engine: Engine, video: Path, key: str) -> str:
    post_id = add_post(engine, text=key, account=NAME, platform="youtube")
    payload = Post.single("youtube", NAME, f"Jessica Jones {key}\n\nThe featurette.",
                          Media(str(video), "", video.stat().st_size, "video/mp4")).to_payload()
    with engine.begin() as connection:
        connection.execute(update(PostRow).where(PostRow.id == post_id).values(payload=payload))
    [claim] = [c for c in dispatch(runtime.db, runtime.settings, runtime.accounts) if c.post_id == post_id]
    return publish_claimed(runtime, post_id, claim.attempt_id)


def test_connect_publish_expire_refresh_publish(google: tuple[AuthServer, FakeOAuth, GatedYouTube], tmp_path: Path,
                                                sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, oauth, api = google
    (tmp_path / "promo.toml").write_text(
        f'[accounts.{NAME}]\nplatform = "youtube"\nbase_url = "{api.url}"\nclient_id = "{CLIENT_ID}"\n'
        f'authorize_url = "{oauth.url}/o/oauth2/authorize"\ntoken_url = "{oauth.url}/token"\nvideo_poll_s = 0.05\n',
        encoding="utf-8")
    settings = settings_for(tmp_path, sqlite_url)
    accounts = load_accounts(settings.config_file, environ=environment(NAME))
    engine = make_engine(sqlite_url)
    upgrade(engine)
    browser = Browser()
    result = connect_account(settings, engine, accounts[NAME], show=browser, wait_s=20, environ=environment(NAME))
    asked = parse_qs(urlsplit(browser.urls[0]).query)
    assert asked["access_type"] == ["offline"] and asked["prompt"] == ["consent"]
    assert asked["code_challenge_method"] == ["S256"] and set(asked["scope"][0].split()) == set(SCOPES)
    assert result["verified"] == "ok: @jessicajones" and result["refreshable"], result

    video = tiny_video(tmp_path, seconds=2)
    runtime = Runtime(settings, engine, accounts, actor="test")
    assert publish_video(runtime, engine, video, "first") == "published"

    server.advance(3600 * 0.9)  # 10% of its hour left: the beat refreshes it
    done = refresh_due(settings, engine, accounts, owner="beat", now=utcnow() + timedelta(seconds=3240),
                       environ=environment(NAME))
    assert [(r.account, r.outcome) for r in done] == [(NAME, "refreshed")]
    assert publish_video(runtime, engine, video, "second") == "published"

    server.advance(3600 * 2)  # expired without the beat: the publish meets a 401, refreshes once, goes
    assert publish_video(runtime, engine, video, "third") == "published"
    assert len(api.videos) == 3 and server.refreshes == 2
    texts = [caplog.text, repr(result), Path(sqlite_url.removeprefix("sqlite:///")).read_bytes().decode("latin-1")]
    assert leaks(texts, [CLIENT_SECRET, *server.tokens]) == []
    engine.dispose()
