"""Previews for people who review: a campaign's rendered posts as a Markdown document.

``review_file`` renders a campaign file (``preview.render_file``) into a ``Review``; ``markdown``
draws it for ``promo preview --format markdown``: per announcement, each account's text in a fenced
block (so Markdown in a post is shown, not interpreted), its length against its limit as the
platform's rules count it, its media, its time in the campaign's zone with the offset, and its
problems; with a ``Drift`` (``promo.campaigns.snapshots``) a section on what changed comes first.

Safe against hostile text: a fence is longer than any run of backticks in what it holds, inline
values are code spans with a long enough delimiter or backslash-escaped, and control and bidi
characters are written as escapes. Deterministic (campaign order; no clock) and bounded: each text
is shown up to ``MAX_SHOWN_TEXT`` characters and the document stops before ``MAX_MARKDOWN``
(a GitHub comment holds 65,536), saying how many posts it left out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from promo.campaigns.preview import RenderedPost, render_file, summary
from promo.campaigns.snapshots import Change, Drift, visible
from promo.platforms.registry import PLATFORMS
from promo.rules.video import duration_text
from promo.times import show_time

if TYPE_CHECKING:
    from promo.accounts import Account
    from promo.posts import Media

MAX_MARKDOWN = 60_000
MAX_SHOWN_TEXT = 10_000
_RESERVE = 400                      # kept for the closing note
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:@&=])")


@dataclass(frozen=True)
class Review:
    """A campaign's rendered posts, and what a reader needs around them."""

    campaign: str
    name: str
    timezone: str
    source: str
    posts: tuple[RenderedPost, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def review_file(path: Path, accounts: Mapping[str, Account], templates_dir: Path, *,
                only_accounts: Collection[str] = (), only_platforms: Collection[str] = ()) -> Review:
    """Render the campaign file at ``path`` (optionally only these accounts or platforms) for review."""
    campaign, rendered = render_file(path, accounts, templates_dir)
    posts = tuple(item for item in rendered
                  if (not only_accounts or item.scheduled.post.account in only_accounts)
                  and (not only_platforms or item.scheduled.post.platform in only_platforms))
    return Review(campaign.id, campaign.name, campaign.timezone, str(path), posts)


def fence(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block whose fence no line of it can close: more backticks than its longest run."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{info}\n{text}\n{marks}"


def code(text: str) -> str:
    """``text`` as one inline code span, on one line, whatever backticks it holds."""
    flat = " ".join(visible(text).splitlines()) or " "
    longest = max((len(run) for run in _BACKTICKS.findall(flat)), default=0)
    marks = "`" * (longest + 1)
    pad = " " if (flat[0] in "` " or flat[-1] in "` ") and flat.strip(" ") else ""  # CommonMark strips one
    return f"{marks}{pad}{flat}{pad}{marks}"


def escape(text: str) -> str:
    """``text`` as plain Markdown on one line: every ASCII punctuation mark backslash-escaped (no link,
    emphasis, HTML or mention can start)."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(visible(text).splitlines()))


def markdown(review: Review, drift: Drift | None = None, *, max_chars: int = MAX_MARKDOWN) -> str:
    """The review document, at most ``max_chars`` characters."""
    blocks = [_header(review)]
    if drift is not None:
        blocks += drift_blocks(drift)
    blocks += _post_blocks(review)
    return assemble(blocks, max_chars, total=len(review.posts))


@dataclass(frozen=True)
class _Block:
    text: str
    posts: int = 0          # how many posts it shows (for the note on what was left out)


def assemble(blocks: Sequence[_Block], max_chars: int, *, total: int) -> str:
    """Join blocks while they fit; then one line on what was left out."""
    out: list[str] = []
    size = 0
    for index, block in enumerate(blocks):
        if size + len(block.text) + 2 > max_chars - _RESERVE:
            left = sum(b.posts for b in blocks[index:])
            out.append(f"*The document stops here at {max_chars:,} characters: {left} of {total} posts not shown. "
                       "`promo preview --json` lists them all.*")
            break
        out.append(block.text)
        size += len(block.text) + 2
    return "\n\n".join(out) + "\n"


def _header(review: Review) -> _Block:
    broken = sum(1 for item in review.posts if not item.ok)
    verdict = "✅ " if not broken else "❌ "
    announcements = len({item.scheduled.announcement for item in review.posts})
    return _Block(f"# Preview: {escape(review.name)} ({code(review.campaign)})\n\n"
                  f"{code(review.source)}: {announcements} announcements, {len(review.posts)} posts; "
                  f"times in {escape(review.timezone)}.\n\n{verdict}{escape(summary(list(review.posts)))}.")


def _post_blocks(review: Review) -> list[_Block]:
    blocks: list[_Block] = []
    heading_of = None
    for item in review.posts:
        scheduled = item.scheduled
        if scheduled.announcement != heading_of:
            heading_of = scheduled.announcement
            blocks.append(_Block(f"## {code(str(scheduled.announcement))} ({escape(scheduled.kind)}) at "
                                 f"{item.when(lambda at: show_time(at, review.tz))}"))
        blocks.append(_Block(post_markdown(item, review.tz), posts=1))
    return blocks


def post_markdown(item: RenderedPost, tz: ZoneInfo) -> str:
    """One post: account, platform, length against limit and verdict, the text, replies, media, time, problems."""
    scheduled, report = item.scheduled, item.report
    post = scheduled.post
    unit = getattr(PLATFORMS[post.platform].rules, "unit", "") if post.platform in PLATFORMS else ""
    verdict = "✅ fits" if report.ok else f"❌ {len(report.problems)} problem" + "s" * (len(report.problems) > 1)
    lines = [f"### {code(post.account)} ({escape(post.platform)}): "
             f"{report.length}/{report.limit} {unit or 'characters'}, {verdict}", "", _shown(post.text)]
    for number, part in enumerate(post.thread, 1):
        lines += ["", f"Reply {number}:", "", _shown(part.text)]
    facts = [f"- at {item.when(lambda at: show_time(at, tz))}"]  # next-slot: "next free slot of ACCOUNT"
    if scheduled.not_before is not None:
        facts.append(f"- not before {show_time(scheduled.not_before, tz)} (embargo)")
    for number, part in enumerate(post.parts):
        facts += [f"- media{f' (reply {number})' if number else ''}: {media_markdown(m)}" for m in part.media]
    facts += [f"- problem{f' (reply {p.part})' if p.part else ''}: {escape(p.message)}" for p in report.problems]
    return "\n".join([*lines, "", *facts])


def _shown(text: str) -> str:
    if len(text) <= MAX_SHOWN_TEXT:
        return fence(visible(text))
    cut = len(text) - MAX_SHOWN_TEXT
    return f"{fence(visible(text[:MAX_SHOWN_TEXT]))}\n\n*({cut:,} more characters not shown)*"


def media_markdown(media: Media) -> str:
    """``poster.png``: image, 1200x630, alt ``Night Harbor poster``: kind, duration, dimensions, alt."""
    facts = [media.kind]
    if media.duration_s is not None:
        facts.append(duration_text(media.duration_s))
    if media.width and media.height:
        facts.append(f"{media.width}x{media.height}")
    if media.error:
        facts.append(f"unreadable: {escape(media.error)}")
    alt = f"alt {code(media.alt)}" if media.alt.strip() else "**no alt text**"
    return f"{code(media.path.rsplit('/', 1)[-1])}: {', '.join(facts)}, {alt}"


def drift_blocks(drift: Drift) -> list[_Block]:
    """The snapshot section: a summary, then per changed post its notes and a ``diff`` block."""
    head = [f"## Snapshot {code(drift.file)}", "", ("✅ " if drift.equal else "❌ ") + escape(drift.summary())]
    if not drift.equal:
        head += ["", f"If intended, update it: {code(drift.accept_hint().split(': ', 1)[1])}"]
    listed = [f"- new: {code(key)}" for key in drift.added] + [f"- gone: {code(key)}" for key in drift.removed]
    if listed:
        head += ["", *listed]
    return [_Block("\n".join(head)), *(_Block(change_markdown(change)) for change in drift.changed)]


def change_markdown(change: Change) -> str:
    lines = [f"### Changed: {code(change.key)} ({escape(', '.join(change.what))})"]
    lines += ["", *(f"- {escape(note)}" for note in change.notes)] if change.notes else []
    if change.diff:
        lines += ["", fence(visible("\n".join(change.diff)), "diff")]
    return "\n".join(lines)
