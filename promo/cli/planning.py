"""``promo apply``: plan a campaign file against the queue, show the plan, warn, confirm, write it."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.cli.display import report_broken, style, when
from promo.manage.accounts import credential_warnings
from promo.planning.apply import apply_plan
from promo.planning.campaign import RulesBroken, plan_campaign_file
from promo.planning.late_posts import late_warnings
from promo.planning.plan import ApplyResult, Plan, PlanEntry
from promo.times import utcnow

_COLOUR = {"created": "green", "changed": "yellow", "cancelled": "red", "locked": "magenta"}


@click.command()
@click.argument("campaign", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing (asked only on a terminal).")
@json_option
@pass_app
def apply(app: App, campaign: Path, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Plan a campaign file against the queue, then write the plan in one transaction.

    The plan lists new, changed (and what changed), cancelled (no longer in the file) and locked
    posts (already sent: an edit never re-queues them). Applying the same file twice changes nothing.
    Before writing, it warns (on stderr, and under "warnings" with --json) about posts already late
    and about accounts whose credentials are missing. TikTok and Reddit posts are checked against
    what 'promo accounts check' cached, shown as notes ("notes" with --json). Answering no exits 1.
    A new 'at: next-slot' post shows the slot apply would take now, "(next free slot)".

    \b
    Example:
        promo apply examples/jessica-jones-s3.yaml --dry-run
        promo apply examples/jessica-jones-s3.yaml
        promo apply examples/jessica-jones-s3.yaml --json --yes
    """
    try:
        plan = plan_campaign_file(app.engine, campaign, app.accounts, app.settings.templates_dir,
                                  horizon=timedelta(days=app.settings.recurrence_horizon_days))
    except RulesBroken as broken:
        report_broken(broken)
        raise SystemExit(1) from None
    warnings, notes = _warnings(app, plan, every_late_post=as_json), _notes(app, plan)
    if as_json and (dry_run or not plan.writes):
        emit_json({**plan.to_dict(), "applied": False, "warnings": warnings, "notes": notes})
        return
    asking = not (yes or as_json or dry_run) and plan.writes and interactive()
    if not as_json:
        _print_plan(plan, dry_run, show_summary=asking or dry_run or not plan.writes)
        _print_lines(notes, warnings)
    if dry_run or not plan.writes:
        return
    if asking and not click.confirm("Apply this plan?"):
        click.echo("nothing written", err=True)
        raise SystemExit(1)
    result = apply_plan(app.engine, plan)
    if as_json:
        emit_json({**result.to_dict(), "applied": True, "warnings": warnings, "notes": notes})
    else:
        _print_result(plan, result, asked=asking)


def interactive() -> bool:
    """Whether a person can answer the prompt (standard input is a terminal)."""
    return sys.stdin.isatty()


def _warnings(app: App, plan: Plan, *, every_late_post: bool) -> list[str]:
    """Posts the plan writes that are already late, and accounts it posts to that lack credentials.

    Late posts are grouped per announcement; a person reads the first few and a count, ``--json`` gets every group.
    """
    used = {e.account for e in plan.entries if e.action in ("created", "changed", "unchanged")}
    accounts = [app.accounts[name] for name in sorted(used) if name in app.accounts]
    late = late_warnings(plan, app.accounts, app.settings, utcnow(),
                         listed_by=None if every_late_post else "'promo preview --json'")
    return late + credential_warnings(accounts, app.engine)


def _print_lines(notes: list[str], warnings: list[str]) -> None:
    """Notes with the plan (stdout), then the warnings (stderr)."""
    for line in notes:
        click.echo(f"note: {line}")
    for line in warnings:
        click.echo(f"warning: {line}", err=True)


def _notes(app: App, plan: Plan) -> list[str]:
    """What TikTok and Reddit told 'promo accounts check' about the accounts the plan posts to (docs/accounts.md)."""
    from promo.planning.facts import cached_notes

    used = sorted({e.account for e in plan.entries if e.action in ("created", "changed", "unchanged")})
    return cached_notes(app.engine, [app.accounts[name] for name in used if name in app.accounts])


def _print_plan(plan: Plan, dry_run: bool, *, show_summary: bool) -> None:
    _print_entries(plan.entries, plan)
    if show_summary:
        click.echo(plan.summary())
    if dry_run and plan.writes:
        click.echo("dry run: nothing written")
    elif not plan.writes:
        click.echo("nothing to apply")


def _print_result(plan: Plan, result: ApplyResult, *, asked: bool) -> None:
    """What was written (the summary, unless the prompt just showed it); posts that moved meanwhile first."""
    raced = result.by_action("locked")
    if len(raced) > len(plan.by_action("locked")):
        _print_entries(tuple(e for e in raced if e.reason.startswith("not written")), plan)
    changed = result.summary() != plan.summary()
    click.echo(f"applied: {result.summary()}" if changed or not asked else "applied")
    waiting = sum(e.awaiting for e in result.entries if e.action in ("created", "changed"))
    if waiting:
        click.echo(f"{waiting} post(s) wait for approval: 'promo review' shows them, 'promo approve' releases them")


def _print_entries(entries: tuple[PlanEntry, ...], plan: Plan) -> None:
    """One line per post that apply would touch (or could not), grouped by action."""
    tz = plan.zone
    for action in ("created", "changed", "cancelled", "locked"):
        for entry in (e for e in entries if e.action == action):
            label = style(f"{action:<9}", _COLOUR[action])
            post = f"#{entry.post_id}" if entry.post_id else "new"
            what = "; ".join(entry.changes)
            if entry.reason:
                what = f"{what} ({entry.reason})" if what else entry.reason
            at = entry.when(lambda moment: when(moment, tz))
            if entry.slot_pending and entry.expected_at is not None:
                at += " (next free slot)"  # apply picks it again under the slot lock
            click.echo(f"{label} {post:>5}  {entry.announcement} -> {entry.account} at {at}"
                       + (f": {what}" if what else ""))
