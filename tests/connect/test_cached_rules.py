"""``promo accounts check`` caches TikTok's creator_info and a subreddit's ``post_requirements`` in the
store, and planning a campaign (``promo apply``) checks posts against that copy: a video longer than the
creator allows, a privacy level not allowed, comments asked for but turned off; a title out of the
subreddit's range, flair it requires, a kind of post it does not take. No secret is in the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from promo.accounts import Account, load_accounts
from promo.manage.accounts import check_accounts
from promo.planning.campaign import RulesBroken, plan_campaign_file
from promo.planning.facts import cached_notes, key_of, load_facts
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import Meta
from tests.connect.connectkit import KEY, connect, environment, leaks
from tests.connect.test_reddit_tiktok import network
from tests.engine.enginekit import settings_for
from tests.media.mediakit import tiny_video

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
CAMPAIGN = """\
campaign: jj-cached
name: Jessica Jones season 3
timezone: America/Los_Angeles
fields:
  show: Jessica Jones
  season: 3
  network: Netflix
  link: https://www.netflix.com/title/80002311
  hashtags: [JessicaJones]
accounts: [{name}]
announcements:
  - key: premiere
    kind: premiere
    at: "2030-06-14T00:01:00-07:00"
{media}"""


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)


@pytest.fixture
def engine(sqlite_url: str) -> Engine:
    store = make_engine(sqlite_url)
    upgrade(store)
    return store


def _project(tmp_path: Path, sqlite_url: str, toml: str, name: str) -> dict[str, Account]:
    (tmp_path / "promo.toml").write_text(toml, encoding="utf-8")
    settings_for(tmp_path, sqlite_url)
    return load_accounts(tmp_path / "promo.toml", environ=environment(name))


def _campaign(tmp_path: Path, name: str, media: str = "") -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN.format(name=name, media=media), encoding="utf-8")
    return path


def _messages(error: RulesBroken) -> list[str]:
    return [p.message for item in error.broken for p in item.report.problems]


def _cache_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Meta.value).where(Meta.key.like("facts.%"))))


def test_tiktok_creator_info_is_cached_by_check_and_refuses_in_plan(tmp_path: Path, sqlite_url: str,
                                                                    engine: Engine) -> None:
    name = "jj-tiktok"
    video = tiny_video(tmp_path, seconds=4, width=360, height=640, fps=24)
    media = f"    media:\n      - path: {video}\n        alt: Jessica Jones walks through Hell's Kitchen\n"
    with network("tiktok") as net:
        accounts = _project(tmp_path, sqlite_url, net.toml(name) + "allow_comments = true\n", name)
        settings = settings_for(tmp_path, sqlite_url)
        assert connect(settings, engine, accounts[name])["verified"].startswith("ok")
        campaign = _campaign(tmp_path, name, media)
        plan_campaign_file(engine, campaign, accounts, TEMPLATES)  # nothing cached yet: nothing to refuse
        assert "no creator_info cached" in cached_notes(engine, [accounts[name]])[0]

        net.api.creator.update(max_video_post_duration_sec=3, comment_disabled=True,
                               privacy_level_options=["FOLLOWER_OF_CREATOR", "PUBLIC_TO_EVERYONE"])
        [result] = check_accounts(accounts, [name], 2.0, engine, environment(name))
        assert result["ok"] and result["cached"], result
        cached = load_facts(engine, [accounts[name]])[name]
        assert cached.facts["max_video_post_duration_sec"] == 3 and cached.read_at

        with pytest.raises(RulesBroken) as broken:
            plan_campaign_file(engine, campaign, accounts, TEMPLATES)
        messages = " | ".join(_messages(broken.value))
        assert "over this creator's 0:03 limit" in messages, messages
        assert "privacy level SELF_ONLY is not allowed" in messages
        assert "the creator has turned comments off" in messages
        assert "creator_info read" in messages and f"'promo accounts check {name}'" in messages
        [note] = cached_notes(engine, [accounts[name]])
        assert "longest video 0:03" in note and "comments off" in note and "SELF_ONLY" in note
        assert leaks(_cache_rows(engine), [*net.server.tokens]) == []


def test_reddit_post_requirements_are_cached_by_check_and_refuse_in_plan(tmp_path: Path, sqlite_url: str,
                                                                         engine: Engine) -> None:
    name = "jj-reddit"
    with network("reddit") as net:
        accounts = _project(tmp_path, sqlite_url, net.toml(name), name)
        settings = settings_for(tmp_path, sqlite_url)
        assert connect(settings, engine, accounts[name])["verified"].startswith("ok")
        net.api.requirements = {"title_text_min_length": 5, "title_text_max_length": 20, "is_flair_required": True}
        net.api.about["submission_type"] = "self"
        [result] = check_accounts(accounts, [name], 2.0, engine, environment(name))
        assert result["ok"] and result["cached"], result
        assert "flair required" in result["detail"] and "takes self, image, video posts" in result["detail"]

        with pytest.raises(RulesBroken) as broken:
            plan_campaign_file(engine, _campaign(tmp_path, name), accounts, TEMPLATES)
        messages = " | ".join(_messages(broken.value))
        assert "the subreddit's maximum is 20" in messages, messages
        assert "requires post flair" in messages and "does not take link posts" in messages
        [note] = cached_notes(engine, [accounts[name]])
        assert "subreddit rules read" in note and "title 5-20 characters" in note
        assert leaks(_cache_rows(engine), [*net.server.tokens]) == []


def test_a_failed_check_caches_nothing_and_a_long_name_fits_the_key(tmp_path: Path, sqlite_url: str,
                                                                    engine: Engine) -> None:
    name = "jj-tiktok"
    with network("tiktok") as net:
        accounts = _project(tmp_path, sqlite_url, net.toml(name), name)
        [result] = check_accounts(accounts, [name], 2.0, engine, environment(name))  # never connected
        assert not result["ok"] and not result["cached"]
        assert load_facts(engine, [accounts[name]]) == {}
    assert len(key_of("x" * 200)) <= 64 and key_of("a") == "facts.a"
