"""``promo slots``: each account's time-slot queue, free and taken, in the account's zone."""

from __future__ import annotations

import click

from promo.cli.common import NAME, App, console, emit_json, json_option, pass_app
from promo.cli.display import table, when
from promo.errors import ConfigError


@click.command()
@click.option("--account", "-a", "account_name", type=NAME, help="Only this account (default: every one with slots).")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="How many days ahead.")
@click.option("--free", "free_only", is_flag=True, help="Only the free slots.")
@json_option
@pass_app
def slots(app: App, account_name: str | None, days: int, free_only: bool, as_json: bool) -> None:
    """List the next slots of accounts that declare ``slots`` in promo.toml: free, or the post taking it.

    A slot is taken by a post of the account scheduled in that minute, unless the post was cancelled
    or failed. Times are in the account's zone (``timezone``, else the configured one).

    \b
    Example:
        promo slots
        promo slots --account jj-mastodon --days 14 --free
        promo slots --json
    """
    from promo.manage.slots import slot_table

    chosen = [app.account(account_name)] if account_name else [a for a in app.accounts.values() if a.slots]
    if not chosen:
        raise ConfigError("no account declares slots (add slots = [\"09:00\", \"18:00\"] under "
                          "[accounts.NAME] in promo.toml; see docs/slots.md)")
    zones = {a.name: app.account_zone(a) for a in chosen}
    views = [v for v in slot_table(app.engine, [(a, zones[a.name]) for a in chosen], days)
             if v.post_id is None or not free_only]
    if as_json:
        emit_json([v.to_dict(zones[v.account]) for v in views])
        return
    if not views:
        click.echo(f"no {'free ' if free_only else ''}slots in the next {days} days")
        return
    rows = [(v.account, f"{v.at.astimezone(zones[v.account]):%a}", when(v.at, zones[v.account]),
             "free" if v.post_id is None else f"taken by post {v.post_id}") for v in views]
    for line in table(console(), ("account", "day", "slot", "state"), rows, flexible=("account",)):
        click.echo(line)
