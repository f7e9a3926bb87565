"""Fake Instagram Graph API (content publishing): containers, carousels, media_publish, the 100-post limit.

Written from Meta's "Instagram API with Facebook Login: Content Publishing" guide and the IG User
Media / Media Publish / Content Publishing Limit / IG Container references, taking the stricter
reading where they are vague:

- every call needs the token (``access_token`` field) and the ``v21.0`` path;
- ``POST /{user}/media`` makes a container: ``image_url`` (JPEG only) or ``video_url`` with
  ``media_type`` REELS, STORIES, or VIDEO for a carousel item (``is_carousel_item``); CAROUSEL
  names 2 to 10 FINISHED item containers as ``children``; a caption of at most 2,200 characters,
  30 hashtags and 20 mentions (a Story takes none). The media is **fetched by URL** when the
  container is made, as Instagram does: a URL that does not answer 200 (an expired presigned URL
  is 403) ends the container in ERROR; a video is read with PyAV and checked against the Reels
  (3 s-15 min, 300 MB) or Stories (3-60 s, 100 MB) specifications (MP4/MOV, H.264/HEVC, 23-60 fps,
  at most 1920 wide); a ``cover_url`` is fetched and must be a JPEG too;
- a container answers IN_PROGRESS to its first ``processing_polls`` looks (``status_code``), then
  FINISHED or ERROR with the reason in ``status``; ``expire(container)`` makes it EXPIRED;
- ``POST /{user}/media_publish`` publishes a FINISHED container as a **new media id** (the
  container becomes PUBLISHED); at ``publishing_limit`` posts in 24 hours it is refused (code 9,
  subcode 2207042); ``GET /{user}/content_publishing_limit`` reports the usage;
- ``GET /{user}/media`` and ``/{user}/stories`` list published media, newest first.
"""

from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from werkzeug.wrappers import Request, Response

from tests.fakes.graph import GraphFake

IG_USER_ID = "17841400000000001"
IG_TOKEN = "ig-user-token-abcdef"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
FETCH_FAILED = "ERROR: Media download has failed. The media URI doesn't meet our requirements. (2207052)"
_SPECS = {  # media_type -> (min s, max s, max bytes)
    "REELS": (3.0, 900.0, 300_000_000), "STORIES": (3.0, 60.0, 100_000_000), "VIDEO": (3.0, 60.0, 300_000_000),
}


