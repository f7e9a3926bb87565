"""Fake YouTube Data API v3, written from its public documentation and read strictly.

- Auth: ``Authorization: Bearer <TOKEN>``, else 401 (``authError``, ``UNAUTHENTICATED``).
- Resumable upload (guides/using_resumable_upload_protocol): ``POST /upload/youtube/v3/videos?
  uploadType=resumable&part=snippet,status`` with the metadata, ``X-Upload-Content-Length`` and
  ``X-Upload-Content-Type`` -> 200 and ``Location`` (the session). ``PUT <session>`` with
  ``Content-Range: bytes a-b/N``: ``a`` must be where the session is, the body exactly ``b-a+1``
  bytes, and every chunk but the last a multiple of 256 KiB (else 400); answered 308 with
  ``Range: bytes=0-b``, the last with 201 and the video resource. ``Content-Range: bytes */N`` and
  no body asks where the session is: 308 (+ ``Range`` once it holds bytes), the video if complete,
  404 once the session expired (``expire_sessions``).
- Metadata (videos resource): ``snippet.title`` required, at most 100 characters, no ``<``/``>``;
  description at most 5,000 bytes; tags at most 500 characters counted as YouTube counts them;
  ``categoryId`` known; ``status.publishAt`` only with ``privacyStatus: private`` and in the future.
- Processing: ``videos.list`` shows ``status.uploadStatus`` ``uploaded`` and
  ``processingDetails.processingStatus`` ``processing`` for ``processing_polls`` reads, then
  ``processed``/``succeeded``, or ``rejected`` with ``rejectionReason`` (``reject_with``).
- Quota: each call costs its documented units (videos.insert 1,600, thumbnails.set 50,
  captions.insert 400, playlistItems.insert 50, videos.update 50, lists 1 or 50), refused calls
  too; a call the day's ``budget`` cannot pay is 403 ``quotaExceeded``.
- Thumbnails: a custom thumbnail needs a verified channel (``verified``): else 403 ``forbidden``;
  at most 2 MB, image/jpeg or image/png.
- Captions (multipart/related: the snippet JSON, then the SRT/VTT bytes), playlist items, the
  channel (``channels.list mine=true``) and its uploads playlist (``UU...``, newest first).
"""

from __future__ import annotations

import email
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

TOKEN = "ya29.youtube-token-5f1c"
CHANNEL = "UCjessicajones000000000"
KIB256 = 256 * 1024
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28"}
COST = {"videos.insert": 1600, "videos.list": 1, "videos.update": 50, "thumbnails.set": 50,
        "captions.insert": 400, "captions.list": 50, "playlistItems.insert": 50, "playlistItems.list": 1,
        "channels.list": 1}


@dataclass
class Session:
    uri: str
    size: int
    mime: str
    metadata: dict[str, Any]
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    data: bytearray = field(default_factory=bytearray)
    video: str | None = None
    chunks: list[tuple[int, int]] = field(default_factory=list)
    expired: bool = False


@dataclass
class Video:
    id: str
    metadata: dict[str, Any]
    size: int
    sha256: str
    data: bytes
    uploaded_at: str
    polls: int = 0
    thumbnail: bytes | None = None
    captions: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, fake: FakeYouTube) -> dict[str, Any]:
        status = {**self.metadata.get("status", {}), "uploadStatus": "uploaded"}
        processing = "processing"
        if self.polls > fake.processing_polls:
            if fake.reject_with:
                status |= {"uploadStatus": "rejected", "rejectionReason": fake.reject_with}
                processing = "failed"
            else:
                status["uploadStatus"], processing = "processed", "succeeded"
        return {"kind": "youtube#video", "id": self.id, "snippet": self.metadata.get("snippet", {}),
                "status": status, "processingDetails": {"processingStatus": processing}}


def error(status: int, reason: str, message: str, domain: str = "youtube") -> Response:
    body = {"error": {"code": status, "message": message, "errors": [{"domain": domain, "reason": reason,
                                                                       "message": message}]}}
    return FakeServer.json(body, status)


def tags_length(tags: list[str]) -> int:
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


