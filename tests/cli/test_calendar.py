"""promo calendar, run in-process on the applied seed campaign: the feed parsed back with icalendar at
its Los Angeles wall-clock times (across the March DST change too), UIDs stable across re-apply and
re-export, a terminal calendar that fits 100 columns, --json, colour by state, and one-line errors."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import click
import pytest
from icalendar import Calendar

from promo.cli.calendar import month_lines, week_lines
from promo.manage.calendar import CalendarDay, CalendarEntry, CalendarPost, CalendarView
from promo.times import zone
from tests.cli.conftest import CAMPAIGN, Promo, dump, one_line_error

LA = zone("America/Los_Angeles")
# The seed campaign (moved to 2027 by the fixture): each announcement's event start in Los Angeles, its first
# post. The featurette's is 09:00 on every account: jj-youtube's upload_ahead = "2h" uploads it two hours early,
# but YouTube makes it public at its "Publish at:" time, and that is what the calendar shows.
SEED_TIMES = {"featurette": "2027-05-29 09:00", "featurette-vertical": "2027-05-29 09:30",
              "featurette-short": "2027-05-29 09:30", "directing-debut": "2027-06-04 10:00", "cast": "2027-06-06 09:00",
              "countdown-3": "2027-06-11 00:01", "tonight": "2027-06-13 09:01", "premiere": "2027-06-14 00:01"}
# Its posts: the featurette on 12 accounts (all but Instagram and TikTok), its vertical cut on Instagram and
# TikTok and as a YouTube Short, then 10, 10, 10, 9 (no LinkedIn) and 10 on the ten text accounts.
SEED_POSTS = 64
LONG_KEY = "a-very-long-announcement-key-that-a-team-wrote-for-the-season-four-teaser-drop-on-every-network"
DST_CAMPAIGN = f"""\
campaign: dst-check
name: Either side of the March change
timezone: America/Los_Angeles
accounts: [jj-outbox, jj-mastodon]
announcements:
  - key: before
    kind: generic
    at: 2027-03-12 18:00
    text: "Friday 18:00, still standard time"
  - key: after
    kind: generic
    at: 2027-03-16 18:00
    text: "Tuesday 18:00, daylight saving time"
  - key: {LONG_KEY}
    kind: generic
    at: 2027-03-17 09:30
    text: "Season four teaser, with its link https://www.netflix.com/title/80002311?utm_source=calendar&utm_medium=a-long-tail-to-clip"
