"""X (Twitter) through tweepy's v2 ``Client``: posts, threads as replies, images, duplicate detection.

tweepy talks through ``client_tweepy.RoutingClient`` (a ``requests.Session``): it sends X's hosts to
the account's ``base_url`` (default ``https://api.twitter.com``; tweepy adds ``/2/...``) and
``upload_base_url``, and adds the timeout. ``wait_on_rate_limit`` is off: the worker owns retries.
Images go through the v2 upload (``POST /2/media/upload``), falling back to v1.1
``media/upload.json`` when v2 answers 404. Videos and GIFs go through the v2 chunked upload (INIT,
APPEND in 4 MiB segments streamed from disk, FINALIZE, then STATUS every ``check_after_secs`` until
``succeeded``); the journal keeps the upload's progress, so a retry resumes it, and the media id
once processed, so a retry reuses it (docs/platforms/x.md, "Video upload").
X has no idempotency key: a look-up reads the account's posts since the attempt for the same text
(all of them read and none matches: not published), and a 403 "duplicate content" is resolved the
same way. tweepy is imported on the first call to X, so the registry and preview never load it.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from promo.errors import AuthError, Duplicate, Permanent
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import local_path, media_file
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
)
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.x import XRules

if TYPE_CHECKING:
    from pathlib import Path

    import requests
    import tweepy

_URL = re.compile(r"https?://\S+")
RECENT = 100  # posts read back per look-up (X's maximum page)
CLOCK_SLACK = timedelta(minutes=2)  # read from a little before the attempt: clocks differ
UPLOAD_URL = "https://api.x.com/2/media/upload"
SEGMENT_BYTES = 4 * 1024 * 1024  # X takes APPEND segments of at most 5 MB
MEDIA_WAIT = 60.0  # seconds one attempt waits for X to process a video; the next attempt resumes the wait


def _normalized(text: str) -> str:
    """X shortens links to t.co and escapes HTML: compare texts without either."""
    return " ".join(_URL.sub("<url>", html.unescape(text)).split())


class XAdapter(BaseAdapter["requests.Session"]):
    platform = "x"

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_tweepy import TWEEPY_ERRORS

        return TWEEPY_ERRORS

    @cached_property
    def http(self) -> requests.Session:
        if self.given_http is not None:
            return self.given_http
        from promo.platforms.client_tweepy import RoutingClient

        api = self.account.api_base
        return RoutingClient(api, str(self.account.options.get("upload_base_url") or api).rstrip("/"), self.timeout)

    @cached_property
    def api(self) -> tweepy.Client:
        import tweepy

        client = tweepy.Client(
            consumer_key=self.account.secret("api_key"),
            consumer_secret=self.account.secret("api_secret"),
            access_token=self.account.secret("access_token"),
            access_token_secret=self.account.secret("access_token_secret"),
            return_type=dict,
            wait_on_rate_limit=False,
        )
        client.session = self.http
        return client

    @property
    def handle(self) -> str:
        return str(self.account.options["handle"]).lstrip("@")

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(
            post, journal, lambda index, part, previous: self._send(journal, index, part, previous)
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """The account's posts since the attempt: found, or not there when X returned all of them
        (a re-send of the same text is refused as a duplicate anyway), else cannot tell."""
        return lookup_parts(post, journal, lambda index, part, previous: self._find(journal, index, part),
                            self._published)

    def verify(self) -> str:
        with self.boundary():
            me = self.api.get_me(user_auth=True)
        return f"@{me['data']['username']}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://x.com/{self.handle}/status/{ids[0]}", tuple(ids[1:]))

    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        media_ids = self._media_ids(journal, index, part)
        try:
            with self.boundary():
                answer = self.api.create_tweet(
                    text=part.text, in_reply_to_tweet_id=previous, media_ids=media_ids, user_auth=True
                )
        except Duplicate:
            found = self._find(journal, index, part)  # X gives no id: find our earlier post
            if not isinstance(found, str):
                raise
            return found
        return str(answer["data"]["id"])

    def _media_ids(self, journal: Journal, index: int, part: Part) -> list[str] | None:
        """Every media's id, from the journal or uploaded now; any that cannot be attached fails the post."""
        ids = []
        for number, media in enumerate(part.media):
            key = media_key(index, number)
            ids.append(upload_once(journal, key, lambda m=media, k=key: self._upload(journal, k, m)))  # type: ignore[misc]
        return ids or None

    def _upload(self, journal: Journal, key: str, media: Media) -> str:
        if media.kind in ("video", "gif"):
            return self._chunked(journal, key, media)
        return self._simple(media)

    def _simple(self, media: Media) -> str:
        from promo.platforms.client_tweepy import raise_for_upload

        name, data, mime = media_file(self.platform, media)
        auth = self._oauth_handler().apply_auth()
        with self.boundary():
            response = self.http.post(
                "https://api.x.com/2/media/upload",
                files={"media": (name, data, mime)},
                data={"media_category": _category(media)},
                auth=auth,
            )
            if response.status_code == 404:
                return self._upload_v1(name, data)
            raise_for_upload(response)
            media_id = str(response.json()["data"]["id"])
            if media.alt:
                meta = {"id": media_id, "metadata": {"alt_text": {"text": media.alt[:1000]}}}
                raise_for_upload(self.http.post("https://api.x.com/2/media/metadata", json=meta, auth=auth))
        return media_id

    def _upload_v1(self, name: str, data: bytes) -> str:
        import tweepy

        api = tweepy.API(self._oauth_handler(), retry_count=0, timeout=self.timeout)
        api.session = self.http
        uploaded = api.simple_upload(name, file=io.BytesIO(data))
        return str(uploaded.media_id_string)

    # -- chunked upload (videos, GIFs) -------------------------------------------------------------
    def _chunked(self, journal: Journal, key: str, media: Media) -> str:
        """INIT / APPEND / FINALIZE / STATUS. ``<key>:upload`` holds ``"<media id> <size> <next segment
        or final>"``: a retry resumes it; one X no longer knows (expired) starts clean, once."""
        path = local_path(self.platform, media)
        note = journal.get(f"{key}:upload") or None
        try:
            outcome = self._upload_video(journal, key, media, path, note)
        except Permanent as exc:
            if note is None or isinstance(exc, AuthError):
                raise
            journal.record(f"{key}:upload", "")
            outcome = self._upload_video(journal, key, media, path, None)
        if isinstance(outcome, Permanent):
            raise outcome
        self._describe(outcome, media)
        return outcome

    def _upload_video(self, journal: Journal, key: str, media: Media, path: Path, note: str | None) -> str | Permanent:
        """The processed media id, or X's reason it could not process the file (returned, not raised:
        only a refused resume starts clean)."""
        size = path.stat().st_size
        media_id, stage = _resumed(note, size)
        if media_id is None:
            media_id, stage = self._command({"command": "INIT", "total_bytes": str(size), "media_type": _mime(media),
                                             "media_category": _category(media)})["data"]["id"], "0"
            journal.record(f"{key}:upload", f"{media_id} {size} 0")
        media_id = str(media_id)
        first = None
        if stage != "final":
            self._append(journal, key, media_id, path, size, int(stage))
            info = _processing(self._command({"command": "FINALIZE", "media_id": media_id}))
            journal.record(f"{key}:upload", f"{media_id} {size} final")
            if info is None:
                return media_id
            first = Later(float(str(info.get("check_after_secs", 1))), str(info.get("state", "pending")))
        uploaded = media_id

        def status() -> str | Permanent | Later:
            return self._status(uploaded)

        ready = wait_for(self.platform, f"video {path.name}", status, self._media_wait(), first)
        return cast("str | Permanent", ready)  # mypy cannot solve T | Later for a three-way union

    def _append(self, journal: Journal, key: str, media_id: str, path: Path, size: int, first: int) -> None:
        from promo.platforms.streaming import FileSlice

        segments = max(1, -(-size // SEGMENT_BYTES))
        with path.open("rb") as handle:
            for segment in range(first, segments):
                offset = segment * SEGMENT_BYTES
                body = FileSlice(handle, offset, min(SEGMENT_BYTES, size - offset))
                self._command({"command": "APPEND", "media_id": media_id, "segment_index": str(segment)}, body)
                journal.record(f"{key}:upload", f"{media_id} {size} {segment + 1}")

    def _status(self, media_id: str) -> str | Later | Permanent:
        answer = self._call("GET", params={"command": "STATUS", "media_id": media_id})
        info = _processing(answer) or {}
        state = str(info.get("state", "succeeded"))
        if state == "succeeded":
            return media_id
        if state == "failed":
            error = info.get("error") or {}
            reason = ": ".join(str(error[k]) for k in ("name", "message") if error.get(k)) or "no reason given"
            return Permanent(f"X could not process the media: {reason}", platform=self.platform)
        progress = f" {info['progress_percent']}%" if info.get("progress_percent") is not None else ""
        return Later(float(str(info.get("check_after_secs", 1))), f"{state}{progress}")

    def _command(self, fields: dict[str, str], media: object = None) -> dict[str, Any]:
        files: dict[str, tuple[str | None, object, str | None]] = {k: (None, v, None) for k, v in fields.items()}
        if media is not None:
            files["media"] = ("blob", media, "application/octet-stream")
        return self._call("POST", files=files)

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        from promo.platforms.client_tweepy import raise_for_upload

        with self.boundary():
            response = self.http.request(method, UPLOAD_URL, auth=self._oauth_handler().apply_auth(), **kwargs)
            raise_for_upload(response)
        return response.json() if response.content else {}

    def _describe(self, media_id: str, media: Media) -> None:
        from promo.platforms.client_tweepy import raise_for_upload

        if media.alt:
            meta = {"id": media_id, "metadata": {"alt_text": {"text": media.alt[:1000]}}}
            with self.boundary():
                raise_for_upload(self.http.post("https://api.x.com/2/media/metadata", json=meta,
                                                auth=self._oauth_handler().apply_auth()))

    def _media_wait(self) -> float:
        return float(self.account.options.get("media_wait") or MEDIA_WAIT)

    def _oauth_handler(self) -> tweepy.OAuth1UserHandler:
        import tweepy

        return tweepy.OAuth1UserHandler(
            self.account.secret("api_key"),
            self.account.secret("api_secret"),
            self.account.secret("access_token"),
            self.account.secret("access_token_secret"),
        )

    def _find(self, journal: Journal, index: int, part: Part) -> PartFound:
        sent = attempted_at(journal, index)
        if journal.get(f"sending:{index}") is None:
            return NEVER_SENT
        since = sent - CLOCK_SLACK if sent is not None else None
        with self.boundary():
            recent = self.api.get_users_tweets(self._user_id(), max_results=RECENT, user_auth=True, start_time=since)
        wanted = _normalized(part.text)
        for tweet in recent.get("data") or []:
            if _normalized(tweet.get("text", "")) == wanted:
                return str(tweet["id"])
        if since is not None and not (recent.get("meta") or {}).get("next_token"):
            return NotPublished("not among the account's posts since the attempt")
        return CannotTell("not among the account's latest posts, which may not reach back to the attempt")

    def _user_id(self) -> str:
        if self.account.options.get("user_id"):
            return str(self.account.options["user_id"])
        with self.boundary():
            return str(self.api.get_me(user_auth=True)["data"]["id"])


def _category(media: Media) -> str:
    return {"gif": "tweet_gif", "video": "tweet_video"}.get(media.kind, "tweet_image")


def _mime(media: Media) -> str:
    return media.mime or ("image/gif" if media.kind == "gif" else "video/mp4")


def _processing(answer: dict[str, Any]) -> dict[str, Any] | None:
    data = answer.get("data")
    info = data.get("processing_info") if isinstance(data, dict) else None
    return info if isinstance(info, dict) else None


def _resumed(note: str | None, size: int) -> tuple[str | None, str]:
    """``(media id, next segment or "final")`` from the journal's note, when it is for a file this size."""
    fields = (note or "").split()
    if len(fields) == 3 and fields[1] == str(size):
        return fields[0], fields[2]
    return None, "0"


SPEC = PlatformSpec(
    "x", "X", XAdapter, XRules,
    credentials=("api_key", "api_secret", "access_token", "access_token_secret"),
    required_options=("handle",), options=("user_id", "upload_base_url", "media_wait"),
    default_base_url="https://api.twitter.com",
)
