"""Output made for people: tables that fit, URLs never broken, upcoming posts first, readable history,
colour only where wanted, and --json on every command that reports something."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
from click.testing import CliRunner

from promo.cli import COMMANDS, cli
from promo.cli.display import clip, fit_widths
from promo.store.db import make_engine, transaction
from promo.store.ledger import transition
from tests.cli.conftest import CAMPAIGN, Promo

URL = "https://www.netflix.com/title/80002311?trackId=1234567890abcdef&tctx=0%2C0%2Cvery-long-tracking-parameter"
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
MINE = ("apply", "queue", "show", "cancel", "reschedule", "post", "pause", "resume", "retry", "resolve",
        "status", "migrate", "accounts", "config")


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def applied(promo: Promo) -> Promo:
    assert promo("apply", CAMPAIGN, "--yes").code == 0
    assert promo("post", "-a", "jj-mastodon", "--at", "now+1h", f"Watch the trailer: {URL} tonight").code == 0
    return promo


def move(store_url: str, post_id: int, *steps: tuple[str, str, str], **values: Any) -> None:
    engine = make_engine(store_url)
    with transaction(engine) as session:
        for start, target, action in steps:
            assert transition(session, post_id, [start], target, action=action, actor="worker-1",
                              attempt_id="a1" if start != "scheduled" else None,
                              new_attempt_id="a1" if start == "scheduled" else None, **values)
    engine.dispose()


@pytest.mark.parametrize("columns", [80, 100, 150])
def test_queue_fits_the_terminal_and_never_breaks_a_url(applied: Promo, monkeypatch: pytest.MonkeyPatch,
                                                        columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    for args in (("queue",), ("queue", "--all"), ("queue", "-c", "jessica-jones-s3")):
        out = applied(*args).out
        assert out and all(len(line) <= columns for line in out.splitlines()), out
        for line in out.splitlines():
            assert "https://" not in line or URL in line, line
        assert not COLOUR.search(out)


def test_piped_output_is_plain_and_not_forced_wide(applied: Promo) -> None:
    out = applied("queue").out
    assert not COLOUR.search(out) and max(len(line) for line in out.splitlines()) <= 100


def test_clip_cuts_between_words_and_keeps_urls_whole() -> None:
    assert clip("short", 10) == "short"
    assert clip("one two three four", 10) == "one two…"
    assert clip(f"see {URL} now", 30) == "see…"
    assert clip(URL, 20) == "…"
    assert clip("line one\nline two", 40) == "line one line two"
    widths = fit_widths(("id", "text"), [("1", "x" * 200)], 40, flexible=("text",))
    assert widths == {"id": 2, "text": 36}
    assert fit_widths(("id", "text"), [("1" * 35, "x" * 200)], 40, flexible=("text",)) == {"id": 35}


def test_queue_shows_upcoming_first_and_history_with_all(applied: Promo, store_url: str) -> None:
    posts = applied("queue", "--json").json
    first, second = posts[0]["id"], posts[1]["id"]
    assert applied("cancel", str(first)).code == 0
    move(store_url, second, ("scheduled", "queued", "claimed"), ("queued", "publishing", "publishing"))
    move(store_url, second, ("publishing", "published", "published"), url="https://example.test/p/1")
    upcoming = applied("queue", "--json").json
    assert {p["status"] for p in upcoming} == {"scheduled"}
    assert [p["due_at"] for p in upcoming] == sorted(p["due_at"] for p in upcoming)
    everything = applied("queue", "--all", "--json").json
    assert [p["status"] for p in everything][-2:] in (["published", "cancelled"], ["cancelled", "published"])
    assert applied("queue", "--all", "-n", "1", "--json").json[0]["status"] == "scheduled"
    assert "no upcoming posts" in applied("queue", "--account", "jj-nobody").out


def test_show_renders_history_as_lines(applied: Promo, store_url: str) -> None:
    post = applied("queue", "--json").json[0]["id"]
    move(store_url, post, ("scheduled", "queued", "claimed"), ("queued", "publishing", "publishing"))
    move(store_url, post, ("publishing", "scheduled", "retry-later"))
    move(store_url, post, ("scheduled", "queued", "claimed"), ("queued", "publishing", "publishing"))
    move(store_url, post, ("publishing", "failed", "failed"), reason="X: 403 duplicate content")
    shown = applied("show", str(post)).out
    history = shown.split("history:\n", 1)[1].splitlines()
    line = re.compile(r"^  \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d  \S.*  by \S+$")
    assert history and all(line.match(item) for item in history), history
    assert any(item.endswith("queued -> publishing  by worker-1") for item in history)
    assert any("attempt 1 was refused" in item for item in history)
    assert any("attempt 2 failed: X: 403 duplicate content  by worker-1" in item for item in history)
    assert "failed -> failed" not in shown and "['" not in shown and "{'" not in shown


def test_no_color_is_respected(applied: Promo, project: object, monkeypatch: pytest.MonkeyPatch) -> None:
    path = CAMPAIGN
    coloured = CliRunner().invoke(cli, ["apply", path, "--dry-run"], color=True)
    assert coloured.exit_code == 0 and not COLOUR.search(coloured.stdout)  # nothing new: no coloured label
    other = CliRunner().invoke(cli, ["status"], color=True)
    assert COLOUR.search(other.stdout), other.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(cli, ["status"], color=True)
    assert not COLOUR.search(plain.stdout) and "broker    ok" in plain.stdout
    from promo.cli.common import console

    assert console().no_color


def _command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


@pytest.mark.parametrize("name", MINE)
def test_every_reporting_command_has_json(name: str) -> None:
    command = _command(name)
    assert "as_json" in {p.name for p in command.params}, f"promo {name} has no --json"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            assert "as_json" in {p.name for p in sub.params}


@pytest.mark.parametrize("name", MINE)
def test_help_examples_are_not_in_the_past(name: str) -> None:
    assert name in COMMANDS
    text = CliRunner().invoke(cli, [name, "--help"]).output
    assert not re.search(r"\b20(1\d|2[0-6])-\d\d-\d\d", text), text
