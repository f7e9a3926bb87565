"""A loaded campaign: every field checked, every time resolved to an aware datetime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from promo.campaigns.recurrence import Repeat
from promo.posts import Media
from promo.store.approvals import Policy as Approval  # the rule as the ledger keeps it

OVERFLOW_POLICIES = ("reject", "truncate", "thread")   # for text that is too long
MEDIA_OVERFLOW = ("transcode",)                         # for a video the platform would refuse


@dataclass(frozen=True)
class Override:
    """What changes for one platform (or one account): skip it, other copy, no thread, an overflow policy."""

    skip: bool = False
    text: str | None = None                 # a template string replacing the kind's template
    thread: tuple[str, ...] | None = None   # None: the announcement's thread; (): no thread
    overflow: str | None = None             # reject (default), truncate or thread
    media: bool = True                      # False: post without the announcement's media
    line: int = 0
    transcode: bool = False                 # overflow: transcode: re-encode a video to fit (promo.campaigns.transcode)

    def merged_over(self, base: Override) -> Override:
        """This override on top of ``base`` (campaign defaults, then platform, then account)."""
        return Override(
            skip=self.skip or base.skip,
            text=self.text if self.text is not None else base.text,
            thread=self.thread if self.thread is not None else base.thread,
            overflow=self.overflow or base.overflow,
            media=self.media and base.media,
            line=self.line or base.line,
            transcode=self.transcode or base.transcode,
        )


@dataclass(frozen=True)
class Announcement:
    key: str
    kind: str
    fields: dict[str, Any]
    scheduled_at: datetime
    not_before: datetime | None = None
    max_lateness: timedelta | None = None
    media: tuple[Media, ...] = ()
    thread: tuple[str, ...] = ()
    overrides: Mapping[str, Override] = field(default_factory=dict)
    line: int = 0
    accounts: tuple[str, ...] = ()          # who it posts to: the campaign's, or its own list
    text: str | None = None                 # inline template for every platform
    lines: Mapping[str, int] = field(default_factory=dict)   # where text, thread items... are
    approval: Approval | None = None        # who must approve its posts (the campaign's, or its own)
    repeat: Repeat | None = None            # ``repeat:``: an RRULE from scheduled_at (promo.campaigns.recurrence)
    variants: tuple[Any, ...] = ()          # ``variants:``: texts (str) or field sets (dict) rotated per occurrence

    def override_for(self, platform: str, account: str) -> Override:
        """Platform override, then the account's on top of it."""
        base = self.overrides.get(platform, Override())
        own = self.overrides.get(account)
        return own.merged_over(base) if own is not None else base


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    timezone: str
    tz: ZoneInfo
    source: str
    digest: str
    fields: dict[str, Any]
    accounts: tuple[str, ...]
    announcements: tuple[Announcement, ...]
    approval: Approval | None = None        # the campaign's rule (each announcement holds its resolved one)

    def announcement(self, key: str) -> Announcement:
        for announcement in self.announcements:
            if announcement.key == key:
                return announcement
        raise KeyError(key)

    @property
    def schedule(self) -> dict[str, datetime]:
        """Each announcement's time, by key (templates see it as ``schedule``)."""
        return {a.key: a.scheduled_at for a in self.announcements}
