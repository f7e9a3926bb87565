"""``promo queue``, ``show``, ``cancel``, ``reschedule`` and ``post``: the queue as people handle it.

Thin: each command parses its arguments, calls one function of ``promo.manage.posts`` (reads go
through ``app.reads``, without SQLAlchemy on a current SQLite store) and prints the answer. A time
a person types is read in the zone of what it is about (the post's campaign, or
an ad hoc post's account) and echoed back with that zone's offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

import click

from promo.cli.common import (
    NAME,
    POST_TEXT,
    TIME,
    App,
    allow_past_option,
    console,
    emit_json,
    json_option,
    pass_app,
    post_id_argument,
)
from promo.cli.display import history_lines, table, when
from promo.manage.views import PostDetail, PostView, QueuePage
from promo.store import states

MAX_LIMIT = 100_000


@click.command()
@click.option("--status", "-s", type=click.Choice(states.ALL), multiple=True, help="Only these states.")
@click.option("--campaign", "-c", type=NAME, help="Only this campaign (its id).")
@click.option("--account", "-a", type=NAME, help="Only this account.")
@click.option("--all", "show_all", is_flag=True, help="Also the history: published, failed, unknown, cancelled.")
@click.option("--limit", "-n", type=click.IntRange(1, MAX_LIMIT), default=200, show_default=True,
              help="At most this many posts (upcoming ones first).")
@json_option
@pass_app
def queue(app: App, status: tuple[str, ...], campaign: str | None, account: str | None, show_all: bool,
          limit: int, as_json: bool) -> None:
    """List upcoming posts, soonest first, each time in its campaign's zone (with its offset).

    Upcoming means awaiting approval, scheduled, queued, publishing, paused or held; --all adds the
    history (newest first), --status picks states.

    \b
    Example:
        promo queue
        promo queue --all --campaign jessica-jones-s3
        promo queue --status failed --status unknown --json
    """
    page = app.reads.queue(status=status or None, campaign=campaign, account=account, history=show_all,
                           limit=limit)
    zones = _zones(app, page.posts)
    if as_json:
        emit_json([p.to_dict(zones[p.id]) for p in page.posts])
        return
    if not page.posts:
        click.echo("no posts" if show_all or status else "no upcoming posts ('promo queue --all' shows history)")
        return
    _print_posts(page, zones)


def _zones(app: App, posts: list[PostView]) -> dict[int, ZoneInfo]:
    """Each post's zone: its campaign's, else (ad hoc) its account's, else the configured one."""
    zones = app.reads.campaign_zones({p.campaign for p in posts})
    return {p.id: zones.get(p.campaign or "") or app.named_account_zone(p.account) for p in posts}


def _print_posts(page: QueuePage, zones: Mapping[int, ZoneInfo]) -> None:
    """The table: the campaign column only when the posts come from more than one campaign."""
    several = len({p.campaign for p in page.posts}) > 1
    headers = ("id", "status", "due", "account", *(("campaign",) if several else ()), "announcement", "text")
    rows = [(str(p.id), p.status, when(p.due_at, zones[p.id]), p.account,
             *((p.campaign or "-",) if several else ()), p.announcement or "(ad hoc)", p.text)
            for p in page.posts]
    for line in table(console(), headers, rows, flexible=("campaign", "text")):
        click.echo(line)
    if page.total > len(page.posts):
        click.echo(f"{len(page.posts)} of {page.total} shown; --limit {min(page.total, MAX_LIMIT)} shows them all")


@click.command()
@post_id_argument
@json_option
@pass_app
def show(app: App, post_id: int, as_json: bool) -> None:
    """Show one post: its exact text and media, state, attempts, reason, URL, approvals and event history.

    \b
    Example:
        promo show 12
        promo show 12 --json
    """
    detail = app.reads.post(post_id)
    tz = _zones(app, [detail.view])[detail.view.id]
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
    from promo.cli.approvals import approval_lines

    decided = approval_lines(detail.events, tz)
    if decided:
        click.echo("\napprovals:\n" + "\n".join(f"  {line}" for line in decided))
    for number, part in enumerate(detail.post.parts):
        click.echo(f"\n{'text' if number == 0 else f'reply {number}'}:\n{part.text}")
        for media in part.media:
            click.echo(f"  media: {media.path}" + (f" (alt: {media.alt})" if media.alt else ""))
    click.echo("\nhistory:")
    for line in history_lines(detail.events, tz, view.reason):
        click.echo(f"  {line}")


