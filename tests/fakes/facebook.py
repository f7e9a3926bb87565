"""Fake Facebook Graph API for one Page: /<version>/<page>/feed, /photos, /<post>/comments, and videos.

Videos follow Meta's resumable upload, read strictly: ``POST /<page>/videos`` with ``upload_phase``
start (``file_size`` at most ``max_bytes``) -> session, video id and the first chunk's offsets
(``chunk_size`` bytes); transfer -> each ``video_file_chunk`` must start at the offset the server
named and be exactly the bytes asked for, else Graph subcode 1363037 with the offsets it wants in
``error_data``; an unknown or expired session is subcode 1363030; finish -> ``{"success": true}``
once every byte arrived (never twice). The assembled file is then probed with PyAV: unreadable, or
longer than ``max_duration_s``, ends in ``video_status: error`` with a reason. ``GET /<video>?
fields=status,post_id,permalink_url`` answers ``processing`` for ``processing_polls`` looks after
finish, then ``ready``, when the video's post (its own id, not the video's) appears in the feed.
"""

from __future__ import annotations

import io
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.graph import GraphFake

PAGE_ID = "1234"
PAGE_TOKEN = "fb-page-token-abcdef"
OFFSETS_MOVED = 1363037
SESSION_GONE = 1363030


class FakeFacebook(GraphFake):
    token = PAGE_TOKEN
    version = "v21.0"
    chunk_size = 1024 * 1024          # bytes the server asks for per transfer
    max_bytes = 10_000_000_000        # 10 GB (Meta's Page video limit)
    max_duration_s = 240 * 60         # 240 minutes
    processing_polls = 0              # status looks that answer "processing" after finish

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}   # upload session id -> its upload
        self.videos: dict[str, dict[str, Any]] = {}     # video id -> the same dict
        self.chunks: list[tuple[int, int]] = []         # (start_offset, length) of every accepted chunk
        self.status_looks: list[str] = []

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET":
            return self._get(parts)
        if parts == [PAGE_ID, "feed"]:
            return self._create(fields, None)
        if parts == [PAGE_ID, "photos"]:
            return self._photo(request, fields)
        if parts == [PAGE_ID, "videos"]:
            return self._video_phase(request, fields)
        if len(parts) == 2 and parts[1] == "comments" and parts[0] in self.posts:
            return self._create(fields, parts[0])
        return self.graph_error(400, 100, "Unsupported post request.")

    def _get(self, parts: list[str]) -> Response:
        if parts == [PAGE_ID]:
            return self.json({"id": PAGE_ID, "name": "Jessica Jones"})
        if parts[-1] in ("feed", "comments"):
            items = [
                {"id": k, "message": v.get("message", "")}
                for k, v in self.posts.items()
                if v.get("parent") == (None if parts[-1] == "feed" else parts[0])
            ]
            return self.json({"data": list(reversed(items))})
        if len(parts) == 1 and parts[0] in self.videos:
            return self._video_status(self.videos[parts[0]])
        return self.graph_error(400, 100, "Unsupported get request. Object does not exist")

    def _create(self, fields: dict[str, str], parent: str | None) -> Response:
        if not fields.get("message") and not fields.get("attached_media[0]"):
            return self.graph_error(400, 100, "(#100) The parameter message is required")
        if parent is None and any(
            p.get("message") == fields.get("message") and p.get("parent") is None for p in self.posts.values()
        ):
            return self.graph_error(400, 506, "Duplicate status message")
        post_id = f"{PAGE_ID}_{self.new_id()}" if parent is None else f"{parent}_{self.new_id()}"
        self.posts[post_id] = {**fields, "parent": parent}
        return self.json({"id": post_id})

    def _photo(self, request: Request, fields: dict[str, str]) -> Response:
        if "source" not in request.files:
            return self.graph_error(400, 324, "Requires upload file")
        photo_id = self.new_id()
        self.photos[photo_id] = fields
        if fields.get("published") == "false":
            return self.json({"id": photo_id})
        post_id = f"{PAGE_ID}_{photo_id}"
        self.posts[post_id] = {"message": fields.get("caption", ""), "parent": None}
        return self.json({"id": photo_id, "post_id": post_id})

    # -- videos: the resumable upload ----------------------------------------------------------
    def _video_phase(self, request: Request, fields: dict[str, str]) -> Response:
        phase = fields.get("upload_phase")
        if phase == "start":
            return self._start(fields)
        upload = self.sessions.get(fields.get("upload_session_id", ""))
        if phase not in ("transfer", "finish"):
            return self.graph_error(400, 100, "(#100) upload_phase must be start, transfer or finish")
        if upload is None or upload["expired"]:
            return self.graph_error(400, 6000, "Your video upload timed out before it could be completed.",
                                    SESSION_GONE)
        if phase == "transfer":
            return self._transfer(request, fields, upload)
        return self._finish(request, fields, upload)

    def _start(self, fields: dict[str, str]) -> Response:
        size = int(fields.get("file_size") or 0)
        if size <= 0:
            return self.graph_error(400, 100, "(#100) file_size is required for upload_phase start")
        if size > self.max_bytes:
            return self.graph_error(400, 100, f"(#100) The video is {size} bytes; the limit is {self.max_bytes}")
        upload = {"session": self.new_id(), "video": self.new_id(), "size": size, "data": bytearray(),
                  "phase": "transfer", "expired": False, "polls": self.processing_polls}
        self.sessions[upload["session"]] = self.videos[upload["video"]] = upload
        return self.json({"upload_session_id": upload["session"], "video_id": upload["video"],
                          **self._next_offsets(upload)})

    def _next_offsets(self, upload: dict[str, Any]) -> dict[str, str]:
        start = len(upload["data"])
        return {"start_offset": str(start), "end_offset": str(min(upload["size"], start + self.chunk_size))}

    def _transfer(self, request: Request, fields: dict[str, str], upload: dict[str, Any]) -> Response:
        if upload["phase"] != "transfer":
            return self.graph_error(400, 6000, "The upload session is already finished.")
        chunk = request.files.get("video_file_chunk")
        if chunk is None:
            return self.graph_error(400, 100, "(#100) video_file_chunk is required for upload_phase transfer")
        data = chunk.read()
        wanted = self._next_offsets(upload)
        length = int(wanted["end_offset"]) - int(wanted["start_offset"])
        if fields.get("start_offset") != wanted["start_offset"] or len(data) != length:
            error = {"message": "There was a problem uploading your video file. Please try again.",
                     "type": "OAuthException", "code": 6000, "error_subcode": OFFSETS_MOVED, "error_data": wanted}
            return self.json({"error": error}, 400)
        upload["data"] += data
        self.chunks.append((int(wanted["start_offset"]), len(data)))
        return self.json(self._next_offsets(upload))

    def _finish(self, request: Request, fields: dict[str, str], upload: dict[str, Any]) -> Response:
        if upload["phase"] != "transfer":
            return self.graph_error(400, 6000, "The upload session is already finished.")
        if len(upload["data"]) != upload["size"]:
            return self.graph_error(400, 6000, f"Only {len(upload['data'])} of {upload['size']} bytes arrived.")
        thumb = request.files.get("thumb")
        upload.update(phase="processing", description=fields.get("description", ""), title=fields.get("title"),
                      thumb=thumb.read() if thumb else None, error=self._probe(bytes(upload["data"])))
        return self.json({"success": True})

    def _probe(self, data: bytes) -> str | None:
        """Why Facebook's processing would fail this file, or None."""
        import av

        try:
            with av.open(io.BytesIO(data)) as container:
                if not container.streams.video:
                    return "The video file has no video stream."
                duration = (container.duration or 0) / av.time_base
        except av.FFmpegError:
            return "The video file you selected is in a format that we don't support."
        if duration > self.max_duration_s:
            return f"The video is {duration:.0f} seconds long; the limit is {self.max_duration_s} seconds."
        return None

    def _video_status(self, upload: dict[str, Any]) -> Response:
        self.status_looks.append(upload["video"])
        uploading = {"status": "in_progress" if upload["phase"] == "transfer" else "complete",
                     "bytes_transferred": len(upload["data"])}
        status: dict[str, Any] = {"video_status": "processing", "uploading_phase": uploading,
                                  "processing_phase": {"status": "not_started"},
                                  "publishing_phase": {"status": "not_started"}}
        if upload["phase"] == "processing":
            status["processing_phase"] = {"status": "in_progress"}
            if upload["polls"] > 0:
                upload["polls"] -= 1
            elif upload["error"]:
                status.update(video_status="error",
                              processing_phase={"status": "error", "errors": [{"code": 1363008,
                                                                                "message": upload["error"]}]})
            else:
                self._publish_video(upload)
        if upload["phase"] == "published":
            status.update(video_status="ready", processing_phase={"status": "complete"},
                          publishing_phase={"status": "complete", "publish_status": "published"})
        if upload["expired"]:
            status["video_status"] = "expired"
        answer = {"id": upload["video"], "status": status}
        if upload.get("post"):
            answer.update(post_id=upload["post"], permalink_url=f"/{PAGE_ID}/videos/{upload['video']}/")
        return self.json(answer)

    def _publish_video(self, upload: dict[str, Any]) -> None:
        post_id = f"{PAGE_ID}_{self.new_id()}"  # the post's own id, neither the video's nor the session's
        self.posts[post_id] = {"message": upload["description"], "parent": None, "video": upload["video"]}
        upload.update(phase="published", post=post_id)

    # -- test controls -------------------------------------------------------------------------
    def video_posts(self) -> list[str]:
        return [post for post, fields in self.posts.items() if fields.get("video")]

    def expire_sessions(self) -> None:
        for upload in self.sessions.values():
            if upload["phase"] == "transfer":
                upload["expired"] = True
