"""Plan a campaign file: load it, render every post, check each against its platform's rules, then
diff the result against the ledger (``plan``). Used by ``promo apply`` and ``promo demo``.

A post that breaks a rule stops planning before the plan is made: ``RulesBroken`` carries every
such post, and nothing is written. The only ledger read before that is ``planned_quota``: what other
campaigns' YouTube posts will spend of a project's daily quota, added to this campaign's own need,
and the TikTok creator_info and subreddit rules ``promo accounts check`` cached (``promo.planning.facts``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promo.campaigns import Campaign, load_campaign
from promo.campaigns.preview import RenderedPost, render_campaign
from promo.campaigns.recurrence import expand, split_key
from promo.errors import PromoError
from promo.planning.facts import check_cached
from promo.planning.plan import Keep, Plan, plan
from promo.planning.slots import slot_queues
from promo.posts import Post, ScheduledPost
from promo.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from promo.accounts import Account

DEFAULT_HORIZON = timedelta(days=30)  # the recurrence_horizon_days setting's default
# Moves a campaign's posts in time before planning (``promo demo`` starts them a few seconds from now).
Retime = Callable[[Campaign, Sequence[ScheduledPost]], tuple[Campaign, list[ScheduledPost]]]


class RulesBroken(PromoError):
    """Some posts of a campaign file break a platform rule (``.broken``); nothing was written."""

    exit_code = 1

    def __init__(self, path: Path, broken: Sequence[RenderedPost], total: int) -> None:
        self.path, self.broken, self.total = path, list(broken), total
        super().__init__(f"{path}: {len(self.broken)} of {total} posts break a platform rule; "
                         "nothing was written")


def plan_campaign_file(engine: Engine, path: Path, accounts: Mapping[str, Account], templates_dir: Path,
                       *, retime: Retime | None = None, now: datetime | None = None,
                       horizon: timedelta = DEFAULT_HORIZON) -> Plan:
    """What applying the campaign file at ``path`` would do. Reads the ledger, writes nothing.

    A recurring announcement (``repeat:``) contributes its occurrences from ``now`` to ``now + horizon``
    (``materialise``). Raises ``CampaignError`` / ``TemplateError`` for a bad file and ``RulesBroken``
    when a post breaks a platform rule.
    """
    campaign, keep = materialise(load_campaign(path, accounts, templates_dir), now or utcnow(), horizon)
    planned = planned_quota(engine, campaign.id, accounts)
    rendered = check_cached(engine, render_campaign(campaign, accounts, templates_dir, planned=planned), accounts)
    broken = [item for item in rendered if not item.ok]
    if broken:
        raise RulesBroken(path, broken, len(rendered))
    posts: list[ScheduledPost] = [item.scheduled for item in rendered]
    queues = slot_queues(campaign, accounts)  # before any write: an account without slots stops here
    if retime is not None:
        campaign, posts = retime(campaign, posts)
    return plan(engine, campaign, posts, keep=keep, slots=queues)


def materialise(campaign: Campaign, now: datetime, horizon: timedelta) -> tuple[Campaign, Keep | None]:
    """The campaign with each recurring announcement's occurrences in ``[now, now + horizon]``, and which
    ledger rows outside that window plan must leave alone: occurrences of a rule still in the file that
    are past (published, or left to the late-post policy) or beyond the horizon. A rule edited or removed
    re-plans only what is inside the window; removing the announcement or its ``repeat:`` cancels every
    unsent occurrence."""
    recurring = {a.key for a in campaign.announcements if a.repeat is not None}
    if not recurring:
        return campaign, None
    end = now + horizon

    def keep(key: str, _at: datetime) -> bool:
        base, moment = split_key(key)  # the occurrence's own time (a YouTube upload may be earlier)
        return moment is not None and base in recurring and not now <= moment <= end

    return expand(campaign, now, horizon), keep


def planned_quota(engine: Engine, campaign_id: str, accounts: Mapping[str, Account]) -> dict[tuple[str, date], int]:
    """YouTube quota units other campaigns' (and ad hoc) posts still to go will spend, by project and Pacific
    day (``promo.rules.youtube``): what a campaign's own need is added to."""
    from promo.platforms.registry import rules_for
    from promo.rules.youtube import pacific_day
    from promo.store.quota import pending_posts

    found: dict[tuple[str, date], int] = {}
    for name, payload, due_at in pending_posts(engine, "youtube", campaign_id):
        account = accounts.get(name)
        if account is None or account.platform != "youtube":
            continue
        rules: Any = rules_for("youtube", account.options)
        key = (rules.project, pacific_day(due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)))
        found[key] = found.get(key, 0) + rules.units(Post.from_payload("youtube", name, payload))
    return found
