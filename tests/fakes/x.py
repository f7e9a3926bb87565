"""Fake X API v2: /2/tweets (OAuth 1.0a, weighted length, duplicates, replies), media upload, timelines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
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


class FakeX(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.tweets: dict[str, dict[str, Any]] = {}
        self.media: dict[str, bytes] = {}

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
            if media_id not in self.media:
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
