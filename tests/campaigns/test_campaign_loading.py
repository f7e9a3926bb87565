"""Loading campaign files: the happy path, every kind of bad input (file, line, field), times and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promo.accounts import Account
from promo.campaigns import load_campaign
from promo.campaigns.timing import shift, split_offset
from promo.errors import CampaignError
from promo.times import zone
from tests.media.mediakit import tiny_image

LA = zone("America/Los_Angeles")

HEAD = """\
campaign: demo
timezone: America/Los_Angeles
fields: {show: Jessica Jones, season: 3, network: Netflix, link: https://example.com/jj, hashtags: [JJ]}
accounts: [x, masto, sky, box]
announcements:
"""

PREMIERE = """\
  - key: premiere
    kind: premiere
    at: 2019-06-14 00:01
"""


def load(path: Path, accounts: dict[str, Account], templates: Path):  # type: ignore[no-untyped-def]
    return load_campaign(path, accounts, templates)


def test_loads_fields_times_and_accounts(write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + PREMIERE + """\
  - key: countdown
    kind: generic
    at: premiere - 3d
    not_before: premiere - 3d1h
    max_lateness: 2h
    text: "{{ show }} in 3 days"
    accounts: [x, sky]
""")
    campaign = load(path, accounts, templates)
    assert (campaign.id, campaign.name, campaign.timezone, campaign.accounts) == (
        "demo", "demo", "America/Los_Angeles", ("x", "masto", "sky", "box"))
    assert len(campaign.digest) == 64 and campaign.source == str(path)
    premiere, countdown = campaign.announcements
    assert premiere.scheduled_at == datetime(2019, 6, 14, 0, 1, tzinfo=LA)
    assert premiere.fields["show"] == "Jessica Jones" and premiere.fields["season"] == 3
    assert premiere.line == 6 and premiere.accounts == campaign.accounts
    assert countdown.scheduled_at == datetime(2019, 6, 11, 0, 1, tzinfo=LA)
    assert countdown.not_before == datetime(2019, 6, 10, 23, 1, tzinfo=LA)
    assert countdown.max_lateness == timedelta(hours=2)
    assert countdown.accounts == ("x", "sky")


def test_moving_the_premiere_moves_everything_anchored_to_it(write_campaign, accounts, templates) -> None:
    body = HEAD + PREMIERE + """\
  - key: countdown
    kind: generic
    at: {after: premiere, offset: -3d}
    text: soon
  - key: eve
    kind: generic
    at: countdown + 2d
    text: tomorrow
"""
    before = load(write_campaign(body), accounts, templates)
    after = load(write_campaign(body.replace("2019-06-14 00:01", "2019-06-21 00:01")), accounts, templates)
    for key in ("countdown", "eve"):
        moved = after.announcement(key).scheduled_at - before.announcement(key).scheduled_at
        assert moved == timedelta(days=7)
    assert after.announcement("eve").scheduled_at == datetime(2019, 6, 20, 0, 1, tzinfo=LA)


@pytest.mark.parametrize(("at", "expected"), [
    ("2019-03-10 09:00", datetime(2019, 3, 10, 9, 0, tzinfo=LA)),    # spring forward: 09:00 PDT
    ("2019-11-03 09:00", datetime(2019, 11, 3, 9, 0, tzinfo=LA)),    # fall back: 09:00 PST
    ("2019-11-03 01:30", datetime(2019, 11, 3, 1, 30, tzinfo=LA)),   # ambiguous: the first 01:30
    ("2019-06-14T07:01:00Z", datetime(2019, 6, 14, 0, 1, tzinfo=LA)),
])
def test_naive_times_are_read_in_the_campaign_zone(write_campaign, accounts, templates, at, expected) -> None:
    campaign = load(write_campaign(HEAD + PREMIERE.replace("2019-06-14 00:01", at)), accounts, templates)
    got = campaign.announcements[0].scheduled_at
    assert got == expected and got.tzinfo is not None
    assert got.replace(tzinfo=None) == expected.replace(tzinfo=None)


def test_spring_forward_offsets(write_campaign, accounts, templates) -> None:
    """Days keep the local wall time across DST; hours are exact."""
    campaign = load(write_campaign(HEAD + """\
  - key: anchor
    kind: generic
    at: 2019-03-10 09:00
    text: a
  - key: day-before
    kind: generic
    at: anchor - 1d
    text: b
  - key: hours-before
    kind: generic
    at: anchor - 24h
    text: c
"""), accounts, templates)
    assert campaign.announcement("anchor").scheduled_at.utcoffset() == timedelta(hours=-7)
    day = campaign.announcement("day-before").scheduled_at
    assert (day.hour, day.minute, day.utcoffset()) == (9, 0, timedelta(hours=-8))
    hours = campaign.announcement("hours-before").scheduled_at
    assert (hours.day, hours.hour) == (9, 8)


BAD_CASES = [
    # (name, file body, expected line, text the message must contain)
    ("bad indentation", HEAD + "  - key: premiere\n     kind: premiere\n    at: 2019-06-14\n", 7,
     "not valid YAML: mapping values are not allowed"),
    ("malformed yaml", HEAD + "  - key: premiere\n    kind: [premiere\n    at: 2019-06-14\n", 7,
     "not valid YAML"),
    ("unknown kind", HEAD + PREMIERE.replace("kind: premiere", "kind: premeire"), 7,
     "announcements.premiere.kind: unknown kind 'premeire'"),
    ("unknown account", HEAD.replace("box]", "box, nobody]") + PREMIERE, 4,
     "accounts: unknown account 'nobody'"),
    ("missing required field", HEAD + "  - key: debut\n    kind: director_debut\n    at: 2019-06-04 10:00\n"
     "    fields: {episode: 2}\n", 6, "announcements.debut.fields.director: is required"),
    ("wrong field type", HEAD + "  - key: debut\n    kind: director_debut\n    at: 2019-06-04 10:00\n"
     "    fields: {episode: two, director: KR}\n", 9, "fields.episode"),
    ("invalid timezone", HEAD.replace("America/Los_Angeles", "Mars/Olympus_Mons") + PREMIERE, 2,
     "timezone: unknown IANA timezone 'Mars/Olympus_Mons'"),
    ("unparseable time", HEAD + PREMIERE.replace("2019-06-14 00:01", "next tuesday"), 8,
     "announcements.premiere.at: cannot read 'next tuesday' as a time"),
    ("impossible date", HEAD + PREMIERE.replace("2019-06-14 00:01", "2019-13-45 10:00"), 8,
     "cannot read '2019-13-45 10:00'"),
    ("time in the DST gap", HEAD + PREMIERE.replace("2019-06-14 00:01", "2019-03-10 02:30"), 8,
     "does not exist in America/Los_Angeles"),
    ("unknown announcement", HEAD + PREMIERE + "  - key: countdown\n    kind: generic\n"
     "    at: premier - 3d\n", 11,
     "unknown announcement 'premier'"),
    ("bad offset", HEAD + PREMIERE + "  - key: countdown\n    kind: generic\n"
     "    at: premiere - 3 fortnights\n",
     11, "duration"),
    ("time cycle", HEAD + "  - key: a\n    kind: generic\n    at: b + 1d\n  - key: b\n    kind: generic\n"
     "    at: a - 1d\n", 8, "circle: a -> b -> a"),
    ("missing time", HEAD + "  - key: premiere\n    kind: premiere\n", 6,
     "announcements.premiere.at: is required"),
    ("duplicate key", HEAD + PREMIERE + PREMIERE, 9, "duplicate announcement key 'premiere'"),
    ("duplicate yaml key", HEAD + PREMIERE + "    at: 2019-06-15 00:01\n", 9, "duplicate key 'at'"),
    ("unknown top-level key", "anouncements: []\n" + HEAD + PREMIERE, 1, "unknown key 'anouncements'"),
    ("missing media", HEAD + PREMIERE + "    media:\n      - {path: nope.png, alt: a poster}\n", 10,
     "media file not found: nope.png"),
    ("media without alt", HEAD + PREMIERE + "    media:\n      - path: nope.png\n", 10,
     "alt text is required"),
    ("unknown platform override", HEAD + PREMIERE + "    platforms: {myspace: skip}\n", 9,
     "neither a platform"),
    ("bad overflow policy", HEAD + PREMIERE + "    platforms: {x: {overflow: squeeze}}\n", 9,
     "unknown overflow policy 'squeeze'"),
    ("not a mapping", "- just\n- a list\n", 1, "a campaign file is a mapping"),
    ("bad campaign id", HEAD.replace("campaign: demo", "campaign: Demo Campaign!") + PREMIERE, 1,
     "campaign: campaign id must be a slug"),
]


@pytest.mark.parametrize(("body", "line", "message"), [c[1:] for c in BAD_CASES],
                         ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_line_and_field(write_campaign, accounts, templates, body, line,
                                             message) -> None:
    path = write_campaign(body)
    with pytest.raises(CampaignError) as caught:
        load(path, accounts, templates)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert message in str(error)
    assert str(error).startswith(f"{path}:{line}:")
    assert "\n" not in str(error)


def test_missing_file_is_a_campaign_error(tmp_path, accounts, templates) -> None:
    with pytest.raises(CampaignError, match="cannot read"):
        load(tmp_path / "nope.yaml", accounts, templates)


def test_media_is_read_relative_to_the_campaign(write_campaign, accounts, templates, tmp_path) -> None:
    poster = tiny_image(tmp_path / "media", name="poster.png")
    media_list = "    media:\n      - {path: media/poster.png, alt: Poster}\n"
    campaign = load(write_campaign(HEAD + PREMIERE + media_list), accounts, templates)
    (media,) = campaign.announcements[0].media
    assert (media.size, media.mime, media.alt) == (poster.stat().st_size, "image/png", "Poster")
    assert (media.width, media.height, media.codec) == (64, 36, "png")
    assert media.path == "media/poster.png"   # stored relative to the campaign file
    assert Path(media.root) / media.path == poster


def test_overrides_merge_campaign_defaults_platform_and_account(write_campaign, accounts, templates) -> None:
    campaign = load(write_campaign(HEAD.replace("announcements:", """\
defaults:
  max_lateness: 6h
  platforms: {linkedin: {thread: false}, x: {overflow: thread}}
announcements:""") + PREMIERE + """\
    thread: ["more"]
    platforms:
      x: {text: "short {{ show }}"}
      sky: skip
"""), accounts, templates)
    premiere = campaign.announcements[0]
    assert premiere.max_lateness == timedelta(hours=6)
    x = premiere.override_for("x", "x")
    assert (x.text, x.overflow, x.skip) == ("short {{ show }}", "thread", False)
    assert premiere.override_for("bluesky", "sky").skip
    assert premiere.override_for("linkedin", "linked").thread == ()
    assert premiere.override_for("mastodon", "masto").thread is None


@given(start=st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2020, 12, 31)),
       days=st.integers(min_value=-60, max_value=60), hours=st.integers(min_value=-48, max_value=48))
def test_days_keep_wall_time_and_hours_are_exact(start: datetime, days: int, hours: int) -> None:
    anchor = start.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=LA)
    by_days = shift(anchor, days, 0, LA)
    assert (by_days.hour, by_days.minute) == (9, 0)
    assert by_days.date() == (anchor.replace(tzinfo=None) + timedelta(days=days)).date()
    by_hours = shift(anchor, 0, hours * 3600, LA)
    # compare in UTC: Python subtracts two datetimes of the same zone by wall time
    assert by_hours.astimezone(UTC) - anchor.astimezone(UTC) == timedelta(hours=hours)


@pytest.mark.parametrize(("text", "expected"), [
    ("-3d", (-3.0, 0.0)), ("1w", (7.0, 0.0)), ("-1d2h", (-1.0, -7200.0)), ("+90m", (0.0, 5400.0)),
])
def test_offsets_split_into_calendar_days_and_clock_seconds(text: str, expected: tuple[float, float]) -> None:
    assert split_offset(text) == expected
