"""A fake webhook receiver in the test process: records every call, answers as it is told.

Modes (``receiver.mode``): ``accept``; ``hang`` (store the post, then stall past the client's
timeout before answering); ``ratelimit`` (429 with ``Retry-After``, ``times`` calls, then accept);
``error`` (500, ``times`` calls, then accept); ``slow`` (store, stall ``delay`` seconds, then
answer 200: a window to kill a worker mid-publish). ``GET ?idempotency_key=`` looks posts up.

A post with media comes as ``multipart/form-data`` (docs/platforms/webhook.md): the signature is
checked over the ``payload`` part, and each file part against the sha256 and size its media entry
names; ``Call.files`` keeps what came (size, sha256, filename, type, and whether it matched).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from promo.platforms.webhook import SIGNATURE_HEADER, verify_signature

SECRET = "test-signing-secret"


@dataclass
class Call:
    key: str
    body: dict[str, Any]
    at: float
    signed: bool
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Receiver:
    mode: str = "accept"
    times: int = 0
    delay: float = 1.0
    retry_after: float = 1.0
    calls: list[Call] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def answer(
        self, key: str, body: dict[str, Any], signed: bool, files: dict[str, dict[str, Any]] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append(Call(key, body, time.time(), signed, files or {}))
            mode, self.times = self.mode, self.times - 1
            if mode in ("ratelimit", "error") and self.times < 0:
                mode = "accept"
        if mode == "ratelimit":
            return 429, {"error": "slow down"}, {"Retry-After": str(self.retry_after)}
        if mode == "error":
            return 500, {"error": "boom"}, {}
        post_id = self.stored.setdefault(key, f"wh-{len(self.stored) + 1}")
        if mode in ("hang", "slow"):
            self.release.wait(self.delay)
        return 200, {"id": post_id, "url": f"https://example.test/p/{post_id}"}, {}

    def keys(self) -> list[str]:
        with self.lock:
            return [call.key for call in self.calls]


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            files: dict[str, dict[str, Any]] = {}
            if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                raw, files = _multipart(self)
            else:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signed = verify_signature(SECRET, raw, self.headers.get(SIGNATURE_HEADER, ""))
            key = self.headers.get("Idempotency-Key", "")
            try:
                code, body, headers = receiver.answer(key, json.loads(raw), signed, _matched(json.loads(raw), files))
            except Exception:
                code, body, headers = 400, {"error": "bad json"}, {}
            self._send(code, body, headers)

        def do_GET(self) -> None:
            key = parse_qs(urlparse(self.path).query).get("idempotency_key", [""])[0]
            post_id = receiver.stored.get(key)
            if post_id is None:
                self._send(404, {"error": "not found"}, {})
            else:
                self._send(200, {"id": post_id, "url": f"https://example.test/p/{post_id}"}, {})

        def _send(self, code: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(code)
                for name, value in {
                    **headers,
                    "Content-Type": "application/json",
                    "Content-Length": str(len(data)),
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout, a killed worker)

    return Handler


def _multipart(handler: BaseHTTPRequestHandler) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """The ``payload`` part's bytes and each file part's size, sha256, name and type (read in chunks)."""
    from werkzeug.formparser import parse_form_data

    environ = {"REQUEST_METHOD": "POST", "wsgi.input": handler.rfile,
               "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": handler.headers.get("Content-Length", "0")}
    _, form, uploads = parse_form_data(environ)
    files = {}
    for name, upload in uploads.items():
        digest, size = hashlib.sha256(), 0
        while chunk := upload.stream.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
        files[name] = {"size": size, "sha256": digest.hexdigest(), "filename": upload.filename,
                       "content_type": upload.mimetype}
    return form.get("payload", "").encode(), files


def _matched(body: dict[str, Any], files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``files``, each marked ``matches``: its media entry names it with the same sha256 and size."""
    entries = {m.get("file"): m for part in body.get("parts", []) for m in part.get("media", [])}
    return {name: {**got, "matches": (entry := entries.get(name)) is not None
                   and (entry.get("sha256"), entry.get("size")) == (got["sha256"], got["size"])}
            for name, got in files.items()}


class FakeWebhookServer:
    def __init__(self) -> None:
        self.receiver = Receiver()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.receiver))
        self.server.daemon_threads = True
        self.receiver.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self.receiver

    def __exit__(self, *exc: Any) -> None:
        self.receiver.release.set()
        self.server.shutdown()
        self.server.server_close()
