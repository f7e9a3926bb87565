"""Fake Telegram Bot API: the token is in the path; text 1-4096, captions at most 1024.

``sendVideo`` follows the Bot API reference, stricter where it is unclear: the upload is at most
50 MB (413 "Request Entity Too Large"), ``width``, ``height`` and ``duration`` are integers,
``supports_streaming`` a boolean, and a ``thumbnail`` (a part of its own, named by
``attach://<name>``) is a JPEG of at most 200 kB and 320 px a side. Its body is read in chunks.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

TOKEN = "123456:telegram-fake-token"


class FakeTelegram(FakeServer):
    streamed_paths = ("/sendVideo",)

    def __init__(self, token: str = TOKEN, upload_limit: int = 50 * 1024 * 1024) -> None:
        super().__init__()
        self.token, self.upload_limit = token, upload_limit
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
        if method == "sendVideo":
            return self._video(request, fields)
        if method in ("sendPhoto", "sendAnimation", "sendDocument"):
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

    def _video(self, request: Request, fields: dict[str, Any]) -> Response:
        upload = request.files.get("video")
        if upload is None:
            return self.error(400, "Bad Request: there is no video in the request")
        size, digest = _read(upload.stream)
        if size > self.upload_limit:
            return self.error(413, "Request Entity Too Large")
        for name in ("width", "height", "duration"):
            if name in fields and not str(fields[name]).isdigit():
                return self.error(400, f"Bad Request: field \"{name}\" must be of type Integer")
        if fields.get("supports_streaming", "false") not in ("true", "false", "True", "False"):
            return self.error(400, "Bad Request: field \"supports_streaming\" must be of type Boolean")
        thumbnail, problem = self._thumbnail(request, fields)
        if problem:
            return self.error(400, problem)
        sent = self._send(fields, str(fields.get("caption", "")), 1024, allow_empty=True)
        if sent.status_code == 200:
            message_id = str(json.loads(sent.get_data())["result"]["message_id"])
            self.messages[message_id] |= {"video": {"size": size, "sha256": digest}, "thumbnail": thumbnail}
        return sent

    def _thumbnail(self, request: Request, fields: dict[str, Any]) -> tuple[bytes | None, str | None]:
        reference = str(fields.get("thumbnail", ""))
        if not reference:
            return None, None
        part = request.files.get(reference.removeprefix("attach://")) if reference.startswith("attach://") else None
        if part is None:
            return None, "Bad Request: thumbnail must be attach://<name> of an uploaded file"
        data = part.read()
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG" or len(data) > 200_000 or max(image.size) > 320:
                return None, "Bad Request: the thumbnail must be a JPEG of at most 200 kB and 320 px"
        return data, None

    def error(self, code: int, description: str, retry_after: int | None = None) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return self.json(body, code)


def _read(stream: Any) -> tuple[int, str]:
    size, digest = 0, hashlib.sha256()
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        digest.update(chunk)
    return size, digest.hexdigest()
