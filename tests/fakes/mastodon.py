"""Fake Mastodon REST API: statuses (Bearer token, Idempotency-Key, 500 characters), media v2, timelines."""

from __future__ import annotations

import html
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

MASTODON_TOKEN = "mastodon-token-abcdef"
ACCOUNT = {"id": "109", "username": "jessicajones", "acct": "jessicajones", "display_name": "Jessica Jones"}


class FakeMastodon(FakeServer):
    def __init__(self, max_characters: int = 500) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}

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
                        }
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
            found = self.media.get(path.rsplit("/", 1)[-1])
            return self.json(found) if found else self.json({"error": "Record not found"}, 404)
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
            "media_attachments": [self.media[m] for m in fields.get("media_ids") or []],
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
        media_id = self.new_id()
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": f"https://fake.social/m/{media_id}.png",
            "preview_url": None,
            "description": request.form.get("description"),
            "bytes": len(upload.read()),
        }
        return self.json({k: v for k, v in self.media[media_id].items() if k != "bytes"})
