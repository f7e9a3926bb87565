"""Fake Telegram Bot API: the token is in the path; text 1-4096, captions at most 1024."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

TOKEN = "123456:telegram-fake-token"


class FakeTelegram(FakeServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.messages: dict[str, dict[str, Any]] = {}

    def handle(self, request: Request) -> Response:
        prefix, _, method = request.path.lstrip("/").partition("/")
        if prefix != f"bot{self.token}":
            return self.error(401, "Unauthorized")
        fields = dict(request.form) if request.form else (request.get_json(silent=True) or {})
        if method == "getMe":
            return self.json({"ok": True, "result": {"id": 1, "is_bot": True, "username": "promo_bot"}})
        if "chat_id" not in fields:
            return self.error(400, "Bad Request: chat_id is empty")
        if method == "sendMessage":
            return self._send(fields, str(fields.get("text", "")), 4096)
        if method in ("sendPhoto", "sendVideo", "sendAnimation", "sendDocument"):
            if not request.files:
                return self.error(400, "Bad Request: there is no photo in the request")
            return self._send(fields, str(fields.get("caption", "")), 1024, allow_empty=True)
        if method == "sendMediaGroup":
            items = json.loads(fields.get("media", "[]"))
            if not 2 <= len(items) <= 10:
                return self.error(400, "Bad Request: wrong number of media")
            sent = self._send(fields, items[0].get("caption", ""), 1024, allow_empty=True)
            body = json.loads(sent.get_data())
            body["result"] = [body["result"]]
            return self.json(body)
        return self.error(404, "Not Found")

    def _send(self, fields: dict[str, Any], text: str, limit: int, allow_empty: bool = False) -> Response:
        if not text and not allow_empty:
            return self.error(400, "Bad Request: message text is empty")
        if len(text) > limit:
            return self.error(
                400,
                "Bad Request: message is too long"
                if limit == 4096
                else "Bad Request: message caption is too long",
            )
        message_id = self.new_id()
        self.messages[message_id] = {"text": text, **fields}
        return self.json({"ok": True, "result": {"message_id": int(message_id), "text": text}})

    def error(self, code: int, description: str, retry_after: int | None = None) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return self.json(body, code)
