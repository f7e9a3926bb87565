"""Running the engine day to day: ``promo status``, ``pause``, ``resume``, ``retry`` and ``resolve``.

Each command parses its arguments, calls one library function (``promo.manage.status``,
``promo.manage.pauses``, ``promo.manage.attention``), which owns its transaction, and prints the
answer (or JSON with ``--json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from promo.cli.common import NAME, REASON, App, emit_json, json_option, pass_app, post_id_argument
from promo.cli.display import shown_at, style, when
from promo.manage.views import NO_BEAT_STEP, NO_WORKER_STEP
from promo.store.pauses import Scope

if TYPE_CHECKING:  # the library calls load SQLAlchemy: imported in the commands that write
    from zoneinfo import ZoneInfo

    from promo.manage.views import Status


@click.command()
@click.option("--ping", is_flag=True, help="Also ask the workers over the broker (Celery's ping, 1 s).")
@json_option
@pass_app
def status(app: App, ping: bool, as_json: bool) -> None:
    """Broker and database health, live workers and beats, last dispatch, counts by state, posts needing attention.

    Times are in the configured zone (PROMO_TIMEZONE), with their offset. A worker or beat is alive
    while its last heartbeat is within three of its intervals (PROMO_HEARTBEAT_INTERVAL). Exit code
    0 when healthy and nothing needs a person, 1 when something needs attention, 3 when posts are
    waiting to go out and no worker (or no beat) is alive, 4 when the broker or database cannot be
    reached.

    \b
    Example:
        promo status
        promo status --ping
        promo status --json | jq '.workers[] | select(.alive) | .name'
    """
    report = _status_report(app)
    answered = _ping(app) if ping else None
    if as_json:
        emit_json(report.to_dict() | ({"ping": answered} if ping else {}))
    else:
        _print_status(report, app.zone)
        if answered is not None:
            click.echo(f"ping      {', '.join(answered) if answered else 'no worker answered'}")
    if not report.healthy:
        raise SystemExit(4)
    if report.no_worker or report.no_beat:
        raise SystemExit(3)
    if report.attention or report.accounts:
        raise SystemExit(1)


def _status_report(app: App) -> Status:
    """On a current SQLite store, read with sqlite3 (no SQLAlchemy); else through SQLAlchemy."""
    if app.peek is not None and app.sqlite_reads is not None:
        from promo.manage.reads import file_status

        return file_status(app.peek.broker, app.sqlite_reads, app.zone)
    from promo.manage.status import engine_status

    return engine_status(app.settings)


def _ping(app: App) -> list[str]:
    """The workers answering Celery's ping (Redis; the embedded broker carries no broadcast)."""
    if app.settings.broker.startswith("sqla+"):
        raise click.UsageError("--ping needs a Redis broker (PROMO_BROKER_URL); the embedded broker has no "
                               "broadcast: the heartbeats above are the answer")
    from workers.app import create_app
    from workers.heartbeat import ping

    try:
        return ping(create_app(app.settings), timeout=1.0)
    except Exception as exc:  # the broker being down is already reported above
        return [f"(no answer: {type(exc).__name__})"]


def _print_status(report: Status, tz: ZoneInfo) -> None:
    mark = {True: style("ok", "green"), False: style("unreachable", "red")}
    click.echo(f"broker    {mark[report.broker_ok]}  {report.broker}  {report.broker_error or ''}".rstrip())
    click.echo(f"database  {mark[report.database_ok]}  {report.database_error or ''}".rstrip())
    for line in _process_lines(report, tz):
        click.echo(line)
    last = [f"last {what} {shown_at(value, tz) if value else 'never'}"
            for what, value in (("dispatch", report.last_dispatch), ("sweep", report.last_sweep))]
    click.echo(", ".join(last))
    click.echo("  ".join(f"{state} {count}" for state, count in report.counts.items() if count) or "no posts")
    for hold in report.holds:
        click.echo(f"paused: {hold} ('promo resume' releases it)")
    for account in report.accounts:
        click.echo(_account_line(account, tz))
    if report.attention:
        click.echo(style(f"needs attention ({len(report.attention)}):", "yellow"))
    for post in report.attention:
        click.echo("  " + _attention_line(post, tz))


def _process_lines(report: Status, tz: ZoneInfo) -> list[str]:
    """``workers   2 alive: promo-12@a (pid 12, 4 processes, seen 14:05:01 -07:00)``; then the lost ones."""
    lines = []
    for title, rows in (("workers", report.workers), ("beats", report.beats)):
        live = [row for row in rows if row["alive"]]
        shown = ", ".join(_process(row, tz) for row in live)
        lines.append(f"{title:<9} {len(live)} alive{': ' + shown if shown else ''}")
    for index, (gone, step) in enumerate(((report.no_worker, NO_WORKER_STEP), (report.no_beat, NO_BEAT_STEP))):
        if gone:
            lines[index] += " " + style(f"while {report.waiting} post(s) wait to go out: {step}", "red")
    for row in report.workers + report.beats:
        if not row["alive"]:
            lines.append(f"  lost: {row['kind']} {row['name'] or row['hostname']} (pid {row['pid']}), last seen "
                         f"{shown_at(row['last_seen'], tz)}: killed or hung, it did not stop cleanly")
    return lines


