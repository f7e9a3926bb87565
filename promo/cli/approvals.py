"""``promo review``, ``approve`` and ``reject``: the people who sign off on a campaign's posts.

Thin: each command names its target (a campaign, one announcement of it, or ``--post ID``), the
approver (``--as``, else ``PROMO_USER``, else git's ``user.email``), calls one function of
``promo.manage.approvals`` (which owns its transaction) and prints the answer, or JSON with
``--json``. ``approval_lines`` draws a post's decisions for ``promo show``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import NAME, POST_ID, REASON, App, emit_json, json_option, pass_app
from promo.cli.display import style, when

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from promo.manage.approvals import Outcome, Target, Waiting
    from promo.manage.views import EventView

DECISIONS = ("approved", "rejected")


def _target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--note", "-m", type=REASON, default="", help="Why: kept with the decision and shown.")(func)
    func = click.option("--as", "approver", metavar="EMAIL", help="Who decides (default: PROMO_USER, then git's "
                        "user.email). Must be on the approval's list of approvers.")(func)
    func = click.option("--post", "post_id", type=POST_ID, metavar="ID", help="Only this post.")(func)
    func = click.argument("announcement", type=NAME, required=False)(func)
    return click.argument("campaign", type=NAME, required=False)(func)


def _target(campaign: str | None, announcement: str | None, post_id: int | None) -> Target:
    from promo.manage.approvals import Target

    if campaign is None and post_id is None:
        raise click.UsageError("name a CAMPAIGN (and maybe one ANNOUNCEMENT of it), or --post ID")
    if announcement is not None and post_id is not None:
        raise click.UsageError("give either an ANNOUNCEMENT or --post ID, not both")
    return Target(campaign, announcement, post_id)


@click.command()
@_target_options
@json_option
@pass_app
def approve(app: App, campaign: str | None, announcement: str | None, post_id: int | None, approver: str | None,
            note: str, as_json: bool) -> None:
    """Approve the posts waiting for approval in a campaign, one announcement, or one post.

    The approval binds to each post's exact payload: an edit that changes the text, media or link
    (or, with on_time_change, the time) needs approving again. Once enough different approvers
    approved a post (the approval's min), it is scheduled and goes out on time. Someone not on the
    list of approvers is refused and nothing is written.

    \b
    Example:
        promo approve jessica-jones-s3
        promo approve jessica-jones-s3 premiere --as alice@studio.com --note "legal ok"
        promo approve --post 12 --json
    """
    from promo.manage.approvals import approve as approve_posts
    from promo.manage.approvals import resolve_approver

    target = _target(campaign, announcement, post_id)
    who = resolve_approver(approver)
    outcomes = approve_posts(app.engine, target, who, note=note)
    _report(outcomes, target, who, "approved", as_json)


@click.command()
@_target_options
@json_option
@pass_app
def reject(app: App, campaign: str | None, announcement: str | None, post_id: int | None, approver: str | None,
           note: str, as_json: bool) -> None:
    """Reject the unsent posts of a campaign, one announcement, or one post: they wait for approval.

    A rejected post stays in (or, if it was already approved, goes back to) awaiting_approval,
    with the rejection as its reason, until the same person approves it or an edit changes its
    payload. Someone not on the list of approvers is refused and nothing is written.

    \b
    Example:
        promo reject jessica-jones-s3 premiere --note "embargo moved: hold the date"
        promo reject --post 12 --as bob@studio.com --note "wrong link"
    """
    from promo.manage.approvals import reject as reject_posts
    from promo.manage.approvals import resolve_approver

    target = _target(campaign, announcement, post_id)
    who = resolve_approver(approver)
    outcomes = reject_posts(app.engine, target, who, note=note)
    _report(outcomes, target, who, "rejected", as_json)


def _report(outcomes: Sequence[Outcome], target: Target, who: str, verb: str, as_json: bool) -> None:
    if as_json:
        emit_json({"approver": who, "decision": verb, "posts": [o.to_dict() for o in outcomes]})
        return
    if not outcomes and verb == "approved":
        click.echo(f"nothing waits for approval in {target.describe()} ('promo review' lists what does)")
    elif not outcomes:
        click.echo(f"no unsent post under an approval rule in {target.describe()}: nothing rejected")
    for outcome in outcomes:
        click.echo(_outcome_line(outcome, who, verb))


def _outcome_line(outcome: Outcome, who: str, verb: str) -> str:
    where = f"{outcome.announcement or 'ad hoc'} for {outcome.account}"
    done = f"already {verb} by {who}" if outcome.already else f"{verb} by {who}"
    count = f"{len(outcome.approved)} of {outcome.needed} approvals"
    if outcome.status == "scheduled":
        return f"post {outcome.post_id} ({where}): {done}; {count}: {style('scheduled', 'green')}"
    return f"post {outcome.post_id} ({where}): {done}; {count}: {style(outcome.status, 'magenta')}"


@click.command()
@click.option("--campaign", "-c", type=NAME, help="Only this campaign (its id).")
@json_option
@pass_app
def review(app: App, campaign: str | None, as_json: bool) -> None:
    """Show the posts waiting for approval: each one's text, who approved it so far, who must, and
    what changed since the payload it last had approved (a diff).

    \b
    Example:
        promo review
        promo review --campaign jessica-jones-s3
        promo review --json | jq '.[] | {post_id, diff}'
    """
    from promo.manage.approvals import review as waiting_posts

    waiting = waiting_posts(app.engine, campaign)
    if as_json:
        emit_json([item.to_dict() for item in waiting])
        return
    if not waiting:
        click.echo("nothing waits for approval" + (f" in campaign {campaign}" if campaign else ""))
        return
    for number, item in enumerate(waiting):
        if number:
            click.echo("")
        for line in _waiting_lines(item):
            click.echo(line)
    click.echo(f"\n{len(waiting)} post(s) wait: 'promo approve CAMPAIGN [ANNOUNCEMENT]' or 'promo approve --post ID'")


def _waiting_lines(item: Waiting) -> list[str]:
    where = f"{item.campaign} / {item.announcement}" if item.campaign else "ad hoc"
    lines = [f"post {item.post_id}  {where}  {item.account} ({item.platform})  {when(item.scheduled_at, item.zone)}",
             f"  needs {item.rule}; approved so far by {', '.join(item.approved) or 'nobody'}"]
    lines += [f"  rejected by {d.approver}" + (f": {d.note}" if d.note else "") for d in item.rejected]
    if not item.diff:
        last = item.last_approved
        lines.append("  never approved:" if last is None else f"  unchanged since {last.approver} approved it:")
        lines += [f"    {line}" for line in item.text.splitlines()]
        return lines
    lines.append("  changed since it was last approved:")
    colours = {"+": "green", "-": "red", "@": "cyan"}
    for line in item.diff:
        colour = None if line.startswith(("+++", "---")) else colours.get(line[:1])
        lines.append(f"    {style(line, colour) if colour else line}")
    return lines


def approval_lines(events: Sequence[EventView], tz: ZoneInfo) -> list[str]:
    """A post's approvals and rejections, oldest first, for ``promo show``."""
    lines = []
    for event in events:
        if event.action not in DECISIONS:
            continue
        detail = event.detail
        note = f": {detail['note']}" if detail.get("note") else ""
        counted = f" ({len(detail.get('approved_by') or ())} of {detail['needed']})" if (
            event.action == "approved" and detail.get("needed")) else ""
        payload = str(detail.get("digest", ""))[:12]
        lines.append(f"{when(event.at, tz)}  {event.action} by {detail.get('approver', event.actor)}{counted}"
                     f"{note} (payload {payload})")
    return lines
