"""Preview: render every post of a campaign for every account and check it with the platform's rules.

Nothing is written and no credential is read: the result is exactly what apply would queue.
``render_campaign`` returns one ``RenderedPost`` per announcement and account (skipped platforms
produce none); ``preview_file`` loads a campaign file and renders it (``promo preview``); the CLI
draws the result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promo.campaigns import Announcement, Campaign, Override, load_campaign
from promo.campaigns.recurrence import PREVIEW_OCCURRENCES, expand_first
from promo.campaigns.rendering import Renderer, renderer_for, undecided_time
from promo.campaigns.timing import is_next_slot
from promo.campaigns.transcode import transcode_post
from promo.errors import ConfigError
from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post, Problem, Report, ScheduledPost
from promo.rules import Rules
from promo.rules.overflow import fit
from promo.rules.video import duration_text
from promo.times import iso

if TYPE_CHECKING:
    from promo.accounts import Account


@dataclass(frozen=True)
class RenderedPost:
    """One post as it would be queued, and what its platform's rules say about it."""

    scheduled: ScheduledPost
    report: Report

    @property
    def ok(self) -> bool:
        return self.report.ok

    def when(self, show: Callable[[datetime], str]) -> str:
        """Its time through ``show``; ``next free slot of ACCOUNT`` for ``at: next-slot`` (apply picks it)."""
        at = self.scheduled.scheduled_at
        return f"next free slot of {self.scheduled.post.account}" if is_next_slot(at) else show(at)

    def to_dict(self) -> dict[str, Any]:
        """The ``promo preview --json`` entry."""
        scheduled, post = self.scheduled, self.scheduled.post
        return {
            "campaign": scheduled.campaign,
            "announcement": scheduled.announcement,
            "kind": scheduled.kind,
            "account": post.account,
            "platform": post.platform,
            "scheduled_at": self.when(iso),
            "not_before": iso(scheduled.not_before) if scheduled.not_before else None,
            "text": post.text,
            "length": self.report.length,
            "limit": self.report.limit,
            "ok": self.report.ok,
            "problems": [p.to_dict() for p in self.report.problems],
            "notes": list(self.report.notes),
            "thread": [part.text for part in post.thread],
            "media": [media_entry(m) for m in post.media],
        }


def media_entry(media: Media) -> dict[str, Any]:
    """A media file in ``promo preview --json``: what it is and what probing read (None if unknown)."""
    return {"kind": media.kind, "duration_s": media.duration_s, "width": media.width, "height": media.height,
            "codec": media.codec, "size": media.size, **media.to_dict()}


def media_summary(media: Media) -> str:
    """One line for the text preview: ``featurette.mp4: video 0:04, 256x144, h264, 24 fps, 4,901 bytes``."""
    facts = [media.kind if media.duration_s is None else f"{media.kind} {duration_text(media.duration_s)}"]
    if media.width and media.height:
        facts.append(f"{media.width}x{media.height}")
    facts += [value for value in (media.codec, f"{media.fps:g} fps" if media.fps else None) if value]
    if media.size is not None:
        facts.append(f"{media.size:,} bytes")
    return f"{media.path.rsplit('/', 1)[-1]}: {', '.join(facts)}"


class _Checker:
    """Rules per account, built once."""

    def __init__(self, accounts: Mapping[str, Account]) -> None:
        self.accounts = accounts
        self._rules: dict[str, Rules] = {}

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            raise ConfigError(f"unknown account {name!r} (configured: "
                              f"{', '.join(sorted(self.accounts)) or 'none'})") from None

    def rules(self, account: Account) -> Rules:
        found = self._rules.get(account.name)
        if found is None:
            found = self._rules[account.name] = rules_for(account.platform, account.options)
        return found


def render_file(path: Path, accounts: Mapping[str, Account],
                templates_dir: Path) -> tuple[Campaign, list[RenderedPost]]:
    """Load the campaign file at ``path`` and render every post of it (see ``render_campaign``); a recurring
    announcement shows its first ``PREVIEW_OCCURRENCES`` occurrences (``promo.campaigns.recurrence``)."""
    campaign = expand_first(load_campaign(path, accounts, templates_dir), PREVIEW_OCCURRENCES)
    return campaign, render_campaign(campaign, accounts, templates_dir)


def preview_file(path: Path, accounts: Mapping[str, Account], templates_dir: Path, *,
                 only_accounts: Collection[str] = (), only_platforms: Collection[str] = ()
                 ) -> list[RenderedPost]:
    """``promo preview``: every post of the file, optionally only these accounts or platforms."""
    _, rendered = render_file(path, accounts, templates_dir)
    return [item for item in rendered
            if (not only_accounts or item.scheduled.post.account in only_accounts)
            and (not only_platforms or item.scheduled.post.platform in only_platforms)]


