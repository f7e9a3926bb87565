"""Fake LinkedIn Posts API: /rest/posts, /rest/images?action=initializeUpload, upload PUT, comments,
and the Videos API (``VideosApi``: initializeUpload, part PUTs, finalizeUpload, status polling).

``commentary`` and a comment's ``message.text`` are read as the docs describe "little text": a
backslash escapes a reserved character, ``{hashtag|\\#|tag}`` is a hashtag, and the first reserved
character that is neither cuts the text there, silently, as LinkedIn does. ``shown`` keeps what a
reader would see, and ``hashtags`` the hashtags LinkedIn would link.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

LINKEDIN_TOKEN = "linkedin-token-abcdef"
AUTHOR = "urn:li:organization:777"
_REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
_RESERVED = set("|{}@[]()<>#\\*_~")
_HASHTAG = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^|{}@\[\]()<>#\\*_~])+)\}")


def read_little_text(text: str) -> tuple[str, list[str]]:
    """What LinkedIn shows for ``text``, and its hashtags: cut at the first unescaped reserved character."""
    shown, tags, at = [], [], 0
    while at < len(text):
        char = text[at]
        template = _HASHTAG.match(text, at)
        if template:
            tag = re.sub(r"\\(.)", r"\1", template.group(1))
            tags.append(tag)
            shown.append("#" + tag)
            at = template.end()
        elif char == "\\" and at + 1 < len(text) and text[at + 1] in _RESERVED:
            shown.append(text[at + 1])
            at += 2
        elif char in _RESERVED:
            break  # LinkedIn silently cuts the post here
        else:
            shown.append(char)
            at += 1
    return "".join(shown), tags


class FakeLinkedIn(FakeServer):
    streamed_paths = ("/dms-uploads/",)

    def __init__(self) -> None:
        super().__init__()
        self.videos = VideosApi(self)
        self.posts: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}
        self.comments: list[dict[str, Any]] = []
        self.shown: dict[str, str] = {}  # urn -> the text a reader sees
        self.hashtags: dict[str, list[str]] = {}

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {LINKEDIN_TOKEN}":
            return self.json(
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
                401,
            )
        if request.path == "/v2/userinfo":
            return self.json({"sub": "abc", "name": "Jessica Jones"})
        if request.path.startswith("/dms-uploads/"):
            return self.videos.put(request)
        if request.path.startswith("/upload/"):
            self.images[request.path.rsplit("/", 1)[-1]] = request.get_data()
            return Response(status=201)
        if (
            not request.headers.get("LinkedIn-Version")
            or request.headers.get("X-Restli-Protocol-Version") != "2.0.0"
        ):
            return self.json({"status": 426, "message": "LinkedIn-Version header is required"}, 426)
        if request.path == "/rest/images" and request.args.get("action") == "initializeUpload":
            image = f"urn:li:image:{self.new_id()}"
            return self.json({"value": {"uploadUrl": f"{self.url}/upload/{image}", "image": image}})
        if request.path.startswith("/rest/videos"):
            return self.videos.handle(request)
        if request.path == "/rest/posts" and request.method == "GET":
            items = [{"id": urn, "commentary": p["commentary"]} for urn, p in self.posts.items()]
            return self.json({"elements": list(reversed(items))})
        if request.path == "/rest/posts":
            return self._create(request.get_json())
        if request.path.startswith("/rest/socialActions/") and request.path.endswith("/comments"):
            return self._comments(request)
        return self.json({"status": 404, "message": "Not found"}, 404)

    def _create(self, body: dict[str, Any]) -> Response:
        missing = [name for name in _REQUIRED if name not in body]
        if missing:
            return self.json({"status": 422, "message": f"/{missing[0]} :: field is required"}, 422)
        if len(body["commentary"]) > 3000:
            return self.json({"status": 422, "message": "/commentary :: length exceeds 3000"}, 422)
        for urn, post in self.posts.items():
            if post["commentary"] == body["commentary"]:
                return self.json(
                    {"status": 422, "code": "DUPLICATE_POST", "message": f"Content is a duplicate of {urn}"},
                    422,
                )
        refused = self.videos.refuse_post(body)
        if refused is not None:
            return refused
        urn = f"urn:li:share:{self.new_id()}"
        self.posts[urn] = body
        self.shown[urn], self.hashtags[urn] = read_little_text(body["commentary"])
        return Response(status=201, headers={"x-restli-id": urn})

    def _comments(self, request: Request) -> Response:
        target = request.path.removeprefix("/rest/socialActions/").removesuffix("/comments")
        if request.method == "GET":
            on_post = [c for c in self.comments if c["object"] == target]
            return self.json({"elements": list(reversed(on_post))[: int(request.args.get("count", "10"))]})
        body = request.get_json()
        if target not in self.posts or body.get("object") != target:
            return self.json({"status": 404, "message": f"Not found: {target}"}, 404)
        urn = f"urn:li:comment:({target},{self.new_id()})"
        self.comments.append({**body, "commentUrn": urn, "id": urn.rsplit(",", 1)[-1].rstrip(")")})
        self.shown[urn], self.hashtags[urn] = read_little_text(body["message"]["text"])
        return Response(status=201, headers={"x-restli-id": urn})


@dataclass
class Video:
    """One video as the Videos API keeps it."""

    urn: str
    owner: str
    size: int
    token: str
    parts: list[tuple[int, int]]           # (firstByte, lastByte) per upload instruction
    expires_ms: int
    etags: dict[int, str] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)  # part -> sha256 of the bytes received
    data: dict[int, bytes] = field(default_factory=dict)   # part -> bytes (small parts only)
    status: str = "WAITING_UPLOAD"
    polls_left: int = 0
    reason: str = ""
    thumbnail: bytes | None = None
    captions: bytes | None = None
    wants: tuple[bool, bool] = (False, False)               # (captions, thumbnail) asked for

    def content(self) -> bytes:
        return b"".join(self.data[n] for n in sorted(self.data))


class VideosApi:
    """LinkedIn's Videos API as documented, read strictly.

    - ``initializeUpload``: ``owner``, ``fileSizeBytes`` (positive) and the two booleans are required;
      the file is cut into ``part_size`` byte ranges (LinkedIn: 4 MiB), each with its own upload URL,
      valid until ``uploadUrlsExpireAt`` (``url_lifetime_s``; ``expire_uploads()`` ends them: 403).
    - a part PUT must carry exactly its range's length (``Content-Length``); the answer's ``ETag``
      names it. ``finalizeUpload`` needs the upload token and every part's ETag, in order.
    - ``GET /rest/videos/{urn}``: WAITING_UPLOAD, then PROCESSING for ``processing_polls`` reads,
      then AVAILABLE, or PROCESSING_FAILED with ``processingFailureReason`` (``fail_processing``).
      ``poll_times`` records when each read came, to check the client's interval.
    - a post may reference only an AVAILABLE video of its author; a video URN is never a post URN.
    """

    def __init__(self, server: FakeLinkedIn) -> None:
        self.server = server
        self.videos: dict[str, Video] = {}
        self.part_size = 4 * 1024 * 1024
        self.url_lifetime_s = 3600.0
        self.processing_polls = 2
        self.fail_processing: str | None = None
        self.poll_times: list[float] = []
        self.initialized = 0
        self._lock = threading.Lock()

    def expire_uploads(self) -> None:
        for video in self.videos.values():
            video.expires_ms = 0

    def handle(self, request: Request) -> Response:
        action = request.args.get("action")
        if request.method == "POST" and action == "initializeUpload":
            return self._initialize(request.get_json().get("initializeUploadRequest") or {})
        if request.method == "POST" and action == "finalizeUpload":
            return self._finalize(request.get_json().get("finalizeUploadRequest") or {})
        if request.method == "GET" and request.path.startswith("/rest/videos/"):
            return self._status(unquote(request.path.removeprefix("/rest/videos/")))
        return self.server.json({"status": 400, "message": "Unsupported action"}, 400)

    def _initialize(self, body: dict[str, Any]) -> Response:
        missing = [k for k in ("owner", "fileSizeBytes", "uploadCaptions", "uploadThumbnail") if k not in body]
        if missing or not isinstance(body["fileSizeBytes"], int) or body["fileSizeBytes"] <= 0:
            return self.server.json({"status": 422, "message": f"/{(missing or ['fileSizeBytes'])[0]} :: invalid"}, 422)
        if body["owner"] != AUTHOR:
            return self.server.json({"status": 403, "message": "Not enough permissions on the owner"}, 403)
        size, urn = body["fileSizeBytes"], f"urn:li:video:C5F10AQ{self.server.new_id()}"
        ranges = [(first, min(first + self.part_size, size) - 1) for first in range(0, size, self.part_size)]
        expires = int((time.time() + self.url_lifetime_s) * 1000)
        wants = (bool(body["uploadCaptions"]), bool(body["uploadThumbnail"]))
        video = Video(urn, body["owner"], size, f"token-{urn[-4:]}", ranges, expires, wants=wants)
        self.videos[urn] = video
        self.initialized += 1
        base = f"{self.server.url}/dms-uploads/{urn.rsplit(':', 1)[-1]}"
        value: dict[str, Any] = {
            "video": urn, "uploadToken": video.token, "uploadUrlsExpireAt": video.expires_ms,
            "uploadInstructions": [{"uploadUrl": f"{base}/part/{n}", "firstByte": a, "lastByte": b}
                                   for n, (a, b) in enumerate(ranges)],
        }
        if video.wants[0]:
            value["captionsUploadUrl"] = f"{base}/captions"
        if video.wants[1]:
            value["thumbnailUploadUrl"] = f"{base}/thumbnail"
        return self.server.json({"value": value})

    def put(self, request: Request) -> Response:
        _, _, video_id, kind, *rest = request.path.split("/")
        video = self.videos.get(f"urn:li:video:{video_id}")
        if video is None or video.expires_ms < time.time() * 1000:
            request.stream.read()
            return self.server.json({"status": 403, "message": "upload URL expired or unknown"}, 403)
        if kind in ("captions", "thumbnail"):
            setattr(video, kind, request.get_data())
            return Response(status=201)
        number = int(rest[0])
        first, last = video.parts[number]
        digest, length, kept = _drain(request)
        if request.content_length != last - first + 1 or length != last - first + 1:
            return self.server.json({"status": 400, "message": f"part {number} must be {last - first + 1} bytes"}, 400)
        with self._lock:
            video.etags[number] = f"/etag-{video_id}-{number}-{digest[:8]}"
            video.digests[number] = digest
            if kept is not None:
                video.data[number] = kept
        return Response(status=200, headers={"ETag": video.etags[number]})

    def _finalize(self, body: dict[str, Any]) -> Response:
        video = self.videos.get(str(body.get("video")))
        if video is None:
            return self.server.json({"status": 404, "message": "video not found"}, 404)
        wanted = [video.etags.get(n) for n in range(len(video.parts))]
        if body.get("uploadToken") != video.token or body.get("uploadedPartIds") != wanted or None in wanted:
            return self.server.json({"status": 400, "message": "uploadedPartIds do not match the uploaded parts"}, 400)
        video.status, video.polls_left = "PROCESSING", self.processing_polls
        return self.server.json({})

    def _status(self, urn: str) -> Response:
        video = self.videos.get(urn)
        if video is None:
            return self.server.json({"status": 404, "message": f"Not found: {urn}"}, 404)
        self.poll_times.append(time.monotonic())
        if video.status == "PROCESSING":
            if video.polls_left > 0:
                video.polls_left -= 1
            elif self.fail_processing:
                video.status, video.reason = "PROCESSING_FAILED", self.fail_processing
            else:
                video.status = "AVAILABLE"
        answer: dict[str, Any] = {"id": urn, "owner": video.owner, "status": video.status}
        if video.reason:
            answer["processingFailureReason"] = video.reason
        return self.server.json(answer)

    def refuse_post(self, body: dict[str, Any]) -> Response | None:
        """A post whose ``content.media.id`` is a video not (yet) usable by its author: 422."""
        urn = str(((body.get("content") or {}).get("media") or {}).get("id", ""))
        if not urn.startswith("urn:li:video:"):
            return None
        video = self.videos.get(urn)
        if video is None or video.owner != body.get("author") or video.status != "AVAILABLE":
            return self.server.json({"status": 422, "message": f"/content/media/id :: {urn} is not available"}, 422)
        if not body["content"]["media"].get("title"):
            return self.server.json({"status": 422, "message": "/content/media/title :: field is required"}, 422)
        return None


def _drain(request: Request, keep_up_to: int = 256 * 1024) -> tuple[str, int, bytes | None]:
    """sha256, length and (if small) the bytes of a request body, read 64 KiB at a time."""
    digest, length, kept = hashlib.sha256(), 0, bytearray()
    while chunk := request.stream.read(64 * 1024):
        digest.update(chunk)
        length += len(chunk)
        if length <= keep_up_to:
            kept += chunk
    return digest.hexdigest(), length, bytes(kept) if length <= keep_up_to else None
