"""Fake Discord webhook: /api/webhooks/<id>/<token>, ``content`` at most 2000, files as multipart."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

WEBHOOK_PATH = "/api/webhooks/42/discord-fake-token"


class FakeDiscord(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, dict[str, Any]] = {}

    @property
    def webhook_url(self) -> str:
        return f"https://discord.com{WEBHOOK_PATH}"

    def handle(self, request: Request) -> Response:
        if request.path != WEBHOOK_PATH:
            return self.json({"message": "Invalid Webhook Token", "code": 50027}, 401)
        if request.method == "GET":
            return self.json({"id": "42", "name": "promo", "channel_id": "7", "guild_id": "9"})
        payload = json.loads(request.form["payload_json"]) if request.form else request.get_json(silent=True)
        if not isinstance(payload, dict) or not (payload.get("content") or request.files):
            return self.json({"message": "Cannot send an empty message", "code": 50006}, 400)
        if len(payload.get("content", "")) > 2000:
            return self.json(
                {
                    "message": "Invalid Form Body",
                    "errors": {"content": {"_errors": [{"message": "Must be 2000 or fewer in length."}]}},
                    "code": 50035,
                },
                400,
            )
        message_id = self.new_id()
        self.messages[message_id] = payload
        if request.args.get("wait") != "true":
            return Response(status=204)
        return self.json(
            {"id": message_id, "channel_id": "7", "guild_id": "9", "content": payload["content"]}
        )
