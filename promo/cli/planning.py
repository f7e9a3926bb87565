"""``promo apply``: plan a campaign file against the queue, show the plan, confirm, write it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.cli.display import report_broken, when
from promo.planning.apply import apply_plan
from promo.planning.campaign import RulesBroken, plan_campaign_file
from promo.planning.plan import ApplyResult, Plan, PlanEntry

_COLOUR = {"created": "green", "changed": "yellow", "cancelled": "red", "locked": "magenta"}


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
    try:
        plan = plan_campaign_file(app.engine, campaign, app.accounts, app.settings.templates_dir)
    except RulesBroken as broken:
        report_broken(broken)
        raise SystemExit(1) from None
    if as_json and (dry_run or not plan.writes):
        emit_json({**plan.to_dict(), "applied": False})
        return
    if not as_json:
        _print_plan(plan, dry_run)
    if dry_run or not plan.writes:
        return
    if not yes and not as_json and sys.stdin.isatty() and not click.confirm("Apply this plan?"):
        raise click.exceptions.Abort()
    result = apply_plan(app.engine, plan)
    if as_json:
        emit_json({**result.to_dict(), "applied": True})
    else:
        _print_result(plan, result)


def _print_plan(plan: Plan, dry_run: bool) -> None:
    _print_entries(plan.entries, plan)
    click.echo(plan.summary())
    if dry_run and plan.writes:
        click.echo("dry run: nothing written")
    elif not plan.writes:
        click.echo("nothing to apply")


def _print_result(plan: Plan, result: ApplyResult) -> None:
    """What was written; the posts that moved while applying (and so were not written) first."""
    raced = result.by_action("locked")
    if len(raced) > len(plan.by_action("locked")):
        _print_entries(tuple(e for e in raced if e.reason.startswith("not written")), plan)
    click.echo(f"applied: {result.summary()}")


def _print_entries(entries: tuple[PlanEntry, ...], plan: Plan) -> None:
    """One line per post that apply would touch (or could not), grouped by action."""
    tz = plan.zone
    for action in ("created", "changed", "cancelled", "locked"):
        for entry in (e for e in entries if e.action == action):
            label = click.style(f"{action:<9}", fg=_COLOUR[action])
            post = f"#{entry.post_id}" if entry.post_id else "new"
            what = "; ".join(entry.changes)
            if entry.reason:
                what = f"{what} ({entry.reason})" if what else entry.reason
            click.echo(f"{label} {post:>5}  {entry.announcement} -> {entry.account} at "
                       f"{when(entry.scheduled_at, tz)}" + (f": {what}" if what else ""))
