"""The generic webhook with media: multipart streamed from disk, the signature over the JSON part."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited
from promo.platforms.webhook import sign, verify_signature
from promo.posts import Media, MemoryJournal, Part, Post, Published
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.webhook import SECRET, FakeWebhookServer, Receiver
from tests.media.mediakit import large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import publish_peak_memory


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with FakeWebhookServer() as running:
        yield running


def account(receiver: Receiver) -> Any:
    return make_account("webhook", None, {"signing_secret": SECRET}, url=receiver.url)


def clip(path: Path) -> Media:
    return Media(str(path), "Krysten Ritter directing", path.stat().st_size, "video/mp4")


def test_text_keeps_the_json_body_and_its_signature(receiver: Receiver) -> None:
    adapter(account(receiver)).publish(single("webhook", "Season 3", "k-text"), MemoryJournal())
    [call] = receiver.calls
    assert call.signed and call.files == {} and call.body["parts"] == [{"text": "Season 3", "media": []}]


def test_a_video_and_an_image_go_as_signed_multipart(receiver: Receiver, tmp_path: Path) -> None:
    video, poster = tiny_video(tmp_path), tiny_image(tmp_path)
    post = Post("webhook", "site", (Part("The featurette", (clip(video),)),
                                    Part("The poster", (Media(str(poster), "Poster", None, "image/png"),))), "k-v")
    published = adapter(account(receiver)).publish(post, MemoryJournal())
    [call] = receiver.calls
    assert call.signed and call.key == "k-v" and published == Published("wh-1", "https://example.test/p/wh-1")
    first, second = (part["media"][0] for part in call.body["parts"])
    assert first == {"path": str(video), "alt": "Krysten Ritter directing", "mime": "video/mp4", "file": "media-0-0",
                     "size": video.stat().st_size, "sha256": hashlib.sha256(video.read_bytes()).hexdigest()}
    assert second["file"] == "media-1-0" and second["size"] == poster.stat().st_size  # the size on disk, sent
    assert call.files["media-0-0"] == {"size": video.stat().st_size, "sha256": first["sha256"],
                                       "filename": video.name, "content_type": "video/mp4", "matches": True}
    assert call.files["media-1-0"]["matches"] and call.files["media-1-0"]["content_type"] == "image/png"


def test_the_signing_contract_holds_for_the_payload_part() -> None:
    body, now = b'{"idempotency_key":"k","parts":[]}', int(time.time())
    header = sign(SECRET, body, now)
    expected = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}" and verify_signature(SECRET, body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature(SECRET, body, sign(SECRET, body, now - 301))


def test_a_missing_file_is_never_sent(receiver: Receiver, tmp_path: Path) -> None:
    gone = Media(str(tmp_path / "gone.mp4"), "", 1, "video/mp4")
    with pytest.raises(Permanent, match=r"gone\.mp4"):
        adapter(account(receiver)).publish(single("webhook", "x", "k", gone), MemoryJournal())
    assert receiver.calls == []


def test_a_429_waits_and_the_retry_is_received_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.mode, receiver.times = "ratelimit", 1
    post = single("webhook", "The featurette", "k-429", clip(tiny_video(tmp_path)))
    with pytest.raises(RateLimited):
        adapter(account(receiver)).publish(post, MemoryJournal())
    adapter(account(receiver)).publish(post, MemoryJournal())
    assert receiver.keys() == ["k-429", "k-429"] and list(receiver.stored) == ["k-429"]
    assert all(call.files["media-0-0"]["matches"] for call in receiver.calls)


def test_upload_streams_from_disk(receiver: Receiver, tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    post = single("webhook", "The trailer", "k-big", clip(large_video(tmp_path, size)))
    peak = publish_peak_memory(tmp_path, "webhook", None, {"signing_secret": SECRET},
                               {"url": receiver.url}, post)
    [call] = receiver.calls
    assert call.signed and call.files["media-0-0"]["size"] == size and call.files["media-0-0"]["matches"]
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"
