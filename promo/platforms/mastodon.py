"""Mastodon through Mastodon.py: statuses, threads (``in_reply_to_id``), media via ``/api/v2/media``.

Every status is sent with a deterministic ``Idempotency-Key`` (the post's key and the part's index):
Mastodon answers a repeat within an hour with the original status, so a retry after a timeout
cannot post twice. The character limit is read from the instance (``/api/v2/instance``) before
posting. Mastodon.py's own waiting is off (``ratelimit_method="throw"``) and ``request_timeout`` is
set. A look-up reads the account's recent statuses for the same text (not found: "not published"
within the key's hour, since a re-send is answered with the first status; later "cannot tell"). ``base_url`` is the
instance (default ``https://mastodon.social``); Mastodon.py adds ``/api/v1/...``. Mastodon.py is
imported on the first call to the instance, so the registry and preview never load it.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from promo.errors import Permanent, Retryable
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.progress import NEVER_SENT, PartFound, attempted_at, lookup_parts, send_parts, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.mastodon import MastodonRules
from promo.times import utcnow

if TYPE_CHECKING:
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
    def instance_limit(self) -> int:
        """The instance's own character limit (``configuration.statuses.max_characters``)."""
        with self.boundary():
            instance = self.api.instance_v2()
        try:
            return int(instance["configuration"]["statuses"]["max_characters"])
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
        media_ids = [self._upload(m) for m in part.media] or None
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

    def _upload(self, media: Media) -> str:
        with self.boundary():
            uploaded = self.api.media_post(media.path, mime_type=media.mime, description=media.alt or None)
            deadline = time.monotonic() + MEDIA_WAIT_SECONDS
            while uploaded.get("url") is None:
                if time.monotonic() > deadline:
                    raise Retryable("media still processing", platform=self.platform)
                time.sleep(MEDIA_POLL_SECONDS)
                uploaded = self.api.media(uploaded["id"])
        return str(uploaded["id"])

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
    credentials=("access_token",), options=("max_characters",), default_base_url="https://mastodon.social",
)
