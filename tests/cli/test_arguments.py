"""Every bad argument: one line naming it, exit 2 (usage) or 1 (refused), no traceback, store unchanged."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from promo.cli import cli
from promo.cli.common import run_cli
from tests.cli.conftest import CAMPAIGN, Promo, dump, one_line_error


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.mark.parametrize("args", [
    ("show", "0"), ("show", "--", "-1"), ("show", str(2**63)), ("show", "abc"), ("cancel", "9" * 30),
    ("retry", "0"), ("resolve", str(2**64), "--not-published"), ("reschedule", "1.5", "--at", "now+1h"),
])
def test_post_ids_out_of_range_are_usage_errors(applied: Promo, store_url: str, args: tuple[str, ...]) -> None:
    before = dump(store_url)
    one_line_error(applied(*args), 2, "'ID'")
    assert dump(store_url) == before


@pytest.mark.parametrize("limit", ["0", "-5", str(10**9), str(2**64), "ten"])
def test_limit_is_a_sane_range(applied: Promo, limit: str) -> None:
    one_line_error(applied("queue", "--limit", limit), 2, "'--limit'")


def test_a_usage_error_points_at_help(applied: Promo) -> None:
    ran = applied("show", "zero")
    assert "'promo show --help' shows the usage" in ran.err


@pytest.mark.parametrize("option", ["--campaign", "--account"])
def test_pause_refuses_an_empty_name(applied: Promo, store_url: str, option: str) -> None:
    before = dump(store_url)
    for blank in ("", "   "):
        one_line_error(applied("pause", option, blank), 2, f"'{option}': must not be empty")
    assert dump(store_url) == before


def test_pause_refuses_names_it_does_not_know(applied: Promo, store_url: str) -> None:
    before = dump(store_url)
    ran = applied("pause", "--account", "nosuch")
    one_line_error(ran, 1, "unknown account 'nosuch'")
    assert "jj-mastodon" in ran.err and "jj-x" in ran.err and "nothing paused" in ran.err
    ran = applied("pause", "--campaign", "nosuch")
    one_line_error(ran, 1, "unknown campaign 'nosuch' (known: jessica-jones-s3;")
    one_line_error(applied("resume", "--campaign", "nosuch"), 1, "no pause on campaign nosuch")
    assert dump(store_url) == before
    assert applied("pause", "--campaign", "jessica-jones-s3", "--json").json["posts"] > 10
    assert applied("resume", "--campaign", "jessica-jones-s3", "--json").json["posts"] > 10


def test_times_out_of_range(applied: Promo, store_url: str) -> None:
    before = dump(store_url)
    one_line_error(applied("post", "-a", "jj-x", "--at", "9999-12-31", "hi"), 1, "more than 10 years ahead")
    one_line_error(applied("post", "-a", "jj-x", "--at", "+3000000d", "hi"), 2, "too long a duration")
    one_line_error(applied("post", "-a", "jj-x", "--at", "now+99999999h", "hi"), 2, "'--at'")
    one_line_error(applied("reschedule", "1", "--at", "9999-12-31T23:59:59+14:00"), 1, "years ahead")
    one_line_error(applied("post", "-a", "jj-x", "--at", "0001-01-01", "hi", "--allow-past"), 1, "years ago")
    assert dump(store_url) == before


def test_the_past_needs_allow_past(applied: Promo, store_url: str) -> None:
    before = dump(store_url)
    ran = applied("post", "-a", "jj-x", "--at", "2026-01-05 09:00", "hello")
    one_line_error(ran, 1, "--at: 2026-01-05 09:00 +00:00 is in the past; pass --allow-past to queue it anyway")
    one_line_error(applied("reschedule", "1", "--at", "now-1h"), 1, "is in the past")
    assert dump(store_url) == before
    assert applied("post", "-a", "jj-x", "--at", "2026-01-05 09:00", "hello", "--allow-past").code == 0
    assert applied("reschedule", "1", "--at", "now-1h", "--allow-past").code == 0
    assert applied("post", "-a", "jj-x", "hello now").code == 0  # "now" is not the past


def test_post_text_must_be_text(applied: Promo, store_url: str) -> None:
    before = dump(store_url)
    one_line_error(applied("post", "-a", "jj-x", ""), 2, "'TEXT': must not be empty")
    one_line_error(applied("post", "-a", "jj-x", "a\x00b"), 2, "NUL")
    one_line_error(applied("post", "-a", "jj-x", "x" * 200_000), 2, "at most 100000")
    one_line_error(applied("resolve", "1", "--published", "not a url"), 2, "'--published'")
    one_line_error(applied("resolve", "1"), 2, "exactly one of")
    assert dump(store_url) == before


def test_a_missing_credential_is_named_by_its_configured_variable(promo: Promo, project: Path) -> None:
    config = project / "promo.toml"
    config.write_text(config.read_text().replace('max_characters = 500', 'max_characters = 500\n'
                                                 'access_token_env = "JJ_MASTODON_TOKEN"'))
    listed = promo("accounts")
    assert "access_token missing: set JJ_MASTODON_TOKEN" in listed.out
    assert "PROMO_ACCOUNT_JJ_MASTODON_ACCESS_TOKEN" not in listed.out
    applied = promo("apply", CAMPAIGN, "--dry-run", "--json").json
    assert any("set JJ_MASTODON_TOKEN" in line for line in applied["warnings"])
    from promo.accounts import load_accounts
    from promo.errors import ConfigError

    account = load_accounts(config, {"PROMO_ACCOUNT_JJ_MASTODON_ACCESS_TOKEN": "ignored"})["jj-mastodon"]
    with pytest.raises(ConfigError, match=r"credential access_token is not set \(set JJ_MASTODON_TOKEN\)"):
        account.secret("access_token")


def test_apply_answered_no_writes_nothing(project: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("promo.cli.planning.interactive", lambda: True)
    before = dump(store_url)
    result = CliRunner().invoke(cli, ["apply", CAMPAIGN], input="n\n")
    assert result.exit_code == 1 and "nothing written" in result.stderr
    assert result.stdout.count(" new, ") == 1
    assert dump(store_url) == before
    result = CliRunner().invoke(cli, ["apply", CAMPAIGN], input="y\n")
    assert result.exit_code == 0 and result.stdout.count(" new, ") == 1 and "applied" in result.stdout


def test_a_bug_is_exit_70_and_says_how_to_report_it(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMO_DEBUG", raising=False)

    @click.command()
    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(SystemExit) as exit_:
        run_cli(click.Group(commands={"broken": broken}), ["broken"])
    err = capsys.readouterr().err
    assert exit_.value.code == 70 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("internal error (a bug in promo): RuntimeError: boom;")
    assert "PROMO_DEBUG=1" in err and "issue tracker" in err


def test_a_misspelt_command_names_the_nearest_one(applied: Promo) -> None:
    ran = applied("reschedul", "1", "--at", "now+1h")
    assert ran.code == 2 and "Did you mean 'reschedule'?" in ran.err and "Traceback" not in ran.err
