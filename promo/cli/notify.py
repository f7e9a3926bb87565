"""``promo notify list`` and ``promo notify retry``: the lifecycle notifications and their deliveries.

Thin: each calls one function of ``promo.manage.notify`` and prints the answer, or JSON with ``--json``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.cli.display import style

if TYPE_CHECKING:
    from promo.manage.notify import Delivery, NotificationView

STATUSES = ("pending", "delivered", "failed")
COLOURS = {"pending": "yellow", "delivered": "green", "failed": "red"}


@click.group()
def notify() -> None:
    """Signed webhooks for post and campaign events ([notify.NAME] in promo.toml): list and replay.

    The beat derives notifications from the ledger's events and delivers them with retries; a
    failed one stays listed until 'promo notify retry' sends it again (docs/notifications.md).

    \b
    Example:
        promo notify list --failed
        promo notify retry --failed
    """


@notify.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only notifications in this state.")
@click.option("--failed", is_flag=True, help="Only failed ones (same as --status failed).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Newest this many.")
@json_option
@pass_app
def list_command(app: App, status: str | None, failed: bool, limit: int, as_json: bool) -> None:
    """List notifications, newest first: type, webhook, state, attempts, last answer, next attempt.

    \b
    Example:
        promo notify list
        promo notify list --failed --json
    """
    from promo.manage.notify import list_notifications

    rows = list_notifications(app.engine, status="failed" if failed else status, limit=limit)
    if as_json:
        emit_json([row.to_dict() for row in rows])
        return
    if not rows:
        click.echo("no notifications (add a [notify.NAME] table to promo.toml: docs/notifications.md)")
    for row in rows:
        click.echo(_line(row))


def _line(row: NotificationView) -> str:
    answer = row.last_error or (f"HTTP {row.last_status_code}" if row.last_status_code else "")
    post = row.payload.get("data", {}).get("post_id")
    about = f"post {post}" if post is not None else str(row.payload.get("data", {}).get("campaign", ""))
    then = f"  next {row.next_attempt_at}" if row.status == "pending" and row.next_attempt_at else ""
    hint = f"  ('promo notify retry {row.id}')" if row.status == "failed" else ""
    return (f"{row.id:>5}  {row.type:<24} {row.subscription:<14} {about:<12} "
            f"{style(row.status, COLOURS.get(row.status, 'white')):<9} {row.attempts} tries  {answer}{then}{hint}")


@notify.command()
@click.argument("ids", metavar="[ID]...", nargs=-1, type=click.IntRange(1, 2**63 - 1))
@click.option("--failed", "all_failed", is_flag=True, help="Every failed notification.")
@json_option
@pass_app
def retry(app: App, ids: tuple[int, ...], all_failed: bool, as_json: bool) -> None:
    """Send failed notifications again now, with their original webhook-id; exits 1 if one fails again.

    One that fails again goes back to the beat, which retries it with backoff.

    \b
    Example:
        promo notify retry 42
        promo notify retry --failed --json
    """
    from promo.manage.notify import retry_notifications

    if bool(ids) == all_failed:
        raise click.UsageError("name notification IDs, or --failed for all failed ones")
    done = retry_notifications(app.engine, app.settings.config_file, None if all_failed else list(ids))
    if as_json:
        emit_json([result.to_dict() for result in done])
    elif not done:
        click.echo("no failed notification to send again")
    for result in [] if as_json else done:
        click.echo(_result_line(result))
    if any(result.status != "delivered" for result in done):
        sys.exit(1)


def _result_line(result: Delivery) -> str:
    if result.status == "delivered":
        return f"notification {result.notification_id} ({result.type} to {result.subscription}): delivered"
    return (f"notification {result.notification_id} ({result.type} to {result.subscription}): "
            f"{style(result.status, COLOURS.get(result.status, 'white'))}: {result.error}")
