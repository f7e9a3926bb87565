"""Instagram's connect flow (Facebook Login -> long-lived user token -> the Page's Instagram account) against the
fake authorisation server, then publish an image through the media host, expire, refresh, publish again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from promo.accounts import load_accounts
from promo.engine.runtime import Runtime
from promo.manage.connections import refresh_due
from promo.posts import Media, MemoryJournal, Part, Post
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.times import utcnow
from tests.connect.connectkit import KEY, Browser, environment, leaks
from tests.engine.enginekit import settings_for
from tests.fakes.facebook import PAGE_ID
from tests.fakes.instagram import IG_USER_ID, FakeInstagram
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, AuthServer, FakeOAuth, _GatedGraph, _json
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY, FakeS3
from tests.media.mediakit import tiny_image

SCOPES = {"instagram_basic", "instagram_content_publish", "pages_show_list", "pages_read_engagement",
          "business_management"}
LIFETIME = 60 * 86400.0


class InstagramAuth(AuthServer):
    """Facebook Login whose ``/me/accounts`` also names each Page's Instagram professional account."""

    def _pages(self, request: Request) -> Response:
        answer = super()._pages(request)
        if answer.status_code != 200:
            return answer
        return _json({"data": [{"id": "999", "name": "Other Page"},
                               {"id": PAGE_ID, "name": "Jessica Jones",
                                "instagram_business_account": {"id": IG_USER_ID}}]})


class GatedInstagram(_GatedGraph, FakeInstagram):
    def __init__(self, server: AuthServer) -> None:
        FakeInstagram.__init__(self)
        self.server = server
        self.fixed = self.token

    def handle(self, request: Request) -> Response:
        return FakeInstagram.handle(self, request) if self.gate(request) else self.invalid_token()


@pytest.fixture
def s3() -> Iterator[FakeS3]:
    server = FakeS3().start()
    server.make_bucket("connect-media")
    yield server
    server.stop()


def test_connect_publish_expire_refresh_publish(tmp_path: Path, sqlite_url: str, s3: FakeS3,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    from promo.manage.connections import connect_account

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)
    server = InstagramAuth(scopes=SCOPES, lifetime=3600.0, refresh=False, require_pkce=False, scope_separator=",")
    api, oauth = GatedInstagram(server).start(), FakeOAuth(server).start()
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        (tmp_path / "promo.toml").write_text(
            f'[accounts.jj-instagram]\nplatform = "instagram"\nbase_url = "{api.url}"\npage_id = "{PAGE_ID}"\n'
            f'client_id = "{CLIENT_ID}"\nauthorize_url = "{oauth.url}/oauth2/authorize"\n'
            f'token_url = "{oauth.url}/v21.0/oauth/access_token"\n', encoding="utf-8")
        settings = settings_for(tmp_path, sqlite_url, media_host_bucket="connect-media",
                                media_host_endpoint_url=s3.url, media_host_access_key_id=ACCESS_KEY,
                                media_host_secret_access_key=SECRET_KEY)
        accounts = load_accounts(settings.config_file, environ=environment("jj-instagram"))
        browser = Browser()
        result = connect_account(settings, engine, accounts["jj-instagram"], show=browser, wait_s=20,
                                 environ=environment("jj-instagram"))
        assert browser.answers == [200] and result["verified"].startswith("ok: @jessicajones"), result
        runtime = Runtime(settings, engine, accounts, actor="test")
        photo = Media(str(tiny_image(tmp_path, width=300, height=300, format="JPEG", name="p.jpg")), "", None,
                      "image/jpeg")
        first = _publish(runtime, photo, "Jessica Jones returns. #JessicaJones")
        server.advance(LIFETIME * 0.9)
        done = refresh_due(settings, engine, accounts, owner="beat", now=utcnow() + timedelta(seconds=LIFETIME * 0.9),
                           environ=environment("jj-instagram"))
        assert [(r.account, r.outcome) for r in done] == [("jj-instagram", "refreshed")]
        server.advance(LIFETIME * 0.2)
        second = _publish(runtime, photo, "Season 3 is streaming.")
        assert first != second and set(api.published) == {first, second}
        texts = [caplog.text, repr(result), Path(sqlite_url.removeprefix("sqlite:///")).read_bytes().decode("latin-1")]
        assert leaks(texts, [CLIENT_SECRET, SECRET_KEY, *server.tokens]) == []
    finally:
        api.stop()
        oauth.stop()
        engine.dispose()


def _publish(runtime: Runtime, photo: Media, text: str) -> str:
    post = Post("instagram", "jj-instagram", (Part(text, (photo,)),), f"k-{text[:8]}")
    adapter = runtime.adapter("jj-instagram", "instagram")
    return runtime.publish(adapter, "jj-instagram", "instagram", post, MemoryJournal()).platform_id
