"""What a publish attempt's answer does to the ledger: one fenced transition per outcome.

=====================  ==============================================================
Published              ``published`` with the platform id and URL
Retryable              ``scheduled`` after backoff with jitter; ``failed`` after max_attempts
RateLimited            ``scheduled`` at the reset time; the account is blocked until then
Ambiguous              ``unknown``: reconciled by lookup, or shown to a person
Duplicate              ``published`` if the platform named the post, else ``unknown``
AuthError              ``failed``; the account is flagged for a person (a later success clears it)
NeedsReconnect         ``held``: a connected account's tokens were refused even after a refresh;
                       flagged with ``promo accounts connect NAME`` (which releases its held posts)
Permanent, invalid     ``failed`` with a readable reason
anything unexpected    ``unknown`` (the call may have gone out)
=====================  ==============================================================

Every move is fenced by the attempt id and accepts ``publishing`` or ``unknown``: a worker that
finishes after the sweeper called its post unknown still records the truth.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from promo import errors
from promo.engine.ratelimits import block, clear_flag, flag
from promo.engine.runtime import NeedsReconnect, Runtime
from promo.posts import Published
from promo.settings import Settings
from promo.store import states
from promo.store.ledger import transition
from promo.times import iso

log = logging.getLogger("promo.engine.outcomes")
events = logging.getLogger("promo.events")  # one record per post event, drawn by ``promo run`` (cli/events.py)

# The outcome of a message that finds its post already moved on: nothing was done.
DUPLICATE = "duplicate"
FINISHED = (states.PUBLISHING, states.UNKNOWN)  # where an attempt's outcome may find its post


class Attempt(Protocol):
    """The post an outcome is recorded for; ``attempts`` counts this attempt."""

    @property
    def id(self) -> int: ...
    @property
    def account(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True)
class Outcome:
    """Where a failed attempt sends its post: the state, the event's action, columns and detail."""

    target: str
    action: str
    values: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)


def record_published(
    runtime: Runtime, post_id: int, attempt_id: str, published: Published, now: datetime, action: str = "published",
    *, clear_flag_of: str | None = None,
) -> str:
    """``publishing | unknown -> published`` with the platform's id and URL.

    ``clear_flag_of``: the account whose credentials flag the fence read; the credentials worked, so
    the flag is cleared in the same transaction. Without one (the usual case) the move is one statement.
    """
    if not clear_flag_of:  # the usual case: pre-compiled, on the driver's connection (promo.store.hot_path)
        moved = runtime.hot_path.published(post_id, attempt_id, platform_id=published.platform_id,
                                           url=published.url, now=now, actor=runtime.actor, action=action)
        return states.PUBLISHED if moved else DUPLICATE
    opened = runtime.db.begin()
    with opened as connection:
        moved = transition(
            connection,
            post_id,
            FINISHED,
            states.PUBLISHED,
            action=action,
            actor=runtime.actor,
            attempt_id=attempt_id,
            now=now,
            detail={"platform_id": published.platform_id, "url": published.url},
            platform_id=published.platform_id,
            url=published.url,
            published_at=now,
            lease_until=None,
            reason=None,
        )
        if moved and clear_flag_of:
            clear_flag(connection, clear_flag_of)
    return states.PUBLISHED if moved else DUPLICATE


def record_failure(runtime: Runtime, row: Attempt, attempt_id: str, exc: BaseException, now: datetime) -> str:
    """Map an adapter's error to one fenced transition (and block or flag the account if it says so)."""
    outcome = outcome_for(exc, row, runtime.settings, now)
    with runtime.db.begin() as session:
        if isinstance(exc, errors.RateLimited) and "due_at" in outcome.values:
            block(session, row.account, outcome.values["due_at"], f"rate limited by {row.platform}")
        if isinstance(exc, NeedsReconnect):
            flag(session, row.account, str(exc), now)
        elif isinstance(exc, errors.AuthError):
            flag(session, row.account, f"{row.platform} refused the credentials: re-authorise the account "
                                       f"(then 'promo accounts check'): {exc}", now)
        sources = (states.PUBLISHING,) if outcome.target == states.HELD else FINISHED  # unknown is never held
        moved = transition(session, row.id, sources, outcome.target, action=outcome.action, actor=runtime.actor,
                           attempt_id=attempt_id, detail=outcome.detail, now=now, lease_until=None,
                           **outcome.values)
    level = logging.INFO if outcome.target == states.SCHEDULED else logging.WARNING
    log.log(level, "post %s -> %s: %s", row.id, outcome.target, outcome.values.get("reason"))
    if moved:
        announce(level, row.id, row.account, outcome.target, reason=outcome.values.get("reason"))
    return outcome.target if moved else DUPLICATE


