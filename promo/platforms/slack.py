"""Slack channel through an incoming webhook (plain httpx).

``POST {webhook_url}`` with JSON ``{"text"}`` answers ``200 ok`` and nothing else: no message id,
no threading, no history. promo's id for the post is derived from its idempotency key; a timeout
after sending is unconfirmed. Errors are plain text: ``invalid_payload`` (400), ``invalid_token`` /
``no_service`` (403/404/410: the webhook was revoked, a person must replace it), 429 ``Retry-After``.
``base_url`` defaults to the webhook URL's own ``https://hooks.slack.com``; set, it replaces that
scheme and host (a fake in tests) and the webhook's path is kept.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from promo.errors import AuthError
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status
from promo.platforms.http import HookUrlAdapter, secret_hook_url
from promo.platforms.progress import lookup_parts, send_parts, unknowable
from promo.posts import Journal, Lookup, Part, Post, Published
from promo.rules.slack import SlackRules

if TYPE_CHECKING:
    import httpx

_REVOKED = ("invalid_token", "no_service", "channel_is_archived", "no_team", "team_disabled")
_EMPTY_REFUSED = ("no_text", "invalid_payload")
_NO_HISTORY = "a Slack incoming webhook cannot read the channel: check it by hand"


class SlackAdapter(HookUrlAdapter):
    platform = "slack"

    def hook_url(self) -> str:
        return secret_hook_url(self)

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(post, journal, lambda index, part, previous: self._send(post, index, part))
        return Published(ids[0], None, tuple(ids[1:]))

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Parts in the journal are published; a part sent without an answer cannot be told."""
        return lookup_parts(
            post, journal, lambda index, part, previous: unknowable(journal, index, _NO_HISTORY),
            lambda ids: Published(ids[0], None, tuple(ids[1:])),
        )

    def verify(self) -> str:
        # An incoming webhook has no read-only call: an empty payload is refused without posting.
        response = self.request("POST", "", json={})
        if response.status_code == 400 and response.text.strip() in _EMPTY_REFUSED:
            return "webhook accepted the credentials"
        self.raise_for(response)
        return "webhook reachable"

    def _send(self, post: Post, index: int, part: Part) -> str:
        self.call("POST", "", json={"text": part.text})
        seed = post.idempotency_key or part.text
        return f"slack-{hashlib.sha256(seed.encode()).hexdigest()[:16]}-{index}"

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        reason = response.text.strip()[:200] or response.reason_phrase
        if reason in _REVOKED:
            raise AuthError(f"the webhook was revoked ({reason}): create a new one", platform=self.platform)
        raise error_for_status(self.platform, response.status_code, reason, response.headers)


SPEC = PlatformSpec("slack", "Slack", SlackAdapter, SlackRules, credentials=("webhook_url",))
