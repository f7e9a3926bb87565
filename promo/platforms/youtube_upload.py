"""A YouTube video's resumable upload that survives a restart (``ResumableUpload``).

YouTube's resumable protocol (developers.google.com/youtube/v3/guides/using_resumable_upload_protocol),
through googleapiclient's own request (``videos().insert(part="snippet,status", media_body=
MediaFileUpload(resumable=True, chunksize=...))``)::

    POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status   (the metadata, JSON)
         X-Upload-Content-Length, X-Upload-Content-Type     -> 200, Location: the session URI
    PUT  <session>  Content-Range: bytes a-b/N  (a chunk)     -> 308, Range: bytes=0-b  (more, please)
    PUT  <session>  the last chunk                            -> 200/201, the video resource
    PUT  <session>  Content-Range: bytes */N, no body         -> 308 + Range (where it is), 200/201
                                                                 (already complete), 404/410 (gone)

The session URI is journaled (``youtube:session``, with the file's size and when it started) before
the first byte is sent, and the time the last chunk leaves (``youtube:final``) before it does; so a
worker killed at any point is followed by a retry that asks the session where it is and resumes
there, takes the video it already became, or, the session being gone, starts clean; unless the last
chunk had left, when the channel's uploads are searched first (``find_upload``). No chunk is sent
twice knowingly and no video is made twice. googleapiclient sends each chunk (``next_chunk``)
streamed from the file (its ``_StreamSlice``), never more than a read buffer of it in memory.
"""

from __future__ import annotations

import json
import mimetypes
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promo.errors import Ambiguous, Retryable
from promo.posts import Journal
from promo.times import iso, utcnow

if TYPE_CHECKING:
    from promo.platforms.base import Account

SESSION, FINAL, VIDEO = "youtube:session", "youtube:final", "youtube:video"
CHUNK = 1024 * 1024          # bytes a chunk: a multiple of 256 KiB, as Google's resumable uploads require


class Meter(Protocol):
    """The quota meter the upload charges (``promo.platforms.youtube.YouTubeMeter`` is one)."""

    def before_upload(self, need: int) -> None: ...

    def spend(self, call: str) -> None: ...


class GoogleClient(Protocol):
    """The client whose authorised httplib2 ``http`` asks a session where it is (``YouTubeClient``)."""

    @property
    def http(self) -> Any: ...


class ChannelAdapter(Protocol):
    """What the upload uses of its channel's adapter (``promo.platforms.youtube.YouTubeAdapter`` is one).

    The helper depends on this shape, not on ``promo.platforms.youtube``, so the import runs one way,
    youtube -> youtube_upload.
    """

    @property
    def platform(self) -> str: ...

    @property
    def account(self) -> Account: ...

    @property
    def meter(self) -> Meter: ...

    @property
    def client(self) -> GoogleClient: ...

    def api(self, name: str) -> Any: ...

    def find_upload(self, title: str, since: datetime) -> str | None: ...

    def boundary(self) -> AbstractContextManager[None]: ...

    def repeatable(self, what: str) -> AbstractContextManager[None]: ...


class SessionGone(Exception):
    """The upload session is no more (404, 410): a new one is needed."""