@click.command()
@post_id_argument
@json_option
@pass_app
def cancel(app: App, post_id: int, as_json: bool) -> None:
    """Cancel a post that has not been sent (scheduled, queued, paused, held or failed).

    \b
    Example:
        promo cancel 12
    """
    from promo.manage.posts import cancel as cancel_post  # writes: SQLAlchemy

    view = cancel_post(app.engine, post_id, actor="cli")
    if as_json:
        emit_json(view.to_dict(_zones(app, [view])[view.id]))
        return
    click.echo(f"post {view.id} cancelled ({view.account}, {view.announcement or 'ad hoc'})")


@click.command()
@post_id_argument
@click.option("--at", "at", required=True, type=TIME,
              help="New time: ISO 8601 (without an offset, read in the post's campaign zone), now+2h, +15m.")
@allow_past_option
@json_option
@pass_app
def reschedule(app: App, post_id: int, at: str, allow_past: bool, as_json: bool) -> None:
    """Move a post that has not been sent to a new time. Its embargo (not_before) still holds.

    A time without an offset is read in the zone of the post's campaign (an ad hoc post: its
    account's zone, else the configured one). A time in the past needs --allow-past.

    \b
    Example:
        promo reschedule 12 --at now+2h
        promo reschedule 12 --at "2031-06-21 00:01"
    """
    from promo.manage.posts import post_zone
    from promo.manage.posts import reschedule as move_post

    tz = post_zone(app.engine, post_id, app.named_account_zone)
    view = move_post(app.engine, post_id, app.moment(at, tz, allow_past=allow_past), actor="cli")
    if as_json:
        emit_json(view.to_dict(tz))
        return
    click.echo(f"post {view.id} {view.status} for {when(view.scheduled_at, tz)} ({tz.key})")


@click.command()
@click.argument("text", type=POST_TEXT)
@click.option("--account", "-a", "account_name", required=True, type=NAME, help="Account name from promo.toml.")
@click.option("--at", "at", default=None, type=TIME,
              help="When: ISO 8601 (without an offset, read in the account's zone), now+2h, +15m. [default: now]")
@click.option("--next-slot", is_flag=True,
              help="Take the account's next free slot (slots in promo.toml; see docs/slots.md) instead of --at.")
@allow_past_option
@json_option
@pass_app
def post(app: App, text: str, account_name: str, at: str | None, next_slot: bool, allow_past: bool,
         as_json: bool) -> None:
    """Queue an ad hoc post for one account, checked against its platform's rules first.

    A time without an offset is read in the account's zone (``timezone`` in promo.toml), else the
    configured one. A time in the past needs --allow-past. --next-slot takes the account's first
    slot at least a minute from now that no post (other than a cancelled or failed one) holds.

    \b
    Example:
        promo post -a jj-x --at now+15m "Tonight: Jessica Jones season 3"
        promo post --account jj-mastodon --at "2031-06-14 09:00" "Season 4 is out now"
        promo post --account jj-mastodon --next-slot "Stream Jessica Jones season 3 now"
    """
    if next_slot and at is not None:
        raise click.UsageError("--next-slot and --at exclude each other; give one")
    account = app.account(account_name)
    tz = app.account_zone(account)
    if next_slot:
        from promo.manage.slots import post_in_next_slot

        view = post_in_next_slot(app.engine, account, text, tz, actor="cli")
    else:
        from promo.manage.posts import create_adhoc

        view = create_adhoc(app.engine, account, text, app.moment(at or "now", tz, allow_past=allow_past),
                            actor="cli")
    if as_json:
        emit_json(view.to_dict(tz))
        return
    slot = " (next free slot)" if next_slot else ""
    click.echo(f"post {view.id} scheduled for {view.account} at {when(view.scheduled_at, tz)}{slot} ({tz.key})")
