"""``promo apply``, ``queue``, ``show``, ``cancel``, ``reschedule``, ``post`` and ``migrate``.

Thin: each command parses its arguments, calls one library function (``promo.planning.plan``,
``promo.manage.posts``, ``promo.store.migrate``) and prints the answer. Heavy modules are imported inside
the commands.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app
from promo.errors import PromoError
from promo.store import states

if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

    from promo.campaigns.preview import RenderedPost
    from promo.manage.posts import PostDetail, PostView
    from promo.planning.plan import PlanEntry

TEXT_WIDTH = 60


def _zone(app: App) -> ZoneInfo:
    from promo.times import zone

    try:
        return zone(app.settings.timezone)
    except ValueError as exc:
        raise PromoError(f"setting timezone (PROMO_TIMEZONE): {exc}") from None


def _moment(app: App, text: str) -> datetime:
    """``--at``: ISO 8601 (naive is read in settings.timezone), ``now`` or ``now+2h``."""
    from promo.times import parse_moment

    try:
        return parse_moment(text, _zone(app))
    except ValueError as exc:
        raise PromoError(f"--at: {exc}") from None


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    from promo.planning.plan import show_time

    return show_time(value, tz)


# -- apply ---------------------------------------------------------------------------------------

@click.command()
@click.argument("campaign", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing (asked only on a terminal).")
@json_option
@pass_app
def apply(app: App, campaign: Path, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Plan a campaign file against the queue, then write the plan in one transaction.

    The plan lists new, changed (and what changed), cancelled (no longer in the file) and locked
    posts (already sent: an edit never re-queues them). Applying the same file twice changes nothing.

    \b
    Example:
        promo apply examples/jessica-jones-s3.yaml --dry-run
        promo apply examples/jessica-jones-s3.yaml
        promo apply examples/jessica-jones-s3.yaml --json --yes
    """
    from promo.planning.apply import apply_plan
    from promo.planning.plan import plan as make_plan

    loaded, rendered = _render(app, campaign)
    plan = make_plan(app.engine, loaded, [item.scheduled for item in rendered])
    if as_json and (dry_run or not plan.writes):
        emit_json({**plan.to_dict(), "applied": False})
        return
    if not as_json:
        _print_entries(plan.entries, plan.zone)
        click.echo(plan.summary())
    if dry_run or not plan.writes:
        if not as_json:
            click.echo("dry run: nothing written" if dry_run and plan.writes else "nothing to apply")
        return
    if not yes and not as_json and sys.stdin.isatty() and not click.confirm("Apply this plan?"):
        raise click.exceptions.Abort()
    result = apply_plan(app.engine, plan)
    if as_json:
        emit_json({**result.to_dict(), "applied": True})
        return
    raced = result.by_action("locked")
    if len(raced) > len(plan.by_action("locked")):
        _print_entries(tuple(e for e in raced if e.reason.startswith("not written")), plan.zone)
    click.echo(f"applied: {result.summary()}")


def _render(app: App, path: Path) -> tuple[Any, list[RenderedPost]]:
    """Load and render the campaign; any post that breaks a rule stops apply before the store opens."""
    from promo.campaigns import load_campaign
    from promo.campaigns.preview import render_campaign

    templates = app.settings.templates_dir
    loaded = load_campaign(path, app.accounts, templates)
    rendered = render_campaign(loaded, app.accounts, templates)
    broken = [item for item in rendered if not item.ok]
    for item in broken:
        scheduled = item.scheduled
        for problem in item.report.problems:
            click.echo(f"error: {path}: {scheduled.announcement} for {scheduled.post.account}: "
                       f"{problem.message}", err=True)
    if broken:
        click.echo(f"error: {path}: {len(broken)} of {len(rendered)} posts break a platform rule; "
                   "nothing was written", err=True)
        sys.exit(1)
    return loaded, rendered


_COLOUR = {"created": "green", "changed": "yellow", "cancelled": "red", "locked": "magenta"}


def _print_entries(entries: tuple[PlanEntry, ...], tz: ZoneInfo) -> None:
    """One line per post that apply would touch (or could not), grouped by action."""
    for action in ("created", "changed", "cancelled", "locked"):
        for entry in (e for e in entries if e.action == action):
            label = click.style(f"{action:<9}", fg=_COLOUR[action])
            post = f"#{entry.post_id}" if entry.post_id else "new"
            what = "; ".join(entry.changes)
            if entry.reason:
                what = f"{what} ({entry.reason})" if what else entry.reason
            click.echo(f"{label} {post:>5}  {entry.announcement} -> {entry.account} at "
                       f"{_when(entry.scheduled_at, tz)}" + (f": {what}" if what else ""))


# -- the queue -----------------------------------------------------------------------------------

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
    from promo.manage.posts import list_posts

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
    from promo.manage.posts import campaign_zones

    zones = campaign_zones(app.engine, {p.campaign for p in posts})
    fallback = _zone(app)
    return {p.campaign: zones.get(p.campaign or "", fallback) for p in posts}


def _print_posts(posts: list[PostView], zones: Mapping[str | None, ZoneInfo]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "status", "due", "account", "announcement", "text"):
        table.add_column(column, no_wrap=column != "text", overflow="fold")
    for post in posts:
        text = post.text if len(post.text) <= TEXT_WIDTH else post.text[:TEXT_WIDTH - 1] + "…"
        where = f"{post.campaign}/{post.announcement}" if post.campaign else "(ad hoc)"
        table.add_row(str(post.id), post.status, _when(post.due_at, zones[post.campaign]), post.account,
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
    from promo.manage.posts import get_post

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
            ("from", where), ("scheduled", _when(view.scheduled_at, tz)), ("due", _when(view.due_at, tz)),
            ("not before", _when(detail.not_before, tz)), ("attempts", str(view.attempts)),
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
        click.echo(f"  {_when(event.at, tz)}  {event.action:<11} {move:<24} {event.actor}  {extra}".rstrip())


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
    from promo.manage.posts import cancel as cancel_post

    view = cancel_post(app.engine, post_id, actor="cli")
    if as_json:
        emit_json(view.to_dict(_zone(app)))
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
    from promo.manage.posts import reschedule as move_post

    moment = _moment(app, at)
    view = move_post(app.engine, post_id, moment, actor="cli")
    tz = _zone(app)
    if as_json:
        emit_json(view.to_dict(tz))
        return
    click.echo(f"post {view.id} {view.status} for {_when(view.scheduled_at, tz)}")


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
    from promo.manage.posts import create_adhoc

    account = app.account(account_name)
    moment = _moment(app, at)
    view = create_adhoc(app.engine, account, text, moment, actor="cli")
    tz = _zone(app)
    if as_json:
        emit_json(view.to_dict(tz))
        return
    click.echo(f"post {view.id} scheduled for {view.account} at {_when(view.scheduled_at, tz)}")


@click.command()
@pass_app
def migrate(app: App) -> None:
    """Create or upgrade the database tables (safe to run twice, or from two places at once).

    \b
    Example:
        promo migrate
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo migrate
    """
    from promo.settings import mask_url
    from promo.store.migrate import current_revision

    engine = app.engine  # opening the store migrates it
    click.echo(f"{mask_url(app.settings.database)}: at revision {current_revision(engine)}")
