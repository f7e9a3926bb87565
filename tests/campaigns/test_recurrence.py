"""``repeat:`` and ``variants:`` in a campaign file: DST-correct expansion, bounds, rotation, one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promo.accounts import Account
from promo.campaigns import load_campaign
from promo.campaigns.recurrence import (
    MAX_COUNT,
    RecurrenceProblem,
    expand,
    expand_first,
    occurrence_key,
    parse_repeat,
    split_key,
    window,
)
from promo.errors import CampaignError
from tests.campaigns.conftest import CampaignWriter

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 2, 27, 18, 0, tzinfo=LA)   # a Friday, two weeks before the March change


def recurring(repeat: str, extra: str = "") -> str:
    return f"""
    campaign: evergreen
    timezone: America/Los_Angeles
    accounts: [box]
    announcements:
      - key: stream-now
        kind: generic
        at: 2026-02-27 18:00
        text: "Stream Jessica Jones season 3 now"
        repeat: {repeat}
    {extra}"""


def load(write: CampaignWriter, text: str, accounts: dict[str, Account], templates: Path):  # type: ignore[no-untyped-def]
    return load_campaign(write(text), accounts, templates)


def test_weekly_rule_keeps_18_local_across_the_march_change(write_campaign: CampaignWriter,
                                                             accounts: dict[str, Account], templates: Path) -> None:
    campaign = load(write_campaign, recurring('"FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0;COUNT=4"'),
                    accounts, templates)
    items = expand(campaign, START, timedelta(days=60)).announcements
    assert [(a.scheduled_at.hour, a.scheduled_at.minute) for a in items] == [(18, 0)] * 4
    assert [a.scheduled_at.utcoffset() for a in items] == [timedelta(hours=-8)] * 2 + [timedelta(hours=-7)] * 2
    assert [a.key for a in items][1:3] == ["stream-now@20260307T0200Z", "stream-now@20260314T0100Z"]


def test_count_and_until_as_keys(write_campaign: CampaignWriter, accounts: dict[str, Account],
                                 templates: Path) -> None:
    counted = load(write_campaign, recurring("{rule: FREQ=DAILY, count: 3}"), accounts, templates)
    assert len(expand(counted, START, timedelta(days=30)).announcements) == 3
    until = load(write_campaign, recurring('{rule: "FREQ=DAILY", until: "2026-03-02 18:00"}'), accounts, templates)
    assert len(expand(until, START, timedelta(days=30)).announcements) == 4


def test_an_unbounded_rule_is_materialised_only_inside_the_window(write_campaign: CampaignWriter,
                                                                   accounts: dict[str, Account],
                                                                   templates: Path) -> None:
    campaign = load(write_campaign, recurring("FREQ=WEEKLY"), accounts, templates)
    assert len(expand(campaign, START + timedelta(days=300), timedelta(days=30)).announcements) in (4, 5)


@pytest.mark.parametrize(("repeat", "message"), [
    ("FREQ=MINUTELY", "FREQ=MINUTELY is refused"),
    ("FREQ=SECONDLY;COUNT=3", "FREQ=SECONDLY is refused"),
    ("FREQ=FORTNIGHTLY", "not a valid RRULE"),
    ("BYDAY=FR", "needs FREQ="),
    ("FREQ=WEEKLY;FREQ=MINUTELY", "FREQ is given twice"),
    (f"FREQ=DAILY;COUNT={MAX_COUNT + 1}", f"over the bound of {MAX_COUNT}"),
    ("FREQ=DAILY;UNTIL=20260101T000000Z", "is before the start"),
    ('{rule: FREQ=DAILY, count: 2, until: "2026-03-01"}', "until or count, not both"),
    ("{rule: FREQ=DAILY;COUNT=2, count: 2}", "given twice"),
    ("{rule: FREQ=DAILY, every: 2}", "unknown key 'every'"),
    ("FREQ=DAILY;UNTIL=20260301T000000", "not a valid RRULE"),
    ("FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1", "makes no occurrence"),
])
def test_bad_rules_are_one_clear_line(write_campaign: CampaignWriter, accounts: dict[str, Account],
                                      templates: Path, repeat: str, message: str) -> None:
    with pytest.raises(CampaignError) as caught:
        load(write_campaign, recurring(repeat), accounts, templates)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "campaign.yaml:9: announcements.stream-now.repeat: " in text


def test_variants_rotate_without_repeating_within_a_window(write_campaign: CampaignWriter,
                                                           accounts: dict[str, Account], templates: Path) -> None:
    extra = """        variants:
              - "Stream Jessica Jones season 3 now"
              - "Binge all of season 3 tonight"
              - "Season 3 is on Netflix"
    """
    text = recurring("FREQ=DAILY;COUNT=7", "").rstrip() + "\n" + extra
    campaign = load(write_campaign, text, accounts, templates)
    texts = [a.text for a in expand_first(campaign, 7).announcements]
    assert texts[:3] == list(campaign.announcements[0].variants)
    assert all(len(set(texts[i:i + 3])) == 3 for i in range(5))
    later = expand(campaign, START + timedelta(days=1), timedelta(days=1)).announcements
    assert [a.text for a in later] == texts[1:3]   # by index in the whole rule, not in the window


def test_field_set_variants_are_checked_against_the_kind(write_campaign: CampaignWriter,
                                                         accounts: dict[str, Account], templates: Path) -> None:
    extra = """        variants:
              - "fine"
              - 3
    """
    text = recurring("FREQ=DAILY;COUNT=7").rstrip() + "\n" + extra
    with pytest.raises(CampaignError, match=r"variants\.1"):
        load(write_campaign, text, accounts, templates)


def test_variants_without_repeat_and_not_before_with_it_are_refused(write_campaign: CampaignWriter,
                                                                    accounts: dict[str, Account],
                                                                    templates: Path) -> None:
    text = recurring("FREQ=DAILY").replace("        repeat: FREQ=DAILY\n", "        variants: [a, b]\n")
    with pytest.raises(CampaignError, match="add repeat"):
        load(write_campaign, text, accounts, templates)
    text = recurring("FREQ=DAILY").rstrip() + "\n        not_before: 2026-02-27 17:00\n"
    with pytest.raises(CampaignError, match="cannot have not_before"):
        load(write_campaign, text, accounts, templates)


def test_occurrence_keys_round_trip() -> None:
    moment = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)
    assert split_key(occurrence_key("stream-now", moment)) == ("stream-now", moment)
    assert split_key("premiere") == ("premiere", None)


@settings(max_examples=60, deadline=None)
@given(freq=st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY"]), hour=st.integers(0, 23),
       start_days=st.integers(0, 400), horizon=st.integers(1, 60))
def test_expansion_stays_inside_the_window_and_on_the_wall_clock(freq: str, hour: int, start_days: int,
                                                                 horizon: int) -> None:
    rule = parse_repeat(f"FREQ={freq};BYHOUR={hour};BYMINUTE=0", LA, START)
    begin = START + timedelta(days=start_days)
    got = window(rule, START, begin, begin + timedelta(days=horizon))
    assert all(begin <= m <= begin + timedelta(days=horizon) for _, m in got)
    assert [i for i, _ in got] == sorted({i for i, _ in got})
    # a wall time the clocks skip (02:00 on the March change) is read an hour later; every other keeps its hour
    assert all(m.hour == hour or (hour == 2 and m.hour == 3) for _, m in got)
    assert len(got) <= horizon * 24 + 1


def test_a_problem_is_a_value_error() -> None:
    with pytest.raises(RecurrenceProblem):
        parse_repeat(42, LA, START)


def test_preview_shows_the_first_occurrences_with_local_times_and_offsets(
        write_campaign: CampaignWriter, accounts: dict[str, Account], templates: Path) -> None:
    from promo.campaigns.preview import render_file
    from promo.times import show_time

    text = recurring('"FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0"').rstrip() + '\n        variants: ["a", "b"]\n'
    _, rendered = render_file(write_campaign(text), accounts, templates)
    shown = [(show_time(r.scheduled.scheduled_at, LA), r.scheduled.post.parts[0].text) for r in rendered]
    assert shown == [("2026-02-27 18:00 -08:00", "a"), ("2026-03-06 18:00 -08:00", "b"),
                     ("2026-03-13 18:00 -07:00", "a"), ("2026-03-20 18:00 -07:00", "b")]


def test_field_set_variants_render_through_the_template(write_campaign: CampaignWriter,
                                                        accounts: dict[str, Account], templates: Path) -> None:
    from promo.campaigns.preview import render_file

    text = recurring("{rule: FREQ=DAILY, count: 3}").replace(
        '"Stream Jessica Jones season 3 now"', '"{{ hook }}"\n        fields: {hook: default}').rstrip()
    text += ('\n        variants:\n          - {hook: "Season 3 is streaming now"}\n'
             '          - {hook: "All 13 tonight"}\n')
    _, rendered = render_file(write_campaign(text), accounts, templates)
    assert [r.scheduled.post.parts[0].text for r in rendered] == [
        "Season 3 is streaming now", "All 13 tonight", "Season 3 is streaming now"]
