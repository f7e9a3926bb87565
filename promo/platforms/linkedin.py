r"""LinkedIn through the Posts API (plain httpx): little-text escaping, images, a thread as comments.

A thread's later parts are comments on the post (``POST /rest/socialActions/{post}/comments``), text
only (a later part with media fails the post before anything is sent), each journaled before the
next like a thread's reply, so a retry after a crash sends only the parts not yet accepted.

``POST {base}/rest/posts`` with ``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0`` answers
201 with the post URN in ``x-restli-id`` (unverified). ``commentary`` is "little text"
(``promo.rules.linkedin.little_text``: hashtags as ``{hashtag|\#|tag}``, reserved characters
escaped), or LinkedIn silently cuts the post; preview already shows that text, and it is sent as it
is. Images: ``initializeUpload``, PUT the bytes to ``uploadUrl``, then reference the image URN. A
422 "Content is a duplicate of urn:li:share:..." means it is already published: promo records that
URN. A look-up reads the author's recent posts for the same commentary (not there: not published,
since a re-send is answered with that 422), and a thread's comment among the post's comments (not
there: cannot tell, as LinkedIn refuses no repeated comment). ``base_url`` defaults to
``https://api.linkedin.com``; the adapter adds ``/rest/...`` and ``/v2/userinfo``.

A video goes through the Videos API (``LinkedInVideos``) before the post is sent:
``initializeUpload`` (its parts, thumbnail and captions URLs), a PUT per part streamed from disk
(each part's ``ETag`` journaled), ``finalizeUpload``, then ``GET /rest/videos/{urn}`` until
``AVAILABLE`` (``PROCESSING_FAILED``: ``Permanent`` with LinkedIn's reason). The URN is journaled
(``media:0:0``) once available, so a retry reuses it; a crash or a 429 mid-upload resumes at the
first part without an ETag (or starts clean once the upload URLs expired), and the post itself is
never attempted before its media is usable (a look-up then answers "not published").
"""

from __future__ import annotations

import json
import re
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from promo.errors import Duplicate, Permanent, Retryable
from promo.platforms.base import PlatformSpec
from promo.platforms.http import HttpAdapter, error_message, streamed
from promo.platforms.media import captions_path, cover_path, local_path
from promo.platforms.progress import (
    NEVER_SENT,
    Later,
    PartFound,
    lookup_parts,
    media_key,
    part_key,
    send_parts,
    upload_once,
    wait_for,
    was_attempted,
)
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.linkedin import LinkedInRules, little_text

if TYPE_CHECKING:
    import httpx

DEFAULT_VERSION = "202506"
VIDEO_POLL_S = 2.0   # between two reads of a video's processing status
VIDEO_WAIT_S = 60.0  # then Retryable: the next attempt polls the same, journaled, upload
_DUPLICATE = re.compile(r"duplicate of (urn:li:[a-zA-Z]+:\d+)")


