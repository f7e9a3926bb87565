"""Thread progress kept in the Journal, so a publish resumes where it stopped and never posts a part twice.

Journal keys, written before the next API call:

    sending:<i>   about to send part i (a crash or timeout after this leaves part i in doubt)
    part:<i>      the platform's id for part i (the platform accepted it)

``send_parts`` posts the parts the journal does not hold yet; ``settle_parts`` answers a look-up by
asking the platform only about the parts in doubt.
"""

from __future__ import annotations

from collections.abc import Callable

from promo.posts import Journal, Part, Post

# send(index, part, previous_part_id) -> the new part's id
Send = Callable[[int, Part, "str | None"], str]
# find(index, part, previous_part_id) -> the part's id if the platform has it, else None
Find = Callable[[int, Part, "str | None"], "str | None"]


def part_key(index: int) -> str:
    return f"part:{index}"


def was_attempted(journal: Journal, index: int) -> bool:
    return journal.get(f"sending:{index}") is not None


def send_parts(post: Post, journal: Journal, send: Send) -> list[str]:
    """Post every part not yet in the journal, each replying to the one before; all parts' ids."""
    ids: list[str] = []
    previous: str | None = None
    for index, part in enumerate(post.parts):
        done = journal.get(part_key(index))
        if done is None:
            journal.record(f"sending:{index}", "1")
            done = send(index, part, previous)
            journal.record(part_key(index), done)
        ids.append(done)
        previous = done
    return ids


def settle_parts(post: Post, journal: Journal, find: Find) -> list[str] | None:
    """Every part's id if all are published (asking ``find`` about parts not in the journal), else None."""
    ids: list[str] = []
    previous: str | None = None
    for index, part in enumerate(post.parts):
        done = journal.get(part_key(index))
        if done is None:
            done = find(index, part, previous)
            if done is None:
                return None
            journal.record(part_key(index), done)
        ids.append(done)
        previous = done
    return ids