def announce(level: int, post_id: int, account: str, outcome: str, *, url: str | None = None,
             reason: str | None = None) -> None:
    """Tell whoever listens on ``promo.events`` (``promo run``) what became of a post: no extra query."""
    events.log(level, "post %s  %s  %s  %s", post_id, account, outcome, url or reason or "",
               extra={"post_id": post_id, "account": account, "outcome": outcome, "url": url, "reason": reason})


def outcome_for(exc: BaseException, row: Attempt, settings: Settings, now: datetime) -> Outcome:
    """Where one failed publish sends its post."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, errors.RateLimited):
        return _rate_limited(exc, reason, settings, now)
    if isinstance(exc, errors.Retryable):
        return _retry_later(reason, row, settings, now)
    if isinstance(exc, errors.Duplicate):
        return _already_posted(exc, reason, row, now)
    if isinstance(exc, NeedsReconnect):
        return Outcome(states.HELD, "held", {"reason": reason}, {"needs_reconnect": exc.account})
    if isinstance(exc, (errors.Permanent, errors.PostInvalid, errors.ConfigError, errors.TemplateError)):
        return Outcome(states.FAILED, "failed", {"reason": f"{reason}; fix it, then 'promo retry {row.id}'"})
    if isinstance(exc, errors.Ambiguous):
        why = f"sent, but no answer came back: {reason}"
    else:
        why = f"unexpected error during the call, it may have gone out: {type(exc).__name__}: {reason}"
    next_step = f"promo will check the platform, or 'promo resolve {row.id} --published URL | --not-published'"
    return Outcome(states.UNKNOWN, "unknown", {"reason": f"{why}; {next_step}"})


def _rate_limited(exc: errors.RateLimited, reason: str, settings: Settings, now: datetime) -> Outcome:
    """Back to ``scheduled`` at the platform's reset time (or after ``retry_base`` if it named none)."""
    until = exc.retry_at if exc.retry_at and exc.retry_at > now else now + timedelta(seconds=settings.retry_base)
    return Outcome(states.SCHEDULED, "rate-limited",
                   {"due_at": until, "reason": f"rate limited until {iso(until)}: {reason}"}, {"until": iso(until)})


def _retry_later(reason: str, row: Attempt, settings: Settings, now: datetime) -> Outcome:
    """Back to ``scheduled`` after a backoff; ``failed`` once the attempts are used up."""
    if row.attempts >= settings.max_attempts:
        return Outcome(states.FAILED, "failed", {
            "reason": f"gave up after {row.attempts} attempts: {reason}; 'promo retry {row.id}' tries again"})
    due = now + timedelta(seconds=backoff(row.attempts, settings))
    return Outcome(states.SCHEDULED, "retry-later", {"due_at": due, "reason": f"retrying at {iso(due)}: {reason}"},
                   {"until": iso(due)})


def _already_posted(exc: errors.Duplicate, reason: str, row: Attempt, now: datetime) -> Outcome:
    """``published`` if the platform named the existing post; else ``unknown`` for a person to settle."""
    if exc.existing_id:
        return Outcome(states.PUBLISHED, "published",
                       {"platform_id": exc.existing_id, "published_at": now, "reason": reason}, {"duplicate": True})
    return Outcome(states.UNKNOWN, "unknown", {
        "reason": f"the platform says it is already posted, without its id: {reason}; "
                  f"check and 'promo resolve {row.id} --published URL'"})


def backoff(attempts: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before the next try: ``retry_base * 2^(attempts-1)``, capped, with half jitter."""
    rng = rng or random.Random()
    ceiling = min(settings.retry_max, settings.retry_base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rng.random() * ceiling / 2
