"""Facebook Page through the Graph API (plain httpx): feed posts, photos, videos, and a thread as comments.

``POST {base}/{version}/{page_id}/feed`` (``message``, ``link``) answers ``{"id": "<page>_<post>"}``;
one photo goes to ``/{page_id}/photos`` (``source`` + ``caption``), several are uploaded unpublished
and attached to a feed post (``attached_media``). A video goes alone, through the resumable upload
(``promo.platforms.facebook_video``): ``/{page_id}/videos`` in phases start / transfer (chunks at
the offsets the server names) / finish (``description``, ``title``, the cover as ``thumb``), then
the video's ``status`` is polled until ``ready``; its ``post_id`` is the post. Later parts of a
thread become comments on the post (text only: a part with media is refused before anything is
sent, never posted without it). The Page token is sent as the ``access_token`` form field (and
masked in logs). Graph error codes are classified in ``promo.platforms.graph.graph_error`` (1/2
transient, 4/17/32/613 throttled, 190 token, 506 duplicate). A look-up reads the Page's recent feed
for the same message (a text post not there is not published: a re-send is refused as a duplicate,
506), or the post's comments for a thread's part; a photo post or a comment not found cannot be
told; a video post is settled from its journaled upload and the video's status.
Requests go to ``{base_url}/{graph_version}/...``; ``base_url`` defaults to ``https://graph.facebook.com``;
video uploads to ``video_base_url`` (default: ``base_url`` if set, else ``https://graph-video.facebook.com``).
"""

from __future__ import annotations

import json
from typing import Any

from promo.errors import Permanent
from promo.platforms.base import PlatformSpec
from promo.platforms.facebook_video import FacebookVideos
from promo.platforms.graph import GraphAdapter
from promo.platforms.media import media_file
from promo.platforms.progress import NEVER_SENT, PartFound, lookup_parts, send_parts, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.facebook import FacebookRules

DEFAULT_VERSION = "v21.0"
VIDEO_BASE_URL = "https://graph-video.facebook.com"  # Meta's host for video uploads
_PHOTO_KINDS = ("image", "gif")


class FacebookAdapter(GraphAdapter):
    platform = "facebook"
    token_credential = "page_token"

    def graph_version(self) -> str:
        return str(self.account.options.get("graph_version", DEFAULT_VERSION))

    @property
    def page_id(self) -> str:
        return str(self.account.options["page_id"])

    def publish(self, post: Post, journal: Journal) -> Published:
        self._refuse_unsendable(post)
        ids = send_parts(
            post, journal, lambda index, part, previous: self._send(journal, part, journal.get("part:0"))
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part, journal.get("part:0")),
            self._published,
        )

    def video_endpoint(self) -> str:
        """Where uploads go: ``video_base_url``, else the account's ``base_url`` (a fake, a proxy), else
        Meta's upload host ``https://graph-video.facebook.com``; with the Graph version."""
        origin = self.account.options.get("video_base_url") or self.account.base_url or VIDEO_BASE_URL
        return f"{str(origin).rstrip('/')}/{self.graph_version()}"

    def verify(self) -> str:
        page = self.call_json("GET", self.page_id, params={"fields": "id,name", **self.token})
        return f"page {page.get('name', page.get('id'))}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://www.facebook.com/{ids[0]}", tuple(ids[1:]))

    def _refuse_unsendable(self, post: Post) -> None:
        """Media this adapter cannot attach fails the post before anything is sent, never dropped."""
        if any(part.media for part in post.thread):
            self._refuse("a thread's later parts become comments, which promo sends as text only: "
                         "move the media to the first part")
        media = post.media
        kinds = [m.kind for m in media]
        if "video" in kinds and len(media) > 1:
            self._refuse("a video goes alone in a Facebook Page post, without other media")
        unusable = [m.path for m in media if m.kind not in (*_PHOTO_KINDS, "video")]
        if unusable:
            self._refuse(f"Facebook takes photos and videos only, not {unusable[0]}")

    def _refuse(self, why: str) -> None:
        raise Permanent(why, platform=self.platform)

    def _send(self, journal: Journal, part: Part, root: str | None) -> str:
        if root is not None:  # a thread's later parts are comments on the post
            return str(
                self.call_json("POST", f"{root}/comments", data={"message": part.text, **self.token})["id"]
            )
        if len(part.media) == 1 and part.media[0].kind == "video":
            return FacebookVideos(self, journal).publish(part.media[0], part.text)
        if len(part.media) == 1:
            name, data, mime = media_file(self.platform, part.media[0])
            answer = self.call_json(
                "POST",
                f"{self.page_id}/photos",
                files={"source": (name, data, mime)},
                data={"caption": part.text, **self.token},
            )
            return str(answer.get("post_id") or answer["id"])
        fields: dict[str, Any] = {"message": part.text, **self.token}
        for number, media in enumerate(part.media):
            fields[f"attached_media[{number}]"] = json.dumps({"media_fbid": self._upload(media)})
        return str(self.call_json("POST", f"{self.page_id}/feed", data=fields)["id"])

    def _upload(self, media: Media) -> str:
        name, data, mime = media_file(self.platform, media)
        answer = self.call_json(
            "POST",
            f"{self.page_id}/photos",
            files={"source": (name, data, mime)},
            data={"published": "false", **self.token},
        )
        return str(answer["id"])

    def _find(self, journal: Journal, index: int, part: Part, root: str | None) -> PartFound:
        if not was_attempted(journal, index):
            return NEVER_SENT
        if index == 0 and len(part.media) == 1 and part.media[0].kind == "video":
            return FacebookVideos(self, journal).find()
        where = f"{root}/comments" if index and root else f"{self.page_id}/feed"
        recent = self.call_json("GET", where, params={"fields": "id,message", "limit": "25", **self.token})
        for item in recent.get("data", []):
            if (item.get("message") or "").strip() == part.text.strip():
                return str(item["id"])
        if index or part.media:
            return CannotTell("not among the latest, and Facebook would take it twice")
        return NotPublished("not in the Page's latest feed; a re-send is refused as a duplicate")


SPEC = PlatformSpec(
    "facebook", "Facebook Page", FacebookAdapter, FacebookRules,
    credentials=("page_token",), required_options=("page_id",), options=("graph_version", "video_base_url"),
    default_base_url="https://graph.facebook.com",
)
