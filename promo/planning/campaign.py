"""Plan a campaign file: load it, render every post, check each against its platform's rules, then
diff the result against the ledger (``plan``). Used by ``promo apply`` and ``promo demo``.

A post that breaks a rule stops planning before the ledger is read: ``RulesBroken`` carries every
such post, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promo.campaigns import Campaign
from promo.campaigns.preview import RenderedPost, render_file
from promo.errors import PromoError
from promo.planning.plan import Plan, plan
from promo.posts import ScheduledPost

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from promo.accounts import Account

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
                       *, retime: Retime | None = None) -> Plan:
    """What applying the campaign file at ``path`` would do. Reads the ledger, writes nothing.

    Raises ``CampaignError`` / ``TemplateError`` for a bad file and ``RulesBroken`` when a post breaks
    a platform rule.
    """
    campaign, rendered = render_file(path, accounts, templates_dir)
    broken = [item for item in rendered if not item.ok]
    if broken:
        raise RulesBroken(path, broken, len(rendered))
    posts: list[ScheduledPost] = [item.scheduled for item in rendered]
    if retime is not None:
        campaign, posts = retime(campaign, posts)
    return plan(engine, campaign, posts)
