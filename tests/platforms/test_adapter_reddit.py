"""Reddit through PRAW, against the fake: link, text, image and video posts, the subreddit's rules,
rate limits owned by the worker, faults after acceptance, look-ups, and uploads streamed from disk."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.platforms.registry import rules_for
from promo.posts import CannotTell, Media, MemoryJournal, NotPublished, Post, Published
from promo.times import iso, utcnow
from tests.fakes.accounts import HANG, adapter, make_account, single
from tests.fakes.reddit import REDDIT_TOKEN, SUBREDDIT, USERNAME, FakeReddit
from tests.media.mediakit import large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import ROOT, killed_mid_upload

LINK = "Jessica Jones season 3: the featurette\nhttps://www.netflix.com/title/80002311"


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    with FakeReddit() as server:
        yield server  # type: ignore[misc]


def options(fake: FakeReddit, **extra: Any) -> dict[str, Any]:
    return {"subreddit": SUBREDDIT, "media_upload_url": fake.url, "media_wait_s": 1, **extra}


def account(fake: FakeReddit, token: str = REDDIT_TOKEN, **extra: Any) -> Any:
    return make_account("reddit", fake.url, {"access_token": token}, **options(fake, **extra))


def clip(tmp_path: Path) -> Media:
    path = tiny_video(tmp_path, seconds=2)
    return Media(str(path), "", path.stat().st_size, "video/mp4")


def picture(tmp_path: Path) -> Media:
    path = tiny_image(tmp_path, format="JPEG")
    return Media(str(path), "Poster", path.stat().st_size, "image/jpeg")


def test_a_link_post_with_flair_spoiler_and_nsfw(fake: FakeReddit) -> None:
    published = adapter(account(fake, flair_id="f-1", flair_text="Trailer", spoiler=True, nsfw=True)).publish(
        single("reddit", LINK), MemoryJournal())
    [post] = fake.posts
    assert (post["kind"], post["title"], post["url"]) == ("link", "Jessica Jones season 3: the featurette",
                                                           "https://www.netflix.com/title/80002311")
    assert (post["flair_id"], post["flair_text"], post["spoiler"], post["over_18"]) == ("f-1", "Trailer", True, True)
    assert published.platform_id == post["id"] and published.url.endswith(f"/r/{SUBREDDIT}/comments/{post['id']}/")


def test_a_text_post_keeps_its_body_as_markdown(fake: FakeReddit) -> None:
    adapter(account(fake)).publish(single("reddit", "Discussion: season 3\n\nWhat did you think of **episode 2**?"),
                                   MemoryJournal())
    [post] = fake.posts
    assert (post["kind"], post["selftext"], post["spoiler"]) == ("self", "What did you think of **episode 2**?", False)


def test_an_image_post_uploads_through_the_lease_then_posts(fake: FakeReddit, tmp_path: Path) -> None:
    media = picture(tmp_path)
    journal = MemoryJournal()
    published = adapter(account(fake)).publish(single("reddit", "The season 3 poster", "k", media), journal)
    [post] = fake.posts
    assert post["kind"] == "image" and fake.uploads[post["media_key"]] == Path(media.path).read_bytes()
    assert published.platform_id == post["id"] and journal.get("media:0:0")
    lease = fake.requests_to("/api/media/asset.json")[0]
    assert lease.form == {"filepath": Path(media.path).name, "mimetype": "image/jpeg", "api_type": "json"}


def test_a_video_post_has_a_poster_and_its_websocket_names_the_post(fake: FakeReddit, tmp_path: Path) -> None:
    media = clip(tmp_path)
    published = adapter(account(fake)).publish(single("reddit", "The featurette", "k", media), MemoryJournal())
    [post] = fake.posts
    assert post["kind"] == "video" and fake.uploads[post["media_key"]] == Path(media.path).read_bytes()
    posters = [data for key, data in fake.uploads.items() if key.endswith("poster.jpg")]
    assert len(posters) == 1 and posters[0][:2] == b"\xff\xd8"  # the first frame, as JPEG
    assert published.platform_id == post["id"]


@pytest.mark.parametrize(("rules", "about", "text", "message"), [
    ({"is_flair_required": True}, {}, LINK, "requires post flair"),
    ({"title_text_min_length": 60}, {}, LINK, "minimum is 60"),
    ({"domain_whitelist": ["youtube.com"]}, {}, LINK, "only to youtube.com"),
    ({"body_restriction_policy": "required"}, {}, "Just a title", "requires a body"),
    ({"title_blacklisted_strings": ["featurette"]}, {}, LINK, "may not contain 'featurette'"),
    ({}, {"submission_type": "self"}, LINK, "does not take link posts"),
])
def test_the_subreddits_own_rules_are_read_and_refuse_before_anything_is_sent(
        fake: FakeReddit, rules: dict[str, Any], about: dict[str, Any], text: str, message: str) -> None:
    fake.requirements, fake.about = rules, {**fake.about, **about}
    journal = MemoryJournal()
    with pytest.raises(Permanent, match=message):
        adapter(account(fake)).publish(single("reddit", text), journal)
    assert fake.posts == [] and not fake.requests_to("/api/submit") and journal.get("sending:0") is None


def test_flair_given_satisfies_a_subreddit_that_requires_it(fake: FakeReddit) -> None:
    fake.requirements = {"is_flair_required": True}
    adapter(account(fake, flair_id="f-9")).publish(single("reddit", LINK), MemoryJournal())
    assert fake.posts[0]["flair_id"] == "f-9"


def test_a_ratelimit_answer_is_rate_limited_at_its_time_without_sleeping(fake: FakeReddit) -> None:
    fake.ratelimit_next = 9
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake)).publish(single("reddit", LINK), MemoryJournal())
    assert time.monotonic() - started < 2 and len(fake.requests_to("/api/submit")) == 1
    assert caught.value.retry_at is not None
    assert timedelta(minutes=8) < caught.value.retry_at - utcnow() <= timedelta(minutes=9)


def test_a_429_and_a_spent_window_are_rate_limited_not_slept(fake: FakeReddit) -> None:
    fake.fail_next("/api/submit", 429, {"message": "Too Many Requests"}, {"Retry-After": "30"})
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake)).publish(single("reddit", LINK), MemoryJournal())
    assert caught.value.retry_at is not None and caught.value.retry_at - utcnow() <= timedelta(seconds=30)
    fake.remaining = 1  # the next answer says 0 left, resetting in 420 s
    started = time.monotonic()
    with pytest.raises(RateLimited, match="window is spent"):
        adapter(account(fake)).publish(single("reddit", "Another title\nhttps://example.com/x"), MemoryJournal())
    assert time.monotonic() - started < 2


def test_a_5xx_is_retryable_and_prawcore_does_not_resend_it(fake: FakeReddit) -> None:
    fake.fail_next("/api/submit", 503, {"message": "Service Unavailable"})
    journal = MemoryJournal()
    with pytest.raises(Retryable):
        adapter(account(fake)).publish(single("reddit", LINK), journal)
    assert len(fake.requests_to("/api/submit")) == 1
    published = adapter(account(fake)).publish(single("reddit", LINK), journal)  # looked first: not there
    assert [p["id"] for p in fake.posts] == [published.platform_id]


def test_a_submission_answered_too_late_is_found_instead_of_posted_twice(fake: FakeReddit) -> None:
    fake.fail_next("/api/submit", delay=HANG)  # Reddit makes the post, the answer never comes in time
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(account(fake)).publish(single("reddit", LINK), journal)
    assert isinstance(adapter(account(fake)).lookup(single("reddit", LINK), journal), Published)
    published = adapter(account(fake)).publish(single("reddit", LINK), journal)
    assert [p["id"] for p in fake.posts] == [published.platform_id] and len(fake.requests_to("/api/submit")) == 1


def test_a_silent_websocket_is_ambiguous_and_the_look_up_finds_the_post(fake: FakeReddit, tmp_path: Path) -> None:
    fake.hang_websocket = True
    post, journal = single("reddit", "The featurette", "k", clip(tmp_path)), MemoryJournal()
    with pytest.raises(Ambiguous, match="websocket"):
        adapter(account(fake)).publish(post, journal)
    found = adapter(account(fake)).lookup(post, journal)
    assert isinstance(found, Published) and found.platform_id == fake.posts[0]["id"]


def test_media_reddit_could_not_use_is_permanent(fake: FakeReddit, tmp_path: Path) -> None:
    fake.fail_media = True
    with pytest.raises(Permanent, match="could not make a post"):
        adapter(account(fake)).publish(single("reddit", "The featurette", "k", clip(tmp_path)), MemoryJournal())
    assert fake.posts == []


def test_a_refused_token_is_an_auth_error(fake: FakeReddit) -> None:
    with pytest.raises(AuthError):
        adapter(account(fake, token="revoked-token")).publish(single("reddit", LINK), MemoryJournal())
    with pytest.raises(AuthError):
        adapter(account(fake, token="revoked-token")).verify()


def test_verify_names_the_user_and_the_subreddits_rules(fake: FakeReddit) -> None:
    fake.requirements = {"is_flair_required": True, "title_text_min_length": 10}
    shown = adapter(account(fake)).verify()
    assert shown == f"u/{USERNAME} posting to r/{SUBREDDIT} (title 10-300 characters; flair required)"


def test_look_ups(fake: FakeReddit, tmp_path: Path) -> None:
    reddit = adapter(account(fake))
    assert isinstance(reddit.lookup(single("reddit", LINK), MemoryJournal()), NotPublished)
    tried = MemoryJournal({"sending:0": iso(utcnow())})
    assert isinstance(reddit.lookup(single("reddit", LINK), tried), NotPublished)  # made at once: not there
    media_post = single("reddit", "The featurette", "k", clip(tmp_path))
    assert isinstance(reddit.lookup(media_post, MemoryJournal({"sending:0": iso(utcnow())})), CannotTell)
    old = MemoryJournal({"sending:0": iso(utcnow() - timedelta(hours=1))})
    assert isinstance(reddit.lookup(media_post, old), NotPublished)
    reddit.publish(single("reddit", LINK), MemoryJournal())
    earlier = MemoryJournal({"sending:0": iso(utcnow() + timedelta(hours=1))})  # a post from before the attempt
    assert isinstance(reddit.lookup(single("reddit", LINK), earlier), NotPublished)


def test_never_posts_without_the_media_it_was_given(fake: FakeReddit, tmp_path: Path) -> None:
    gone = Media(str(tmp_path / "missing.mp4"), "", 10, "video/mp4")
    with pytest.raises(Permanent, match=r"missing\.mp4"):
        adapter(account(fake)).publish(single("reddit", "The featurette", "k", gone), MemoryJournal())
    assert fake.posts == [] and not fake.requests_to("/api/submit")


def test_a_worker_killed_mid_upload_posts_nothing_then_once(fake: FakeReddit, tmp_path: Path) -> None:
    media = clip(tmp_path)
    post = single("reddit", "The featurette", "k", media)
    fake.fail_next("/api/media/asset.json", delay=5.0)  # the lease hangs: the kill comes while it is asked
    journal = killed_mid_upload(tmp_path, "reddit", fake.url, {"access_token": REDDIT_TOKEN}, options(fake), post,
                                when=lambda notes: bool(fake.requests_to("/api/media/asset.json")))
    assert fake.posts == [] and journal.get("sending:0") is None
    assert isinstance(adapter(account(fake)).lookup(post, journal), NotPublished)
    published = adapter(account(fake)).publish(post, journal)
    assert [p["id"] for p in fake.posts] == [published.platform_id]


_MEASURE = """
import json, sys, tracemalloc
from pathlib import Path
from promo.posts import Post
from tests.fakes.accounts import adapter, make_account
from tests.platforms.uploadkit import FileJournal
spec = json.loads(sys.argv[1])
account = make_account("reddit", spec["base_url"], spec["credentials"], **spec["options"])
post = Post.from_payload("reddit", account.name, spec["payload"], "k")
warm = Post.from_payload("reddit", account.name, spec["warm"], "w")  # a tiny video first: every lazy import done
adapter(account, timeout=30.0).publish(warm, FileJournal(Path(spec["journal"] + ".warm")))
tracemalloc.start()
adapter(account, timeout=30.0).publish(post, FileJournal(Path(spec["journal"])))
print(tracemalloc.get_traced_memory()[1])
"""


def peak_memory(tmp_path: Path, fake: FakeReddit, post: Post) -> int:
    """tracemalloc's peak while ``post`` is published in a child process, after a tiny video's publish
    (PRAW, PyAV and Pillow load modules on first use: imports, not the upload)."""
    warm = single("reddit", "Warm-up", "w", clip(tmp_path)).to_payload()
    spec = {"warm": warm, "base_url": fake.url, "credentials": {"access_token": REDDIT_TOKEN}, "options": options(fake),
            "payload": post.to_payload(), "journal": str(tmp_path / "journal.json")}
    done = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(spec)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_upload_streams_from_disk(fake: FakeReddit, tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    path = large_video(tmp_path, size)
    post = single("reddit", "The featurette", "k", Media(str(path), "", size, "video/mp4"))
    peak = peak_memory(tmp_path, fake, post)
    assert len(fake.posts) == 2 and size in {len(data) for data in fake.uploads.values()}
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"


@pytest.mark.parametrize(("text", "fragment"), [
    ("x" * 301 + "\nbody", "301/300"),
    ("A title\n" + "y" * 40_001, "body 40,001/40,000"),
    ("\n\nhttps://example.com", "no title"),
])
def test_preview_checks_reddits_fixed_limits(text: str, fragment: str) -> None:
    report = rules_for("reddit", {"subreddit": SUBREDDIT}).check(Post.single("reddit", "r", text))
    assert any(fragment in p.message for p in report.problems), report.problems


def test_preview_passes_a_good_post_and_counts_the_title() -> None:
    report = rules_for("reddit", {"subreddit": SUBREDDIT}).check(Post.single("reddit", "r", LINK))
    assert report.ok and (report.length, report.limit) == (len("Jessica Jones season 3: the featurette"), 300)
