"""``promo queue``, ``show``, ``cancel``, ``reschedule`` and ``post``: the queue as people handle it.

Thin: each command parses its arguments, calls one function of ``promo.manage.posts`` and prints
the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app
from promo.cli.display import when
from promo.manage.posts import (
    PostDetail,
    PostView,
    campaign_zones,
    create_adhoc,
    get_post,
    list_posts,
)
from promo.manage.posts import cancel as cancel_post
from promo.manage.posts import reschedule as move_post
from promo.store import states

TEXT_WIDTH = 60


@click.command()
@click.option("--status", "-s", type=click.Choice(states.ALL), multiple=True, help="Only these states.")
@click.option("--campaign", "-c", help="Only this campaign (its id).")
@click.option("--account", "-a", help="Only this account.")
@click.option("--limit", "-n", type=click.IntRange(1), default=200, show_default=True)
@json_option
@pass_app
def queue(app: App, status: tuple[str, ...], campaign: str | None, account: str | None, limit: int,
          as_json: bool) -> None:
    """List posts in the order they go out, times in the configured zone (with their offset).

    \b
    Example:
        promo queue
        promo queue --status scheduled --campaign jessica-jones-s3
        promo queue --status failed --status unknown --json
    """
    posts = list_posts(app.engine, status=status or None, campaign=campaign, account=account, limit=limit)
    zones = _zones(app, posts)
    if as_json:
        emit_json([p.to_dict(zones[p.campaign]) for p in posts])
        return
    if not posts:
        click.echo("no posts")
        return
    _print_posts(posts, zones)


def _zones(app: App, posts: list[PostView]) -> dict[str | None, ZoneInfo]:
    """Each campaign's posts in the campaign's zone; ad hoc posts in the configured one."""
    zones = campaign_zones(app.engine, {p.campaign for p in posts})
    fallback = app.zone
    return {p.campaign: zones.get(p.campaign or "", fallback) for p in posts}


def _print_posts(posts: list[PostView], zones: Mapping[str | None, ZoneInfo]) -> None:
    from rich.table import Table  # here, not above: 'promo queue --json' and an empty queue skip rich

    table = Table(box=None, header_style="bold")
    for column in ("id", "status", "due", "account", "announcement", "text"):
        table.add_column(column, no_wrap=column != "text", overflow="fold")
    for post in posts:
        text = post.text if len(post.text) <= TEXT_WIDTH else post.text[:TEXT_WIDTH - 1] + "…"
        where = f"{post.campaign}/{post.announcement}" if post.campaign else "(ad hoc)"
        table.add_row(str(post.id), post.status, when(post.due_at, zones[post.campaign]), post.account,
                      where, text.replace("\n", " "))
    out = console()
    if not out.is_terminal:
        out.width = 200  # piped: don't squeeze the table into 80 columns
    out.print(table)


@click.command()
@click.argument("post_id", metavar="ID", type=int)
@json_option
@pass_app
def show(app: App, post_id: int, as_json: bool) -> None:
    """Show one post: its exact text and media, state, attempts, reason, URL and event history.

    \b
    Example:
        promo show 12
        promo show 12 --json
    """
    detail = get_post(app.engine, post_id)
    tz = _zones(app, [detail.view])[detail.view.campaign]
    if as_json:
        emit_json(detail.to_dict(tz))
        return
    _print_detail(detail, tz)


def _print_detail(detail: PostDetail, tz: ZoneInfo) -> None:
    view = detail.view
    where = f"{view.campaign} / {view.announcement}" if view.campaign else "ad hoc"
    rows = [("post", str(view.id)), ("status", view.status), ("account", f"{view.account} ({view.platform})"),
            ("from", where), ("scheduled", when(view.scheduled_at, tz)), ("due", when(view.due_at, tz)),
            ("not before", when(detail.not_before, tz)), ("attempts", str(view.attempts)),
            ("idempotency key", detail.idempotency_key)]
    rows += [(label, value) for label, value in (("reason", view.reason), ("url", view.url)) if value]
    for label, value in rows:
        click.echo(f"{label:>15}  {value}")
    for number, part in enumerate(detail.post.parts):
        click.echo(f"\n{'text' if number == 0 else f'reply {number}'}:\n{part.text}")
        for media in part.media:
            click.echo(f"  media: {media.path}" + (f" (alt: {media.alt})" if media.alt else ""))
    click.echo("\nhistory:")
    for event in detail.events:
        move = f"{event.from_status or ''} -> {event.to_status}" if event.to_status else ""
        extra = ", ".join(f"{k}={v}" for k, v in event.detail.items())
        click.echo(f"  {when(event.at, tz)}  {event.action:<11} {move:<24} {event.actor}  {extra}".rstrip())


@click.command()
@click.argument("post_id", metavar="ID", type=int)
@json_option
@pass_app
def cancel(app: App, post_id: int, as_json: bool) -> None:
    """Cancel a post that has not been sent (scheduled, queued, paused, held or failed).

    \b
    Example:
        promo cancel 12
    """
    view = cancel_post(app.engine, post_id, actor="cli")
    if as_json:
        emit_json(view.to_dict(app.zone))
        return
    click.echo(f"post {view.id} cancelled ({view.account}, {view.announcement or 'ad hoc'})")


@click.command()
@click.argument("post_id", metavar="ID", type=int)
@click.option("--at", "at", required=True,
              help="New time: ISO 8601, naive in the configured zone, or now+2h.")
@json_option
@pass_app
def reschedule(app: App, post_id: int, at: str, as_json: bool) -> None:
    """Move a post that has not been sent to a new time. Its embargo (not_before) still holds.

    \b
    Example:
        promo reschedule 12 --at "2019-06-21 00:01"
        promo reschedule 12 --at now+2h
    """
    view = move_post(app.engine, post_id, app.moment(at), actor="cli")
    tz = app.zone
    if as_json:
        emit_json(view.to_dict(tz))
        return
    click.echo(f"post {view.id} {view.status} for {when(view.scheduled_at, tz)}")


@click.command()
@click.argument("text")
@click.option("--account", "-a", "account_name", required=True, help="Account name from promo.toml.")
@click.option("--at", "at", default="now", show_default=True,
              help="When: ISO 8601, naive in the configured zone, or now+2h.")
@json_option
@pass_app
def post(app: App, text: str, account_name: str, at: str, as_json: bool) -> None:
    """Queue an ad hoc post for one account, checked against its platform's rules first.

    \b
    Example:
        promo post --account jj-mastodon --at "2019-06-14 09:00" "Jessica Jones season 3 is out now"
        promo post -a jj-x --at now+15m "Tonight: Jessica Jones season 3"
    """
    account = app.account(account_name)
    view = create_adhoc(app.engine, account, text, app.moment(at), actor="cli")
    tz = app.zone
    if as_json:
        emit_json(view.to_dict(tz))
        return
    click.echo(f"post {view.id} scheduled for {view.account} at {when(view.scheduled_at, tz)}")