class ResumableUpload:
    """One post's video upload, its session in ``journal``."""

    def __init__(self, adapter: ChannelAdapter, journal: Journal) -> None:
        self.adapter, self.journal = adapter, journal
        self.platform = adapter.platform
        self.chunk = int(adapter.account.options.get("chunk_bytes", CHUNK))

    def state(self) -> dict[str, Any] | None:
        text = self.journal.get(SESSION)
        return json.loads(text) if text else None

    def upload(self, path: Path, metadata: dict[str, Any], title: str, units: int) -> str:
        """The video's id: from the session the journal holds, else from a new upload."""
        size = path.stat().st_size
        request = self._request(path, metadata)
        state = self.state()
        if state is not None and state.get("size") == size:
            found = self._resume_point(state, title)
            if isinstance(found, str):
                return self._done(found)
            if found is not None:
                request.resumable_uri, request.resumable_progress = state["uri"], found
        if request.resumable_uri is None:
            self.adapter.meter.before_upload(units)
            self._initiate(request, size)
        return self._done(self._send(request, size))

    def _request(self, path: Path, metadata: dict[str, Any]) -> Any:
        from googleapiclient.http import MediaFileUpload

        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        media = MediaFileUpload(str(path), mimetype=mime, chunksize=self.chunk, resumable=True)
        return self.adapter.api("videos").insert(part="snippet,status", body=metadata, media_body=media)

    def _resume_point(self, state: dict[str, Any], title: str) -> int | str | None:
        """Bytes the session holds, the video id it became, or None to start clean."""
        try:
            return self.ask(state["uri"], state["size"])
        except SessionGone:
            if self.journal.get(FINAL):
                found = self.adapter.find_upload(title, self._final_at())
                if found is None:
                    raise Retryable("the upload's session is gone after its last chunk was sent, and the channel's "
                                    "uploads do not show the video yet; trying again later", platform=self.platform
                                    ) from None
                return found
            self.journal.record(SESSION, "")
            return None

    def _final_at(self) -> datetime:
        value = self.journal.get(FINAL)
        return datetime.fromisoformat(value) if value else utcnow()

    def ask(self, uri: str, size: int) -> int | str:
        """Ask the session where it is: the bytes it holds, or the video id if the upload is complete."""
        headers = {"Content-Range": f"bytes */{size}", "Content-Length": "0"}
        with self.adapter.boundary():
            response, content = self.adapter.client.http.request(uri, "PUT", body=b"", headers=headers)
        if response.status in (200, 201):
            return video_id(content, self.platform)
        if response.status == 308:
            held = response.get("range", "")
            return int(held.rsplit("-", 1)[-1]) + 1 if held else 0
        if response.status in (404, 410):
            raise SessionGone
        self._raise(response, content)
        return 0

    def _initiate(self, request: Any, size: int) -> None:
        """Open the session with googleapiclient's own request, and journal it before any byte is sent."""
        headers = {**request.headers, "X-Upload-Content-Type": request.resumable.mimetype(),
                   "X-Upload-Content-Length": str(size), "content-length": str(request.body_size)}
        self.adapter.meter.spend("videos.insert")
        with self.adapter.repeatable("the upload's start"):
            response, content = request.http.request(request.uri, method=request.method, body=request.body,
                                                     headers=headers)
        if response.status != 200 or "location" not in response:
            self._raise(response, content)
            raise Retryable("YouTube opened no upload session (no Location)", platform=self.platform)
        request.resumable_uri = response["location"]
        self.journal.record(SESSION, json.dumps({"uri": request.resumable_uri, "size": size,
                                                 "started": iso(utcnow())}))
        if self.journal.get(FINAL):
            self.journal.record(FINAL, "")  # an earlier session's: this one's last chunk has not left

    def _send(self, request: Any, size: int) -> str:
        """Send the chunks from where the session is; the video id once the last is taken."""
        while True:
            if request.resumable_progress + self.chunk >= size and not self.journal.get(FINAL):
                self.journal.record(FINAL, iso(utcnow()))
            with self.adapter.repeatable(f"the chunk at byte {request.resumable_progress:,}"):
                _progress, body = request.next_chunk(num_retries=0)
            if body is not None:
                return str(body["id"])
            self._follow(request)

    def _follow(self, request: Any) -> None:
        """Keep the journal's URI if YouTube moved the session (a 308 with a Location)."""
        state = self.state() or {}
        if state.get("uri") != request.resumable_uri:
            self.journal.record(SESSION, json.dumps({**state, "uri": request.resumable_uri}))

    def _done(self, video: str) -> str:
        self.journal.record(VIDEO, video)
        return video

    def _raise(self, response: Any, content: bytes) -> None:
        from googleapiclient.errors import HttpError

        with self.adapter.boundary():
            raise HttpError(response, content)


def video_id(content: bytes | str, platform: str) -> str:
    """The ``id`` of the video resource a completed upload answers with."""
    try:
        return str(json.loads(content)["id"])
    except (ValueError, KeyError, TypeError):
        raise Ambiguous("YouTube completed the upload but its answer names no video", platform=platform) from None

