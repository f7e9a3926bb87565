"""A Facebook Page video: the resumable upload, the video's processing, and its post (``FacebookVideos``).

The protocol (Meta's Video API, resumable upload), every step on ``POST /{page_id}/videos``::

    upload_phase=start     file_size                          -> upload_session_id, video_id, start_offset, end_offset
    upload_phase=transfer  upload_session_id, start_offset,   -> the next start_offset, end_offset
                           video_file_chunk (bytes start..end)   (until start_offset == end_offset)
    upload_phase=finish    upload_session_id, description,    -> success
                           title, thumb (the cover image)
    GET /{video_id}?fields=status,post_id,permalink_url       -> status.video_status: processing | ready | error

Each chunk is exactly the bytes the server asked for, streamed from disk (``FileWindow``: never
more than httpx's 64 KB read of the file in memory). The journal key ``video:<part>`` holds the
session, the video id, the next offsets and the phase, written after every step, so a retry after
a crash, a timeout or a rate limit (429, Graph codes 4/17/32/613: ``RateLimited``, the engine
waits) resumes the upload where the server is instead of sending the file again. No chunk
publishes anything, so an unanswered one is Retryable, not Ambiguous. A transfer at the wrong
offset is answered with Graph subcode 1363037 and the offsets the server wants, which the upload
follows; an expired session (subcode 1363030) starts clean once. ``finish`` is recorded before it
is sent and never repeated once Facebook has started processing: the video is published once.
Processing ``error`` is Permanent with Facebook's reason; still processing after ``wait_seconds``
is Retryable and the retry only polls.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from promo.errors import Permanent, Retryable
from promo.platforms.graph import error_fields
from promo.platforms.http import json_body
from promo.platforms.media import cover_path, local_path
from promo.posts import Journal, Media, NotPublished

if TYPE_CHECKING:
    import httpx

OFFSETS_MOVED = 1363037   # a transfer at the wrong offset; error_data names the server's offsets
SESSION_GONE = 1363030    # the upload session timed out: a new one is needed
TITLE_LENGTH = 100
KEY = "video:0"           # only a post's first part carries media on Facebook


Ready = TypeVar("Ready")


class PageAdapter(Protocol):
    """What the upload uses of its Page's adapter (``promo.platforms.facebook.FacebookAdapter`` is one).

    The helper depends on this shape, not on ``promo.platforms.facebook``, so the import runs one way,
    facebook -> facebook_video.
    """

    @property
    def platform(self) -> str: ...

    @property
    def page_id(self) -> str: ...

    @property
    def token(self) -> dict[str, str]: ...

    def video_endpoint(self) -> str: ...

    def repeatable(self, what: str) -> AbstractContextManager[None]: ...

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

    def call_json(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def raise_for(self, response: httpx.Response) -> None: ...

    def wait_for(self, look: Callable[[], Ready | None], what: str) -> Ready: ...


class _SessionGone(Exception):
    """The upload session is no more: start a new one."""


class FileWindow(io.RawIOBase):
    """``length`` bytes of a file from ``start``, read-only: httpx streams it 64 KB a read, and learns its
    length from ``tell``/``seek`` (so the chunk is sent with a Content-Length, never read whole)."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        super().__init__()
        self._file = path.open("rb")
        self.start, self.length, self.position = start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        left = self.length - self.position
        size = left if size is None or size < 0 else min(size, left)
        self._file.seek(self.start + self.position)
        data = self._file.read(size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        self.position = max(0, min(self.length, base + offset))
        return self.position

    def close(self) -> None:
        self._file.close()
        super().close()


class FacebookVideos:
    """One post's video on one Page, with its progress in the journal."""

    def __init__(self, adapter: PageAdapter, journal: Journal) -> None:
        self.adapter, self.journal = adapter, journal
        self.platform = adapter.platform

    @property
    def edge(self) -> str:
        """The upload edge, on Meta's video host (``FacebookAdapter.video_endpoint``)."""
        return f"{self.adapter.video_endpoint()}/{self.adapter.page_id}/videos"

    def state(self) -> dict[str, Any] | None:
        text = self.journal.get(KEY)
        return json.loads(text) if text else None

    def record(self, state: dict[str, Any] | None) -> None:
        self.journal.record(KEY, json.dumps(state) if state else "")

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, media: Media, text: str) -> str:
        """Upload (or resume), finish once, wait until ready: the video's post id."""
        state = self.state()
        if state is None or state["phase"] == "transfer":
            state = self.upload(media, state)
            self._finish(state, media, text)
        elif state["phase"] == "finish" and not self._finish_arrived(state):
            self._finish(state, media, text)  # an earlier attempt's finish never reached Facebook
        return self.wait_ready(state)

    def upload(self, media: Media, state: dict[str, Any] | None) -> dict[str, Any]:
        path = local_path(self.platform, media)
        size = path.stat().st_size
        for _ in range(2):  # an expired session starts clean, once
            if state is None or state.get("size") != size:
                state = self._start(size)
            try:
                while state["start"] < state["end"]:
                    state = self._transfer(path, state)
            except _SessionGone:
                state = None
                continue
            state = {**state, "phase": "finish"}
            self.record(state)  # before finish is sent: from here on the upload is never repeated
            return state
        raise Retryable("Facebook's upload session expired twice; a retry starts again", platform=self.platform)

    def _start(self, size: int) -> dict[str, Any]:
        with self.adapter.repeatable("the upload's start"):
            answer = self.adapter.call_json(
                "POST", self.edge, data={"upload_phase": "start", "file_size": str(size), **self.adapter.token}
            )
        state = {"session": str(answer["upload_session_id"]), "video": str(answer["video_id"]), "size": size,
                 "phase": "transfer", **self._offsets(answer, size)}
        self.record(state)
        return state

    def _transfer(self, path: Path, state: dict[str, Any]) -> dict[str, Any]:
        start, end = state["start"], state["end"]
        fields = {"upload_phase": "transfer", "upload_session_id": state["session"], "start_offset": str(start)}
        with FileWindow(path, start, end - start) as chunk, self.adapter.repeatable(f"the chunk at {start}"):
            response = self.adapter.request(
                "POST", self.edge, data={**fields, **self.adapter.token},
                files={"video_file_chunk": (path.name, chunk, "application/octet-stream")},
            )
        answer = self._transfer_answer(response)
        state = {**state, **self._offsets(answer, state["size"])}
        self.record(state)
        return state

    def _transfer_answer(self, response: httpx.Response) -> dict[str, Any]:
        """The next offsets: the server's answer, or where a refused chunk's error says the server is."""
        if response.is_success:
            answer = json_body(self.platform, response)
            return answer if isinstance(answer, dict) else {}
        error = error_fields(response)
        data = error.get("error_data") or {}
        if isinstance(data, str):
            data = json.loads(data) if data.startswith("{") else {}
        if error.get("error_subcode") == OFFSETS_MOVED and "start_offset" in data:
            return dict(data)
        if error.get("error_subcode") == SESSION_GONE:
            raise _SessionGone
        self.adapter.raise_for(response)
        return {}

    def _offsets(self, answer: dict[str, Any], size: int) -> dict[str, int]:
        try:
            start, end = int(answer["start_offset"]), int(answer["end_offset"])
        except (KeyError, TypeError, ValueError):
            raise Permanent(f"Facebook's upload answer has no offsets: {sorted(answer)}",
                            platform=self.platform) from None
        if not 0 <= start <= end <= size:
            raise Permanent(f"Facebook asked for bytes {start}-{end} of a {size}-byte file", platform=self.platform)
        return {"start": start, "end": end}

    def _finish(self, state: dict[str, Any], media: Media, text: str) -> None:
        data = {"upload_phase": "finish", "upload_session_id": state["session"], "description": text,
                "title": title_of(text), **self.adapter.token}
        cover = self._cover(media)
        files = {"thumb": cover} if cover else None
        answer = self.adapter.call_json("POST", self.edge, data=data, files=files)
        if isinstance(answer, dict) and answer.get("success") is False:
            raise Permanent("Facebook did not accept the finished upload", platform=self.platform)
        post = answer.get("post_id") if isinstance(answer, dict) else None
        self.record({**state, "phase": "done", **({"post": str(post)} if post else {})})

    def _cover(self, media: Media) -> tuple[str, bytes, str] | None:
        """The cover as the ``thumb`` file: an image file, or the video's frame at the cover's time."""
        path = cover_path(self.platform, media)
        if path is not None:
            mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
            return path.name, path.read_bytes(), mime
        if media.cover_time is None:
            return None
        return "cover.jpg", frame_jpeg(local_path(self.platform, media), media.cover_time, self.platform), "image/jpeg"

    def _finish_arrived(self, state: dict[str, Any]) -> bool:
        """Did a finish sent before a crash reach Facebook? Processing has started if it did."""
        status = self._status(state["video"])
        return status is None or (status.get("processing_phase") or {}).get("status") != "not_started"

    # -- the video's status ----------------------------------------------------------------------
    def _status(self, video: str) -> dict[str, Any] | None:
        with self.adapter.repeatable(f"a look at video {video}"):
            answer = self.adapter.call_json(
                "GET", video, params={"fields": "status,post_id,permalink_url", **self.adapter.token}
            )
        status = answer.get("status") if isinstance(answer, dict) else None
        return {**status, "post_id": answer.get("post_id")} if isinstance(status, dict) else None

    def wait_ready(self, state: dict[str, Any]) -> str:
        """Poll the video until ``ready``: its post id. ``error`` is Permanent with Facebook's reason."""
        video = state["video"]

        def look() -> str | None:
            status = self._status(video) or {}
            found = status.get("video_status")
            if found == "error":
                raise Permanent(f"Facebook could not process the video: {processing_errors(status)}",
                                platform=self.platform)
            if found == "expired":
                self.record(None)
                raise Retryable("the video's upload expired before it was published; a retry uploads it again",
                                platform=self.platform)
            if found != "ready":
                return None
            return str(status.get("post_id") or state.get("post") or video)

        return self.adapter.wait_for(look, f"Facebook video {video}")

    def find(self) -> str | NotPublished:
        """A look-up: the post id if the video is published, else why a retry cannot post it twice."""
        state = self.state()
        if state is None or state["phase"] == "transfer":
            return NotPublished("its video upload never finished; a retry resumes it")
        status = self._status(state["video"]) or {}
        found = status.get("video_status")
        if found == "ready":
            return str(status.get("post_id") or state.get("post") or state["video"])
        if found == "expired":
            self.record(None)
            return NotPublished("its video upload expired unpublished; a retry uploads it again")
        if found == "error":
            return NotPublished(f"Facebook could not process its video: {processing_errors(status)}")
        if (status.get("processing_phase") or {}).get("status") == "not_started":
            return NotPublished("its video is uploaded but the upload was never finished; a retry finishes it")
        return NotPublished("its video is uploaded and still processing; a retry waits for it, never re-uploading")