class FakeInstagram(GraphFake):
    token = IG_TOKEN
    version = "v21.0"
    processing_polls = 0
    publishing_limit = 100

    def __init__(self) -> None:
        super().__init__()
        self.containers: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}   # media id -> container fields + timestamp
        self.fetched: list[tuple[str, int, str]] = []     # (url, bytes, sha256) of every download
        self.earlier_posts = 0                            # posts published in the last 24 h outside the test

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET":
            return self._get(parts)
        if parts == [IG_USER_ID, "media"]:
            return self._container(fields)
        if parts == [IG_USER_ID, "media_publish"]:
            return self._publish(fields.get("creation_id", ""))
        return self.graph_error(400, 100, "Unsupported post request.")

    def _get(self, parts: list[str]) -> Response:
        node = parts[0]
        if parts == [IG_USER_ID]:
            return self.json({"id": IG_USER_ID, "username": "jessicajones"})
        if parts == [IG_USER_ID, "content_publishing_limit"]:
            return self.json({"data": [{"quota_usage": self.used(),
                                        "config": {"quota_total": self.publishing_limit, "quota_duration": 86400}}]})
        if parts in ([IG_USER_ID, "media"], [IG_USER_ID, "stories"]):
            return self._listed(stories=parts[1] == "stories")
        if parts == [node] and node in self.containers:
            return self.json(self._status(node))
        if parts == [node] and node in self.published:
            return self.json({"id": node, "permalink": f"https://www.instagram.com/p/C{node}/"})
        return self.graph_error(400, 100, "Unsupported get request. Object does not exist")

    def used(self) -> int:
        since = datetime.now(UTC) - timedelta(hours=24)
        return self.earlier_posts + sum(1 for p in self.published.values() if p["at"] > since)

    def _status(self, node: str) -> dict[str, Any]:
        container = self.containers[node]
        if container["status_code"] == "IN_PROGRESS":
            if container["polls"] > 0:
                container["polls"] -= 1
            else:
                container["status_code"] = container["outcome"]
        answer = {"id": node, "status_code": container["status_code"]}
        if container["status_code"] == "ERROR":
            answer["status"] = container["reason"]
        return answer

    def _listed(self, *, stories: bool) -> Response:
        found = [{"id": media, "caption": fields.get("caption", ""),
                  "timestamp": fields["at"].strftime("%Y-%m-%dT%H:%M:%S+0000")}
                 for media, fields in reversed(self.published.items())
                 if (fields.get("media_type") == "STORIES") == stories]
        return self.json({"data": found})

    # -- containers --------------------------------------------------------------------------------
    def _container(self, fields: dict[str, str]) -> Response:
        refused = self._refused(fields)
        if refused is not None:
            return refused
        kind = fields.get("media_type") or "IMAGE"
        reason = None if kind == "CAROUSEL" else self._fetch_and_check(kind, fields)
        container = self.new_id()
        self.containers[container] = {**fields, "status_code": "IN_PROGRESS", "polls": self.processing_polls,
                                      "outcome": "ERROR" if reason else "FINISHED", "reason": reason}
        return self.json({"id": container})

    def _refused(self, fields: dict[str, str]) -> Response | None:
        kind = fields.get("media_type") or "IMAGE"
        if kind not in ("IMAGE", "REELS", "STORIES", "VIDEO", "CAROUSEL"):
            return self.graph_error(400, 100, f"The parameter media_type {kind} is not supported.")
        url = fields.get("image_url") or fields.get("video_url")
        if kind != "CAROUSEL" and (not url or not _public_or_local(url)):
            return self.graph_error(400, 9004, "Only photo or video can be accepted as media type.", 2207052)
        if (kind in ("REELS", "VIDEO") and not fields.get("video_url")) or (kind == "IMAGE" and "video_url" in fields):
            return self.graph_error(400, 100, "The parameter video_url is required for a video.")
        if kind == "VIDEO" and fields.get("is_carousel_item") != "true":
            return self.graph_error(400, 100, "media_type VIDEO is for carousel items; use REELS.")
        caption = fields.get("caption", "")
        if caption and (kind == "STORIES" or fields.get("is_carousel_item") == "true"):
            return self.graph_error(400, 100, "A story or a carousel item takes no caption.")
        if len(caption) > 2200 or caption.count("#") > 30 or caption.count("@") > 20:
            return self.graph_error(400, 100, "The caption is too long or has too many hashtags or mentions.",
                                    2207010)
        return self._children_refused(fields) if kind == "CAROUSEL" else None

    def _children_refused(self, fields: dict[str, str]) -> Response | None:
        children = [c for c in fields.get("children", "").split(",") if c]
        if not 2 <= len(children) <= 10:
            return self.graph_error(400, 100, "A carousel must have between 2 and 10 children.")
        for child in children:
            found = self.containers.get(child)
            if found is None or found.get("is_carousel_item") != "true":
                return self.graph_error(400, 100, f"Invalid children: {child} is not a carousel item")
            if found["status_code"] != "FINISHED":
                return self.graph_error(400, 9007, "Media ID is not available", 2207027)
        return None

    def _fetch_and_check(self, kind: str, fields: dict[str, str]) -> str | None:
        """Download the media (and cover) as Instagram would; the ERROR reason it would end in, or None."""
        data = self._fetch(fields.get("video_url") or fields.get("image_url") or "")
        if data is None:
            return FETCH_FAILED
        if "cover_url" in fields:
            cover = self._fetch(fields["cover_url"])
            if cover is None or not cover.startswith(b"\xff\xd8\xff"):
                return "ERROR: the cover must be a JPEG image at a public URL (2207052)"
        if "image_url" in fields:
            ok = data.startswith(b"\xff\xd8\xff") and len(data) <= 8_000_000
            return None if ok else "ERROR: Only JPEG images up to 8 MB are supported (2207009)"
        return _video_problem(data, *_SPECS[kind])

    def _fetch(self, url: str) -> bytes | None:
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            return None  # nothing public can be reached from a test
        try:
            response = httpx.get(url, timeout=5.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        self.fetched.append((url, len(response.content), hashlib.sha256(response.content).hexdigest()))
        return response.content

    # -- publishing ----------------------------------------------------------------------------
    def _publish(self, container: str) -> Response:
        found = self.containers.get(container)
        if found is None:
            return self.graph_error(400, 24, "The media was not found", 4279009)
        if found["status_code"] == "PUBLISHED":
            return self.graph_error(400, 10, "The media has already been published", 2207006)
        if found.get("is_carousel_item") == "true":
            return self.graph_error(400, 100, "A carousel item cannot be published on its own")
        if found["status_code"] != "FINISHED":
            return self.graph_error(400, 9007, "Media ID is not available", 2207027)
        if self.used() >= self.publishing_limit:
            return self.graph_error(400, 9, "Application request limit reached", 2207042)
        found["status_code"] = "PUBLISHED"
        media = self.new_id()  # the post's own id, not the container's
        self.published[media] = {**found, "at": datetime.now(UTC), "container": container}
        return self.json({"id": media})

    # -- test controls -------------------------------------------------------------------------
    def expire(self, container: str) -> None:
        """The container sat unpublished for 24 hours."""
        self.containers[container]["status_code"] = "EXPIRED"

    def wait_until_fetched(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.fetched) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def _video_problem(data: bytes, min_s: float, max_s: float, max_bytes: int) -> str | None:
    import av

    if len(data) > max_bytes:
        return "ERROR: The video file is too large (2207026)"
    try:
        with av.open(io.BytesIO(data)) as container:
            if "mp4" not in container.format.name and "mov" not in container.format.name:
                return "ERROR: Unsupported video format (2207026)"
            stream = container.streams.video[0]
            duration = (container.duration or 0) / av.time_base
            fps = float(stream.average_rate or 0)
            codec, width = stream.codec_context.name, stream.width
    except (av.FFmpegError, IndexError):
        return "ERROR: The video could not be read (2207026)"
    if codec not in ("h264", "hevc"):
        return f"ERROR: Unsupported video codec {codec} (2207026)"
    if not min_s <= duration <= max_s:
        return f"ERROR: The video is {duration:.1f}s; {min_s:g}-{max_s:g}s are accepted (2207026)"
    if not 23 <= fps <= 60 or width > 1920:
        return "ERROR: The video's frame rate or size is not supported (2207026)"
    return None


def _public_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") if parts.hostname in LOCAL_HOSTS else parts.scheme == "https"
