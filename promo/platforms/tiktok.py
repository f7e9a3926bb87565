"""TikTok through the Content Posting API (plain httpx; TikTok has no official Python client): direct posts.

Every publish first asks ``POST /v2/post/publish/creator_info/query/`` what the creator allows
(privacy levels, the longest video, whether comments, duets and stitches are off) and checks the
post against it (``promo.rules.tiktok.creator_problems``: refused -> ``Permanent``, nothing sent).
An unaudited app (``audited = false``, the default) posts ``SELF_ONLY``; an audited one posts with
the account's ``privacy_level``. Comments, duets and stitches are off where the creator or the
account (``allow_comments = false``...) turned them off. ``verify`` (``promo accounts check``) leaves
the creator_info it read in ``facts``, which the check caches for ``promo apply`` to check against.

A video goes by ``FILE_UPLOAD`` (the default): ``POST /v2/post/publish/video/init/`` with its size
and TikTok's chunking (``chunks``), then a ``PUT`` per chunk to the ``upload_url`` with its
``Content-Range``, streamed from disk; each chunk done is journaled (``chunk:<publish id>:<n>``), so
a crash resumes at the next chunk (within the upload URL's hour, else a fresh init: an upload never
completed is never posted).
With ``source = "pull"`` (or for photos, which TikTok takes only that way) TikTok fetches the media
from a public URL (the media host, ``promo.platforms.mediahost``, or the account's
``media_base_url``): ``PULL_FROM_URL`` for a video, ``/v2/post/publish/content/init/`` with
``media_type=PHOTO`` for photos. Either way the ``publish_id`` is journaled at once, then
``POST /v2/post/publish/status/fetch/`` is polled until ``PUBLISH_COMPLETE`` (``FAILED``:
``Permanent`` with TikTok's ``fail_reason``). The post's id is ``publicaly_available_post_id`` (sic),
which TikTok gives only for a public post; a private one is known by its publish id.

A look-up asks the status of the journaled publish id: complete -> published; failed -> not
published; still processing -> cannot tell. No publish id: an upload never started cannot have
posted, and a pull request in flight cannot be told. ``base_url`` defaults to
``https://open.tiktokapis.com``.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import retry_at
from promo.platforms.http import HttpAdapter, streamed
from promo.platforms.media import local_path
from promo.platforms.progress import Later, wait_for, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.tiktok import CREATOR_FIELDS, TikTokRules, allows, audited, creator_problems, privacy_of
from promo.times import iso, utcnow

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

MB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK, MAX_LAST_CHUNK = 5 * MB, 64 * MB, 128 * MB
DEFAULT_CHUNK = 10 * MB
UPLOAD_URL_LIFE = 3600.0  # TikTok: an upload_url is valid for one hour
STATUS_POLL_S, STATUS_WAIT_S = 5.0, 120.0
_RATE = {"rate_limit_exceeded": timedelta(minutes=1), "spam_risk_too_many_pending_share": timedelta(hours=1),
         "spam_risk_too_many_posts": timedelta(hours=24)}
_DONE, _FAILED = "PUBLISH_COMPLETE", "FAILED"


def chunks(size: int, wanted: int = DEFAULT_CHUNK) -> tuple[int, int]:
    """``(chunk_size, total_chunk_count)`` by TikTok's rules: a file under 5 MB is one chunk; else chunks
    of 5-64 MB, the last one taking the remainder (up to 128 MB)."""
    if size < MIN_CHUNK:
        return size, 1
    chunk = max(MIN_CHUNK, min(MAX_CHUNK, wanted, size))
    return chunk, max(1, size // chunk)  # the remainder (< one chunk) rides on the last one


class TikTokAdapter(HttpAdapter):
    facts: dict[str, Any] | None = None  # what ``verify`` read of ``creator_info`` (its fields in CREATOR_FIELDS)
    platform = "tiktok"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.secret('access_token')}",
                "Content-Type": "application/json; charset=UTF-8"}

    # -- the adapter interface ------------------------------------------------------------------
    def publish(self, post: Post, journal: Journal) -> Published:
        publish_id = journal.get("publish_id")
        if not publish_id:
            part = post.parts[0]
            info = self.creator_info()
            problems = creator_problems(info, part, self.account.options)
            if problems:
                raise Permanent(f"the creator's settings refuse the post: {'; '.join(problems)}",
                                platform=self.platform)
            publish_id = self._start(part, info, journal)
        elif journal.get("upload") and not journal.get("uploaded"):
            publish_id = self._resume(post.parts[0], journal)
        return self._wait(publish_id, journal)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        publish_id = journal.get("publish_id")
        if not publish_id:
            if was_attempted(journal, 0) and self._pulls(post.parts[0]):
                return CannotTell("the pull request left without a publish id coming back")
            return NotPublished("no upload was completed")
        status = self._status(publish_id)
        if status["status"] == _DONE:
            return self._published(publish_id, status, journal)
        if status["status"] == _FAILED:
            return NotPublished(f"TikTok failed it: {status.get('fail_reason') or 'no reason given'}")
        if journal.get("upload") and not journal.get("uploaded"):
            return NotPublished("the upload was not finished; the next attempt resumes it")
        return CannotTell(f"TikTok is still processing it ({status['status']})")

    def verify(self) -> str:
        """Who posts and what they allow; ``facts`` keeps it for ``promo accounts check``'s cache."""
        info = self.creator_info()
        self.facts = {field: info[field] for field in CREATOR_FIELDS if field in info}
        levels = ", ".join(info.get("privacy_level_options") or ()) or "none"
        note = "" if audited(self.account.options) else "; unaudited app: posts SELF_ONLY"
        return (f"@{info.get('creator_username', '?')} (privacy levels: {levels}; longest video "
                f"{info.get('max_video_post_duration_sec', '?')} s{note})")

    def creator_info(self) -> dict[str, Any]:
        """What the creator allows now (``creator_info``); read before every publish."""
        return self._data("POST", "v2/post/publish/creator_info/query/", json={})

    # -- starting ------------------------------------------------------------------------------
    def _pulls(self, part: Part) -> bool:
        return any(m.kind == "image" for m in part.media) or self.account.options.get("source") == "pull"

    def _start(self, part: Part, info: dict[str, Any], journal: Journal) -> str:
        videos = [m for m in part.media if m.kind == "video"]
        photos = [m for m in part.media if m.kind == "image"]
        if len(videos) != 1 and not photos:
            raise Permanent("a TikTok post needs one video or some photos", platform=self.platform)
        if photos:
            return self._start_photos(part, photos, info, journal)
        if self._pulls(part):
            source = {"source": "PULL_FROM_URL", "video_url": self._public_url(videos[0])}
            journal.record("sending:0", iso(utcnow()))
            answer = self._data("POST", "v2/post/publish/video/init/", json=self._body(part, info, source))
            journal.record("publish_id", str(answer["publish_id"]))
            return str(answer["publish_id"])
        return self._start_upload(part, videos[0], info, journal)

    def _start_upload(self, part: Part, video: Media, info: dict[str, Any], journal: Journal) -> str:
        path = local_path(self.platform, video)
        size = path.stat().st_size
        chunk, count = chunks(size, int(self.account.options.get("chunk_size", DEFAULT_CHUNK)))
        source = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}
        journal.record("sending:0", iso(utcnow()))
        answer = self._data("POST", "v2/post/publish/video/init/", json=self._body(part, info, source))
        publish_id = str(answer["publish_id"])
        journal.record("publish_id", publish_id)
        journal.record("upload", json.dumps({"url": answer["upload_url"], "size": size, "chunk": chunk,
                                             "count": count, "at": time.time()}))
        self._upload(path, journal)
        return publish_id

    def _start_photos(self, part: Part, photos: list[Media], info: dict[str, Any], journal: Journal) -> str:
        urls = [self._public_url(m) for m in photos]
        body = self._body(part, info, {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": 0})
        body["post_info"]["description"] = body["post_info"].pop("title")
        for name in ("disable_duet", "disable_stitch", "video_cover_timestamp_ms"):
            body["post_info"].pop(name, None)
        body.update(post_mode="DIRECT_POST", media_type="PHOTO")
        journal.record("sending:0", iso(utcnow()))
        answer = self._data("POST", "v2/post/publish/content/init/", json=body)
        journal.record("publish_id", str(answer["publish_id"]))
        return str(answer["publish_id"])

    def _body(self, part: Part, info: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        options = self.account.options
        post_info: dict[str, Any] = {
            "title": part.text, "privacy_level": privacy_of(options),
            "disable_comment": not allows(options, info, "comments", "comment_disabled"),
            "disable_duet": not allows(options, info, "duets", "duet_disabled"),
            "disable_stitch": not allows(options, info, "stitches", "stitch_disabled"),
            "brand_content_toggle": bool(options.get("brand_content", False)),
            "brand_organic_toggle": bool(options.get("brand_organic", False)),
        }
        cover = next((m.cover_time for m in part.media if m.kind == "video" and m.cover_time is not None), None)
        if cover is not None:
            post_info["video_cover_timestamp_ms"] = int(cover * 1000)
        return {"post_info": post_info, "source_info": source}

    def _public_url(self, media: Media) -> str:
        from promo.platforms.mediahost import hosted

        options = self.account.options
        host = hosted(self.platform, getattr(self, "media_host", None), options.get("media_base_url"))
        return host.url_for(self.platform, media)

    # -- uploading -----------------------------------------------------------------------------
    def _resume(self, part: Part, journal: Journal) -> str:
        """Finish a journaled upload while its URL lives; else start over (the old one never posts)."""
        state = json.loads(journal.get("upload") or "{}")
        if time.time() - float(state.get("at", 0)) < UPLOAD_URL_LIFE - 60:
            self._upload(local_path(self.platform, _video(part)), journal)
            return str(journal.get("publish_id"))
        for key in ("publish_id", "upload"):
            journal.record(key, "")
        info = self.creator_info()
        return self._start_upload(part, _video(part), info, journal)

    def _upload(self, path: Path, journal: Journal) -> None:
        state = json.loads(journal.get("upload") or "{}")
        size, chunk, count = int(state["size"]), int(state["chunk"]), int(state["count"])
        if path.stat().st_size != size:
            raise Permanent(f"{path.name} changed since its upload began", platform=self.platform)
        done = f"chunk:{journal.get('publish_id')}:"  # each chunk TikTok took, for this upload
        for index in range(count):
            if journal.get(f"{done}{index}"):
                continue
            first = index * chunk
            length = size - first if index == count - 1 else chunk
            content, headers = streamed(path, first, length)
            headers.update({"Content-Type": "video/mp4",
                            "Content-Range": f"bytes {first}-{first + length - 1}/{size}"})
            response = self.request("PUT", state["url"], content=content, headers=headers)
            if response.status_code == 404:  # the upload URL expired: start over on the next attempt
                for key in ("publish_id", "upload"):
                    journal.record(key, "")
                raise Retryable("TikTok's upload URL expired mid-upload; the next attempt starts a fresh upload",
                                platform=self.platform)
            self.raise_for(response)
            journal.record(f"{done}{index}", "1")
        journal.record("uploaded", "1")

    # -- waiting and reading -------------------------------------------------------------------
    def _wait(self, publish_id: str, journal: Journal) -> Published:
        options = self.account.options
        poll = float(options.get("status_poll_s", STATUS_POLL_S))
        status = wait_for(self.platform, "the TikTok post", partial(self._ready, publish_id, journal, poll),
                          float(options.get("status_wait_s", STATUS_WAIT_S)))
        return self._published(publish_id, status, journal)

    def _ready(self, publish_id: str, journal: Journal, poll: float) -> dict[str, Any] | Later:
        status = self._status(publish_id)
        if status["status"] == _DONE:
            return status
        if status["status"] == _FAILED:
            for key in ("publish_id", "upload", "uploaded"):
                journal.record(key, "")  # a person's retry starts clean
            reason = status.get("fail_reason") or "no reason given"
            raise Permanent(f"TikTok could not publish the post: {reason}", platform=self.platform)
        return Later(poll, str(status["status"]).lower())

    def _status(self, publish_id: str) -> dict[str, Any]:
        status = self._data("POST", "v2/post/publish/status/fetch/", json={"publish_id": publish_id})
        status.setdefault("status", "PROCESSING_UPLOAD")
        return status

    def _published(self, publish_id: str, status: dict[str, Any], journal: Journal) -> Published:
        ids = status.get("publicaly_available_post_id") or status.get("publicly_available_post_id") or []
        if not ids:
            return Published(publish_id)  # a private post: TikTok gives no public id
        post_id = str(ids[0])
        journal.record("post_id", post_id)
        user = self.account.options.get("username")
        return Published(post_id, f"https://www.tiktok.com/@{user}/video/{post_id}" if user else None)

    def _data(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.call_json(method, path, **kwargs)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise Ambiguous("TikTok answered without data", platform=self.platform)
        return data

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success and response.request.method == "PUT":
            return
        error = _error_of(response)
        code, message = str(error.get("code") or ""), str(error.get("message") or response.reason_phrase)
        if response.is_success and code in ("", "ok"):
            return
        reason = f"{code}: {message}" if code else message
        if code in _RATE or response.status_code == 429:
            when = retry_at(response.headers) or utcnow() + _RATE.get(code, timedelta(minutes=1))
            raise RateLimited(f"rate limited: {reason}", platform=self.platform, retry_at=when)
        if response.status_code == 401 or code in ("access_token_invalid", "scope_not_authorized"):
            raise AuthError(f"credentials refused: {reason}", platform=self.platform)
        if response.status_code >= 500:
            raise Retryable(f"server error {response.status_code}: {reason}", platform=self.platform)
        raise Permanent(f"TikTok refused ({response.status_code}): {reason}", platform=self.platform)


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _video(part: Part) -> Media:
    return next(m for m in part.media if m.kind == "video")


SPEC = PlatformSpec(
    "tiktok", "TikTok", TikTokAdapter, TikTokRules,
    credentials=("access_token",),
    options=("audited", "privacy_level", "allow_comments", "allow_duets", "allow_stitches", "source",
             "media_base_url", "media_host", "username", "chunk_size", "status_poll_s", "status_wait_s",
             "brand_content", "brand_organic"),
    default_base_url="https://open.tiktokapis.com",
)