class LinkedInAdapter(HttpAdapter):
    platform = "linkedin"

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.account.secret('access_token')}",
            "LinkedIn-Version": str(self.account.options.get("version", DEFAULT_VERSION)),
            "X-Restli-Protocol-Version": "2.0.0",
        }

    @property
    def author(self) -> str:
        return str(self.account.options["author"])

    def publish(self, post: Post, journal: Journal) -> Published:
        if any(part.media for part in post.thread):  # before anything is sent: never a comment without it
            raise Permanent("a thread's later parts become comments, which promo sends as text only: "
                            "move the media to the first part", platform=self.platform)
        # Media first, each id journaled: the post itself is attempted only once its media is usable.
        content = None if journal.get(part_key(0)) else self._content(post.parts[0].media, journal)
        ids = send_parts(post, journal, lambda index, part, previous: self._send(part, _root(journal, index), content))
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part, _root(journal, index)),
            self._published,
        )

    def verify(self) -> str:
        me = self.call_json("GET", "v2/userinfo")
        return str(me.get("name") or me.get("sub") or self.author)

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://www.linkedin.com/feed/update/{ids[0]}", tuple(ids[1:]))

    def _send(self, part: Part, root: str | None, content: dict[str, Any] | None) -> str:
        text = little_text(part.text)  # already little text when it came through preview
        if root is not None:  # a thread's later part: a comment on the post
            body = {"actor": self.author, "object": root, "message": {"text": text}}
            answer = self.call("POST", f"rest/socialActions/{quote(root, safe='')}/comments", json=body)
            return answer.headers.get("x-restli-id") or str(answer.json().get("id", ""))
        body = self._post_body(text, content)
        try:
            response = self.call("POST", "rest/posts", json=body)
        except Duplicate as exc:
            if exc.existing_id:
                return exc.existing_id  # LinkedIn says it is already there: that is our post
            raise
        return response.headers.get("x-restli-id") or str(response.json()["id"])

    def _post_body(self, text: str, content: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": text,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content:
            body["content"] = content
        return body

    def _content(self, media: tuple[Media, ...], journal: Journal) -> dict[str, Any] | None:
        """The post's ``content``: one video, one image or several images, each uploaded once."""
        if len(media) > 1 and any(m.kind == "video" for m in media):
            raise Permanent("LinkedIn takes one video per post, with no other media", platform=self.platform)
        ids = [upload_once(journal, media_key(0, n), partial(self._upload, journal, media_key(0, n), m))
               for n, m in enumerate(media)]
        if len(media) == 1 and media[0].kind == "video":
            return {"media": {"id": ids[0], "title": title_of(media[0])}}
        images = [{"id": urn, "altText": m.alt} for urn, m in zip(ids, media, strict=True)]
        if len(images) == 1:
            return {"media": images[0]}
        return {"multiImage": {"images": images}} if images else None

    def _upload(self, journal: Journal, key: str, media: Media) -> str:
        return LinkedInVideos(self, journal, key).upload(media) if media.kind == "video" else self._upload_image(media)

    def _upload_image(self, media: Media) -> str:
        path = local_path(self.platform, media)
        answer = self.call_json(
            "POST",
            "rest/images",
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = answer["value"]
        content, headers = streamed(path)
        mime = media.mime or "application/octet-stream"
        self.call("PUT", value["uploadUrl"], content=content, headers={**headers, "Content-Type": mime})
        return str(value["image"])

    def _find(self, journal: Journal, index: int, part: Part, root: str | None) -> PartFound:
        if not was_attempted(journal, index):
            return NEVER_SENT
        if root is not None:
            return self._find_comment(part, root)
        params = {"q": "author", "author": self.author, "count": "20"}
        recent = self.call_json("GET", "rest/posts", params=params)
        for item in recent.get("elements", []):
            if item.get("commentary") == little_text(part.text):
                return str(item["id"])
        return NotPublished("not among the author's latest posts; a re-send is answered as a duplicate")

    def _find_comment(self, part: Part, post_urn: str) -> PartFound:
        """Our comment on the post, by its text; none found cannot tell (no duplicate check on comments)."""
        found = self.call_json("GET", f"rest/socialActions/{quote(post_urn, safe='')}/comments",
                               params={"count": "50"})
        for item in found.get("elements", []):
            if item.get("actor") == self.author and (item.get("message") or {}).get("text") == little_text(part.text):
                return str(item.get("commentUrn") or item.get("$URN") or item["id"])
        return CannotTell("the comment is not among the post's latest comments, and LinkedIn would take it twice")

    def raise_for(self, response: httpx.Response) -> None:
        if response.status_code == 422:
            reason = error_message(response)
            match = _DUPLICATE.search(reason)
            if match or "DUPLICATE" in response.text:
                raise Duplicate(reason, platform=self.platform, existing_id=match.group(1) if match else None)
        super().raise_for(response)


class LinkedInVideos:
    """One video through LinkedIn's Videos API, resumable from the journal (keys under ``key``).

    ``<key>:upload`` holds the upload (video URN, upload token, URL expiry, parts, thumbnail and
    captions URLs) as JSON; ``<key>:<urn>:etag:<n>`` each part's ETag; ``<key>:<urn>:finalized``.
    """

    def __init__(self, adapter: LinkedInAdapter, journal: Journal, key: str) -> None:
        self.adapter, self.journal, self.key = adapter, journal, key
        options = adapter.account.options
        self.poll_s = float(options.get("video_poll_s", VIDEO_POLL_S))
        self.wait_s = float(options.get("video_wait_s", VIDEO_WAIT_S))

    def upload(self, media: Media) -> str:
        """The video's URN once LinkedIn has it ``AVAILABLE``."""
        path = local_path(self.adapter.platform, media)
        state = self._started(media, path)
        urn = str(state["video"])
        if not self.journal.get(f"{self.key}:{urn}:finalized"):
            etags = [self._put_part(path, urn, n, part) for n, part in enumerate(state["parts"])]
            self._extras(state, media)
            self.adapter.call("POST", "rest/videos", params={"action": "finalizeUpload"}, json={
                "finalizeUploadRequest": {"video": urn, "uploadToken": state["token"], "uploadedPartIds": etags}})
            self.journal.record(f"{self.key}:{urn}:finalized", "1")
        self._wait_available(urn)
        return urn

    def _started(self, media: Media, path: Path) -> dict[str, Any]:
        """The upload in the journal if its URLs still work (or it is finalized), else a new one."""
        saved = self.journal.get(f"{self.key}:upload")
        if saved:
            state: dict[str, Any] = json.loads(saved)
            finalized = self.journal.get(f"{self.key}:{state['video']}:finalized")
            if finalized or state["expires"] > (time.time() + 60) * 1000:
                return state
        state = self._initialize(media, path)
        self.journal.record(f"{self.key}:upload", json.dumps(state))
        return state

    def _initialize(self, media: Media, path: Path) -> dict[str, Any]:
        request = {"owner": self.adapter.author, "fileSizeBytes": path.stat().st_size,
                   "uploadCaptions": captions_path(self.adapter.platform, media) is not None,
                   "uploadThumbnail": cover_path(self.adapter.platform, media) is not None}
        value = self.adapter.call_json("POST", "rest/videos", params={"action": "initializeUpload"},
                                       json={"initializeUploadRequest": request})["value"]
        parts = [[int(i["firstByte"]), int(i["lastByte"]), str(i["uploadUrl"])] for i in value["uploadInstructions"]]
        return {"video": value["video"], "token": value.get("uploadToken", ""), "parts": parts,
                "expires": int(value.get("uploadUrlsExpireAt") or 0),
                "thumbnail": value.get("thumbnailUploadUrl"), "captions": value.get("captionsUploadUrl")}

    def _put_part(self, path: Path, urn: str, number: int, part: list[Any]) -> str:
        """PUT bytes ``first..last`` of the file (streamed) once; its ETag, journaled."""
        key = f"{self.key}:{urn}:etag:{number}"
        done = self.journal.get(key)
        if done:
            return done
        first, last, url = part
        content, headers = streamed(path, first, last - first + 1)
        headers["Content-Type"] = "application/octet-stream"
        etag = self.adapter.call("PUT", url, content=content, headers=headers).headers.get("etag")
        if not etag:
            raise Retryable(f"LinkedIn answered part {number + 1} of the video without an ETag",
                            platform=self.adapter.platform)
        self.journal.record(key, etag)
        return etag

    def _extras(self, state: dict[str, Any], media: Media) -> None:
        """The cover (a still image) and the captions file, where initializeUpload gave URLs for them."""
        platform = self.adapter.platform
        for name, source, mime in (("thumbnail", cover_path(platform, media), "image/jpeg"),
                                   ("captions", captions_path(platform, media), "application/octet-stream")):
            if source is None or not state.get(name) or self.journal.get(f"{self.key}:{state['video']}:{name}"):
                continue
            content, headers = streamed(source)
            if name == "thumbnail":
                mime = "image/png" if source.suffix.lower() == ".png" else mime
            self.adapter.call("PUT", state[name], content=content, headers={**headers, "Content-Type": mime})
            self.journal.record(f"{self.key}:{state['video']}:{name}", "1")

    def _wait_available(self, urn: str) -> None:
        """Read ``GET /rest/videos/{urn}`` every ``video_poll_s`` until AVAILABLE, at most ``video_wait_s``;
        past that ``Retryable``: the next attempt polls the same, journaled, upload."""
        wait_for(self.adapter.platform, "the video", partial(self._status, urn), self.wait_s)

    def _status(self, urn: str) -> bool | Later:
        video = self.adapter.call_json("GET", f"rest/videos/{quote(urn, safe='')}")
        status = str(video.get("status", ""))
        if status == "PROCESSING_FAILED":
            self.journal.record(f"{self.key}:upload", "")  # a retry by a person starts clean
            reason = video.get("processingFailureReason") or "no reason given"
            raise Permanent(f"LinkedIn could not process the video: {reason}", platform=self.adapter.platform)
        return True if status == "AVAILABLE" else Later(self.poll_s, status.lower() or "processing")


def _root(journal: Journal, index: int) -> str | None:
    """The post a thread's later part comments on (the first part's URN, journaled); None for the first."""
    return journal.get(part_key(0)) if index else None


def title_of(media: Media) -> str:
    """A video post's title: its alt text, else the file's name without extension."""
    return media.alt.strip()[:400] or Path(media.path).stem


SPEC = PlatformSpec(
    "linkedin", "LinkedIn", LinkedInAdapter, LinkedInRules,
    credentials=("access_token",), required_options=("author",), options=("version", "video_poll_s", "video_wait_s"),
    default_base_url="https://api.linkedin.com",
)
