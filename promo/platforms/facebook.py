"""Facebook Page through the Graph API (plain httpx): feed posts, photos, and a thread as comments.

``POST {base}/{version}/{page_id}/feed`` (``message``, ``link``) answers ``{"id": "<page>_<post>"}``;
one photo goes to ``/{page_id}/photos`` (``source`` + ``caption``), several are uploaded unpublished
and attached to a feed post (``attached_media``). Later parts of a thread become comments on the
post. The Page token is sent as the ``access_token`` form field (and masked in logs). Graph error
codes are classified in ``promo.platforms.graph.graph_error`` (1/2 transient, 4/17/32/613 throttled,
190 token, 506 duplicate). A look-up reads the Page's recent feed for the same message (a text post
not there is not published: a re-send is refused as a duplicate, 506), or the post's comments for a
thread's part; a photo post or a comment not found cannot be told.
Requests go to ``{base_url}/{graph_version}/...``; ``base_url`` defaults to ``https://graph.facebook.com``.
"""

from __future__ import annotations

import json
from typing import Any

from promo.platforms.base import PlatformSpec
from promo.platforms.graph import GraphAdapter
from promo.platforms.media import media_file
from promo.platforms.progress import NEVER_SENT, PartFound, lookup_parts, send_parts, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.facebook import FacebookRules

DEFAULT_VERSION = "v21.0"


class FacebookAdapter(GraphAdapter):
    platform = "facebook"
    token_credential = "page_token"

    def graph_version(self) -> str:
        return str(self.account.options.get("graph_version", DEFAULT_VERSION))

    @property
    def page_id(self) -> str:
        return str(self.account.options["page_id"])

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(post, journal, lambda index, part, previous: self._send(part, journal.get("part:0")))
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part, journal.get("part:0")),
            self._published,
        )

    def verify(self) -> str:
        page = self.call_json("GET", self.page_id, params={"fields": "id,name", **self.token})
        return f"page {page.get('name', page.get('id'))}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://www.facebook.com/{ids[0]}", tuple(ids[1:]))

    def _send(self, part: Part, root: str | None) -> str:
        if root is not None:  # a thread's later parts are comments on the post
            return str(
                self.call_json("POST", f"{root}/comments", data={"message": part.text, **self.token})["id"]
            )
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
    credentials=("page_token",), required_options=("page_id",), options=("graph_version",),
    default_base_url="https://graph.facebook.com",
)
