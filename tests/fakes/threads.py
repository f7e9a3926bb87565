"""Fake Threads Graph API: containers, carousels, threads_publish, container status, permalink, 500 characters.

As on the real API, publishing a container makes a new media object with its own id (answered by
``threads_publish``); the container keeps only ``id``, ``status`` and ``error_message``. A reply
must name a published post's id (a container id is refused), and a user's threads and a post's
replies can be listed.

Media is fetched by URL, as Threads does: a URL on this machine (a ``tests.fakes.harness.MediaHost``)
is downloaded when the container is made and checked against Threads' video specifications (MOV/MP4,
H.264/HEVC, at most ``max_video_bytes`` and ``max_duration_s``, 23-60 fps, at most 1920 pixels
wide, aspect ratio 0.01:1 to 10:1); a video anywhere else cannot be downloaded
(FAILED_DOWNLOADING_VIDEO). An image URL must be https (or on this machine). A container answers
IN_PROGRESS to its first ``processing_polls`` status looks, then FINISHED or ERROR with the
reason; publishing one that is not FINISHED is refused. A carousel names 2 to 20 FINISHED item
containers (``is_carousel_item``) as ``children``; an item cannot be published on its own.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from werkzeug.wrappers import Request, Response

from tests.fakes.graph import GraphFake

USER_ID = "5555"
THREADS_TOKEN = "threads-token-abcdef"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


class FakeThreads(GraphFake):
    token = THREADS_TOKEN
    version = "v1.0"
    max_video_bytes = 1_000_000_000  # 1 GB
    max_duration_s = 300.0          # 5 minutes
    fps_range = (23.0, 60.0)
    max_width = 1920
    processing_polls = 0            # status looks answering IN_PROGRESS before the outcome

    def __init__(self) -> None:
        super().__init__()
        self.containers: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}  # media id -> the container's fields
        self.fetched: list[tuple[str, int, str]] = []   # (url, bytes, sha256) of every media download
        self.status_looks: list[tuple[str, float]] = []  # (container, time.monotonic())

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET":
            return self._get(parts)
        if parts == [USER_ID, "threads"]:
            return self._container(fields)
        if parts == [USER_ID, "threads_publish"]:
            return self._publish(fields.get("creation_id", ""))
        return self.graph_error(400, 100, "Unsupported post request.")

    def _get(self, parts: list[str]) -> Response:
        node = parts[0]
        if parts == ["me"]:
            return self.json({"id": USER_ID, "username": "jessicajones"})
        if parts == [USER_ID, "threads"]:
            return self._listed(None)
        if len(parts) == 2 and parts[1] == "replies" and node in self.published:
            return self._listed(node)
        if parts == [node] and node in self.containers:
            return self.json(self._status(node))
        if parts == [node] and node in self.published:
            return self.json({"id": node, "text": self.published[node].get("text", ""),
                              "permalink": f"https://www.threads.net/@jessicajones/post/P{node}"})
        return self.graph_error(400, 100, "Object does not exist")

    def _status(self, node: str) -> dict[str, Any]:
        self.status_looks.append((node, time.monotonic()))
        container = self.containers[node]
        if container["status"] == "IN_PROGRESS":
            if container["polls"] > 0:
                container["polls"] -= 1
            else:
                container["status"] = container["outcome"]
        answer = {"id": node, "status": container["status"]}
        if container["status"] == "ERROR":
            answer["error_message"] = container["error_message"]
        return answer

    def _listed(self, reply_to: str | None) -> Response:
        """A user's posts (``reply_to`` None) or a post's replies, newest first."""
        found = [{"id": media, "text": fields.get("text", "")} for media, fields in reversed(self.published.items())
                 if fields.get("reply_to_id") == reply_to]
        return self.json({"data": found})

    def _container(self, fields: dict[str, str]) -> Response:
        kind = fields.get("media_type")
        if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return self.graph_error(400, 100, "The parameter media_type is required.")
        if len(fields.get("text", "")) > 500:
            return self.graph_error(400, 100, "Param text must be at most 500 characters long.")
        reply_to = fields.get("reply_to_id")
        if reply_to is not None and reply_to not in self.published:
            return self.graph_error(400, 100, "Invalid reply_to_id")
        refused = self._refused(kind, fields)
        if refused is not None:
            return refused
        outcome = self._fetch_and_check(kind, fields)
        container = self.new_id()
        self.containers[container] = {**fields, "status": "IN_PROGRESS", "polls": self.processing_polls,
                                      "outcome": "ERROR" if outcome else "FINISHED", "error_message": outcome}
        if kind == "TEXT":
            self.containers[container]["status"] = "FINISHED"
        return self.json({"id": container})

    def _refused(self, kind: str, fields: dict[str, str]) -> Response | None:
        if kind == "IMAGE" and not _public_or_local(fields.get("image_url", ""), https_only=True):
            return self.graph_error(400, 100, "Param image_url must be a public URL.")
        if kind == "VIDEO" and not _public_or_local(fields.get("video_url", ""), https_only=False):
            return self.graph_error(400, 100, "Param video_url must be a URL.")
        if fields.get("is_carousel_item") == "true" and kind not in ("IMAGE", "VIDEO"):
            return self.graph_error(400, 100, "A carousel item must be an IMAGE or a VIDEO.")
        if kind != "CAROUSEL":
            return None
        children = [c for c in fields.get("children", "").split(",") if c]
        if not 2 <= len(children) <= 20:
            return self.graph_error(400, 100, "A carousel must have between 2 and 20 children.")
        for child in children:
            found = self.containers.get(child)
            if found is None or found.get("is_carousel_item") != "true":
                return self.graph_error(400, 100, f"Invalid children: {child} is not a carousel item")
            if found["status"] != "FINISHED":
                return self.graph_error(400, 9007, "Media ID is not available", 2207027)
        return None

    def _fetch_and_check(self, kind: str, fields: dict[str, str]) -> str | None:
        """Download the media as Threads would; the ERROR code it would end in, or None."""
        url = fields.get("video_url") or fields.get("image_url") or ""
        if kind not in ("IMAGE", "VIDEO") or urlsplit(url).hostname not in LOCAL_HOSTS:
            return "FAILED_DOWNLOADING_VIDEO" if kind == "VIDEO" else None
        try:
            response = httpx.get(url, timeout=5.0)
        except httpx.HTTPError:
            return "FAILED_DOWNLOADING_VIDEO" if kind == "VIDEO" else "UNKNOWN"
        if response.status_code != 200:
            return "FAILED_DOWNLOADING_VIDEO" if kind == "VIDEO" else "UNKNOWN"
        data = response.content
        self.fetched.append((url, len(data), hashlib.sha256(data).hexdigest()))
        return self._check_video(data) if kind == "VIDEO" else None

    def _check_video(self, data: bytes) -> str | None:
        import av

        if len(data) > self.max_video_bytes:
            return "FAILED_PROCESSING_VIDEO"
        try:
            with av.open(io.BytesIO(data)) as container:
                if "mp4" not in container.format.name and "mov" not in container.format.name:
                    return "FAILED_PROCESSING_VIDEO"
                stream = container.streams.video[0]
                duration = (container.duration or 0) / av.time_base
                fps = float(stream.average_rate or 0)
                codec, width, height = stream.codec_context.name, stream.width, stream.height
        except (av.FFmpegError, IndexError):
            return "FAILED_PROCESSING_VIDEO"
        if codec not in ("h264", "hevc"):
            return "FAILED_PROCESSING_VIDEO"
        if not 0 < duration <= self.max_duration_s:
            return "INVALID_DURATION"
        if not self.fps_range[0] <= fps <= self.fps_range[1]:
            return "INVALID_FRAME_RATE"
        if width > self.max_width or not 0.01 <= width / max(height, 1) <= 10:
            return "INVALID_ASPEC_RATIO"
        return None

    def _publish(self, container: str) -> Response:
        found = self.containers.get(container)
        if found is None:
            return self.graph_error(400, 24, "The media was not found", 4279009)
        if found["status"] == "PUBLISHED":
            return self.graph_error(400, 10, "The media has already been published", 2207006)
        if found.get("is_carousel_item") == "true":
            return self.graph_error(400, 100, "A carousel item cannot be published on its own")
        if found["status"] != "FINISHED":
            return self.graph_error(400, 9007, "Media ID is not available", 2207027)
        found["status"] = "PUBLISHED"
        media = self.new_id()  # the post's own id, not the container's
        self.published[media] = found
        return self.json({"id": media})

    # -- test controls -------------------------------------------------------------------------
    def expire(self, container: str) -> None:
        """The container sat unpublished for 24 hours."""
        self.containers[container]["status"] = "EXPIRED"


def _public_or_local(url: str, *, https_only: bool) -> bool:
    parts = urlsplit(url)
    if parts.hostname in LOCAL_HOSTS:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" or (not https_only and parts.scheme == "http")