def render_campaign(campaign: Campaign, accounts: Mapping[str, Account], templates_dir: Path,
                    *, renderer: Renderer | None = None, planned: Mapping[Any, int] | None = None
                    ) -> list[RenderedPost]:
    """Every post of ``campaign``, rendered and checked, in announcement then account order.

    ``planned``: what other campaigns already spend of a shared budget (YouTube's quota, by project
    and day), when the caller read the ledger (``promo apply``); preview reads nothing."""
    renderer = renderer or renderer_for(templates_dir)
    checker = _Checker(accounts)
    schedule = {key: undecided_time(key) if is_next_slot(at) else at for key, at in campaign.schedule.items()}
    rendered: list[RenderedPost] = []
    for announcement in campaign.announcements:
        context = base_context(campaign, announcement, schedule)
        for name in announcement.accounts:
            account = checker.account(name)
            override = announcement.override_for(account.platform, name)
            if override.skip:
                continue
            post = render_post(renderer, campaign, announcement, account, override, context)
            rules = checker.rules(account)
            if override.overflow and override.overflow != "reject":
                post = fit(post, rules, override.overflow)
            if override.transcode:
                post = transcode_post(post, getattr(getattr(rules, "media_rules", None), "video", None))
            post = rules.wire(post)  # the exact text the platform will receive
            post, at, not_before, untimed = _timed(rules, post, announcement.scheduled_at, announcement.not_before)
            scheduled = ScheduledPost(campaign.id, announcement.key, announcement.kind, post,
                                      at, not_before, announcement.max_lateness)
            report = rules.check(post)
            if untimed:
                report = replace(report, problems=(*report.problems, Problem("next_slot", untimed)))
            rendered.append(RenderedPost(scheduled, report))
    return campaign_problems(rendered, checker, planned)


def _timed(rules: Rules, post: Post, at: datetime, not_before: datetime | None
           ) -> tuple[Post, datetime, datetime | None, str | None]:
    """YouTube's ``upload_ahead`` (``promo.rules.youtube``): the post earlier, and its public time in it.

    An ``at: next-slot`` post has no time yet to upload ahead of (its slot is taken at apply), so it
    is refused in words rather than scheduled from the stand-in time, where it would never go out.
    """
    timed = getattr(rules, "timed", None)
    if timed is None:
        return post, at, not_before, None
    moved, earlier, embargo = timed(post, at, not_before)
    if is_next_slot(at) and earlier != at:
        return post, at, not_before, (f"{post.account}: at: next-slot cannot be uploaded ahead (upload_ahead): "
                                      "give the announcement a time, or post this video without upload_ahead")
    return moved, earlier, embargo, None


def campaign_problems(rendered: list[RenderedPost], checker: _Checker,
                      planned: Mapping[Any, int] | None = None) -> list[RenderedPost]:
    """Add what only the whole campaign shows: rules with ``campaign_problems`` (YouTube's daily quota)
    are handed every post of their platform at once."""
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(rendered):
        groups.setdefault(item.scheduled.post.platform, []).append(index)
    out = list(rendered)
    for indexes in groups.values():
        pairs = [(rendered[i].scheduled, checker.rules(checker.account(rendered[i].scheduled.post.account)))
                 for i in indexes]
        check = getattr(pairs[0][1], "campaign_problems", None)
        if check is None:
            continue
        for position, problem in check(pairs, planned).items():
            item = out[indexes[position]]
            report = replace(item.report, problems=(*item.report.problems, problem))
            out[indexes[position]] = RenderedPost(item.scheduled, report)
    return out


def base_context(campaign: Campaign, announcement: Announcement,
                 schedule: Mapping[str, Any]) -> dict[str, Any]:
    """What every template of this announcement sees; platform and account are added per post."""
    return {
        **announcement.fields,
        "campaign": {"id": campaign.id, "name": campaign.name, "timezone": campaign.timezone},
        "timezone": campaign.timezone,
        "announcement": announcement.key,
        "kind": announcement.kind,
        "scheduled_at": schedule.get(announcement.key, announcement.scheduled_at),
        "schedule": schedule,
    }


def render_post(renderer: Renderer, campaign: Campaign, announcement: Announcement, account: Account,
                override: Override, context: Mapping[str, Any]) -> Post:
    """The exact payload for one account: the text, its media, then the thread's replies."""
    context = {**context, "platform": account.platform, "account": account.name}
    if override.text is not None:
        text = renderer.render_inline(override.text, context, file=campaign.source, line=override.line)
    elif announcement.text is not None:
        text = renderer.render_inline(announcement.text, context, file=campaign.source,
                                      line=announcement.lines.get("text", announcement.line))
    else:
        text = renderer.render(announcement.kind, account.platform, context)
    media = announcement.media if override.media else ()
    parts = [Part(text, media)]
    if override.thread is not None:
        sources = [(source, override.line) for source in override.thread]
    else:
        sources = [(source, announcement.lines.get(f"thread.{i}", announcement.line))
                   for i, source in enumerate(announcement.thread)]
    for source, line in sources:
        parts.append(Part(renderer.render_inline(source, context, file=campaign.source, line=line)))
    link = announcement.fields.get("link")
    return Post(account.platform, account.name, tuple(parts), "", str(link) if link else None)


def summary(rendered: list[RenderedPost]) -> str:
    broken = sum(1 for item in rendered if not item.ok)
    if not broken:
        return f"{len(rendered)} posts, all within their platform's rules"
    return f"{broken} of {len(rendered)} posts break a platform rule"