class FakeYouTube(FakeServer):
    streamed_paths = ("/upload/youtube/v3/videos",)

    def __init__(self, *, verified: bool = True, budget: int = 10_000) -> None:
        super().__init__()
        self.verified, self.budget, self.spent = verified, budget, 0
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, Video] = {}
        self.playlist_items: list[dict[str, Any]] = []
        self.processing_polls = 1
        self.reject_with: str | None = None
        self.keep_bytes = 4 * 1024 * 1024  # bigger uploads keep only their digest (memory tests)
        self.token = TOKEN
        self._lock = threading.Lock()

    # -- controls --------------------------------------------------------------------------------
    def expire_sessions(self) -> None:
        for session in self.sessions.values():
            session.expired = True

    @property
    def initiated(self) -> int:
        return len(self.sessions)

    # -- serving ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.json({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                        "errors": [{"reason": "authError", "message": "Invalid Credentials"}],
                                        "status": "UNAUTHENTICATED"}}, 401)
        path, method = request.path, request.method
        if path == "/upload/youtube/v3/videos" and request.args.get("upload_id"):
            return self._chunk(request)
        routes = {("POST", "/upload/youtube/v3/videos"): self._initiate,
                  ("GET", "/youtube/v3/videos"): self._list_videos,
                  ("PUT", "/youtube/v3/videos"): self._update,
                  ("POST", "/upload/youtube/v3/thumbnails/set"): self._thumbnail,
                  ("POST", "/upload/youtube/v3/captions"): self._caption,
                  ("GET", "/youtube/v3/captions"): self._list_captions,
                  ("POST", "/youtube/v3/playlistItems"): self._add_to_playlist,
                  ("GET", "/youtube/v3/playlistItems"): self._list_playlist,
                  ("GET", "/youtube/v3/channels"): self._channel}
        route = routes.get((method, path))
        return route(request) if route else error(404, "notFound", f"{method} {path} is not an API method")

    def charge(self, call: str) -> Response | None:
        """Bill ``call``; 403 quotaExceeded when the day's budget cannot pay it."""
        with self._lock:
            if self.spent + COST[call] > self.budget:
                self.spent += 1  # even a refused call costs a point
                return error(403, "quotaExceeded", "The request cannot be completed because you have exceeded "
                                                   "your quota.", "youtube.quota")
            self.spent += COST[call]
        return None

    def _initiate(self, request: Request) -> Response:
        refused = self.charge("videos.insert")
        if refused is not None:
            return refused
        if request.args.get("uploadType") != "resumable" or request.args.get("part") != "snippet,status":
            return error(400, "badRequest", "expected uploadType=resumable and part=snippet,status")
        size, mime = request.headers.get("X-Upload-Content-Length"), request.headers.get("X-Upload-Content-Type", "")
        if not size or not size.isdigit() or not (mime.startswith("video/") or mime == "application/octet-stream"):
            return error(400, "badRequest", "X-Upload-Content-Length and a video X-Upload-Content-Type are required")
        metadata = json.loads(request.get_data() or b"{}")
        problem = metadata_problem(metadata)
        if problem:
            return error(400, *problem)
        upload_id = secrets.token_urlsafe(12)
        uri = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        self.sessions[upload_id] = Session(uri, int(size), mime, metadata)
        return Response(status=200, headers={"Location": uri, "Content-Length": "0"})

    def _chunk(self, request: Request) -> Response:
        session = self.sessions.get(request.args["upload_id"])
        if session is None or session.expired or request.method != "PUT":
            return error(404, "notFound", "the upload session does not exist or has expired")
        first, last, total = content_range(request.headers.get("Content-Range", ""))
        if total != session.size:
            return error(400, "badRequest", f"Content-Range total {total} is not the announced {session.size}")
        if first is None:  # a status query
            request.get_data()
            return self._where(session)
        if session.video is not None or first != session.received:
            return error(400, "badRequest", f"the chunk starts at {first}; the session holds {session.received}")
        length = last - first + 1
        if last != session.size - 1 and length % KIB256:
            return error(400, "badRequest", f"a chunk that is not the last must be a multiple of 256 KiB ({length})")
        if not self._take(request, session, length):
            return error(400, "badRequest", "the chunk's body is not as long as its Content-Range says")
        session.chunks.append((first, last))
        if session.received < session.size:
            return Response(status=308, headers={"Range": f"bytes=0-{session.received - 1}", "Content-Length": "0"})
        return self._complete(session)

    def _take(self, request: Request, session: Session, length: int) -> bool:
        stream, got = request.stream, 0
        while chunk := stream.read(64 * 1024):
            got += len(chunk)
            session.digest.update(chunk)
            if session.size <= self.keep_bytes:
                session.data += chunk
        if got != length:
            return False
        session.received += got
        return True

    def _where(self, session: Session) -> Response:
        if session.video is not None:
            return self.json(self.videos[session.video].resource(self), 200)
        headers = {"Content-Length": "0"}
        if session.received:
            headers["Range"] = f"bytes=0-{session.received - 1}"
        return Response(status=308, headers=headers)

    def _complete(self, session: Session) -> Response:
        video = Video(f"v{self.new_id()}{secrets.token_hex(2)}", session.metadata, session.size,
                      session.digest.hexdigest(), bytes(session.data), _now())
        self.videos[video.id] = video
        session.video = video.id
        return self.json(video.resource(self), 201)

    def _list_videos(self, request: Request) -> Response:
        refused = self.charge("videos.list")
        if refused is not None:
            return refused
        items = []
        for video_id in request.args.get("id", "").split(","):
            video = self.videos.get(video_id)
            if video is not None:
                video.polls += 1
                items.append(video.resource(self))
        return self.json({"kind": "youtube#videoListResponse", "items": items})

    def _update(self, request: Request) -> Response:
        refused = self.charge("videos.update")
        if refused is not None:
            return refused
        body = request.get_json()
        video = self.videos.get(body.get("id", ""))
        if video is None or request.args.get("part") != "status":
            return error(404, "videoNotFound", "The video that you are trying to update cannot be found.")
        status = body.get("status") or {}
        problem = status_problem(status)
        if problem:
            return error(400, *problem)
        video.metadata = {**video.metadata, "status": status}
        return self.json(video.resource(self))

    def _thumbnail(self, request: Request) -> Response:
        refused = self.charge("thumbnails.set")
        if refused is not None:
            return refused
        video = self.videos.get(request.args.get("videoId", ""))
        if video is None:
            return error(404, "videoNotFound", "The video that you are trying to update cannot be found.")
        if not self.verified:
            return error(403, "forbidden", "The authenticated user doesn't have permissions for uploading and "
                                           "setting custom video thumbnails.")
        data = request.get_data()
        if request.mimetype not in ("image/jpeg", "image/png") or len(data) > 2 * 1024 * 1024 or not data:
            return error(400, "invalidImage", "The provided image content is invalid.")
        video.thumbnail = data
        return self.json({"kind": "youtube#thumbnailSetResponse", "items": [{"default": {"url": "x"}}]})

    def _caption(self, request: Request) -> Response:
        refused = self.charge("captions.insert")
        if refused is not None:
            return refused
        if request.args.get("uploadType") != "multipart" or not request.mimetype.startswith("multipart/related"):
            return error(400, "mediaBodyRequired", "The request does not include the caption track content.")
        message = email.message_from_bytes(b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n"
                                           + request.get_data())
        parts = [part.get_payload(decode=True) for part in message.get_payload()]  # type: ignore[union-attr]
        snippet = json.loads(parts[0]).get("snippet") or {}
        video = self.videos.get(snippet.get("videoId", ""))
        if video is None:
            return error(404, "videoNotFound", "The video identified by the videoId parameter cannot be found.")
        if not snippet.get("language") or not parts[1]:
            return error(400, "invalidMetadata", "snippet.language and the track are required")
        video.captions.append({"snippet": snippet, "body": parts[1]})
        return self.json({"kind": "youtube#caption", "id": f"c{self.new_id()}", "snippet": snippet})

    def _list_captions(self, request: Request) -> Response:
        refused = self.charge("captions.list")
        if refused is not None:
            return refused
        video = self.videos.get(request.args.get("videoId", ""))
        items = [{"snippet": c["snippet"]} for c in (video.captions if video else [])]
        return self.json({"items": items})

    def _add_to_playlist(self, request: Request) -> Response:
        refused = self.charge("playlistItems.insert")
        if refused is not None:
            return refused
        snippet = (request.get_json() or {}).get("snippet") or {}
        video = (snippet.get("resourceId") or {}).get("videoId")
        if video not in self.videos or not snippet.get("playlistId"):
            return error(404, "videoNotFound", "The video that you are trying to add cannot be found.")
        item = {"id": f"PLI{self.new_id()}", "snippet": snippet}
        self.playlist_items.append(item)
        return self.json(item)

    def _list_playlist(self, request: Request) -> Response:
        refused = self.charge("playlistItems.list")
        if refused is not None:
            return refused
        playlist, video = request.args.get("playlistId", ""), request.args.get("videoId")
        if playlist == "UU" + CHANNEL[2:]:
            items = [{"snippet": {"title": v.metadata["snippet"]["title"], "publishedAt": v.uploaded_at,
                                  "resourceId": {"kind": "youtube#video", "videoId": v.id}}}
                     for v in reversed(self.videos.values())]
        else:
            items = [i for i in self.playlist_items if i["snippet"]["playlistId"] == playlist]
        if video:
            items = [i for i in items if i["snippet"]["resourceId"]["videoId"] == video]
        return self.json({"items": items[: int(request.args.get("maxResults", "5"))]})

    def _channel(self, request: Request) -> Response:
        refused = self.charge("channels.list")
        if refused is not None:
            return refused
        if request.args.get("mine") != "true":
            return error(400, "missingRequiredParameter", "a filter (mine) is required")
        return self.json({"items": [{"id": CHANNEL, "snippet": {"title": "Jessica Jones", "customUrl": "@jessicajones"},
                                     "contentDetails": {"relatedPlaylists": {"uploads": "UU" + CHANNEL[2:]}}}]})


