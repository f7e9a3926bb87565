"""Fake Slack: an incoming webhook (/services/T/B/<secret>) and the Web API a bot token speaks (/api/...).

The webhook answers 200 ``ok`` or plain-text errors. The Web API follows Slack's reference, read
strictly: a ``Bearer`` bot token on every call; errors are HTTP 200 ``{"ok": false, "error"}`` (a
429 with ``Retry-After`` for rate limits). The external upload flow:

- ``files.getUploadURLExternal`` (form-encoded only: ``filename``, ``length``) -> ``upload_url``
  and ``file_id``; a length over ``max_file_bytes`` is ``file_too_large``;
- a POST of exactly ``length`` bytes to ``upload_url`` (no token), answered ``OK - <length>``;
- ``files.completeUploadExternal`` (form: ``files`` as a JSON array of ``{id, title}``,
  ``channel_id``, ``initial_comment``, ``thread_ts``): every file must be uploaded and not yet
  completed, the channel known, ``thread_ts`` a message of that channel. It answers only the files:
  the message's ``ts`` shows in ``files.info`` ``shares`` after ``share_after`` more reads of it.

``chat.postMessage`` (JSON) posts text, threaded by ``thread_ts``. ``messages`` keeps the webhook's
texts, ``channel_messages`` the bot's messages (``ts``, ``text``, ``files``, ``thread_ts``),
``uploads`` each file's size and sha256.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

WEBHOOK_PATH = "/services/T000/B000/slack-fake-secret"
BOT_TOKEN = "xoxb-fake-bot-token"
CHANNEL = "C0PROMO01"


class FakeSlack(FakeServer):
    streamed_paths = ("/upload/v1/",)

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []  # what the incoming webhook posted (its texts)
        self.channel_messages: list[dict[str, Any]] = []  # what the bot posted
        self.uploads: dict[str, dict[str, Any]] = {}
        self.max_file_bytes = 1024 * 1024 * 1024
        self.share_after = 1
        self.hold: threading.Event | None = None  # set: an upload waits for it before reading its bytes
        self._ts = itertools.count(1)

    @property
    def webhook_url(self) -> str:
        return f"https://hooks.slack.com{WEBHOOK_PATH}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return self._api(request)
        if request.path.startswith("/upload/v1/"):
            return self._receive(request)
        if request.path != WEBHOOK_PATH:
            return Response("invalid_token", status=403)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return Response("invalid_payload", status=400)
        if not body.get("text") and not body.get("blocks"):
            return Response("no_text", status=400)
        self.messages.append(body["text"])
        return Response("ok", status=200, content_type="text/html")

    # -- Web API -----------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return _error("invalid_auth" if request.headers.get("Authorization") else "not_authed")
        method = request.path.removeprefix("/api/")
        handler = {
            "auth.test": lambda: self.json({"ok": True, "user": "promo", "team": "Studio", "user_id": "U1"}),
            "files.getUploadURLExternal": lambda: self._get_upload_url(request),
            "files.completeUploadExternal": lambda: self._complete(request),
            "files.info": lambda: self._info(request.args.get("file", "")),
            "chat.postMessage": lambda: self._post_message(request),
        }.get(method)
        return handler() if handler is not None else _error("unknown_method")

    def _get_upload_url(self, request: Request) -> Response:
        if request.mimetype != "application/x-www-form-urlencoded":
            return _error("invalid_form_data")
        name, length = request.form.get("filename"), request.form.get("length", "")
        if not name or not length.isdigit() or int(length) <= 0:
            return _error("invalid_arguments")
        if int(length) > self.max_file_bytes:
            return _error("file_too_large")
        file_id = f"F{self.new_id()}"
        self.uploads[file_id] = {"filename": name, "length": int(length), "received": None, "sha256": None,
                                 "completed": False, "shared": None, "reads": 0, "data": None}
        return self.json({"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id})

    def _receive(self, request: Request) -> Response:
        if self.hold is not None:
            self.hold.wait(10)
        upload = self.uploads.get(request.path.rsplit("/", 1)[-1])
        if upload is None or upload["received"] is not None:
            request.stream.read()
            return Response("upload URL unknown or already used", status=404)
        digest, size, kept = hashlib.sha256(), 0, bytearray()
        while chunk := request.stream.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
            if size <= 256 * 1024:
                kept += chunk
        if size != upload["length"]:
            return Response(f"expected {upload['length']} bytes, got {size}", status=400)
        upload.update(received=size, sha256=digest.hexdigest(), data=bytes(kept) if size <= 256 * 1024 else None)
        return Response(f"OK - {size}", status=200, content_type="text/plain")

    def _complete(self, request: Request) -> Response:
        if request.mimetype != "application/x-www-form-urlencoded":
            return _error("invalid_form_data")
        try:
            files = json.loads(request.form.get("files", ""))
        except ValueError:
            return _error("invalid_arguments")
        problem = self._where(request.form) or self._completable(files)
        if problem:
            return _error(problem)
        message = self._add(request.form.get("initial_comment", ""), request.form.get("thread_ts"),
                            [f["id"] for f in files])
        for item in files:
            self.uploads[item["id"]].update(completed=True, shared=message["ts"], title=item.get("title"))
        return self.json({"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]})

    def _completable(self, files: Any) -> str:
        if not isinstance(files, list) or not files:
            return "invalid_arguments"
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload["received"] is None:
                return "file_not_found"
            if upload["completed"]:
                return "file_already_completed"
        return ""

    def _where(self, form: Any) -> str:
        if form.get("channel_id", form.get("channel")) != CHANNEL:
            return "channel_not_found"
        thread = form.get("thread_ts")
        if thread and not any(m["ts"] == thread for m in self.channel_messages):
            return "invalid_thread_ts"
        return ""

    def _info(self, file_id: str) -> Response:
        upload = self.uploads.get(file_id)
        if upload is None or not upload["completed"]:
            return _error("file_not_found")
        upload["reads"] += 1
        shares = {"public": {CHANNEL: [{"ts": upload["shared"]}]}} if upload["reads"] > self.share_after else {}
        return self.json({"ok": True, "file": {"id": file_id, "name": upload["filename"], "size": upload["received"],
                                               "shares": shares}})

    def _post_message(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        problem = self._where({"channel_id": body.get("channel"), "thread_ts": body.get("thread_ts")})
        if problem or not body.get("text"):
            return _error(problem or "no_text")
        message = self._add(body["text"], body.get("thread_ts"), [])
        return self.json({"ok": True, "channel": CHANNEL, "ts": message["ts"]})

    def _add(self, text: str, thread_ts: str | None, files: list[str]) -> dict[str, Any]:
        message = {"ts": f"1760000000.{next(self._ts):06d}", "text": text, "files": files, "thread_ts": thread_ts}
        self.channel_messages.append(message)
        return message


def _error(code: str) -> Response:
    return FakeServer.json({"ok": False, "error": code})
