"""Mastodon through Mastodon.py: statuses, threads (``in_reply_to_id``), media via ``/api/v2/media``.

Every status is sent with a deterministic ``Idempotency-Key`` (the post's key and the part's index):
Mastodon answers a repeat within an hour with the original status, so a retry after a timeout
cannot post twice. The character limit is read from the instance (``/api/v2/instance``) before
posting. Mastodon.py's own waiting is off (``ratelimit_method="throw"``) and ``request_timeout`` is
set. A look-up reads the account's recent statuses for the same text (not found: "not published"
within the key's hour, since a re-send is answered with the first status; later "cannot tell"). Media go
through ``POST /api/v2/media`` streamed from disk (202 while a video is processed), then
``GET /api/v1/media/:id`` until it has a ``url``, within ``media_wait`` seconds; the journal keeps the
media id, so a retry polls or reuses it instead of uploading again (docs/platforms/mastodon.md,
"Video upload"). ``base_url`` is the instance (default ``https://mastodon.social``); Mastodon.py
adds ``/api/v1/...``. Mastodon.py is imported on the first call to the instance, so the registry
and preview never load it.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from contextlib import ExitStack
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from promo.errors import AuthError, Permanent
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import cover_path, local_path
from promo.platforms.progress import (
    NEVER_SENT,
    Later,
    PartFound,
    attempted_at,
    lookup_parts,
    media_key,
    send_parts,
    upload_once,
    wait_for,
    was_attempted,
)
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.mastodon import MastodonRules
from promo.times import utcnow

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    import requests  # noqa: F401  (the quoted generic argument below)
    from mastodon import Mastodon

MEDIA_WAIT_SECONDS = 60.0
MEDIA_POLL_SECONDS = 1.0
# Mastodon honours an Idempotency-Key for an hour; a re-send is safe well inside it
IDEMPOTENCY_WINDOW = timedelta(minutes=50)
_TAG = re.compile(r"<[^>]+>")


class MastodonAdapter(BaseAdapter["requests.Session"]):
    platform = "mastodon"

    @cached_property
    def api(self) -> Mastodon:
        from promo.platforms.client_mastodon import make_api

        return make_api(self.account.api_base, self.account.secret("access_token"), self.timeout, self.given_http)

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_mastodon import mastodon_errors

        return mastodon_errors(self.api)

    def publish(self, post: Post, journal: Journal) -> Published:
        self._check_limit(post)
        ids = send_parts(
            post, journal, lambda index, part, previous: self._send(post, journal, index, part, previous)
        )
        return self._published(ids, journal)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """The account's latest statuses; a part not among them is not published while a re-send of it
        would still carry a live Idempotency-Key (Mastodon answers it with the first status), else
        cannot tell."""
        return lookup_parts(post, journal, lambda index, part, previous: self._find(journal, index, part),
                            lambda ids: self._published(ids, journal))

    def verify(self) -> str:
        with self.boundary():
            me = self.api.account_verify_credentials()
        return f"@{me['acct']} (limit {self.instance_limit})"

    @cached_property
    def instance(self) -> dict[str, Any]:
        """The instance's ``/api/v2/instance``: its limits."""
        with self.boundary():
            return dict(self.api.instance_v2())

    @cached_property
    def instance_limit(self) -> int:
        """The instance's own character limit (``configuration.statuses.max_characters``)."""
        try:
            return int(self.instance["configuration"]["statuses"]["max_characters"])
        except (KeyError, TypeError, ValueError):
            return int(self.account.options.get("max_characters", 500))

    def _check_limit(self, post: Post) -> None:
        for index, part in enumerate(post.parts):
            length = self.rules.length(part.text)
            if length > self.instance_limit:
                raise Permanent(
                    f"part {index} is {length} characters; this instance allows {self.instance_limit}",
                    platform=self.platform,
                )

    def _published(self, ids: list[str], journal: Journal) -> Published:
        return Published(ids[0], journal.get("url"), tuple(ids[1:]))

    def _send(self, post: Post, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        media_ids = self._media_ids(journal, index, part)
        with self.boundary():
            status = self.api.status_post(
                part.text,
                in_reply_to_id=previous,
                media_ids=media_ids,
                idempotency_key=idempotency_key(post, index),
            )
        if index == 0 and status.get("url"):
            journal.record("url", str(status["url"]))
        return str(status["id"])

    # -- media -------------------------------------------------------------------------------------
    def _media_ids(self, journal: Journal, index: int, part: Part) -> list[str] | None:
        """Every media's id, from the journal or uploaded now; any that cannot be attached fails the post."""
        ids = []
        for number, media in enumerate(part.media):
            key = media_key(index, number)
            ids.append(upload_once(journal, key, lambda m=media, k=key: self._upload(journal, k, m)))  # type: ignore[misc]
        return ids or None

    def _upload(self, journal: Journal, key: str, media: Media) -> str:
        """Upload (or find the upload of) one file and wait until the instance has processed it.

        ``<key>:processing`` holds the id of an upload still being processed: a retry polls it; one
        the instance no longer knows is uploaded again."""
        pending = journal.get(f"{key}:processing")
        if pending:
            try:
                return self._processed(pending, media)
            except Permanent as exc:
                if "Record not found" not in str(exc):
                    raise
        path = local_path(self.platform, media)
        self._check_size(path, media)
        with self.boundary(), ExitStack() as stack:
            uploaded = self.api.media_post(stack.enter_context(path.open("rb")),
                                           mime_type=media.mime or "application/octet-stream",
                                           description=media.alt or None, file_name=path.name,
                                           **self._thumbnail(stack, media))
        if uploaded.get("url") is not None:
            return str(uploaded["id"])
        journal.record(f"{key}:processing", str(uploaded["id"]))
        return self._processed(str(uploaded["id"]), media)

    def _processed(self, media_id: str, media: Media) -> str:
        def check() -> str | Later:
            try:
                with self.boundary():
                    found = self.api.media(media_id)
            except AuthError:
                raise
            except Permanent as exc:  # 422: processing failed; 404: gone
                raise Permanent(f"the instance could not process {media.path}: {exc}", platform=self.platform) from exc
            return str(found["id"]) if found.get("url") is not None else Later(self._poll())

        return wait_for(self.platform, f"media {media.path}", check, self._media_wait(), Later(self._poll()))

    def _thumbnail(self, stack: ExitStack, media: Media) -> dict[str, Any]:
        """The cover as ``thumbnail`` (an image file as it is, a frame time as a JPEG); videos only."""
        if media.kind != "video" or not media.cover:
            return {}
        image = cover_path(self.platform, media)
        if image is not None:
            mime = mimetypes.guess_type(image.name)[0] or "image/jpeg"
            return {"thumbnail": stack.enter_context(image.open("rb")), "thumbnail_mime_type": mime}
        from promo.platforms.covers import cover_jpeg

        return {"thumbnail": cover_jpeg(self.platform, media, 1280, 2_000_000), "thumbnail_mime_type": "image/jpeg"}

    def _check_size(self, path: Path, media: Media) -> None:
        """The instance's own limit (``configuration.media_attachments``), checked before sending."""
        limits = self.instance.get("configuration", {}).get("media_attachments", {})
        limit = limits.get("video_size_limit" if media.kind in ("video", "gif") else "image_size_limit")
        size = path.stat().st_size
        if isinstance(limit, int) and size > limit:
            raise Permanent(f"{path.name} is {size} bytes; this instance takes {media.kind}s up to {limit}",
                            platform=self.platform)

    def _media_wait(self) -> float:
        return float(self.account.options.get("media_wait") or MEDIA_WAIT_SECONDS)

    def _poll(self) -> float:
        return float(self.account.options.get("media_poll") or MEDIA_POLL_SECONDS)

    def _find(self, journal: Journal, index: int, part: Part) -> PartFound:
        if not was_attempted(journal, index):
            return NEVER_SENT
        with self.boundary():
            me = self.api.account_verify_credentials()
            recent = self.api.account_statuses(me["id"], limit=40)
        wanted = _plain(part.text)
        for status in recent:
            if _plain(_TAG.sub("", html.unescape(str(status.get("content", ""))))) == wanted:
                if index == 0 and status.get("url"):
                    journal.record("url", str(status["url"]))
                return str(status["id"])
        return _not_found(journal, index)


def _not_found(journal: Journal, index: int) -> NotPublished | CannotTell:
    sent = attempted_at(journal, index)
    if sent is not None and utcnow() - sent < IDEMPOTENCY_WINDOW:
        return NotPublished("not among the latest statuses, and a re-send carries the same Idempotency-Key")
    return CannotTell("not among the latest statuses, and its Idempotency-Key may have expired")


def idempotency_key(post: Post, index: int) -> str:
    """The same key for the same part of the same post, on every attempt."""
    seed = post.idempotency_key or hashlib.sha256(post.parts[0].text.encode()).hexdigest()
    return f"promo-{seed}-{index}"


def _plain(text: str) -> str:
    return "".join(text.split())


SPEC = PlatformSpec(
    "mastodon", "Mastodon", MastodonAdapter, MastodonRules,
    credentials=("access_token",), options=("max_characters", "media_wait", "media_poll"),
    default_base_url="https://mastodon.social",
)