def processing_errors(status: dict[str, Any]) -> str:
    """Facebook's own reasons for a failed video, from any phase of its status."""
    reasons = []
    for phase in ("uploading_phase", "processing_phase", "publishing_phase"):
        for error in (status.get(phase) or {}).get("errors") or []:
            reasons.append(str(error.get("message") or error.get("code")))
    return "; ".join(reasons) or "no reason given"


def title_of(text: str) -> str:
    """The video's title: the post's first line, cut at a word to ``TITLE_LENGTH`` characters."""
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rsplit(" ", 1)[0] + "…"


def frame_jpeg(path: Path, seconds: float, platform: str) -> bytes:
    """The frame at ``seconds`` as a JPEG (PyAV seeks to the keyframe before it and decodes forward)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            container.seek(int(seconds / stream.time_base) if stream.time_base else 0, stream=stream)
            for frame in container.decode(stream):
                if frame.time is None or frame.time + 1e-3 >= seconds:
                    buffer = io.BytesIO()
                    frame.to_image().save(buffer, format="JPEG")
                    return buffer.getvalue()
    except (av.FFmpegError, IndexError) as exc:
        raise Permanent(f"cannot read a cover frame from {path.name}: {exc}", platform=platform) from None
    raise Permanent(f"{path.name} has no frame at {seconds:g}s for its cover", platform=platform)
