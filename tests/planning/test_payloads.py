"""The stored payload: ``Post`` to JSON and back, the text lists show, what an edit changes, the digest."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, timedelta

from promo.posts import Media, Part, Post, ScheduledPost, payload_text, post_digest
from tests.store.storekit import PREMIERE

IMAGE = Media("poster.png", "Jessica Jones", 1234, "image/png")
THREAD = Post("x", "jj-x", (Part("Season 3 tonight", (IMAGE,)), Part("on Netflix")), "promo-1", "https://x.test")


def test_a_post_survives_the_ledger_unchanged() -> None:
    stored = json.loads(json.dumps(THREAD.to_payload()))  # as the JSON column hands it back
    assert Post.from_payload("x", "jj-x", stored, "promo-1") == THREAD
    assert payload_text(stored) == "Season 3 tonight"
    assert payload_text({}) == ""


def test_an_edit_is_named_part_by_part() -> None:
    assert THREAD.differences(THREAD) == []
    retexted = replace(THREAD, parts=(Part("Season 3 is out", (IMAGE,)), THREAD.parts[1]))
    assert retexted.differences(THREAD) == ["text"]
    assert replace(THREAD, parts=(THREAD.parts[0], Part("on Netflix at 00:01"))).differences(THREAD) == ["thread"]
    assert replace(THREAD, parts=(Part("Season 3 tonight"), THREAD.parts[1])).differences(THREAD) == ["media"]
    assert replace(THREAD, link=None).differences(THREAD) == ["link"]


def test_the_digest_covers_what_is_sent_and_when() -> None:
    scheduled = ScheduledPost("jessica-jones-s3", "premiere", "premiere", THREAD, PREMIERE,
                              max_lateness=timedelta(hours=6))
    assert scheduled.max_lateness_s == 6 * 3600
    assert scheduled.digest == post_digest(THREAD.to_payload(), PREMIERE, None, 6 * 3600)
    assert replace(scheduled, scheduled_at=PREMIERE.astimezone(UTC)).digest == scheduled.digest  # one instant
    changed = [replace(scheduled, scheduled_at=PREMIERE + timedelta(minutes=1)),
               replace(scheduled, not_before=PREMIERE), replace(scheduled, max_lateness=None),
               replace(scheduled, post=replace(THREAD, link=None))]
    assert len({scheduled.digest, *(c.digest for c in changed)}) == 5
