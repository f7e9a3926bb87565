"""Pauses as the store keeps them: a row in ``holds`` per scope (everything, a campaign, an account).

The engine asks ``active_pauses`` and ``pause_covering`` before it claims or starts a post;
``promo.manage.pauses`` is where a person adds and removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from promo.errors import ConfigError

if TYPE_CHECKING:  # Scope is read without SQLAlchemy (promo status on a SQLite store)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

ALL, CAMPAIGN, ACCOUNT = "all", "campaign", "account"


@dataclass(frozen=True)
class Scope:
    """What a pause covers: everything, one campaign, or one account."""

    kind: str
    value: str = ""

    @classmethod
    def of(cls, campaign: str | None = None, account: str | None = None) -> Scope:
        if campaign and account:
            raise ConfigError("give --campaign or --account, not both")
        if campaign:
            return cls(CAMPAIGN, campaign)
        if account:
            return cls(ACCOUNT, account)
        return cls(ALL)

    def covers(self, campaign_id: str | None, account: str) -> bool:
        if self.kind == ALL:
            return True
        if self.kind == CAMPAIGN:
            return campaign_id == self.value
        return account == self.value

    def describe(self) -> str:
        return "everything" if self.kind == ALL else f"{self.kind} {self.value}"


@cache
def _holds() -> Any:
    from sqlalchemy import select

    from promo.store.tables import Hold

    return select(Hold.scope, Hold.value)


def active_pauses(db: Session | Connection) -> list[Scope]:
    return [Scope(kind, value) for kind, value in db.execute(_holds()).all()]


def pause_covering(holds: list[Scope], campaign_id: str | None, account: str) -> Scope | None:
    """The first pause that covers a post, if any."""
    return next((hold for hold in holds if hold.covers(campaign_id, account)), None)