def content_range(value: str) -> tuple[int | None, int, int]:
    """``bytes a-b/N`` -> (a, b, N); ``bytes */N`` -> (None, -1, N)."""
    unit, _, rest = value.partition(" ")
    span, _, total = rest.partition("/")
    if unit != "bytes" or not total.isdigit():
        return None, -1, -1
    if span == "*":
        return None, -1, int(total)
    first, _, last = span.partition("-")
    return int(first), int(last), int(total)


def metadata_problem(metadata: dict[str, Any]) -> tuple[str, str] | None:
    snippet, status = metadata.get("snippet") or {}, metadata.get("status") or {}
    title, description = snippet.get("title") or "", snippet.get("description") or ""
    if not title:
        return "invalidTitle", "The request metadata does not specify a video title."
    if len(title) > 100 or "<" in title or ">" in title:
        return "invalidTitle", "The request metadata specifies an invalid video title."
    if len(description.encode()) > 5000 or "<" in description or ">" in description:
        return "invalidDescription", "The request metadata specifies an invalid video description."
    if tags_length(list(snippet.get("tags") or [])) > 500:
        return "invalidTags", "The request metadata specifies invalid video keywords."
    if snippet.get("categoryId") not in CATEGORIES:
        return "invalidCategoryId", "The snippet.categoryId property specifies an invalid category ID."
    return status_problem(status)


def status_problem(status: dict[str, Any]) -> tuple[str, str] | None:
    if status.get("privacyStatus") not in ("public", "unlisted", "private"):
        return "invalidVideoMetadata", "status.privacyStatus must be public, unlisted or private"
    at = status.get("publishAt")
    if at is not None:
        if status["privacyStatus"] != "private":
            return "invalidPublishAt", "publishAt can be set only when privacyStatus is private"
        if datetime.fromisoformat(at.replace("Z", "+00:00")) <= datetime.now(UTC):
            return "invalidPublishAt", "The request metadata specifies an invalid scheduled publishing time."
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
