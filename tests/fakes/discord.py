"""Fake Discord webhook: /api/webhooks/<id>/<token>, ``content`` at most 2000, files as multipart.

Files follow Discord's "Uploading Files" reference, read strictly: each file is a ``files[n]``
part, ``payload_json`` carries the message, and its ``attachments`` must name every file by ``id``
(n) and ``filename``; ``description`` is the alt text (1,024 at most). A request over
``upload_limit`` bytes (25 MiB on a server without boosts) is refused with 413 / 40005 before any
message exists. ``attachments`` keeps what each message got: filename, size, sha256, description.
``hold`` (an Event) stalls a POST before its body is read: the client blocks mid-upload (a kill test).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

WEBHOOK_PATH = "/api/webhooks/42/discord-fake-token"
UPLOAD_LIMIT = 25 * 1024 * 1024


class FakeDiscord(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, dict[str, Any]] = {}
        self.attachments: dict[str, list[dict[str, Any]]] = {}
        self.upload_limit = UPLOAD_LIMIT
        self.hold: threading.Event | None = None  # set: a POST waits for it before reading its body

    @property
    def webhook_url(self) -> str:
        return f"https://discord.com{WEBHOOK_PATH}"

    def handle(self, request: Request) -> Response:
        if request.path != WEBHOOK_PATH:
            return self.json({"message": "Invalid Webhook Token", "code": 50027}, 401)
        if request.method == "GET":
            return self.json({"id": "42", "name": "promo", "channel_id": "7", "guild_id": "9"})
        if self.hold is not None:
            self.hold.wait(10)
        if (request.content_length or 0) > self.upload_limit:
            return self.json({"message": "Request entity too large", "code": 40005}, 413)
        payload = json.loads(request.form["payload_json"]) if request.form else request.get_json(silent=True)
        if not isinstance(payload, dict) or not (payload.get("content") or request.files):
            return self.json({"message": "Cannot send an empty message", "code": 50006}, 400)
        if len(payload.get("content", "")) > 2000:
            return _invalid("content", "Must be 2000 or fewer in length.")
        files, problem = _files(request, payload)
        if problem:
            return _invalid("attachments", problem)
        message_id = self.new_id()
        self.messages[message_id] = payload
        self.attachments[message_id] = files
        if request.args.get("wait") != "true":
            return Response(status=204)
        return self.json({"id": message_id, "channel_id": "7", "guild_id": "9", "content": payload["content"],
                          "attachments": [{k: v for k, v in f.items() if k != "data"} for f in files]})


def _files(request: Request, payload: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Each uploaded file with its attachment entry, or why the attachments do not match the files."""
    declared = {str(a.get("id")): a for a in payload.get("attachments", [])}
    files = []
    for field, upload in request.files.items():
        number = field.removeprefix("files[").removesuffix("]")
        entry = declared.get(number)
        if entry is None or entry.get("filename") != upload.filename:
            return [], f"{field} ({upload.filename}) has no attachment with id {number} and that filename"
        if len(entry.get("description", "")) > 1024:
            return [], "description must be 1024 or fewer in length"
        digest, size, data = hashlib.sha256(), 0, bytearray()
        while chunk := upload.stream.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
            if size <= 256 * 1024:
                data += chunk
        files.append({"id": number, "filename": upload.filename, "size": size, "sha256": digest.hexdigest(),
                      "description": entry.get("description", ""), "content_type": upload.mimetype,
                      "data": bytes(data) if size <= 256 * 1024 else None})
    if len(files) != len(declared) and request.files:
        return [], "every attachment needs its files[n] part"
    return files, ""


def _invalid(field: str, message: str) -> Response:
    return FakeServer.json(
        {"message": "Invalid Form Body", "errors": {field: {"_errors": [{"message": message}]}}, "code": 50035}, 400
    )
