"""YouTube through google-api-python-client: a video uploaded private, finished, then released.

A publish, each step journaled so a retry (after a crash, a timeout, a 5xx, a quota block) resumes
and never uploads twice (``youtube_upload`` for the upload itself)::

    videos.insert  (resumable; snippet: title, description, tags, categoryId; status: private)
    videos.list    until status.uploadStatus is processed (rejected / failed: Permanent, YouTube's reason)
    thumbnails.set (the cover: an image, or the video's frame at the cover's time; a verified channel)
    captions.insert (the SRT/VTT file, in ``captions_language``)
    playlistItems.insert (``playlist_id``)
    videos.update  status: privacyStatus, or private + publishAt (the post's ``Publish at:``)

So nothing is public before everything the post asked for is done. With ``upload_ahead`` the post
is dispatched early and ``Publish at:`` holds its time: the video is released as private with
``status.publishAt`` and YouTube makes it public then; ``published`` records the video id at once.
A ``Publish at:`` already past (a late worker) releases it with the account's ``privacy`` at once.
``unlisted`` cannot be scheduled by YouTube (publishAt makes a video public): it is released
unlisted at once.

``lookup`` reads the journal: a released video is published; an upload under way, or a video not
yet released, is "not published" (a retry resumes it, never uploading again); a session gone after
its last chunk left is searched for among the channel's uploads (title and time window).

Quota: ``YouTubeMeter`` counts every call's units (``promo.rules.youtube.COSTS``) for the Google
Cloud project (option ``project``) in the store (``promo.store.quota``, the ``meta`` table, by
Pacific day), and refuses an upload the day's budget (``daily_quota``) cannot pay:
``RateLimited`` until midnight Pacific Time, as YouTube's own 403 quotaExceeded is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from promo.errors import Ambiguous, Permanent, RateLimited, Retryable
from promo.platforms.base import BaseAdapter, LoginCache, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import captions_path, cover_path, local_path
from promo.platforms.progress import Later, wait_for
from promo.platforms.youtube_upload import SESSION, VIDEO, ResumableUpload, SessionGone
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Post, Published
from promo.rules.youtube import (
    COSTS,
    VideoText,
    YouTubeRules,
    is_short,
    next_reset,
    pacific_day,
    post_units,
    publish_time,
    rfc3339,
    video_text,
)
from promo.times import utcnow

if TYPE_CHECKING:
    from promo.platforms.client_google import YouTubeClient

POLL_S, WAIT_S = 5.0, 120.0   # between two reads of a processing video; then Retryable (the retry polls)
THUMBNAIL_BYTES = 2 * 1024 * 1024   # thumbnails.set: 2 MB
DONE = "done"


class YouTubeMeter:
    """Quota units spent by one Google Cloud project, per Pacific day: in the store when the engine
    gives one (its login cache's database), else in the login cache (one process)."""

    def __init__(self, project: str, budget: int, cache: LoginCache) -> None:
        self.project, self.budget, self.cache = project, budget, cache

    def spent(self, now: datetime | None = None) -> int:
        day = pacific_day(now or utcnow())
        engine = getattr(self.cache, "engine", None)
        if engine is not None:
            from promo.store.quota import spent

            return spent(engine, self.project, day)
        return int(self.cache.get(f"quota:{self.project}:{day.isoformat()}") or 0)

    def spend(self, call: str, count: int = 1) -> None:
        units, day = COSTS[call] * count, pacific_day(utcnow())
        engine = getattr(self.cache, "engine", None)
        if engine is not None:
            from promo.store.quota import spend

            spend(engine, self.project, day, units)
            return
        key = f"quota:{self.project}:{day.isoformat()}"
        self.cache.set(key, str(int(self.cache.get(key) or 0) + units))

    def before_upload(self, need: int) -> None:
        """Refuse an upload the day's budget cannot pay: blocked until the reset at midnight Pacific Time."""
        left = self.budget - self.spent()
        if need > left:
            raise RateLimited(f"the project {self.project}'s YouTube quota for today has {max(left, 0):,} of "
                              f"{self.budget:,} units left and this upload needs {need:,}; it waits for the reset "
                              "at midnight Pacific Time", platform="youtube", retry_at=next_reset(utcnow()))


class YouTubeAdapter(BaseAdapter[None]):
    platform = "youtube"
    rules: YouTubeRules

    @cached_property
    def client(self) -> YouTubeClient:
        from promo.platforms.client_google import youtube_client

        return youtube_client(self.account.api_base, self.account.secret("access_token"), self.timeout)

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_google import GOOGLE_ERRORS

        return GOOGLE_ERRORS

    @cached_property
    def meter(self) -> YouTubeMeter:
        """The project's meter: the same project and budget preview counts against (``YouTubeRules``)."""
        return YouTubeMeter(self.rules.project, self.rules.budget, self.login_cache)

    @contextmanager
    def repeatable(self, what: str) -> Iterator[None]:
        """A call that makes nothing public: no answer is Retryable (the journal says where to resume)."""
        try:
            with self.boundary():
                yield
        except Ambiguous as exc:
            raise Retryable(f"no answer to {what}; the journal keeps the upload, so a retry resumes it",
                            platform=self.platform) from exc

    def api(self, name: str) -> Any:
        """One of the service's resources (``videos``, ``captions``...), built once: googleapiclient
        builds every method and its documentation anew on each ``service.videos()``."""
        found = self._resources.get(name)
        if found is None:
            found = self._resources[name] = getattr(self.client.service, name)()
        return found

    @cached_property
    def _resources(self) -> dict[str, Any]:
        return {}

    def execute(self, call: str, request: Any) -> Any:
        """One API call, its units counted first (YouTube bills refused calls too)."""
        self.meter.spend(call)
        with self.boundary():
            return request.execute(num_retries=0)

    # -- publishing --------------------------------------------------------------------------------
    def publish(self, post: Post, journal: Journal) -> Published:
        media = self._video(post)
        text = video_text(post.text)
        video = journal.get(VIDEO)
        if not video:
            path = local_path(self.platform, media)
            units = post_units(post, self.account.options)
            video = ResumableUpload(self, journal).upload(path, self._metadata(text), text.title, units)
        if journal.get("youtube:processed") != DONE:
            self._wait_processed(video, journal)
        self._thumbnail(video, media, journal)
        self._captions(video, media, journal)
        self._playlist(video, journal)
        self._release(video, text, journal)
        return self._published(video, text)

    def _video(self, post: Post) -> Media:
        videos = [m for m in post.media if m.kind == "video"]
        if len(post.media) != 1 or not videos:
            raise Permanent("a YouTube post is one video and nothing else", platform=self.platform)
        return videos[0]

    def _metadata(self, text: VideoText) -> dict[str, Any]:
        options = self.account.options
        snippet: dict[str, Any] = {"title": text.title, "description": text.description,
                                   "categoryId": str(options.get("category_id", "1"))}
        if text.tags:
            snippet["tags"] = list(text.tags)
        if options.get("language"):
            snippet["defaultLanguage"] = str(options["language"])
        return {"snippet": snippet, "status": {"privacyStatus": "private", "embeddable": True,
                                               "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False))}}

    def _published(self, video: str, text: VideoText) -> Published:
        page = f"https://www.youtube.com/shorts/{video}" if is_short(text) else f"https://www.youtube.com/watch?v={video}"
        return Published(video, page)

    def _wait_processed(self, video: str, journal: Journal) -> None:
        """Read the video every ``video_poll_s`` until processed, at most ``video_wait_s``; then Retryable
        (the video id is journaled: the retry only reads it again)."""
        limit = float(self.account.options.get("video_wait_s", WAIT_S))
        wait_for(self.platform, f"YouTube video {video}", partial(self._processing, video, journal), limit)
        journal.record("youtube:processed", DONE)

    def _processing(self, video: str, journal: Journal) -> bool | Later:
        poll = float(self.account.options.get("video_poll_s", POLL_S))
        found = self.execute("videos.list", self.api("videos").list(part="status,processingDetails",
                                                                               id=video))
        items = found.get("items") or []
        if not items:
            return Later(poll, "not listed yet")
        status, details = items[0].get("status") or {}, items[0].get("processingDetails") or {}
        upload = status.get("uploadStatus")
        if upload in ("failed", "rejected", "deleted") or details.get("processingStatus") in ("failed", "terminated"):
            journal.record(VIDEO, "")
            journal.record(SESSION, "")  # a person's retry uploads it again
            reason = (status.get("rejectionReason") or status.get("failureReason")
                      or details.get("processingFailureReason") or upload or "no reason given")
            raise Permanent(f"YouTube could not take video {video}: {upload} ({reason})", platform=self.platform)
        if upload == "processed" or details.get("processingStatus") == "succeeded":
            return True
        return Later(poll, details.get("processingStatus") or str(upload or "processing"))

    # -- what the post asked for besides the video -------------------------------------------------
    def _thumbnail(self, video: str, media: Media, journal: Journal) -> None:
        from googleapiclient.http import MediaInMemoryUpload

        if not media.cover or journal.get("youtube:thumbnail") == DONE:
            return
        path = cover_path(self.platform, media)
        if path is not None:
            data, mime = path.read_bytes(), "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        else:
            from promo.platforms.covers import cover_jpeg

            data, mime = cover_jpeg(self.platform, media, 1280, THUMBNAIL_BYTES) or b"", "image/jpeg"
        if len(data) > THUMBNAIL_BYTES:
            raise Permanent(f"the cover {media.cover} is over YouTube's 2 MB thumbnail limit", platform=self.platform)
        upload = MediaInMemoryUpload(data, mimetype=mime)
        self.execute("thumbnails.set", self.api("thumbnails").set(videoId=video, media_body=upload))
        journal.record("youtube:thumbnail", DONE)

    def _captions(self, video: str, media: Media, journal: Journal) -> None:
        from googleapiclient.http import MediaFileUpload

        path = captions_path(self.platform, media)
        mark = journal.get("youtube:captions")
        if path is None or mark == DONE:
            return
        language = str(self.account.options.get("captions_language", "en"))
        if mark == "sending" and self._has_captions(video, language):
            journal.record("youtube:captions", DONE)
            return
        body = {"snippet": {"videoId": video, "language": language, "name": path.stem, "isDraft": False}}
        journal.record("youtube:captions", "sending")
        upload = MediaFileUpload(str(path), mimetype="application/octet-stream")
        self.execute("captions.insert", self.api("captions").insert(part="snippet", body=body,
                                                                               media_body=upload))
        journal.record("youtube:captions", DONE)

    def _has_captions(self, video: str, language: str) -> bool:
        found = self.execute("captions.list", self.api("captions").list(part="snippet", videoId=video))
        return any((item.get("snippet") or {}).get("language") == language for item in found.get("items") or [])

    def _playlist(self, video: str, journal: Journal) -> None:
        playlist = self.account.options.get("playlist_id")
        mark = journal.get("youtube:playlist")
        if not playlist or mark == DONE:
            return
        items = self.api("playlistItems")
        if mark == "sending":
            found = self.execute("playlistItems.list", items.list(part="id", playlistId=playlist, videoId=video))
            if found.get("items"):
                journal.record("youtube:playlist", DONE)
                return
        journal.record("youtube:playlist", "sending")
        body = {"snippet": {"playlistId": playlist, "resourceId": {"kind": "youtube#video", "videoId": video}}}
        self.execute("playlistItems.insert", items.insert(part="snippet", body=body))
        journal.record("youtube:playlist", DONE)

    def _release(self, video: str, text: VideoText, journal: Journal) -> None:
        """Make the video what the post says: public, unlisted, or private until ``Publish at:``."""
        if journal.get("youtube:released") == DONE:
            return
        status = self._status(text)
        if status is not None:
            body = {"id": video, "status": status}
            self.execute("videos.update", self.api("videos").update(part="status", body=body))
        journal.record("youtube:released", DONE)

    def _status(self, text: VideoText) -> dict[str, Any] | None:
        privacy = str(self.account.options.get("privacy", "public"))
        kids = bool(self.account.options.get("made_for_kids", False))
        at = publish_time(text.publish_at)
        if at is not None and privacy == "public" and at > utcnow() + timedelta(seconds=60):
            return {"privacyStatus": "private", "publishAt": rfc3339(at), "embeddable": True,
                    "selfDeclaredMadeForKids": kids}
        if privacy == "private":
            return None  # uploaded private: nothing to change
        return {"privacyStatus": privacy, "embeddable": True, "selfDeclaredMadeForKids": kids}

    # -- looking up ---------------------------------------------------------------------------------
    def lookup(self, post: Post, journal: Journal) -> Lookup:
        text = video_text(post.text)
        video = journal.get(VIDEO)
        if video:
            return self._look_at(video, text, journal)
        state = ResumableUpload(self, journal).state()
        if state is None:
            return NotPublished("its upload never started")
        try:
            found = ResumableUpload(self, journal).ask(state["uri"], state["size"])
        except SessionGone:
            return self._after_gone(text, journal)
        if isinstance(found, int):
            return NotPublished(f"its upload stopped at {found:,} of {state['size']:,} bytes; a retry resumes it")
        journal.record(VIDEO, found)
        return NotPublished(f"its video {found} is uploaded but not yet released; a retry finishes it")

    def _look_at(self, video: str, text: VideoText, journal: Journal) -> Lookup:
        found = self.execute("videos.list", self.api("videos").list(part="status", id=video))
        if not found.get("items"):
            return CannotTell(f"its video {video} was uploaded but is no longer on the channel: look at YouTube "
                              "Studio before sending it again")
        if journal.get("youtube:released") == DONE:
            return self._published(video, text)
        return NotPublished(f"its video {video} is uploaded, private, and not yet released; a retry finishes it")

    def _after_gone(self, text: VideoText, journal: Journal) -> Lookup:
        final = journal.get("youtube:final")
        if not final:
            journal.record(SESSION, "")
            return NotPublished("its upload session expired before the last chunk was sent; a retry starts again")
        found = self.find_upload(text.title, datetime.fromisoformat(final))
        if found is None:
            return CannotTell("its upload's session is gone after the last chunk was sent, and the channel's "
                              f"uploads show no video titled {text.title!r} since then: look at YouTube Studio")
        journal.record(VIDEO, found)
        return NotPublished(f"its video {found} is uploaded but not yet released; a retry finishes it")

    def find_upload(self, title: str, since: datetime) -> str | None:
        """The video id of the one upload titled ``title`` added since ``since`` (a little before)."""
        channels = self.execute("channels.list", self.api("channels").list(part="contentDetails", mine=True))
        items = channels.get("items") or [{}]
        uploads = ((items[0].get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        if not uploads:
            return None
        listed = self.execute("playlistItems.list", self.api("playlistItems").list(
            part="snippet", playlistId=uploads, maxResults=50))
        earliest = since - timedelta(minutes=10)
        matches = [item["snippet"]["resourceId"]["videoId"] for item in listed.get("items") or []
                   if item["snippet"].get("title") == title
                   and datetime.fromisoformat(item["snippet"]["publishedAt"].replace("Z", "+00:00")) >= earliest]
        if len(matches) > 1:
            raise Ambiguous(f"{len(matches)} uploads titled {title!r} since {since:%H:%M}: a person must choose",
                            platform=self.platform)
        return matches[0] if matches else None

    def verify(self) -> str:
        found = self.execute("channels.list", self.api("channels").list(part="snippet", mine=True))
        items = found.get("items") or []
        if not items:
            raise Permanent("the token works but names no YouTube channel: create one for this Google account",
                            platform=self.platform)
        snippet = items[0].get("snippet") or {}
        return str(snippet.get("customUrl") or snippet.get("title") or items[0].get("id"))


SPEC = PlatformSpec(
    "youtube", "YouTube", YouTubeAdapter, YouTubeRules,
    credentials=("access_token",),
    options=("project", "daily_quota", "privacy", "category_id", "playlist_id", "captions_language", "language",
             "made_for_kids", "verified", "upload_ahead", "chunk_bytes", "video_poll_s", "video_wait_s"),
    default_base_url="https://youtube.googleapis.com",
)