"""


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # the library's reads are tested on PostgreSQL too (tests/manage/test_calendar.py)


@pytest.fixture
def dst(applied: Promo, project: Path) -> Promo:
    (project / "examples" / "dst.yaml").write_text(DST_CAMPAIGN, encoding="utf-8")
    assert applied("apply", "examples/dst.yaml", "--yes").code == 0
    return applied


def feed(ran_or_path: str | Path) -> Calendar:
    data = Path(ran_or_path).read_bytes() if isinstance(ran_or_path, Path) else ran_or_path.encode()
    return Calendar.from_ical(data)


def visible(text: str) -> list[str]:
    return click.unstyle(text).splitlines()


def test_the_seed_is_at_its_los_angeles_wall_clock_times(applied: Promo, project: Path) -> None:
    ran = applied("calendar", "--ics", "seed.ics", "--campaign", "jessica-jones-s3")
    assert ran.code == 0, ran.err
    assert ran.out == f"wrote {len(SEED_TIMES)} events ({SEED_POSTS} posts, zones: America/Los_Angeles) to seed.ics\n"
    parsed = feed(project / "seed.ics")
    starts = {str(e["UID"]).split("/")[1].removesuffix("@promo"): e.decoded("DTSTART") for e in parsed.walk("VEVENT")}
    assert {key: f"{at:%Y-%m-%d %H:%M}" for key, at in starts.items()} == SEED_TIMES
    assert {at.tzinfo.key for at in starts.values()} == {"America/Los_Angeles"}
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    assert str(parsed["X-WR-CALNAME"]) == "promo: jessica-jones-s3" and str(parsed["X-WR-TIMEZONE"]) == LA.key
    premiere = next(e for e in parsed.walk("VEVENT") if str(e["UID"]) == "jessica-jones-s3/premiere@promo")
    assert "jj-x (x): scheduled, 2027-06-14 00:01 -07:00" in str(premiere["DESCRIPTION"])
    assert str(premiere["SUMMARY"]) == "jessica-jones-s3: premiere (10 scheduled)"


def test_times_keep_their_wall_clock_across_the_march_change(dst: Promo) -> None:
    ran = dst("calendar", "--ics", "-", "--campaign", "dst-check", "--per-post")
    assert ran.code == 0, ran.err
    events = {str(e["UID"]): e.decoded("DTSTART") for e in feed(ran.out).walk("VEVENT")}
    before, after = events["dst-check/before/jj-outbox@promo"], events["dst-check/after/jj-outbox@promo"]
    assert (f"{before:%H:%M %z}", f"{after:%H:%M %z}") == ("18:00 -0800", "18:00 -0700")
    assert "DTSTART;TZID=America/Los_Angeles:20270312T180000" in ran.out
    month = dst("calendar", "--month", "--from", "2027-03-01", "--campaign", "dst-check")
    assert month.code == 0, month.err
    assert "March 2027, times in America/Los_Angeles (campaign dst-check)" in month.out
    assert month.out.count("18:00 before") == 1 and month.out.count("18:00 after") == 1


def test_uids_are_stable_across_reapply_and_reexport(applied: Promo, project: Path) -> None:
    first = applied("calendar", "--ics", "-", "--per-post").out
    assert applied("apply", CAMPAIGN, "--yes").code == 0  # nothing to apply
    assert applied("calendar", "--ics", "-", "--per-post").out == first  # the same feed, to the byte
    seed = project / CAMPAIGN
    seed.write_text(seed.read_text(encoding="utf-8").replace("at: 2027-06-04 10:00", "at: 2027-06-04 11:30"))
    assert applied("apply", CAMPAIGN, "--yes").code == 0
    again = applied("calendar", "--ics", "-", "--per-post").out
    old = {str(e["UID"]): e for e in feed(first).walk("VEVENT")}
    new = {str(e["UID"]): e for e in feed(again).walk("VEVENT")}
    assert set(new) == set(old) and len(new) == SEED_POSTS
    moved = new["jessica-jones-s3/directing-debut/jj-x@promo"]
    assert f"{moved.decoded('DTSTART'):%Y-%m-%d %H:%M}" == "2027-06-04 11:30" and int(moved["SEQUENCE"]) == 1
    assert int(new["jessica-jones-s3/premiere/jj-x@promo"]["SEQUENCE"]) == 0


def test_the_week_fits_100_columns(dst: Promo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    for args in (("--from", "2027-03-17"), ("--month", "--from", "2027-03-01"), ("--from", "2027-06-10")):
        ran = dst("calendar", *args)
        assert ran.code == 0, ran.err
        lines = visible(ran.out)
        assert lines and max(len(line) for line in lines) <= 100, max(lines, key=len)
    monkeypatch.setenv("COLUMNS", "60")  # narrower: the columns give way, nothing spills
    for args in (("--from", "2027-03-17"), ("--month", "--from", "2027-06-01"), ("--from", "2027-06-10")):
        assert max(len(line) for line in visible(dst("calendar", *args).out)) <= 60
    monkeypatch.setenv("COLUMNS", "100")
    week = visible(dst("calendar", "--from", "2027-03-17").out)
    assert week[0] == "Week of Mon 2027-03-15 to Sun 2027-03-21, times in America/Los_Angeles (2 campaigns, one zone)"
    teaser = next(line for line in week if line.startswith("Wed 03-17"))
    assert "09:30  a-very-long-announcement-ke…  out mas  Season four teaser" in teaser and LONG_KEY not in teaser
    assert "https://" not in teaser or "utm_medium=a-long-tail-to-clip" in teaser  # a URL is whole or gone
    assert teaser.endswith("…")
    tuesday = next(line for line in week if line.startswith("Tue 03-16"))
    assert "18:00  after" in tuesday and "out mas" in tuesday
    june = visible(dst("calendar", "--month", "--from", "2027-06-01").out)  # one campaign in June: no prefix
    assert any("00:01 premie…" in line for line in june)


def test_json_shape(applied: Promo) -> None:
    ran = applied("calendar", "--from", "2027-06-14", "--json")
    assert ran.code == 0, ran.err
    shown = ran.json
    assert set(shown) == {"span", "zone", "zone_source", "from", "to", "posts", "days"}
    assert (shown["span"], shown["zone"], shown["from"], shown["to"]) == ("week", LA.key, "2027-06-14", "2027-06-20")
    assert [day["date"] for day in shown["days"]][:2] == ["2027-06-14", "2027-06-15"] and len(shown["days"]) == 7
    monday = shown["days"][0]
    assert monday["weekday"] == "Mon" and len(monday["entries"]) == 1
    entry = monday["entries"][0]
    assert (entry["at"], entry["campaign"], entry["announcement"]) == (
        "2027-06-14T00:01:00-07:00", "jessica-jones-s3", "premiere")
    assert len(entry["posts"]) == shown["posts"] == 10
    assert set(entry["posts"][0]) == {"id", "uid", "campaign", "announcement", "account", "platform", "status",
                                      "at", "zone", "url"}
    assert entry["posts"][0]["uid"] == "jessica-jones-s3/premiere/jj-x@promo"
    written = applied("calendar", "--ics", "all.ics", "--json").json
    assert written == {"file": "all.ics", "events": len(SEED_TIMES), "posts": SEED_POSTS, "zones": [LA.key]}


def test_the_default_is_this_week_in_the_campaigns_zone(applied: Promo) -> None:
    ran = applied("calendar")
    assert ran.code == 0, ran.err
    assert re.match(r"Week of Mon \d{4}-\d\d-\d\d to Sun \d{4}-\d\d-\d\d, times in America/Los_Angeles "
                    r"\(campaign jessica-jones-s3\)\n", ran.out)
    assert "no posts this week" in ran.out  # the seed is in 2027


def test_colour_by_state_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = datetime(2027, 6, 14, 7, 1, tzinfo=zone("UTC"))
    posts = tuple(CalendarPost(n, f"u{n}", "c", "premiere", f"acct-{state}", "x", state, stamp.astimezone(LA),
                               LA.key, "Tonight", None, None, stamp, stamp, 1)
                  for n, state in enumerate(("published", "failed", "scheduled"), start=1))
    day = CalendarDay(date(2027, 6, 14), (CalendarEntry(stamp.astimezone(LA), "c", "premiere", posts),))
    view = CalendarView("week", LA, "campaign c", date(2027, 6, 14), date(2027, 6, 20),
                        (day, *(CalendarDay(date(2027, 6, 15 + n), ()) for n in range(6))))
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = "\n".join(week_lines(view, 100))
    assert click.style("x✓", fg="green") in coloured and click.style(" x!", fg="red") in coloured
    assert "3 posts: 1 scheduled" in click.unstyle(coloured)
    monkeypatch.setenv("NO_COLOR", "1")
    for lines in (week_lines(view, 100), month_lines(view, 100)):
        assert "\x1b[" not in "\n".join(lines)
    assert "00:01  premiere  x✓ x! x  Tonight" in "\n".join(week_lines(view, 100))


def test_bad_arguments_give_one_line(applied: Promo, store_url: str, project: Path) -> None:
    before = dump(store_url)
    one_line_error(applied("calendar", "--from", "2027-02-30"), 2, "'--from': '2027-02-30' is not a date")
    one_line_error(applied("calendar", "--ics", "x.ics", "--since", "June"), 2, "'--since': 'June' is not a date")
    one_line_error(applied("calendar", "--week", "--month"), 2, "--week and --month cannot be used together")
    one_line_error(applied("calendar", "--per-post"), 2, "--per-post goes with --ics")
    one_line_error(applied("calendar", "--ics", "x.ics", "--month"), 2, "--month is for the terminal calendar")
    one_line_error(applied("calendar", "--campaign", "nosuch"), 1,
                   "unknown campaign 'nosuch' (known: jessica-jones-s3;")
    one_line_error(applied("calendar", "--ics", "-", "--account", "nobody"), 1, "unknown account 'nobody'")
    one_line_error(applied("calendar", "--ics", str(project / "missing" / "x.ics")), 1, "cannot write it")
    one_line_error(applied("calendar", "--ics", str(project)), 1, "cannot write it (is a directory)")
    assert dump(store_url) == before
    assert not (project / "x.ics").exists()


def test_help_has_an_example(promo: Promo) -> None:
    ran = promo("calendar", "--help")
    assert ran.code == 0 and "Example:" in ran.out and "promo calendar --ics" in ran.out
