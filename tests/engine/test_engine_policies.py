"""When a post may go (``promo.engine.policies``): due time, embargo, blocked accounts, lateness, retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promo.accounts import Account
from promo.engine.policies import (
    ACCOUNT_BLOCKED,
    EMBARGO,
    RETRY_LATENESS_MARGIN_S,
    allowed_lateness,
    due_time,
    lateness_for_retry,
    lateness_reason,
    send_time,
)
from promo.settings import Settings
from tests.engine.enginekit import settings_for

T0 = datetime(2030, 6, 14, 7, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Row:
    scheduled_at: datetime = T0
    not_before: datetime | None = None
    max_lateness_s: int | None = None
    due_at: datetime = T0
    id: int = 7


def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", max_lateness="6h")


def test_a_post_is_due_at_its_time_or_its_embargo_whichever_is_later() -> None:
    assert due_time(T0, None) == T0
    assert due_time(T0, T0 + HOUR) == T0 + HOUR
    assert due_time(T0, T0 - HOUR) == T0


def test_it_may_go_at_its_due_time_never_before_the_embargo_nor_while_its_account_is_blocked() -> None:
    deferred = Row(due_at=T0 + HOUR)  # backoff or a rate limit moved it on
    assert send_time(deferred) == (T0 + HOUR, EMBARGO)
    assert send_time(Row(not_before=T0 + 2 * HOUR)) == (T0 + 2 * HOUR, EMBARGO)
    assert send_time(Row(not_before=T0 + HOUR), T0 + 3 * HOUR) == (T0 + 3 * HOUR, ACCOUNT_BLOCKED)
    assert send_time(Row(not_before=T0 + HOUR), T0) == (T0 + HOUR, EMBARGO)


def test_allowed_lateness_is_the_posts_then_the_accounts_then_the_default(tmp_path: Path) -> None:
    defaults = settings(tmp_path)
    patient = Account("jj-x", "x", max_lateness=timedelta(days=1))
    assert allowed_lateness(60, patient, defaults) == timedelta(seconds=60)
    assert allowed_lateness(None, patient, defaults) == timedelta(days=1)
    assert allowed_lateness(None, Account("jj-x", "x"), defaults) == timedelta(hours=6)
    assert allowed_lateness(None, None, defaults) == timedelta(hours=6)


def test_lateness_counts_from_the_embargo_when_it_is_later(tmp_path: Path) -> None:
    defaults = settings(tmp_path)
    post = Row(not_before=T0 + 2 * HOUR, max_lateness_s=3600)
    assert lateness_reason(post, None, defaults, T0 + 3 * HOUR) is None
    reason = lateness_reason(post, None, defaults, T0 + 2 * HOUR + timedelta(days=2))
    assert reason is not None and reason.startswith("2.0 days late (allowed 1.0 hours)")
    assert "'promo retry 7' sends it anyway, 'promo cancel 7' drops it" in reason


def test_a_retried_post_is_allowed_its_delay_and_a_margin() -> None:
    late = Row(max_lateness_s=60)
    assert lateness_for_retry(late, T0 + timedelta(days=2)) == 2 * 86400 + RETRY_LATENESS_MARGIN_S
    assert lateness_for_retry(Row(max_lateness_s=10**6), T0 + HOUR) == 10**6
    assert lateness_for_retry(Row(not_before=T0 + HOUR), T0 + HOUR) == RETRY_LATENESS_MARGIN_S
