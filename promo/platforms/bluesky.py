"""Bluesky through the atproto SDK: facets, images with alt text, threads, deterministic record keys.

Each part is created with ``com.atproto.repo.createRecord`` and a record key derived from the
post's idempotency key (``promo.platforms.tids``), so a repeat cannot create a second record and a
look-up is ``getRecord``. Links, #tags and @mentions become facets with UTF-8 byte offsets
(``promo.rules.bluesky.facets``). Replies carry ``root`` and ``parent`` references. Logins are
limited (30 per 5 minutes, 300 per day), so the exported login is kept in the ``LoginCache`` and
reused by every worker; a refused cached login is replaced by one fresh login.
``base_url`` is the PDS (default ``https://bsky.social``); atproto adds ``/xrpc/...``. atproto is
imported on the first call to the PDS, so the registry and preview never load it.

A video goes to the video service (``video_base_url``, default ``https://video.bsky.app``) as
Bluesky's docs recommend: a service token from the PDS (``com.atproto.server.getServiceAuth``, aud
the PDS's ``did:web``, lxm ``com.atproto.repo.uploadBlob``), ``app.bsky.video.uploadVideo`` streamed
from disk, then ``app.bsky.video.getJobStatus`` until the job has the blob; the post embeds it as
``app.bsky.embed.video`` with alt text, aspect ratio and VTT captions. The journal keeps the job id,
then the blob, so a retry polls or reuses them (docs/platforms/bluesky.md, "Video upload").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from promo.errors import AuthError, Permanent, Retryable
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import captions_path, local_path, media_file
from promo.platforms.progress import Later, PartFound, lookup_parts, media_key, send_parts, upload_once, wait_for
from promo.platforms.tids import tid_for
from promo.posts import Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.bluesky import BlueskyRules, facets
from promo.times import iso, utcnow

if TYPE_CHECKING:
    import httpx  # noqa: F401  (the quoted generic argument below)
    from atproto import Client

COLLECTION = "app.bsky.feed.post"
VIDEO_SERVICE = "https://video.bsky.app"
MEDIA_WAIT = 60.0  # seconds one attempt waits for the video service; the next attempt resumes the wait
MEDIA_POLL = 1.0  # seconds between getJobStatus calls (the docs' own example waits a second)
SERVICE_TOKEN_LIFE = 30 * 60  # the docs recommend 30 minutes for a video upload's service token
T = TypeVar("T")


class BlueskyAdapter(BaseAdapter["httpx.Client"]):
    platform = "bluesky"

    @property
    def handle(self) -> str:
        return str(self.account.options["handle"]).lstrip("@")

    @property
    def login_key(self) -> str:
        return f"bluesky-session:{self.account.name}"

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_atproto import ATPROTO_ERRORS

        return ATPROTO_ERRORS

    @cached_property
    def api(self) -> Client:
        from promo.platforms.client_atproto import make_api

        api = make_api(self.account.api_base, self.timeout, self.given_http)
        api.on_session_change(lambda event, login: self.login_cache.set(self.login_key, api.export_session_string()))
        return api

    # -- logins ------------------------------------------------------------------------------
    def _login(self, fresh: bool = False) -> None:
        cached = None if fresh else self.login_cache.get(self.login_key)
        with self.boundary():
            if cached:
                self.api.login(session_string=cached, fetch_bsky_profile=False)
            else:
                self.api.login(self.handle, self.account.secret("app_password"), fetch_bsky_profile=False)

    def _signed_in(self, action: Callable[[], T]) -> T:
        """Run ``action`` logged in: with the cached login, or one fresh login if it is refused."""
        if self.api._session is None:
            self._login()
        try:
            with self.boundary():
                return action()
        except AuthError:
            if self.login_cache.get(self.login_key) is None:
                raise
            self.login_cache.set(self.login_key, "")
            self._login(fresh=True)
            with self.boundary():
                return action()

    @property
    def did(self) -> str:
        return str(self.api._session.did)  # type: ignore[union-attr]

    # -- the adapter -------------------------------------------------------------------------
    def publish(self, post: Post, journal: Journal) -> Published:
        ids = self._signed_in(
            lambda: send_parts(post, journal, lambda i, part, prev: self._send(post, journal, i, part, prev))
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Each part by its record key (derived from the post): there, or certainly not there."""
        return self._signed_in(
            lambda: lookup_parts(post, journal, lambda i, part, prev: self._find(post, i), self._published)
        )

    def verify(self) -> str:
        me = self._signed_in(lambda: self.api.com.atproto.server.get_session())
        return f"@{me.handle}"

    def _published(self, ids: list[str]) -> Published:
        uris = [value.split(" ")[0] for value in ids]
        rkey = uris[0].rsplit("/", 1)[-1]
        return Published(uris[0], f"https://bsky.app/profile/{self.handle}/post/{rkey}", tuple(uris[1:]))

    def _send(self, post: Post, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        rkey = tid_for(post.idempotency_key or part.text, index)
        embed = self._embed(journal, index, part)
        record = self._record(part, previous, journal.get("part:0") if index else None, embed)
        data = {"repo": self.did, "collection": COLLECTION, "rkey": rkey, "record": record}
        try:
            with self.boundary():
                created = self.api.com.atproto.repo.create_record(data)
        except Retryable:
            existing = self._find(post, index)  # the PDS answers 500 when the rkey already exists
            if not isinstance(existing, str):
                raise
            return existing
        return f"{created.uri} {created.cid}"

    def _record(self, part: Part, previous: str | None, root: str | None,
                embed: dict[str, Any] | None) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": COLLECTION, "text": part.text, "createdAt": iso(utcnow())}
        found = self._facets(part.text)
        if found:
            record["facets"] = found
        if previous is not None and root is not None:
            record["reply"] = {"root": _ref(root), "parent": _ref(previous)}
        if embed is not None:
            record["embed"] = embed
        return record

    def _embed(self, journal: Journal, index: int, part: Part) -> dict[str, Any] | None:
        """The part's media as one embed: images, or one video (uploaded before the record is made)."""
        if not part.media:
            return None
        if not any(media.kind == "video" for media in part.media):
            return {"$type": "app.bsky.embed.images", "images": [self._image(media) for media in part.media]}
        if len(part.media) > 1:
            raise Permanent("a Bluesky post takes one video, or images, not both or more", platform=self.platform)
        media, key = part.media[0], media_key(index, 0)
        blob = json.loads(upload_once(journal, key, lambda: json.dumps(self._video_blob(journal, key, media))))
        embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
        if media.alt:
            embed["alt"] = media.alt
        if media.width and media.height:
            embed["aspectRatio"] = {"width": media.width, "height": media.height}
        if media.captions:
            embed["captions"] = [self._captions(media)]
        return embed

    def _facets(self, text: str) -> list[dict[str, Any]]:
        records = []
        for facet in facets(text):
            if facet.kind == "mention":
                did = self._resolve(facet.value)
                if did is None:
                    continue  # an unknown handle stays plain text
                records.append(facet.to_record(did))
            else:
                records.append(facet.to_record())
        return records

    def _resolve(self, handle: str) -> str | None:
        try:
            with self.boundary():
                return str(self.api.com.atproto.identity.resolve_handle({"handle": handle}).did)
        except Permanent:
            return None

    def _image(self, media: Media) -> dict[str, Any]:
        _, data, _ = media_file(self.platform, media)
        with self.boundary():
            blob = self.api.com.atproto.repo.upload_blob(
                data, headers={"Content-Type": media.mime or "application/octet-stream"}).blob
        return {"alt": media.alt, "image": blob.model_dump(by_alias=True, exclude_none=True)}

    # -- video -------------------------------------------------------------------------------------
    @cached_property
    def video_api(self) -> Client:
        from promo.platforms.client_atproto import make_api

        base = str(self.account.options.get("video_base_url") or VIDEO_SERVICE).rstrip("/")
        return make_api(base, self.timeout, self.given_http)

    def _video_blob(self, journal: Journal, key: str, media: Media) -> dict[str, Any]:
        """The processed video's blob. ``<key>:job`` holds the job id of an upload being processed: a
        retry polls it; a job the service no longer knows is uploaded again."""
        job = journal.get(f"{key}:job")
        if job:
            try:
                return self._processed(job, media)
            except Permanent as exc:
                if isinstance(exc, AuthError) or "could not process" in str(exc):
                    raise
        status = self._upload_video(local_path(self.platform, media))
        if status.get("blob"):
            return dict(status["blob"])
        journal.record(f"{key}:job", str(status["jobId"]))
        return self._processed(str(status["jobId"]), media)

    def _upload_video(self, path: Path) -> dict[str, Any]:
        from promo.platforms.http import streamed

        content, length = streamed(path)
        headers = {"Authorization": f"Bearer {self._service_token()}", "Content-Type": "video/mp4", **length}
        url = f"{self.video_api._base_url}/app.bsky.video.uploadVideo"
        with self.boundary():
            answer = self.video_api.request.post(url=url, params={"did": self.did, "name": path.name},
                                                 content=content, headers=headers).content
        status = answer.get("jobStatus", answer) if isinstance(answer, dict) else {}
        if not status.get("jobId") and not status.get("blob"):
            raise Permanent(f"the video service answered no job for {path.name}: {answer!r:.200}",
                            platform=self.platform)
        return dict(status)

    def _service_token(self) -> str:
        """A token for the video service to store the processed video on our PDS (aud: the PDS's did:web)."""
        pds = urlsplit(getattr(self.api._session, "pds_endpoint", None) or self.account.api_base).hostname
        params = {"aud": f"did:web:{pds}", "lxm": "com.atproto.repo.uploadBlob",
                  "exp": int(time.time()) + SERVICE_TOKEN_LIFE}
        with self.boundary():
            return str(self.api.com.atproto.server.get_service_auth(params).token)

    def _processed(self, job: str, media: Media) -> dict[str, Any]:
        def check() -> dict[str, Any] | Later:
            with self.boundary():
                status = self.video_api.app.bsky.video.get_job_status({"job_id": job}).job_status
            if status.blob is not None:  # also when the job "failed" as already_exists: the docs say use it
                return dict(status.blob.model_dump(by_alias=True, exclude_none=True))
            if status.state == "JOB_STATE_FAILED":
                reason = status.error or status.message or "no reason given"
                raise Permanent(f"the video service could not process {media.path}: {reason}", platform=self.platform)
            progress = f" {status.progress}%" if status.progress is not None else ""
            return Later(self._option("media_poll", MEDIA_POLL), f"{status.state}{progress}")

        return wait_for(self.platform, f"video {media.path}", check, self._option("media_wait", MEDIA_WAIT))

    def _captions(self, media: Media) -> dict[str, Any]:
        path = captions_path(self.platform, media)
        assert path is not None
        if path.suffix.lower() != ".vtt":
            raise Permanent(f"Bluesky takes captions as WebVTT (.vtt), not {path.name}", platform=self.platform)
        with self.boundary():
            blob = self.api.com.atproto.repo.upload_blob(path.read_bytes(), headers={"Content-Type": "text/vtt"}).blob
        lang = path.stem.rsplit(".", 1)[-1] if "." in path.stem else "en"  # featurette.es.vtt -> es
        return {"lang": lang, "file": blob.model_dump(by_alias=True, exclude_none=True)}

    def _option(self, name: str, default: float) -> float:
        return float(self.account.options.get(name) or default)

    def _find(self, post: Post, index: int) -> PartFound:
        rkey = tid_for(post.idempotency_key or post.parts[index].text, index)
        params = {"repo": self.did, "collection": COLLECTION, "rkey": rkey}
        try:
            with self.boundary():
                found = self.api.com.atproto.repo.get_record(params)
        except Permanent as exc:
            if "RecordNotFound" in str(exc):  # the lexicon's error name: nothing else means "not there"
                return NotPublished(f"no record {rkey}")
            raise
        return f"{found.uri} {found.cid}"


def _ref(value: str) -> dict[str, str]:
    uri, _, cid = value.partition(" ")
    return {"uri": uri, "cid": cid}


SPEC = PlatformSpec(
    "bluesky", "Bluesky", BlueskyAdapter, BlueskyRules,
    credentials=("app_password",), required_options=("handle",),
    options=("video_base_url", "media_wait", "media_poll"), default_base_url="https://bsky.social",
)
