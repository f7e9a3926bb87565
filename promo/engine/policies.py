"""When a post may go: its due time, its embargo, its account's block, and the late-post rule.

Every part of promo that asks "may this post go now?" asks here, so the rule is written once:

- ``due_time(scheduled_at, not_before)``: when a post is meant to go: its time, or its embargo
  (``not_before``) if that is later. Apply and reschedule store it as ``due_at``.
- ``send_time(post, blocked_until)``: when it may go now, and what it waits for: its ``due_at``
  (which deferrals, backoff and rate limits move on), never before the embargo, never while its
  account is blocked.
- ``allowed_lateness(max_lateness_s, account, settings)``: the post's own limit, else its account's,
  else ``settings.max_lateness``.
- ``lateness_reason(post, account, settings, now)``: the late-post decision. Lateness counts from
  the due time (``scheduled_at``, or the embargo if later); past the allowed lateness the post is
  held for a person, and this says why.
- ``lateness_for_retry(post, now)``: the allowed lateness a post retried by a person gets, so it goes
  out however late it is.

Pure functions of the post's columns, an account and the settings: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from promo.accounts import Account
    from promo.settings import Settings

EMBARGO = "embargo"
ACCOUNT_BLOCKED = "account blocked (rate limit)"
# A retried post may be this much later still (a person retries, then the dispatcher's next tick).
RETRY_LATENESS_MARGIN_S = 3600


class Timing(Protocol):
    """What the policies read of a post: a ledger row, or the publish task's copy of one."""

    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def not_before(self) -> datetime | None: ...
    @property
    def max_lateness_s(self) -> int | None: ...


class Due(Timing, Protocol):
    """A post in the ledger: it has an id and a due time."""

    @property
    def id(self) -> int: ...
    @property
    def due_at(self) -> datetime: ...


def due_time(scheduled_at: datetime, not_before: datetime | None) -> datetime:
    """When a post is meant to go: its time, or its embargo if that is later."""
    return max(scheduled_at, not_before) if not_before is not None else scheduled_at


def send_time(post: Due, blocked_until: datetime | None = None) -> tuple[datetime, str]:
    """When the post may go, and why not before: its due time, the embargo, or its account's block."""
    at, why = due_time(post.due_at, post.not_before), EMBARGO
    if blocked_until is not None and blocked_until > at:
        at, why = blocked_until, ACCOUNT_BLOCKED
    return at, why


def allowed_lateness(max_lateness_s: int | None, account: Account | None, settings: Settings) -> timedelta:
    """How late a post may still go: its own limit, else its account's, else the default."""
    if max_lateness_s is not None:
        return timedelta(seconds=max_lateness_s)
    if account is not None and account.max_lateness is not None:
        return account.max_lateness
    return settings.max_lateness


def lateness_cutoffs(accounts: Mapping[str, Account], settings: Settings, now: datetime
                     ) -> tuple[datetime, dict[str, datetime]]:
    """The late-post rule as cut-offs, for a post without a limit of its own: one that is due before
    its account's cut-off is too late. The default's, and each account's with its own ``max_lateness``.

    ``lateness_reason`` says the same of one post (a test holds the two together).
    """
    own = {name: now - account.max_lateness for name, account in accounts.items() if account.max_lateness is not None}
    return now - settings.max_lateness, own


def lateness_reason(post: Due, account: Account | None, settings: Settings, now: datetime) -> str | None:
    """Why a post is too late to send as written, or None if it may go."""
    allowed = allowed_lateness(post.max_lateness_s, account, settings)
    overdue = now - due_time(post.scheduled_at, post.not_before)
    if overdue <= allowed:
        return None
    return (
        f"{_words(overdue)} late (allowed {_words(allowed)}): held so stale copy is not sent; "
        f"'promo retry {post.id}' sends it anyway, 'promo cancel {post.id}' drops it"
    )


def lateness_for_retry(post: Timing, now: datetime) -> int:
    """The ``max_lateness_s`` a post retried now gets: enough to cover its delay, and a margin."""
    overdue = now - due_time(post.scheduled_at, post.not_before)
    return max(post.max_lateness_s or 0, int(overdue.total_seconds()) + RETRY_LATENESS_MARGIN_S)


def _words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
