"""The beat's recurrence tick: write the occurrences that have come inside the horizon.

``extend_recurrences`` re-plans each applied campaign that has a recurring announcement, from its
file as last applied, with a later ``now``: new occurrences inside ``[now, now + horizon]`` are
created, nothing else moves. A file edited since its last ``promo apply`` (its digest differs) is left
alone, so the beat never applies an edit a person has not applied; nor is a file the beat cannot find
(the path ``promo apply`` was given, read from the beat's working folder). Each campaign is its own
transaction (``apply_plan``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.errors import PromoError
from promo.planning.apply import apply_plan
from promo.planning.campaign import plan_campaign_file
from promo.planning.plan import CREATED
from promo.store.tables import Campaign

if TYPE_CHECKING:
    from promo.accounts import Account

ACTOR = "beat"


@dataclass(frozen=True)
class Extended:
    """One campaign the tick looked at: how many occurrences it created, or why it skipped it."""

    campaign: str
    created: int = 0
    skipped: str = ""


def extend_recurrences(engine: Engine, accounts: Mapping[str, Account], templates_dir: Path, *,
                       now: datetime, horizon: timedelta) -> list[Extended]:
    """Create the occurrences now inside the horizon, for every campaign applied from an unchanged file."""
    with Session(engine) as session:
        applied = [(c.id, c.source, c.digest) for c in session.scalars(select(Campaign).order_by(Campaign.id))]
    done: list[Extended] = []
    for campaign_id, source, digest in applied:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError:
            done.append(Extended(campaign_id, skipped=f"cannot read {source}"))
            continue
        if b"repeat" not in data:
            continue  # no recurring announcement: nothing to extend
        if hashlib.sha256(data).hexdigest() != digest:
            done.append(Extended(campaign_id, skipped=f"{source} changed since the last apply: run promo apply"))
            continue
        done.append(_extend(engine, campaign_id, path, accounts, templates_dir, now, horizon))
    return done


def _extend(engine: Engine, campaign_id: str, path: Path, accounts: Mapping[str, Account], templates_dir: Path,
            now: datetime, horizon: timedelta) -> Extended:
    try:
        plan = plan_campaign_file(engine, path, accounts, templates_dir, now=now, horizon=horizon)
        result = apply_plan(engine, plan, actor=ACTOR, now=now)
    except PromoError as exc:
        return Extended(campaign_id, skipped=str(exc))
    return Extended(campaign_id, created=len(result.by_action(CREATED)))
