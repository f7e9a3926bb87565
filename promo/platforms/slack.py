"""Slack: an incoming webhook for text, or a bot token and a channel for files (a video) and threads.

Webhook mode (``webhook_url`` only): ``POST {webhook_url}`` with JSON ``{"text"}`` answers ``200 ok``
and nothing else: no message id, no threading, no history, no files. promo's id for the post is
derived from its idempotency key; a timeout after sending is unconfirmed. Errors are plain text:
``invalid_payload`` (400), ``invalid_token`` / ``no_service`` (403/404/410: the webhook was revoked,
a person must replace it), 429 ``Retry-After``. ``base_url`` defaults to the webhook URL's own
``https://hooks.slack.com``; set, it replaces that scheme and host and the webhook's path is kept.

Bot mode (a ``channel`` option and a ``bot_token`` credential): the Web API at ``{base_url}/api``
(``base_url`` defaults to ``https://slack.com``). Each file first goes through the external upload
flow, streamed from disk: ``files.getUploadURLExternal`` (filename, length) -> ``upload_url`` and
``file_id``; the bytes POSTed to ``upload_url``; the ``file_id`` journaled (``media:<i>:<j>``). Then
each part is sent: ``files.completeUploadExternal`` (files, ``channel_id``, ``initial_comment`` =
the part's text, ``thread_ts`` for a thread's replies) shares its files with the text as one
message, whose ``ts`` Slack gives only in ``files.info`` (``shares``), read until it appears; a part
without files is ``chat.postMessage``. Web API errors are HTTP 200 ``{"ok": false, "error"}``:
``SLACK_ERRORS``.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from typing import TYPE_CHECKING, Any

from promo.errors import AuthError, Permanent, RateLimited, Retryable
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status, retry_at
from promo.platforms.http import HookUrlAdapter, json_body, secret_hook_url, streamed
from promo.platforms.media import local_path
from promo.platforms.progress import (
    NEVER_SENT,
    Later,
    PartFound,
    lookup_parts,
    media_key,
    send_parts,
    unknowable,
    upload_once,
    wait_for,
    was_attempted,
)
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.slack import SlackRules

if TYPE_CHECKING:
    import httpx

_REVOKED = ("invalid_token", "no_service", "channel_is_archived", "no_team", "team_disabled")
_EMPTY_REFUSED = ("no_text", "invalid_payload")
_NO_HISTORY = "a Slack incoming webhook cannot read the channel: check it by hand"
_NO_TEXT_LOOKUP = "a message without files is found only by reading the channel: check it by hand"
API_BASE = "https://slack.com"
SHARE_POLL_S = 1.0   # between two reads of files.info while Slack shares the files
SHARE_WAIT_S = 30.0  # then Retryable: the next attempt reads files.info again, never completes twice

# Web API ``error`` codes -> what they mean to promo; any other is Permanent with Slack's code.
SLACK_ERRORS: dict[str, type[Permanent] | type[Retryable]] = {
    **dict.fromkeys(("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                     "no_permission", "missing_scope", "not_allowed_token_type"), AuthError),
    **dict.fromkeys(("internal_error", "fatal_error", "service_unavailable", "request_timeout"), Retryable),
}


class SlackAdapter(HookUrlAdapter):
    platform = "slack"

    @property
    def bot(self) -> bool:
        """Bot mode: the account names a channel (its ``bot_token`` is then required)."""
        return bool(self.account.options.get("channel"))

    def hook_url(self) -> str:
        return secret_hook_url(self)

    def origin(self) -> str:
        return (self.account.base_url or API_BASE).rstrip("/") if self.bot else super().origin()

    def endpoint(self) -> str:
        return f"{self.origin()}/api" if self.bot else super().endpoint()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.secret('bot_token')}"} if self.bot else {}

    def publish(self, post: Post, journal: Journal) -> Published:
        if not self.bot:
            ids = send_parts(post, journal, lambda index, part, previous: self._send(post, index, part))
            return Published(ids[0], None, tuple(ids[1:]))
        for index, part in enumerate(post.parts):  # files first: a part is attempted once its files are up
            for number, media in enumerate(part.media):
                upload_once(journal, media_key(index, number), partial(self._upload, media))
        ids = send_parts(post, journal, partial(self._send_bot, journal))
        return Published(ids[0], None, tuple(ids[1:]))

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Parts in the journal are published; a part sent without an answer: ``_find``."""
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part),
            lambda ids: Published(ids[0], None, tuple(ids[1:])),
        )

    def verify(self) -> str:
        if self.bot:
            me = self.api("auth.test")
            return f"bot {me.get('user', me.get('user_id'))} in {me.get('team', me.get('team_id'))}"
        # An incoming webhook has no read-only call: an empty payload is refused without posting.
        response = self.request("POST", "", json={})
        if response.status_code == 400 and response.text.strip() in _EMPTY_REFUSED:
            return "webhook accepted the credentials"
        self.raise_for(response)
        return "webhook reachable"

    def _send(self, post: Post, index: int, part: Part) -> str:
        if part.media:
            raise Permanent("a Slack incoming webhook cannot upload files: add a bot token "
                            f"({self.account.name}'s bot_token) and a channel option", platform=self.platform)
        self.call("POST", "", json={"text": part.text})
        seed = post.idempotency_key or part.text
        return f"slack-{hashlib.sha256(seed.encode()).hexdigest()[:16]}-{index}"

    # -- bot mode ----------------------------------------------------------------------------------
    def api(self, method: str, *, form: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
            query: dict[str, str] | None = None) -> dict[str, Any]:
        """One Web API call (form-encoded, JSON or a GET); ``ok: false`` leaves as a promo error."""
        if query is not None:
            response = self.call("GET", method, params=query)
        else:
            response = self.call("POST", method, data=form, json=body)
        answer = json_body(self.platform, response)
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise slack_error(self.platform, str((answer or {}).get("error", "no ok in the answer")), response)
        return answer

    def _upload(self, media: Media) -> str:
        """``files.getUploadURLExternal``, then the bytes streamed to its URL: the file's id."""
        path = local_path(self.platform, media)
        got = self.api("files.getUploadURLExternal", form={"filename": path.name, "length": path.stat().st_size})
        content, headers = streamed(path)
        headers["Content-Type"] = "application/octet-stream"
        self.call("POST", str(got["upload_url"]), content=content, headers=headers)
        return str(got["file_id"])

    def _send_bot(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        channel = str(self.account.options["channel"])
        thread = {"thread_ts": previous} if previous else {}
        if not part.media:
            return str(self.api("chat.postMessage", body={"channel": channel, "text": part.text, **thread})["ts"])
        files = [{"id": journal.get(media_key(index, n)), "title": media.alt or local_path(self.platform, media).name}
                 for n, media in enumerate(part.media)]
        if not self._completed(journal, index, str(files[0]["id"])):  # never share the same files twice
            journal.record(f"complete:{index}", "sending")
            self.api("files.completeUploadExternal", form={
                "files": json.dumps(files), "channel_id": channel, "initial_comment": part.text, **thread})
            journal.record(f"complete:{index}", "done")
        return self._wait_shared(str(files[0]["id"]))

    def _completed(self, journal: Journal, index: int, file_id: str) -> bool:
        """Did an earlier attempt complete part ``index``? Asked of Slack when that attempt got no answer."""
        state = journal.get(f"complete:{index}")
        if state != "sending":
            return state == "done"
        try:
            return self._shared_ts(file_id) is not None
        except Permanent:
            return False  # files.info does not know a file never completed

    def _wait_shared(self, file_id: str) -> str:
        """``_shared_ts``, read every ``share_poll_s`` for at most ``share_wait_s``; then ``Retryable``."""
        options = self.account.options
        poll = float(options.get("share_poll_s", SHARE_POLL_S))
        return wait_for(self.platform, f"file {file_id}",
                        lambda: self._shared_ts(file_id) or Later(poll, "not shared in the channel"),
                        float(options.get("share_wait_s", SHARE_WAIT_S)))

    def _shared_ts(self, file_id: str) -> str | None:
        """The ``ts`` of the message sharing ``file_id`` in the channel (``files.info`` ``shares``), or None."""
        shares = self.api("files.info", query={"file": file_id}).get("file", {}).get("shares", {})
        for scope in ("public", "private"):
            found = shares.get(scope, {}).get(str(self.account.options["channel"]))
            if found:
                return str(found[0]["ts"])
        return None

    def _find(self, journal: Journal, index: int, part: Part) -> PartFound:
        if not self.bot:
            return unknowable(journal, index, _NO_HISTORY)
        if not was_attempted(journal, index):
            return NEVER_SENT
        file_id = journal.get(media_key(index, 0)) if part.media else None
        if file_id is None:
            return CannotTell(_NO_TEXT_LOOKUP)
        if journal.get(f"complete:{index}") is None:
            return NotPublished("its files were uploaded but never shared: no message exists")
        ts = self._shared_ts(file_id) if self._completed(journal, index, file_id) else None
        return ts or CannotTell(f"file {file_id} is not shared in the channel (yet): check the channel by hand")

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        reason = response.text.strip()[:200] or response.reason_phrase
        if reason in _REVOKED and not self.bot:
            raise AuthError(f"the webhook was revoked ({reason}): create a new one", platform=self.platform)
        raise error_for_status(self.platform, response.status_code, reason, response.headers)


def slack_error(platform: str, code: str, response: httpx.Response) -> Permanent | Retryable:
    """A Web API ``error`` code as a promo error (``SLACK_ERRORS``; ``ratelimited``: ``RateLimited``)."""
    if code == "ratelimited":
        return RateLimited(f"rate limited ({code})", platform=platform, retry_at=retry_at(response.headers))
    kind = SLACK_ERRORS.get(code, Permanent)
    if kind is AuthError:
        return AuthError(f"the bot token was refused ({code}): reinstall the app or add the scope", platform=platform)
    return kind(f"Slack answered {code}", platform=platform)


SPEC = PlatformSpec("slack", "Slack", SlackAdapter, SlackRules, credentials=("webhook_url",),
                    optional_credentials=("bot_token",), options=("channel", "share_poll_s", "share_wait_s"))
