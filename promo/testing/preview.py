"""What the ``promo_preview`` fixture returns: a campaign's rendered posts, with assertions.

``Preview`` is every post of one campaign file (``promo preview``'s view of it, nothing written, no
credential read); ``Preview.post("premiere", "jj-x")`` picks one ``PreviewPost``. Each assertion
raises ``AssertionError`` with the post's key (``campaign/announcement/account``) and what it found,
so a failing test reads like a review comment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from promo.campaigns.preview import RenderedPost
from promo.campaigns.review import Review, markdown, review_file
from promo.campaigns.snapshots import post_key
from promo.times import as_aware, show_time

if TYPE_CHECKING:
    from promo.accounts import Account
    from promo.posts import Media


@dataclass(frozen=True)
class PreviewPost:
    """One rendered post: its text, replies, media, time (in the campaign's zone) and its rules' verdict."""

    rendered: RenderedPost
    tz: ZoneInfo

    @property
    def key(self) -> str:
        return post_key(self.rendered)

    announcement = property(lambda self: str(self.rendered.scheduled.announcement))
    account = property(lambda self: self.rendered.scheduled.post.account)
    platform = property(lambda self: self.rendered.scheduled.post.platform)
    text = property(lambda self: self.rendered.scheduled.post.text)
    length = property(lambda self: self.rendered.report.length)
    limit = property(lambda self: self.rendered.report.limit)
    ok = property(lambda self: self.rendered.ok)

    @property
    def thread(self) -> tuple[str, ...]:
        return tuple(part.text for part in self.rendered.scheduled.post.thread)

    @property
    def media(self) -> tuple[Media, ...]:
        return self.rendered.scheduled.post.media

    @property
    def at(self) -> datetime:
        """When it goes out, in the campaign's zone."""
        return self.rendered.scheduled.scheduled_at.astimezone(self.tz)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(problem.message for problem in self.rendered.report.problems)

    def assert_fits(self) -> None:
        """Within its platform's rules: no problem at all."""
        __tracebackhide__ = True
        if self.problems:
            raise AssertionError(f"{self.key} ({self.length}/{self.limit}) breaks its platform's rules: "
                                 + "; ".join(self.problems))

    def assert_text(self, *, contains: str | Sequence[str] = (), equals: str | None = None,
                    excludes: str | Sequence[str] = (), thread: bool = False) -> None:
        """The text holds each of ``contains``, none of ``excludes``, or is exactly ``equals``;
        ``thread=True`` looks at the replies too."""
        __tracebackhide__ = True
        text = "\n".join((self.text, *self.thread)) if thread else self.text
        if equals is not None and text != equals:
            raise AssertionError(f"{self.key}: the text is\n{text!r}\nnot\n{equals!r}")
        missing = [want for want in _many(contains) if want not in text]
        if missing:
            raise AssertionError(f"{self.key}: the text lacks {missing!r}; it is:\n{text}")
        found = [unwanted for unwanted in _many(excludes) if unwanted in text]
        if found:
            raise AssertionError(f"{self.key}: the text holds {found!r}; it is:\n{text}")

    def assert_at(self, when: str | datetime) -> None:
        """It goes out at ``when``: ``"2019-06-14 00:01"`` is read in the campaign's zone; an offset
        (``"2019-06-14T00:01-07:00"``) or an aware datetime also checks the wall-clock offset."""
        __tracebackhide__ = True
        expected = as_aware(when, self.tz)
        if self.at != expected or self.at.utcoffset() != expected.astimezone(self.tz).utcoffset():
            raise AssertionError(f"{self.key} goes out at {show_time(self.at, self.tz)}, "
                                 f"not {show_time(expected, self.tz)}")

    def assert_between(self, start: str | time, end: str | time) -> None:
        """Its local time of day (campaign zone) is from ``start`` to ``end`` (``"08:00"``, ``"21:30"``)."""
        __tracebackhide__ = True
        first, last = _time_of_day(start), _time_of_day(end)
        local = self.at.time().replace(tzinfo=None)
        inside = first <= local <= last if first <= last else (local >= first or local <= last)
        if not inside:
            raise AssertionError(f"{self.key} goes out at {show_time(self.at, self.tz)}, "
                                 f"outside {first:%H:%M}-{last:%H:%M} {self.tz.key}")


def _many(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _time_of_day(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value.strip())


class Preview(Sequence[PreviewPost]):
    """Every post of one campaign file, in campaign order (announcement, then account)."""

    def __init__(self, review: Review) -> None:
        self.review = review
        self.tz = review.tz
        self.posts = tuple(PreviewPost(item, self.tz) for item in review.posts)

    campaign = property(lambda self: self.review.campaign)
    timezone = property(lambda self: self.review.timezone)

    def __len__(self) -> int:
        return len(self.posts)

    def __getitem__(self, index: Any) -> Any:
        return self.posts[index]

    def __iter__(self) -> Iterator[PreviewPost]:
        return iter(self.posts)

    def select(self, announcement: str | None = None, account: str | None = None, *,
               platform: str | None = None) -> list[PreviewPost]:
        """The posts of this announcement, account and platform (None: any)."""
        return [post for post in self.posts
                if announcement in (None, post.announcement) and account in (None, post.account)
                and platform in (None, post.platform)]

    def post(self, announcement: str, account: str | None = None, *, platform: str | None = None) -> PreviewPost:
        """The one post of ``announcement`` for ``account`` (or ``platform``); AssertionError naming the
        choices if there is not exactly one."""
        __tracebackhide__ = True
        found = self.select(announcement, account, platform=platform)
        if len(found) != 1:
            keys = ", ".join(post.key for post in self.posts) or "none"
            raise AssertionError(f"{len(found)} posts match {announcement!r} account={account!r} "
                                 f"platform={platform!r} (the posts: {keys})")
        return found[0]

    def assert_fits(self) -> None:
        """Every post is within its platform's rules; the error lists every problem."""
        __tracebackhide__ = True
        broken = [f"{post.key}: {'; '.join(post.problems)}" for post in self.posts if post.problems]
        if broken:
            raise AssertionError(f"{len(broken)} of {len(self.posts)} posts break a rule:\n" + "\n".join(broken))

    def assert_between(self, start: str | time, end: str | time) -> None:
        """Every post goes out between ``start`` and ``end``, local time in the campaign's zone."""
        __tracebackhide__ = True
        late = []
        for post in self.posts:
            try:
                post.assert_between(start, end)
            except AssertionError as exc:
                late.append(str(exc))
        if late:
            raise AssertionError("\n".join(late))

    def markdown(self) -> str:
        """The review document (``promo preview --format markdown``)."""
        return markdown(self.review)


def load_preview(path: Path, accounts: Mapping[str, Account], templates_dir: Path) -> Preview:
    """Render the campaign file at ``path`` with these accounts and templates."""
    return Preview(review_file(path, accounts, templates_dir))
