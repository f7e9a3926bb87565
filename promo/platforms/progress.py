"""Thread progress kept in the Journal, so a publish resumes where it stopped and never posts a part twice.

Journal keys, written before the next API call:

    sending:<i>   about to send part i, with the time (a crash or timeout after this leaves part i in doubt)
    part:<i>      the platform's id for part i (the platform accepted it)
    media:<i>:<j> the platform's id for media j of part i, once uploaded and usable (``upload_once``)

``send_parts`` posts the parts the journal does not hold yet; ``lookup_parts`` answers a look-up by
asking the platform only about the parts in doubt. A part never attempted is certainly not
published; the first part the platform cannot tell about, or has not got, ends the look-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from promo.errors import Retryable
from promo.posts import CannotTell, Journal, Lookup, NotPublished, Part, Post, Published
from promo.times import iso, utcnow

# send(index, part, previous_part_id) -> the new part's id
Send = Callable[[int, Part, "str | None"], str]
# find(index, part, previous_part_id) -> the part's id if the platform has it, else what it knows
PartFound = str | NotPublished | CannotTell
Find = Callable[[int, Part, "str | None"], PartFound]

NEVER_SENT = NotPublished("never sent")
T = TypeVar("T")


def part_key(index: int) -> str:
    return f"part:{index}"


def was_attempted(journal: Journal, index: int) -> bool:
    return journal.get(f"sending:{index}") is not None


def attempted_at(journal: Journal, index: int) -> datetime | None:
    """When part ``index`` was last sent, if the journal says (older journals hold only ``1``)."""
    value = journal.get(f"sending:{index}")
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def send_parts(post: Post, journal: Journal, send: Send) -> list[str]:
    """Post every part not yet in the journal, each replying to the one before; all parts' ids."""
    ids: list[str] = []
    previous: str | None = None
    for index, part in enumerate(post.parts):
        done = journal.get(part_key(index))
        if done is None:
            journal.record(f"sending:{index}", iso(utcnow()))
            done = send(index, part, previous)
            journal.record(part_key(index), done)
        ids.append(done)
        previous = done
    return ids


def settle_parts(post: Post, journal: Journal, find: Find) -> list[str] | NotPublished | CannotTell:
    """Every part's id if all are published (asking ``find`` about parts not in the journal), else
    the first part's answer that is not an id."""
    ids: list[str] = []
    previous: str | None = None
    for index, part in enumerate(post.parts):
        done = journal.get(part_key(index))
        if done is None:
            found = find(index, part, previous)
            if not isinstance(found, str):
                return found
            done = found
            journal.record(part_key(index), done)
        ids.append(done)
        previous = done
    return ids


def lookup_parts(post: Post, journal: Journal, find: Find,
                 published: Callable[[list[str]], Published]) -> Lookup:
    """``settle_parts`` as a look-up's answer: ``published(ids)`` when every part is there."""
    settled = settle_parts(post, journal, find)
    return published(settled) if isinstance(settled, list) else settled


def unknowable(journal: Journal, index: int, why: str) -> PartFound:
    """For a platform that cannot read back: a part never sent is not published, one sent cannot be told."""
    return CannotTell(why) if was_attempted(journal, index) else NEVER_SENT


def media_key(part: int, index: int) -> str:
    """Journal key of the platform's id for media ``index`` of part ``part``, kept once it is usable."""
    return f"media:{part}:{index}"


def upload_once(journal: Journal, key: str, upload: Callable[[], str]) -> str:
    """The media id the journal holds under ``key``; else ``upload()`` it and record the id before it is used.

    A retry after a crash, a timeout or a rate limit reuses an uploaded file instead of sending it again.
    """
    done = journal.get(key)
    if done:
        return done
    done = upload()
    journal.record(key, done)
    return done


# -- waiting for a platform to process uploaded media -------------------------------------------
@dataclass(frozen=True)
class Later:
    """Not ready yet: ask again after ``seconds`` (what the platform said, or the adapter's interval)."""

    seconds: float
    state: str = "processing"


def wait_for(platform: str, what: str, check: Callable[[], T | Later], limit: float,
             first: Later | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """``check()`` until it answers something other than ``Later``, waiting as long as each ``Later``
    asks (``first``: what the upload's own answer asked, before the first check). Past ``limit``
    seconds: ``Retryable``; the journal keeps the platform's id, so the next attempt resumes the
    wait instead of uploading again."""
    deadline = time.monotonic() + limit
    answer: T | Later | None = first
    while True:
        answer = check() if answer is None else answer
        if not isinstance(answer, Later):
            return answer
        if time.monotonic() + answer.seconds > deadline:
            raise Retryable(f"{what} still {answer.state} after {limit:g} s; the next attempt waits for it again",
                            platform=platform)
        sleep(max(0.0, answer.seconds))
        answer = None