def _process(row: dict[str, Any], tz: ZoneInfo) -> str:
    size = f", {row['concurrency']} processes" if row["concurrency"] else ""
    return f"{row['name'] or row['hostname']} (pid {row['pid']}{size}, seen {shown_at(row['last_seen'], tz)})"


def _account_line(account: dict[str, Any], tz: ZoneInfo) -> str:
    """``account jj-x: blocked until 14:05 -07:00 (rate limited by x); flagged: x refused the credentials...``."""
    parts = []
    if account["blocked_until"]:
        parts.append(f"blocked until {shown_at(account['blocked_until'], tz)} ({account['blocked_reason']}, "
                     f"ends by itself)")
    if account["flagged_reason"]:
        parts.append(f"flagged: {account['flagged_reason']}")
    return f"account {account['account']}: {'; '.join(parts)}"


def _attention_line(post: dict[str, Any], tz: ZoneInfo) -> str:
    """``#12 failed  jj-x  2027-06-14 00:01 -07:00  <reason> (next: ...)``: one line, nothing cut."""
    reason = post["reason"] or "no reason recorded"
    next_step = "" if "promo " in reason else f" (next: {post['next_step']})"
    when_due = shown_at(post["scheduled_at"], tz)
    return f"#{post['id']} {post['status']}  {post['account']}  {when_due}  {reason}{next_step}"


def _scope_options(func: Any) -> Any:
    func = click.option("--account", type=NAME, help="Only this account's posts.")(func)
    return click.option("--campaign", type=NAME, help="Only this campaign's posts.")(func)


@click.command()
@_scope_options
@click.option("--reason", default="", type=REASON, help="Why, for the event log.")
@json_option
@pass_app
def pause(app: App, campaign: str | None, account: str | None, reason: str, as_json: bool) -> None:
    """Hold posts (all, one campaign or one account) without failing them.

    The campaign must be in the store and the account in promo.toml; nothing is written otherwise.

    \b
    Example:
        promo pause --campaign jessica-jones-s3 --reason "breaking news"
        promo pause
    """
    scope = Scope.of(campaign, account)
    from promo.manage.pauses import pause as pause_posts

    count = pause_posts(app.engine, scope, reason=reason, accounts=set(app.accounts))
    if as_json:
        emit_json({"paused": scope.describe(), "scope": scope.kind, "value": scope.value, "posts": count})
        return
    click.echo(f"paused {scope.describe()}: {count} post(s) held; 'promo resume' releases them")


@click.command()
@_scope_options
@json_option
@pass_app
def resume(app: App, campaign: str | None, account: str | None, as_json: bool) -> None:
    """Release paused posts. Without options, every pause is lifted.

    Posts too late for their message by now are held for a person instead of being sent.

    \b
    Example:
        promo resume --campaign jessica-jones-s3
        promo resume
    """
    scope = Scope.of(campaign, account) if (campaign or account) else None
    from promo.manage.pauses import resume as resume_posts

    count = resume_posts(app.engine, scope)
    what = scope.describe() if scope else "every pause"
    if as_json:
        emit_json({"resumed": what, "posts": count})
        return
    click.echo(f"resumed {what}: {count} post(s) released")


@click.command()
@post_id_argument
@json_option
@pass_app
def retry(app: App, post_id: int, as_json: bool) -> None:
    """Send a failed (or held) post again, now.

    \b
    Example:
        promo retry 42
    """
    from promo.manage.attention import retry as retry_post

    view = retry_post(app.engine, post_id)
    if as_json:
        emit_json(view.to_dict(app.zone))
        return
    click.echo(f"post {post_id} scheduled to go out now ({when(view.due_at, app.zone)})")


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000 or not value.isprintable():
        raise click.BadParameter(f"{value[:60]!r} is not an http(s) URL (the post's address on the platform)")
    return value


@click.command()
@post_id_argument
@click.option("--published", "url", metavar="URL", callback=_url, help="It is on the platform, here.")
@click.option("--not-published", "not_published", is_flag=True, help="It is not there: send it again.")
@json_option
@pass_app
def resolve(app: App, post_id: int, url: str | None, not_published: bool, as_json: bool) -> None:
    """Settle an unknown post after checking the platform: published (with its URL) or not.

    \b
    Example:
        promo resolve 42 --published https://mastodon.social/@studio/1131
        promo resolve 42 --not-published
    """
    if bool(url) == not_published:
        raise click.UsageError("give exactly one of --published URL or --not-published")
    from promo.manage.attention import resolve as resolve_post

    target = resolve_post(app.engine, post_id, published_url=url)
    if as_json:
        emit_json({"id": post_id, "status": target, "url": url})
        return
    click.echo(f"post {post_id} is now {target}")
