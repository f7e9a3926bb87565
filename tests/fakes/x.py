"""Fake X API v2: /2/tweets (OAuth 1.0a, weighted length, duplicates, replies), media upload, timelines.

The chunked upload follows X's v2 guide (docs.x.com, "Chunked media upload") and the v1.1 reference
it grew from, taking the stricter reading: INIT (``total_bytes``, ``media_type``, ``media_category``
within the category's size limit), APPEND (``segment_index`` 0-999, at most 5 MB a segment, never
past ``total_bytes``), FINALIZE (segments contiguous from 0 and adding up to ``total_bytes``), then
STATUS polls no sooner than the ``check_after_secs`` it last gave (sooner: 429), walking
``pending -> in_progress -> succeeded | failed`` (a video over 140 s fails with X's reason). A post
may only use media that finished processing. Upload bodies are streamed to temporary files, never
held in memory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import twitter_text
from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

CREDENTIALS = {
    "api_key": "x-consumer-key",
    "api_secret": "x-consumer-secret",
    "access_token": "x-access-token",
    "access_token_secret": "x-access-secret",
}
USER = {"id": "2244994945", "name": "Jessica Jones", "username": "JessicaJones"}
_URL = re.compile(r"https?://\S+")
SEGMENT_LIMIT = 5 * 1024 * 1024
CATEGORY_LIMITS = {"tweet_video": 512 * 1024 * 1024, "amplify_video": 512 * 1024 * 1024,
                   "tweet_gif": 15 * 1024 * 1024, "tweet_image": 5 * 1024 * 1024}
MAX_VIDEO_SECONDS = 140.0


@dataclass
class Upload:
    """One chunked upload session."""

    total: int
    media_type: str
    category: str
    segments: dict[int, int] = field(default_factory=dict)  # index -> size
    state: str = "uploading"  # -> pending -> in_progress -> succeeded | failed
    polls: int = 0
    next_poll: float = 0.0
    error: dict[str, Any] | None = None
    digest: str = ""


class FakeX(FakeServer):
    streamed_paths = ("/2/media/upload",)

    def __init__(self, check_after_secs: float = 1, processing_polls: int = 1) -> None:
        super().__init__()
        self.tweets: dict[str, dict[str, Any]] = {}
        self.media: dict[str, bytes] = {}
        self.uploads: dict[str, Upload] = {}
        self.commands: list[tuple[str, dict[str, str]]] = []  # (command, fields) as received
        self.check_after_secs, self.processing_polls = check_after_secs, processing_polls
        self.fail_processing: dict[str, Any] | None = None  # the error the next processing ends with
        self.folder = Path(tempfile.mkdtemp(prefix="fake-x-"))

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not (
            auth.startswith("OAuth ")
            and f'oauth_consumer_key="{CREDENTIALS["api_key"]}"' in auth
            and f'oauth_token="{CREDENTIALS["access_token"]}"' in auth
        ):
            return self.problem(401, "Unauthorized", "Unauthorized")
        path = request.path
        if path == "/2/tweets" and request.method == "POST":
            return self._create(request.get_json(silent=True) or {})
        if path == "/2/media/upload" and (request.args.get("command") or request.form.get("command")):
            return self._chunked(request)
        if path in ("/2/media/upload", "/1.1/media/upload.json"):
            return self._upload(request, v2=path.startswith("/2"))
        if path == "/2/media/metadata":
            return self.json({"data": {"associated_metadata": True}})
        if path == "/2/users/me":
            return self.json({"data": USER})
        if path == f"/2/users/{USER['id']}/tweets":
            return self._timeline(request)
        return self.problem(404, "Not Found Error", "Not found")

    def _create(self, body: dict[str, Any]) -> Response:
        text = body.get("text")
        if not text and not body.get("media"):
            return self.problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
        if text and not twitter_text.parse_tweet(text).valid:
            return self.problem(403, "Forbidden", "Your Tweet text is too long.")
        if any(t["text"] == text for t in self.tweets.values()):
            return self.problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        reply = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply is not None and reply not in self.tweets:
            return self.problem(400, "Invalid Request", "The `in_reply_to_tweet_id` does not exist.")
        for media_id in (body.get("media") or {}).get("media_ids", []):
            upload = self.uploads.get(media_id)
            if media_id not in self.media and (upload is None or upload.state != "succeeded"):
                return self.problem(400, "Invalid Request", f"Your media IDs are invalid: {media_id}")
        tweet_id = self.new_id()
        self.tweets[tweet_id] = {**body, "created_at": datetime.now(UTC)}
        return self.json({"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, 201)

    def _timeline(self, request: Request) -> Response:
        """Newest first, ``max_results`` (5-100, default 10) a page, from ``start_time``; ``next_token`` if more."""
        size = int(request.args.get("max_results", "10"))
        if not 5 <= size <= 100:
            return self.problem(400, "Invalid Request", "The `max_results` query parameter value is not valid")
        since = request.args.get("start_time")
        start = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        recent = [
            {"id": k, "text": _URL.sub("https://t.co/abc123", v["text"]).replace("&", "&amp;")}
            for k, v in reversed(self.tweets.items()) if start is None or v["created_at"] >= start
        ]
        meta: dict[str, Any] = {"result_count": min(size, len(recent))}
        if len(recent) > size:
            meta["next_token"] = "7140dibdnow9c7btw4"
        return self.json({"data": recent[:size], "meta": meta} if recent else {"meta": {"result_count": 0}})

    def _upload(self, request: Request, v2: bool) -> Response:
        upload = request.files.get("media")
        if upload is None:
            return self.problem(400, "Invalid Request", "media is required")
        media_id = self.new_id()
        self.media[media_id] = upload.read()
        if v2:
            return self.json({"data": {"id": media_id, "media_key": f"3_{media_id}"}})
        return self.json({"media_id": int(media_id), "media_id_string": media_id, "size": 70})

    def problem(self, status: int, title: str, detail: str) -> Response:
        return self.json({"title": title, "detail": detail, "type": "about:blank", "status": status}, status)

    # -- chunked upload ----------------------------------------------------------------------------
    def _chunked(self, request: Request) -> Response:
        fields = {**request.args, **request.form}
        command = fields.get("command", "")
        self.commands.append((command, dict(fields)))
        handler = {"INIT": self._init, "APPEND": self._append, "FINALIZE": self._finalize, "STATUS": self._status}
        if command not in handler or (command == "STATUS") != (request.method == "GET"):
            return self.problem(400, "Invalid Request", f"Unknown command {command!r} for {request.method}")
        if command != "INIT" and fields.get("media_id") not in self.uploads:
            return self.problem(400, "Invalid Request", "The media_id is invalid or has expired.")
        return handler[command](request, fields)

    def _init(self, request: Request, fields: dict[str, str]) -> Response:
        category, total = fields.get("media_category", ""), fields.get("total_bytes", "")
        if category not in CATEGORY_LIMITS or not total.isdigit() or not fields.get("media_type"):
            return self.problem(400, "Invalid Request", "total_bytes, media_type and media_category are required")
        if int(total) > CATEGORY_LIMITS[category]:
            return self.problem(400, "Invalid Request", f"total_bytes is over the {category} limit")
        media_id = "18800281060" + self.new_id()
        self.uploads[media_id] = Upload(int(total), fields["media_type"], category)
        return self.json({"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86399}})

    def _append(self, request: Request, fields: dict[str, str]) -> Response:
        upload, media_id = self.uploads[fields["media_id"]], fields["media_id"]
        index = fields.get("segment_index", "")
        if upload.state != "uploading":
            return self.problem(400, "Invalid Request", "This upload is already finalized.")
        if not index.isdigit() or not 0 <= int(index) <= 999 or "media" not in request.files:
            return self.problem(400, "Invalid Request", "segment_index (0-999) and media are required")
        size = self._store(request.files["media"].stream, self.folder / f"{media_id}-{int(index)}")
        if size > SEGMENT_LIMIT:
            return self.problem(400, "Invalid Request", "A segment must be at most 5 MB.")
        upload.segments[int(index)] = size
        if sum(upload.segments.values()) > upload.total:
            return self.problem(400, "Invalid Request", "The segments are larger than total_bytes.")
        return self.json({"data": {"expires_at": int(time.time()) + 86399}})

    def _finalize(self, request: Request, fields: dict[str, str]) -> Response:
        media_id = fields["media_id"]
        upload = self.uploads[media_id]
        if sorted(upload.segments) != list(range(len(upload.segments))) or not upload.segments:
            return self.problem(400, "Invalid Request", f"Segments are not contiguous: {sorted(upload.segments)}")
        if sum(upload.segments.values()) != upload.total:
            return self.problem(400, "Invalid Request", "File size mismatch: the segments do not add up to total_bytes")
        whole, digest = self.folder / f"{media_id}.media", hashlib.sha256()
        with whole.open("wb") as out:
            for index in range(len(upload.segments)):
                with (self.folder / f"{media_id}-{index}").open("rb") as part:
                    while chunk := part.read(64 * 1024):
                        digest.update(chunk)
                        out.write(chunk)
        upload.digest = digest.hexdigest()
        upload.error = self.fail_processing or _too_long(whole, upload)
        self.fail_processing = None
        data: dict[str, Any] = {"id": media_id, "media_key": f"7_{media_id}", "size": upload.total,
                                "expires_after_secs": 86399}
        if upload.category == "tweet_image":
            upload.state = "succeeded"
        else:
            upload.state, upload.next_poll = "pending", time.monotonic() + self.check_after_secs
            data["processing_info"] = {"state": "pending", "check_after_secs": self.check_after_secs}
        return self.json({"data": data})

    def _status(self, request: Request, fields: dict[str, str]) -> Response:
        media_id = fields["media_id"]
        upload = self.uploads[media_id]
        if upload.state == "uploading":
            return self.problem(400, "Invalid Request", "This upload is not finalized.")
        if upload.state in ("pending", "in_progress"):
            if time.monotonic() < upload.next_poll - 0.05:
                return self.problem(429, "Too Many Requests", "STATUS polled before check_after_secs")
            upload.polls += 1
            upload.state = "in_progress" if upload.polls < self.processing_polls else (
                "failed" if upload.error else "succeeded")
            upload.next_poll = time.monotonic() + self.check_after_secs
        info: dict[str, Any] = {"state": upload.state}
        if upload.state == "in_progress":
            info |= {"check_after_secs": self.check_after_secs, "progress_percent": 50}
        if upload.state == "failed":
            info |= {"progress_percent": 12, "error": upload.error}
        return self.json({"data": {"id": media_id, "media_key": f"7_{media_id}", "processing_info": info}})

    @staticmethod
    def _store(stream: Any, path: Path) -> int:
        size = 0
        with path.open("wb") as out:
            while chunk := stream.read(64 * 1024):
                out.write(chunk)
                size += len(chunk)
        return size


def _too_long(path: Path, upload: Upload) -> dict[str, Any] | None:
    """X's processing refuses a video over 140 s (read with PyAV, as X reads the file itself)."""
    if not upload.media_type.startswith("video/"):
        return None
    import av

    try:
        with av.open(str(path)) as container:
            seconds = (container.duration or 0) / 1_000_000
    except av.error.FFmpegError:
        return {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}
    if seconds > MAX_VIDEO_SECONDS:
        return {"code": 3, "name": "InvalidMedia",
                "message": f"Video duration {seconds:.0f}s is longer than the maximum of {MAX_VIDEO_SECONDS:.0f}s"}
    return None
