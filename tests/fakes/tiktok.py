"""Fake TikTok Content Posting API (open.tiktokapis.com) and its authorisation server, read strictly.

- Every call needs ``Authorization: Bearer <token>`` (else 401 ``access_token_invalid``) and a JSON
  body (``Content-Type: application/json``); every answer is ``{"data": ..., "error": {"code",
  "message", "log_id"}}`` with ``code`` ``ok`` on success.
- ``creator_info/query``: the creator's privacy levels, longest video and switches (``creator``).
- ``video/init``: ``post_info`` (``title`` at most 2,200 UTF-16 units; ``privacy_level`` one of the
  creator's, else 400 ``privacy_level_option_mismatch``; an unaudited client (``audited = False``)
  may post only ``SELF_ONLY``: 403 ``unaudited_client_can_only_post_to_private_accounts``; comments,
  duets or stitches asked for where the creator turned them off: 400 ``invalid_params``) and
  ``source_info``: ``FILE_UPLOAD`` with TikTok's chunk rules (under 5 MB: one chunk of the whole
  size; else ``chunk_size`` 5-64 MB, ``total_chunk_count`` = floor(size / chunk_size), the last
  chunk at most 128 MB, at most 1,000 chunks), or ``PULL_FROM_URL`` (``video_url`` under a
  verified prefix, else 403 ``url_ownership_unverified``; the fake downloads it).
- ``PUT /upload/?upload_id=..``: chunks in order, each with its exact ``Content-Range`` and
  ``Content-Length`` and a video ``Content-Type``; 206 until the last, then 201. Bodies are read in
  pieces and only hashed (memory tests). ``expire_uploads()`` makes upload URLs answer 404.
- ``status/fetch``: ``PROCESSING_UPLOAD`` (or ``PROCESSING_DOWNLOAD``) for ``processing_polls``
  reads once the media is all there, then ``PUBLISH_COMPLETE`` (a public post has
  ``publicaly_available_post_id``) or ``FAILED`` with ``fail_reason`` (``fail_next_publish``).
- ``content/init`` with ``media_type=PHOTO``: ``PULL_FROM_URL`` only, 1-35 ``photo_images``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer
from tests.fakes.oauth import AuthServer, Client

TIKTOK_TOKEN = "tiktok-token-4d1e8b"
MB = 1024 * 1024
PRIVACY = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]


@dataclass
class Publish:
    """One direct post under way: its upload or download, then its processing."""

    publish_id: str
    kind: str                      # video or photo
    title: str
    privacy: str
    post_info: dict[str, Any]
    size: int = 0
    chunk: int = 0
    count: int = 0
    received: dict[int, str] = field(default_factory=dict)   # chunk index -> sha256
    data: dict[int, bytes] = field(default_factory=dict)     # chunk index -> bytes (small files only)
    pulled: list[bytes] = field(default_factory=list)
    status: str = "PROCESSING_UPLOAD"
    polls_left: int = 0
    fail_reason: str = ""
    post_id: str = ""
    upload_id: str = ""

    def content(self) -> bytes:
        return b"".join(self.data[n] for n in sorted(self.data))


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTikTok(FakeServer):
    streamed_paths = ("/upload/",)

    def __init__(self, token: str = TIKTOK_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.audited = False
        self.creator: dict[str, Any] = {
            "creator_avatar_url": "https://p16.tiktokcdn.com/a.jpg", "creator_username": "jessicajones",
            "creator_nickname": "Jessica Jones", "privacy_level_options": list(PRIVACY),
            "comment_disabled": False, "duet_disabled": False, "stitch_disabled": False,
            "max_video_post_duration_sec": 600}
        self.publishes: dict[str, Publish] = {}
        self.processing_polls = 1
        self.fail_next_publish: str | None = None
        self.verified_prefixes: list[str] = []
        self.creator_queries = 0
        self._lock = threading.Lock()

    # -- test controls ------------------------------------------------------------------------------
    @property
    def posts(self) -> list[Publish]:
        """The posts TikTok published."""
        return [p for p in self.publishes.values() if p.status == "PUBLISH_COMPLETE"]

    def expire_uploads(self) -> None:
        for item in self.publishes.values():
            item.upload_id = ""

    # -- serving ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/upload/"):
            return self._chunk(request)  # the upload URL carries its own upload_token
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401, "access_token_invalid", "The access token is invalid or not found in the request.")
        if request.method != "POST" or request.mimetype != "application/json":
            return self.error(400, "invalid_params", "a JSON POST is expected")
        body = request.get_json(silent=True) or {}
        routes = {"/v2/post/publish/creator_info/query/": self._creator_info,
                  "/v2/post/publish/video/init/": self._video_init,
                  "/v2/post/publish/content/init/": self._content_init,
                  "/v2/post/publish/status/fetch/": self._status}
        route = routes.get(request.path)
        return route(body) if route else self.error(404, "not_found", "no such endpoint")

    def ok(self, data: dict[str, Any]) -> Response:
        return self.json({"data": data, "error": {"code": "ok", "message": "", "log_id": self.new_id()}})

    def error(self, status: int, code: str, message: str) -> Response:
        return self.json({"data": {}, "error": {"code": code, "message": message, "log_id": self.new_id()}}, status)

    def _creator_info(self, body: dict[str, Any]) -> Response:
        self.creator_queries += 1
        return self.ok(dict(self.creator))

    def _post_info(self, info: dict[str, Any], text_key: str = "title") -> Response | None:
        level = info.get("privacy_level")
        if level not in self.creator["privacy_level_options"]:
            return self.error(400, "privacy_level_option_mismatch", f"privacy_level {level} is not allowed")
        if not self.audited and level != "SELF_ONLY":
            return self.error(403, "unaudited_client_can_only_post_to_private_accounts",
                              "Unaudited clients can only post to a private account")
        if utf16(str(info.get(text_key, ""))) > 2200:
            return self.error(400, "invalid_params", f"{text_key} is longer than 2200")
        for flag in ("comment", "duet", "stitch"):
            if self.creator[f"{flag}_disabled"] and info.get(f"disable_{flag}") is False:
                return self.error(400, "invalid_params", f"the creator has disabled {flag}s")
        return None

    def _video_init(self, body: dict[str, Any]) -> Response:
        info, source = body.get("post_info") or {}, body.get("source_info") or {}
        refused = self._post_info(info)
        if refused is not None:
            return refused
        item = Publish(f"v_pub_file~v2-1.{self.new_id()}", "video", str(info.get("title", "")),
                       info["privacy_level"], info)
        if source.get("source") == "FILE_UPLOAD":
            wrong = self._chunking(source)
            if wrong:
                return self.error(400, "invalid_params", wrong)
            item.size, item.chunk, item.count = source["video_size"], source["chunk_size"], source["total_chunk_count"]
            item.upload_id = self.new_id()
            self.publishes[item.publish_id] = item
            token = hashlib.md5(item.upload_id.encode()).hexdigest()
            url = f"{self.url}/upload/?upload_id={item.upload_id}&upload_token={token}"
            return self.ok({"publish_id": item.publish_id, "upload_url": url})
        if source.get("source") == "PULL_FROM_URL":
            return self._pull(item, [str(source.get("video_url", ""))])
        return self.error(400, "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL")

    def _content_init(self, body: dict[str, Any]) -> Response:
        info, source = body.get("post_info") or {}, body.get("source_info") or {}
        if body.get("media_type") != "PHOTO" or body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
            return self.error(400, "invalid_params", "media_type PHOTO and post_mode are required")
        if source.get("source") != "PULL_FROM_URL":
            return self.error(400, "invalid_params", "photos are taken only by PULL_FROM_URL")
        images = source.get("photo_images") or []
        if not 1 <= len(images) <= 35 or not 0 <= int(source.get("photo_cover_index", -1)) < len(images):
            return self.error(400, "invalid_params", "photo_images: 1 to 35, and a photo_cover_index among them")
        refused = self._post_info(info, "description")
        if refused is not None:
            return refused
        item = Publish(f"p_pub_url~v2.{self.new_id()}", "photo", str(info.get("description", "")),
                       info["privacy_level"], info)
        return self._pull(item, [str(u) for u in images])

    @staticmethod
    def _chunking(source: dict[str, Any]) -> str:
        size, chunk, count = (int(source.get(k) or 0) for k in ("video_size", "chunk_size", "total_chunk_count"))
        if size <= 0:
            return "video_size must be positive"
        if size < 5 * MB:
            return "" if (chunk, count) == (size, 1) else "a file under 5 MB is uploaded whole: one chunk of its size"
        if not 5 * MB <= chunk <= 64 * MB:
            return "chunk_size must be 5-64 MB"
        if count != size // chunk or count > 1000:
            return "total_chunk_count must be floor(video_size / chunk_size), at most 1000"
        if size - (count - 1) * chunk > 128 * MB:
            return "the last chunk may be at most 128 MB"
        return ""

    def _pull(self, item: Publish, urls: list[str]) -> Response:
        for url in urls:
            if not any(url.startswith(prefix) for prefix in self.verified_prefixes):
                return self.error(403, "url_ownership_unverified", f"{url} is not under a verified domain or prefix")
        item.status = "PROCESSING_DOWNLOAD"
        self.publishes[item.publish_id] = item
        for url in urls:
            try:
                answer = httpx.get(url, timeout=5)
                answer.raise_for_status()
                item.pulled.append(answer.content)
            except httpx.HTTPError:
                item.status, item.fail_reason = "FAILED", "download_failed"
                return self.ok({"publish_id": item.publish_id})
        self._uploaded(item)
        return self.ok({"publish_id": item.publish_id})

    def _chunk(self, request: Request) -> Response:
        wanted = request.args.get("upload_id")
        item = next((p for p in self.publishes.values() if p.upload_id and p.upload_id == wanted), None)
        token = hashlib.md5(str(wanted).encode()).hexdigest()
        if item is None or request.method != "PUT" or request.args.get("upload_token") != token:
            return Response("upload not found or expired", 404)
        if request.mimetype not in ("video/mp4", "video/quicktime", "video/webm"):
            return Response("Content-Type must be a video type", 400)
        try:
            first, last, total = _range(request.headers.get("Content-Range", ""))
        except ValueError:
            return Response("Content-Range must be bytes first-last/total", 400)
        index = first // item.chunk if item.chunk else 0
        end = item.size - 1 if index == item.count - 1 else first + item.chunk - 1
        expected = min(len(item.received), item.count - 1)
        if total != item.size or first != index * item.chunk or last != end or index > expected:
            return Response(f"Content-Range {first}-{last}/{total} is not chunk {expected + 1}", 416)
        if int(request.headers.get("Content-Length", -1)) != last - first + 1:
            return Response("Content-Length does not match Content-Range", 400)
        digest, data = hashlib.sha256(), bytearray()
        stream = request.stream
        while piece := stream.read(64 * 1024):
            digest.update(piece)
            if item.size <= 20 * MB:
                data += piece
        with self._lock:
            item.received[index] = digest.hexdigest()
            if item.size <= 20 * MB:
                item.data[index] = bytes(data)
            done = len(item.received) == item.count
        if done:
            self._uploaded(item)
            return Response(status=201)
        return Response(status=206)

    def _uploaded(self, item: Publish) -> None:
        item.polls_left = self.processing_polls
        if self.fail_next_publish:
            item.fail_reason, self.fail_next_publish = self.fail_next_publish, None

    def _status(self, body: dict[str, Any]) -> Response:
        item = self.publishes.get(str(body.get("publish_id", "")))
        if item is None:
            return self.error(400, "invalid_publish_id", "publish_id not found")
        complete = item.kind == "photo" or len(item.received) == item.count or item.pulled
        if complete and item.status.startswith("PROCESSING"):
            if item.polls_left > 0:
                item.polls_left -= 1
            elif item.fail_reason:
                item.status = "FAILED"
            else:
                item.status = "PUBLISH_COMPLETE"
                item.post_id = str(7_300_000_000_000_000_000 + int(self.new_id()))
        data: dict[str, Any] = {"status": item.status, "uploaded_bytes": sum(1 for _ in item.received) * item.chunk}
        if item.status == "FAILED":
            data["fail_reason"] = item.fail_reason
        if item.status == "PUBLISH_COMPLETE":
            data["publicaly_available_post_id"] = [int(item.post_id)] if item.privacy == "PUBLIC_TO_EVERYONE" else []
        return self.ok(data)


def _range(value: str) -> tuple[int, int, int]:
    unit, _, rest = value.partition(" ")
    span, _, total = rest.partition("/")
    first, _, last = span.partition("-")
    if unit != "bytes":
        raise ValueError(value)
    return int(first), int(last), int(total)


class TikTokAuth(AuthServer):
    """TikTok's authorisation server as its Login Kit documents it: the client is ``client_key`` (a
    ``client_id`` is refused), scopes are comma-separated, the PKCE challenge is the verifier's SHA-256
    hex-encoded (``S256``), and the token endpoint takes ``client_key`` and ``client_secret`` in the form."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(scopes={"user.info.basic", "video.publish", "video.upload"}, lifetime=86400.0,
                         scope_separator=",", **kwargs)

    def handle(self, request: Request) -> Response | None:
        """TikTok's paths end in a slash: ``/v2/auth/authorize/`` and ``/v2/oauth/token/``."""
        if request.path == "/v2/auth/authorize/":
            return self._authorize(request)
        if request.path == "/v2/oauth/token/" and request.method == "POST":
            return self._token(request)
        return None

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        if "client_id" in args or "client_key" not in args:
            return Response("client_key is required (TikTok does not read client_id)", status=400)
        challenge = args.get("code_challenge", "")
        if len(challenge) != 64 or any(c not in "0123456789abcdef" for c in challenge):
            return Response("code_challenge must be the hex SHA-256 of the verifier", status=400)
        args["client_id"] = args.pop("client_key")
        request.args = ImmutableMultiDict(args)  # type: ignore[misc]
        return super()._authorize(request)

    def _client(self, request: Request) -> Client | None:
        form = request.form.to_dict()
        if "client_id" in form or request.headers.get("Authorization"):
            return None
        client = self.clients.get(form.get("client_key", ""))
        return client if client is not None and form.get("client_secret") == client.client_secret else None

    def _code_grant(self, client: Client, form: dict[str, str]) -> Response:
        code = self.codes.get(form.get("code", ""))
        if code is not None and code["challenge"]:
            if hashlib.sha256(form.get("code_verifier", "").encode()).hexdigest() != code["challenge"]:
                return self.json_error("invalid_grant", "code_verifier does not match the code_challenge")
            code["challenge"] = None  # checked here, TikTok's way
        answer = super()._code_grant(client, form)
        return self._with_open_id(answer)

    def _refresh_grant(self, client: Client, form: dict[str, str]) -> Response:
        return self._with_open_id(super()._refresh_grant(client, form))

    @staticmethod
    def _with_open_id(answer: Response) -> Response:
        body = json.loads(answer.get_data())
        if "access_token" in body:
            body.update(open_id="open-id-jj", refresh_expires_in=31536000)
        return FakeServer.json(body, answer.status_code)

    @staticmethod
    def json_error(code: str, description: str) -> Response:
        return FakeServer.json({"error": code, "error_description": description}, 400)


class GatedTikTok(FakeTikTok):
    """The API gated by ``TikTokAuth``'s tokens: anything but a valid one is TikTok's 401."""

    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not request.path.startswith("/upload/"):
            if self.server.verdict(auth[7:] if auth.startswith("Bearer ") else None) != "valid":
                return self.error(401, "access_token_invalid", "The access token is invalid or has expired.")
            request.environ["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return super().handle(request)
