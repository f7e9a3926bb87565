"""Preview: the seed campaign is valid everywhere, overrides and skips apply, custom kinds need no Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.accounts import load_accounts
from promo.campaigns import load_campaign
from promo.campaigns.kinds import Kinds
from promo.campaigns.preview import render_campaign
from promo.errors import CampaignError, ConfigError, TemplateError

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "examples" / "jessica-jones-s3.yaml"
ALL_PLATFORMS = {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord",
                 "slack", "outbox"}
# Platforms the seed posts only some announcements to (a video): YouTube and Reddit get the featurette;
# Instagram (a Reel) and TikTok its vertical cut, and YouTube the vertical cut as a Short, announcements of
# their own.
ONLY_ON = {"youtube": {"featurette", "featurette-short"}, "instagram": {"featurette-vertical"},
           "reddit": {"featurette"}, "tiktok": {"featurette-vertical"}}
ENTRY_KEYS = {"announcement", "kind", "account", "platform", "scheduled_at", "text", "length", "limit", "ok",
              "problems", "thread", "media"}

HEAD = """\
campaign: demo
timezone: America/Los_Angeles
fields: {show: Jessica Jones, season: 3, network: Netflix, link: https://example.com/jj, hashtags: [JJ]}
accounts: [x, masto, sky, linked, box]
announcements:
"""


@pytest.fixture(scope="module")
def seed_entries() -> list[dict]:
    accounts = load_accounts(REPO / "promo.toml", environ={})
    campaign = load_campaign(SEED, accounts, REPO / "templates")
    return [post.to_dict() for post in render_campaign(campaign, accounts, REPO / "templates")]


def test_the_seed_campaign_is_valid_on_every_platform(seed_entries) -> None:
    bad = [(e["announcement"], e["account"], e["problems"]) for e in seed_entries if not e["ok"]]
    assert bad == []
    assert {e["platform"] for e in seed_entries} == ALL_PLATFORMS | set(ONLY_ON)
    for key in ("featurette", "directing-debut", "cast", "premiere"):
        extra = {platform for platform, keys in ONLY_ON.items() if key in keys}
        assert {e["platform"] for e in seed_entries if e["announcement"] == key} == ALL_PLATFORMS | extra
    assert [e["platform"] for e in seed_entries if e["announcement"] == "featurette-vertical"] == [
        "instagram", "tiktok"]
    short = [e for e in seed_entries if e["announcement"] == "featurette-short"]
    assert [e["platform"] for e in short] == ["youtube"]
    video = short[0]["media"][0]
    assert "#Shorts" in short[0]["text"].splitlines()[0] and video["height"] > video["width"]  # a Short


def test_seed_entries_carry_the_preview_fields(seed_entries) -> None:
    for entry in seed_entries:
        assert set(entry) >= ENTRY_KEYS
        assert entry["length"] <= entry["limit"]
        assert entry["text"] and entry["scheduled_at"][-6:] in ("-07:00", "-08:00")
    premiere = next(e for e in seed_entries if e["announcement"] == "premiere" and e["platform"] == "x")
    assert premiere["scheduled_at"] == "2019-06-14T00:01:00-07:00"
    assert premiere["not_before"] == "2019-06-14T00:00:00-07:00"
    assert "utm_source=x" in premiere["text"] and len(premiere["thread"]) == 2
    assert premiere["media"][0]["mime"] == "image/png" and premiere["media"][0]["alt"]
    countdown = next(e for e in seed_entries if e["announcement"] == "countdown-3")
    assert countdown["scheduled_at"] == "2019-06-11T00:01:00-07:00" and "June 14" in countdown["text"]


def test_seed_story_facts_reach_the_copy(seed_entries) -> None:
    debut = next(e for e in seed_entries
                 if e["announcement"] == "directing-debut" and e["platform"] == "mastodon")
    assert "Krysten Ritter" in debut["text"] and "episode 2" in debut["text"] and "Trish" in debut["text"]
    cast = next(e for e in seed_entries if e["announcement"] == "cast" and e["platform"] == "mastodon")
    assert "Krysten Ritter, Rachael Taylor, Carrie-Anne Moss" in cast["text"]
    assert "Aneesh Sheth and Rebecca De Mornay" in cast["text"]


def test_platforms_without_threads_get_the_first_part_only(seed_entries) -> None:
    premiere = {e["platform"]: e for e in seed_entries if e["announcement"] == "premiere"}
    assert premiere["linkedin"]["thread"] == [] and premiere["facebook"]["thread"] == []
    assert premiere["slack"]["media"] == []
    assert not any(e["platform"] == "linkedin" for e in seed_entries if e["announcement"] == "tonight")


def test_overrides_skips_and_account_filters(write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + """\
  - key: premiere
    kind: premiere
    at: 2019-06-14 00:01
    thread: ["{{ show }} part two"]
    accounts: [x, sky, linked]
    platforms:
      x: {text: "Now: {{ show }} {{ link | utm }}"}
      sky: skip
      linkedin: {thread: false}
""")
    campaign = load_campaign(path, accounts, templates)
    posts = {p.scheduled.post.account: p for p in render_campaign(campaign, accounts, templates)}
    assert set(posts) == {"x", "linked"}
    x = posts["x"].scheduled.post
    assert x.text == "Now: Jessica Jones https://example.com/jj?utm_source=x&utm_medium=social&utm_campaign=demo"
    assert [part.text for part in x.thread] == ["Jessica Jones part two"]
    assert posts["linked"].scheduled.post.thread == () and posts["linked"].ok
    assert posts["x"].scheduled.post.idempotency_key == ""


def test_an_over_long_post_is_reported_not_raised(write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + """\
  - key: rant
    kind: generic
    at: 2019-06-14 00:01
    text: "{{ 'a' * 270 }} {{ link }}"
    accounts: [x, masto]
""")
    campaign = load_campaign(path, accounts, templates)
    x, masto = render_campaign(campaign, accounts, templates)
    assert not x.ok and (x.report.length, x.report.limit) == (294, 280)
    assert x.report.problems[0].code == "too_long" and "294/280" in x.report.problems[0].message
    assert masto.ok


def test_overflow_thread_splits_a_long_post(write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + """\
  - key: long
    kind: generic
    at: 2019-06-14 00:01
    text: "{{ 'word ' * 100 }}"
    accounts: [x]
    platforms: {x: {overflow: thread}}
""")
    (post,) = render_campaign(load_campaign(path, accounts, templates), accounts, templates)
    assert post.ok and len(post.scheduled.post.parts) >= 2


def test_template_error_surfaces_from_preview(write_campaign, accounts, templates) -> None:
    (templates / "premiere" / "x.j2").write_text("{{ show }}\n{{ tagline_missing }}\n")
    path = write_campaign(HEAD + "  - key: premiere\n    kind: premiere\n    at: 2019-06-14 00:01\n")
    campaign = load_campaign(path, accounts, templates)
    with pytest.raises(TemplateError, match=r"premiere/x\.j2:2: undefined name 'tagline_missing'"):
        render_campaign(campaign, accounts, templates)


def test_a_custom_kind_needs_only_a_folder_and_kind_yaml(write_campaign, accounts, templates) -> None:
    folder = templates / "behind_the_scenes"
    folder.mkdir()
    (folder / "kind.yaml").write_text("description: A clip from the set\nrequired: [show, clip_title]\n"
                                      "fields:\n  minutes: {type: int, required: false}\n")
    (folder / "default.j2").write_text("Behind the scenes of {{ show }}: {{ clip_title }}"
                                       "{% if minutes %} ({{ minutes }} min){% endif %}\n")
    assert "behind_the_scenes" in Kinds(templates).names()
    body = HEAD + """\
  - key: clip
    kind: behind_the_scenes
    at: 2019-06-01 12:00
    fields: {clip_title: The stunt team, minutes: 4}
"""
    campaign = load_campaign(write_campaign(body), accounts, templates)
    texts = {p.scheduled.post.text for p in render_campaign(campaign, accounts, templates)}
    assert texts - {r"Behind the scenes of Jessica Jones: The stunt team \(4 min\)"} == {  # LinkedIn: little text
        "Behind the scenes of Jessica Jones: The stunt team (4 min)"}
    with pytest.raises(CampaignError, match=r"fields\.clip_title: is required"):
        load_campaign(write_campaign(body.replace("clip_title: The stunt team, ", "")), accounts, templates)
    with pytest.raises(CampaignError, match=r"fields\.minutes"):
        load_campaign(write_campaign(body.replace("minutes: 4", "minutes: four")), accounts, templates)


def test_a_bad_kind_declaration_is_a_config_error(templates) -> None:
    (templates / "teaser").mkdir()
    (templates / "teaser" / "kind.yaml").write_text("fields:\n  when: {type: moment}\n")
    with pytest.raises(ConfigError, match=r"teaser/kind\.yaml: fields\.when: unknown type 'moment'"):
        Kinds(templates)


def test_render_many(write_campaign, accounts, templates) -> None:
    """A large campaign renders (bench/ measures how fast)."""
    items = "".join(f"  - key: a{i}\n    kind: premiere\n    at: 2019-06-14 00:01\n" for i in range(400))
    campaign = load_campaign(write_campaign(HEAD + items), accounts, templates)
    render_campaign(campaign, accounts, templates)  # warm the rule modules
    posts = render_campaign(campaign, accounts, templates)
    assert len(posts) == 2000  # speed is measured by bench/, not asserted here
