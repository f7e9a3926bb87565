"""Running the engine day to day: ``promo status``, ``pause``, ``resume``, ``retry`` and ``resolve``.

Each command parses its arguments, calls one library function (``promo.manage.status``,
``promo.manage.pauses``, ``promo.manage.attention``), which owns its transaction, and prints the
answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app
from promo.errors import ConfigError
from promo.manage.attention import resolve as resolve_post
from promo.manage.attention import retry as retry_post
from promo.manage.pauses import Scope
from promo.manage.pauses import pause as pause_posts
from promo.manage.pauses import resume as resume_posts

if TYPE_CHECKING:
    from promo.manage.status import Status


@click.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Broker and database health, last dispatch, counts by state, posts needing attention.

    Exit code 0 when healthy and nothing needs a person, 1 when something needs attention,
    4 when the broker or database cannot be reached.

    \b
    Example:
        promo status
        promo status --json | jq '.attention[] | .id'
    """
    from promo.manage.status import engine_status  # here: it loads kombu, which only status needs

    report = engine_status(app.settings)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_status(report)
    if not report.healthy:
        raise SystemExit(4)
    if report.attention or report.accounts:
        raise SystemExit(1)


def _print_status(report: Status) -> None:
    from rich.table import Table

    out = console()
    mark = {True: "[green]ok[/]", False: "[red]unreachable[/]"}
    out.print(f"broker    {mark[report.broker_ok]}  {report.broker}  {report.broker_error or ''}")
    out.print(f"database  {mark[report.database_ok]}  {report.database_error or ''}")
    out.print(f"last dispatch {report.last_dispatch or 'never'}, last sweep {report.last_sweep or 'never'}")
    out.print("  ".join(f"{state} {count}" for state, count in report.counts.items() if count) or "no posts")
    for hold in report.holds:
        out.print(f"[yellow]paused:[/] {hold} ('promo resume' releases it)")
    for account in report.accounts:
        until = f" blocked until {account['blocked_until']}" if account["blocked_until"] else ""
        out.print(f"[yellow]account {account['account']}:[/]{until} {account['reason']}")
    if report.attention:
        table = Table("id", "state", "account", "scheduled", "reason", "next step", title="Needs attention")
        for post in report.attention:
            table.add_row(
                str(post["id"]),
                post["status"],
                post["account"],
                post["scheduled_at"],
                post["reason"],
                post["next_step"],
            )
        out.print(table)


def _scope_options(func: Any) -> Any:
    func = click.option("--account", help="Only this account's posts.")(func)
    return click.option("--campaign", help="Only this campaign's posts.")(func)


@click.command()
@_scope_options
@click.option("--reason", default="", help="Why, for the event log.")
@pass_app
def pause(app: App, campaign: str | None, account: str | None, reason: str) -> None:
    """Hold posts (all, one campaign or one account) without failing them.

    \b
    Example:
        promo pause --campaign jessica-jones-s3 --reason "breaking news"
        promo pause
    """
    scope = Scope.of(campaign, account)
    count = pause_posts(app.engine, scope, reason=reason)
    click.echo(f"paused {scope.describe()}: {count} post(s) held; 'promo resume' releases them")


@click.command()
@_scope_options
@pass_app
def resume(app: App, campaign: str | None, account: str | None) -> None:
    """Release paused posts. Without options, every pause is lifted.

    Posts too late for their message by now are held for a person instead of being sent.

    \b
    Example:
        promo resume --campaign jessica-jones-s3
        promo resume
    """
    scope = Scope.of(campaign, account) if (campaign or account) else None
    count = resume_posts(app.engine, scope)
    click.echo(f"resumed {scope.describe() if scope else 'every pause'}: {count} post(s) released")


@click.command()
@click.argument("post_id", type=int)
@pass_app
def retry(app: App, post_id: int) -> None:
    """Send a failed (or held) post again, now.

    \b
    Example:
        promo retry 42
    """
    retry_post(app.engine, post_id)
    click.echo(f"post {post_id} scheduled to go out now")


@click.command()
@click.argument("post_id", type=int)
@click.option("--published", "url", metavar="URL", help="It is on the platform, here.")
@click.option("--not-published", "not_published", is_flag=True, help="It is not there: send it again.")
@pass_app
def resolve(app: App, post_id: int, url: str | None, not_published: bool) -> None:
    """Settle an unknown post after checking the platform: published (with its URL) or not.

    \b
    Example:
        promo resolve 42 --published https://mastodon.social/@studio/1131
        promo resolve 42 --not-published
    """
    if bool(url) == not_published:
        raise ConfigError("give exactly one of --published URL or --not-published")
    target = resolve_post(app.engine, post_id, published_url=url)
    click.echo(f"post {post_id} is now {target}")
