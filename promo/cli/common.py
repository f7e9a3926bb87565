"""What every command shares: the application context, JSON output and error handling."""

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
    from promo.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Settings, accounts and the store, each loaded on first use."""

    @cached_property
    def settings(self) -> Settings:
        from promo.settings import load_settings

        return load_settings()

    @cached_property
    def accounts(self) -> dict[str, Account]:
        from promo.accounts import load_accounts

        return load_accounts(self.settings.config_file)

    @cached_property
    def engine(self) -> Engine:
        """The store, migrated to the current schema."""
        from promo.store.db import make_engine
        from promo.store.migrate import upgrade

        engine = make_engine(self.settings.database)
        upgrade(engine)
        return engine

    @cached_property
    def zone(self) -> ZoneInfo:
        """The configured time zone (``PROMO_TIMEZONE``)."""
        try:
            from promo.times import zone  # zoneinfo: not on the --help path

            return zone(self.settings.timezone)
        except ValueError as exc:
            raise PromoError(f"setting timezone (PROMO_TIMEZONE): {exc}") from None

    def moment(self, text: str) -> datetime:
        """``--at``: ISO 8601 (naive is read in the configured zone), ``now`` or ``now+2h``."""
        try:
            from promo.times import parse_moment

            return parse_moment(text, self.zone)
        except ValueError as exc:
            raise PromoError(f"--at: {exc}") from None

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise ConfigError(f"unknown account {name!r} in {self.settings.config_file} "
                              f"(configured: {known})") from None


pass_app = click.make_pass_decorator(App, ensure=True)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def run_cli(group: click.Group, argv: Sequence[str] | None = None) -> Any:
    """Run the CLI: a PromoError becomes one line on stderr and its exit code, never a traceback."""
    try:
        return group.main(args=list(argv) if argv is not None else None, prog_name="promo",
                          standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PromoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("PROMO_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set PROMO_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(70)
