"""Deterministic TIDs: a Bluesky record key derived from a post's idempotency key and part index.

A TID is 64 bits written as 13 base32-sortable characters: a zero bit, 53 bits of microseconds
since the epoch, and 10 bits of "clock id". promo takes the microseconds from a hash of the
idempotency key (inside 2023, so the key always looks like a past timestamp) and uses the part
index as the clock id. The same post always gets the same keys, so publishing twice cannot create
two records, and a look-up is a get-record.
"""

from __future__ import annotations

import hashlib

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_BASE_MICROS = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
_SPAN_MICROS = 365 * 24 * 3600 * 1_000_000


def tid_for(idempotency_key: str, part: int = 0) -> str:
    """The record key for part ``part`` (0-1023) of the post with this idempotency key."""
    if not 0 <= part < 1024:
        raise ValueError("a thread has at most 1024 parts")
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    micros = _BASE_MICROS + digest % _SPAN_MICROS
    return encode((micros << 10) | part)


def encode(value: int) -> str:
    chars = []
    for _ in range(13):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
