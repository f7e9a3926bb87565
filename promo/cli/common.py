"""What every command shares: the application context, argument types, JSON output and error handling.

Nothing heavy is imported here at module level (``promo --help`` stays fast): sqlalchemy, rich and
the settings load inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from promo.errors import ConfigError, PromoError

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from sqlalchemy import Engine

    from promo.accounts import Account
    from promo.manage.reads import PostReads
    from promo.settings import Settings
    from promo.settings_peek import SettingsPeek
    from promo.store.sqlite_reads import SqliteReads

F = TypeVar("F", bound=Callable[..., Any])

# A post id as SQLite and PostgreSQL can store it: anything else is a usage error, not a query.
POST_ID = click.IntRange(1, 2**63 - 1)
# A typed time this close behind "now" still counts as now ("--at now" is not in the past).
PAST_GRACE_S = 60
# How far ahead (or, with --allow-past, behind) a typed time may be.
MAX_AHEAD_DAYS = 3660
INTERNAL_ERROR = ("internal error (a bug in promo): {kind}: {message}; run again with PROMO_DEBUG=1 and "
                  "report the traceback at the project's issue tracker")


class App:
    """Settings, accounts and the store, each loaded on first use.

    The read commands (``queue``, ``show``, ``status``) go through ``peek`` and ``sqlite_reads``
    when they apply (a current SQLite store, plain settings): neither imports pydantic-settings nor
    SQLAlchemy, which would take the whole 0.5 s those commands have. Anything else, and every
    write, takes ``settings`` and ``engine``.
    """

    @cached_property
    def settings(self) -> Settings:
        from promo.settings import load_settings

        return load_settings()

    @cached_property
    def peek(self) -> SettingsPeek | None:
        """The settings the read commands need, without pydantic; None when only ``settings`` may tell."""
        from promo.settings_peek import peek_settings

        return peek_settings()

    @cached_property
    def sqlite_reads(self) -> SqliteReads | None:
        """The store opened read-only with ``sqlite3``, if the peek applies and the file is current."""
        if self.peek is None:
            return None
        from promo.store.sqlite_reads import open_current

        return open_current(self.peek.database)

    @cached_property
    def reads(self) -> PostReads:
        """What ``queue`` and ``show`` read: over ``sqlite_reads`` if open, else through ``engine``."""
        if self.sqlite_reads is not None:
            from promo.manage.reads import FileReads

            return FileReads(self.sqlite_reads)
        from promo.manage.posts import EngineReads

        return EngineReads(self.engine)

    @cached_property
    def accounts(self) -> dict[str, Account]:
        from promo.accounts import load_accounts

        return load_accounts(self.settings.config_file)

    @cached_property
    def engine(self) -> Engine:
        """The store, migrated to the current schema (no check when a SQLite file's stamp is current)."""
        from promo.store.db import make_engine
        from promo.store.migrate import is_current, upgrade

        url = self.settings.database
        engine = make_engine(url)
        if not is_current(url):
            upgrade(engine)
        return engine

    @cached_property
    def zone(self) -> ZoneInfo:
        """The configured time zone (``PROMO_TIMEZONE``)."""
        try:
            from promo.times import zone  # zoneinfo: not on the --help path

            return zone(self.peek.timezone if self.peek else self.settings.timezone)
        except ValueError as exc:
            raise PromoError(f"setting timezone (PROMO_TIMEZONE): {exc}") from None

    def account_zone(self, account: Account) -> ZoneInfo:
        """An ad hoc post's zone: its account's ``timezone`` in promo.toml, else the configured one."""
        from promo.times import zone

        return zone(account.timezone) if account.timezone else self.zone

    def named_account_zone(self, name: str) -> ZoneInfo:
        """``account_zone`` by name (the configured zone for an account not in promo.toml). From the
        peek's reading of promo.toml when it has one: no platform module is imported just for a zone."""
        zones = self.peek.account_zones if self.peek else None
        if zones is None:
            account = self.accounts.get(name)
            return self.account_zone(account) if account is not None else self.zone
        from promo.times import zone

        named = zones.get(name)
        return zone(named) if named else self.zone

    def moment(self, text: str, tz: ZoneInfo, *, allow_past: bool = False, option: str = "--at") -> datetime:
        """A time a person typed, read in ``tz``; refused if in the past (unless allowed) or too far ahead."""
        from datetime import timedelta

        from promo.times import parse_moment, show_time, utcnow

        now = utcnow()
        try:
            at = parse_moment(text, tz, now)
        except (ValueError, OverflowError) as exc:
            raise PromoError(f"{option}: {exc}") from None
        if abs(at - now) > timedelta(days=MAX_AHEAD_DAYS):
            direction = "ahead" if at > now else "ago"
            raise PromoError(f"{option}: {text.strip()!r} is more than {MAX_AHEAD_DAYS // 366} years {direction}")
        if not allow_past and now - at > timedelta(seconds=PAST_GRACE_S):
            raise PromoError(f"{option}: {show_time(at, tz)} is in the past; pass --allow-past to queue it anyway")
        return at

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise ConfigError(f"unknown account {name!r} in {self.settings.config_file} "
                              f"(configured: {known}; 'promo accounts' lists them)") from None


pass_app = click.make_pass_decorator(App, ensure=True)


class TimeText(click.ParamType):
    """``--at``: ISO 8601, ``now``, ``now+2h`` or ``+15m``. Checked for form here (a usage error);
    read in the zone of what it is about by ``App.moment``."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from zoneinfo import ZoneInfo

        from promo.times import parse_moment

        text = str(value)
        try:
            parse_moment(text, ZoneInfo("UTC"))
        except (ValueError, OverflowError) as exc:
            self.fail(str(exc), param, ctx)
        return text


class Name(click.ParamType):
    """A name (campaign, account): not blank, at most 100 printable characters."""

    name = "NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = _utf8(str(value), self, param, ctx)
        if not text.strip():
            self.fail("must not be empty", param, ctx)
        if len(text) > 100 or not text.isprintable():
            self.fail(f"{text[:40]!r} is not a name (at most 100 printable characters)", param, ctx)
        return text


class Text(click.ParamType):
    """Free text (a post, a reason): UTF-8 without NUL characters, at most ``limit`` characters."""

    name = "TEXT"

    def __init__(self, limit: int, *, empty: bool = False) -> None:
        self.limit, self.empty = limit, empty

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = _utf8(str(value), self, param, ctx)
        if "\x00" in text:
            self.fail("contains a NUL character", param, ctx)
        if not self.empty and not text.strip():
            self.fail("must not be empty", param, ctx)
        if len(text) > self.limit:
            self.fail(f"is {len(text)} characters long (at most {self.limit})", param, ctx)
        return text


def _utf8(text: str, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        kind.fail("is not UTF-8 text", param, ctx)
    return text


TIME = TimeText()
NAME = Name()
POST_TEXT = Text(100_000)
REASON = Text(1000, empty=True)


def post_id_argument(func: F) -> F:
    return click.argument("post_id", metavar="ID", type=POST_ID)(func)  # type: ignore[return-value]


def allow_past_option(func: F) -> F:
    return click.option("--allow-past", is_flag=True,  # type: ignore[return-value]
                        help="Accept a time in the past (the late-post rule still applies).")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def console(stderr: bool = False) -> Console:
    """Rich output for people: the terminal's width (``COLUMNS``), no colour when piped or ``NO_COLOR``."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def run_cli(group: click.Group, argv: Sequence[str] | None = None) -> Any:
    """Run the CLI: every error is one line on stderr and an exit code (2 usage, 1 refused, 70 a bug)."""
    try:
        return group.main(args=list(argv) if argv is not None else None, prog_name="promo",
                          standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        _fail(_usage_line(exc), exc.exit_code)
    except click.ClickException as exc:
        _fail(f"error: {exc.format_message()}", exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PromoError as exc:
        _fail(f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("PROMO_DEBUG"):
            raise
        _fail(INTERNAL_ERROR.format(kind=type(exc).__name__, message=exc), 70)


def _usage_line(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx else "promo"
    return f"error: {exc.format_message()} ('{command} --help' shows the usage)"


def _fail(line: str, code: int) -> None:
    click.echo(" ".join(line.split("\n")), err=True)
    sys.exit(code)
