"""The posts of a ``promo preview`` whose time has already passed: what ``promo apply`` would warn about.

They are said with apply's own lines (``promo.planning.late_posts``), grouped per announcement and fate:
``note:`` lines on stderr (at most ``SHOWN``, then one counting the rest), ``late`` on each post with
``--json`` (its own one-post line), an "Already past" section in the markdown document (every group).
Like the cached facts (``preview_facts``) it only adds to the live output: it never changes the exit code
(a campaign being written for next week is fine; apply decides what a late post becomes), and snapshots are
written from the rendered posts, so a lock never depends on the clock.

A recurring announcement's occurrences that have passed are left out: apply only writes occurrences
from now on (``planning.campaign.materialise``), so it would never warn about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from promo.campaigns.recurrence import split_key
from promo.planning.late_posts import LatePost, late_lines, late_post
from promo.times import utcnow

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from promo.accounts import Account
    from promo.campaigns.preview import RenderedPost
    from promo.campaigns.review import Review
    from promo.settings import Settings


@dataclass(frozen=True)
class PreviewLate:
    """For each post of a preview, in its order, how late it is already (None: not late, or never written late)."""

    tz: ZoneInfo                            # the campaign's zone: times are shown in it, with their offset
    late: tuple[LatePost | None, ...]

    def notes(self) -> list[str]:
        """The posts already past, grouped and worded as ``promo apply`` warns; the rest counted past a few."""
        return late_lines(self._past(), self.tz, listed_by="--json")

    def entries(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``promo preview --json``'s ``posts`` (same order), each post already past with its ``late`` field."""
        return [{**entry, "late": item.to_dict(self.tz)} if item is not None else entry
                for entry, item in zip(posts, self.late, strict=True)]

    def markdown(self) -> str:
        """A section for the review document (empty when no post is past)."""
        from promo.campaigns.review import escape

        lines = late_lines(self._past(), self.tz, listed_by=None)
        if not lines:
            return ""
        return "\n## Already past\n\n" + "".join(f"- {escape(line)}\n" for line in lines)

    def _past(self) -> list[LatePost]:
        return [item for item in self.late if item is not None]


def preview_late(review: Review, accounts: Mapping[str, Account], settings: Settings,
                 now: datetime | None = None) -> PreviewLate:
    """Which posts of ``review`` are due before ``now``, and whether apply would hold or send each."""
    moment = now or utcnow()
    return PreviewLate(review.tz, tuple(_late(item, accounts, settings, moment) for item in review.posts))


def _late(item: RenderedPost, accounts: Mapping[str, Account], settings: Settings, now: datetime) -> LatePost | None:
    scheduled = item.scheduled
    if split_key(scheduled.announcement or "")[1] is not None:  # an occurrence: apply writes none that is past
        return None
    return late_post(scheduled, accounts.get(scheduled.post.account), settings, now)
