"""Fake Mastodon REST API: statuses (Bearer token, Idempotency-Key, 500 characters), media v2, timelines.

Media follow Mastodon's API docs (methods/media): ``POST /api/v2/media`` answers 200 with a ``url``
for an image and 202 with ``url: null`` for a video still being processed; ``GET /api/v1/media/:id``
answers 206 while it is processed, 200 with its ``url`` once done, 422 when processing failed. The
instance's ``video_size_limit`` and ``image_size_limit`` are enforced (422), a status may only
attach processed media, and upload bodies are read in chunks, never held whole.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

MASTODON_TOKEN = "mastodon-token-abcdef"
ACCOUNT = {"id": "109", "username": "jessicajones", "acct": "jessicajones", "display_name": "Jessica Jones"}


class FakeMastodon(FakeServer):
    streamed_paths = ("/api/v2/media",)

    def __init__(self, max_characters: int = 500, processing_polls: int = 2,
                 video_size_limit: int = 99 * 1024 * 1024) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.processing_polls, self.video_size_limit = processing_polls, video_size_limit
        self.polls: dict[str, int] = {}  # media id -> GETs left while processing
        self.fail_processing: str | None = None  # the next video's processing fails with this

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/api/v2/instance":
            return self.json(
                {
                    "domain": "fake.social",
                    "version": "4.2.0",
                    "configuration": {
                        "statuses": {
                            "max_characters": self.max_characters,
                            "max_media_attachments": 4,
                            "characters_reserved_per_url": 23,
                        },
                        "media_attachments": {
                            "image_size_limit": 16 * 1024 * 1024,
                            "video_size_limit": self.video_size_limit,
                            "video_frame_rate_limit": 120,
                            "video_matrix_limit": 8294400,
                        },
                    },
                }
            )
        if request.headers.get("Authorization") != f"Bearer {MASTODON_TOKEN}":
            return self.json({"error": "The access token is invalid"}, 401)
        path = request.path
        if path == "/api/v1/statuses" and request.method == "POST":
            return self._create(request)
        if path == "/api/v2/media":
            return self._upload(request)
        if path.startswith("/api/v1/media/"):
            return self._media(path.rsplit("/", 1)[-1])
        if path == "/api/v1/accounts/verify_credentials":
            return self.json(ACCOUNT)
        if path == f"/api/v1/accounts/{ACCOUNT['id']}/statuses":
            return self.json(list(reversed(self.statuses.values()))[:40])
        return self.json({"error": "Record not found"}, 404)

    def _create(self, request: Request) -> Response:
        fields: dict[str, Any] = request.get_json(silent=True) or {**request.form}
        if request.form:
            fields["media_ids"] = request.form.getlist("media_ids[]")
        key = request.headers.get("Idempotency-Key")
        if key and key in self.keys:
            return self.json(self.statuses[self.keys[key]])
        text = str(fields.get("status", ""))
        if not text and not fields.get("media_ids"):
            return self.json({"error": "Validation failed: Text can't be blank"}, 422)
        if len(text) > self.max_characters:
            return self.json(
                {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}, 422
            )
        for media_id in fields.get("media_ids") or []:
            if media_id not in self.media or self.media[media_id]["url"] is None:
                return self.json({"error": "Validation failed: Media could not be found or is still processing"}, 422)
        reply = fields.get("in_reply_to_id")
        if reply and reply not in self.statuses:
            return self.json({"error": "Record not found"}, 404)
        status_id = self.new_id()
        self.statuses[status_id] = {
            "id": status_id,
            "url": f"https://fake.social/@jessicajones/{status_id}",
            "uri": f"https://fake.social/users/jessicajones/statuses/{status_id}",
            "content": "<p>" + html.escape(text).replace("\n", "<br />") + "</p>",
            "in_reply_to_id": reply,
            "account": ACCOUNT,
            "created_at": "2019-06-14T07:01:00.000Z",
            "media_attachments": [self._public(m) for m in fields.get("media_ids") or []],
            "visibility": "public",
            "sensitive": False,
            "spoiler_text": "",
            "mentions": [],
            "tags": [],
            "emojis": [],
            "reblogs_count": 0,
            "favourites_count": 0,
            "replies_count": 0,
        }
        if key:
            self.keys[key] = status_id
        return self.json(self.statuses[status_id])

    def _upload(self, request: Request) -> Response:
        upload = request.files.get("file")
        if upload is None:
            return self.json({"error": "Validation failed: File can't be blank"}, 422)
        kind = "video" if upload.mimetype.startswith("video/") else "image"
        size, digest = _read(upload.stream)
        limit = self.video_size_limit if kind == "video" else 16 * 1024 * 1024
        if size > limit:
            return self.json({"error": f"Validation failed: File file size must be less than {limit} Bytes"}, 422)
        thumbnail = request.files.get("thumbnail")
        media_id = self.new_id()
        self.media[media_id] = {
            "id": media_id,
            "type": kind,
            "url": f"https://fake.social/m/{media_id}.png" if kind == "image" else None,
            "preview_url": f"https://fake.social/m/{media_id}-thumb.jpg" if thumbnail else None,
            "description": request.form.get("description"),
            "bytes": size,
            "sha256": digest,
            "thumbnail": thumbnail.read() if thumbnail else None,
            "error": self.fail_processing if kind == "video" else None,
        }
        if kind == "image":
            return self.json(self._public(media_id))
        self.fail_processing = None
        self.polls[media_id] = self.processing_polls
        return self.json(self._public(media_id), 202)

    def _media(self, media_id: str) -> Response:
        if media_id not in self.media:
            return self.json({"error": "Record not found"}, 404)
        found = self.media[media_id]
        if self.polls.get(media_id, 0) > 0:
            self.polls[media_id] -= 1
            return self.json(self._public(media_id), 206)
        if found["error"]:
            return self.json({"error": found["error"]}, 422)
        if found["url"] is None:
            found["url"] = f"https://fake.social/m/{media_id}.mp4"
        return self.json(self._public(media_id))

    def _public(self, media_id: str) -> dict[str, Any]:
        hidden = ("bytes", "sha256", "thumbnail", "error")
        return {k: v for k, v in self.media[media_id].items() if k not in hidden}


def _read(stream: Any) -> tuple[int, str]:
    size, digest = 0, hashlib.sha256()
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        digest.update(chunk)
    return size, digest.hexdigest()
