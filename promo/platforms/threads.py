"""Threads (Meta) through the Graph API (plain httpx): create a container, then publish it.

``POST {base}/{user_id}/threads`` (``media_type``, ``text``, ``image_url``, ``reply_to_id``) answers
a container id, which is written to the journal before ``POST /{user_id}/threads_publish
?creation_id=<container>`` publishes it and answers the post's own media id (not the container's:
that is the id a reply and a permalink need). A look-up asks the container's ``status``: FINISHED /
IN_PROGRESS mean it was never published, so a retry publishes the same container; PUBLISHED means
the post exists, but the container does not say the post's id, so it is found among the user's
threads (or the previous part's replies) by its text, and when it is not there the look-up cannot
tell its id (a person resolves it with the URL; it is never sent again). Threads takes media only
by public URL: set the account option ``media_base_url`` (a public folder holding the campaign's
media files, by file name); without it a post with media is refused as Permanent. The token is
sent as the ``access_token`` form field and masked in logs.
Requests go to ``{base_url}/v1.0/...``; ``base_url`` defaults to ``https://graph.threads.net``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promo.errors import Permanent, PublishError
from promo.platforms.base import PlatformSpec
from promo.platforms.graph import GraphAdapter
from promo.platforms.progress import NEVER_SENT, PartFound, lookup_parts, send_parts
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.threads import ThreadsRules

API_VERSION = "v1.0"
_UNUSABLE = {"ERROR", "EXPIRED"}


class ThreadsAdapter(GraphAdapter):
    platform = "threads"

    def graph_version(self) -> str:
        return API_VERSION

    @property
    def user_id(self) -> str:
        return str(self.account.options["user_id"])

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(
            post, journal, lambda index, part, previous: self._send(journal, index, part, previous)
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part, previous),
            self._published,
        )

    def verify(self) -> str:
        me = self.call_json("GET", "me", params={"fields": "id,username", **self.token})
        return f"@{me.get('username', me.get('id'))}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], self._permalink(ids[0]), tuple(ids[1:]))

    def _permalink(self, media_id: str) -> str | None:
        try:
            answer = self.call_json("GET", media_id, params={"fields": "permalink", **self.token})
        except PublishError:
            return None  # the post exists; a missing link is not a failed publish
        link = answer.get("permalink")
        return str(link) if link else None

    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        container = journal.get(f"container:{index}")
        if not container:
            container = self._create_container(part, previous)
            journal.record(f"container:{index}", container)
        answer = self.call_json(
            "POST", f"{self.user_id}/threads_publish", data={"creation_id": container, **self.token}
        )
        return str(answer["id"])

    def _create_container(self, part: Part, previous: str | None) -> str:
        fields: dict[str, Any] = {"text": part.text, **self.token}
        if previous is not None:
            fields["reply_to_id"] = previous
        if len(part.media) > 1:
            raise Permanent("promo posts at most one image or video per Threads post", platform=self.platform)
        if part.media:
            media = part.media[0]
            kind = "VIDEO" if media.kind == "video" else "IMAGE"
            fields.update({"media_type": kind, f"{kind.lower()}_url": self._public_url(media)})
        else:
            fields["media_type"] = "TEXT"
        return str(self.call_json("POST", f"{self.user_id}/threads", data=fields)["id"])

    def _public_url(self, media: Media) -> str:
        base = self.account.options.get("media_base_url")
        if not base:
            raise Permanent(
                "Threads needs media at a public URL: set media_base_url for this account",
                platform=self.platform,
            )
        return f"{str(base).rstrip('/')}/{Path(media.path).name}"

    def _find(self, journal: Journal, index: int, part: Part, previous: str | None) -> PartFound:
        container = journal.get(f"container:{index}")
        if not container:
            return NEVER_SENT  # never created a container, so never published
        status = self.call_json("GET", container, params={"fields": "id,status", **self.token})
        if status.get("status") == "PUBLISHED":
            return self._published_id(part, previous)
        if status.get("status") in _UNUSABLE:
            journal.record(f"container:{index}", "")  # make a fresh container next time
        return NotPublished(f"its container is {status.get('status')}, never published")

    def _published_id(self, part: Part, previous: str | None) -> str | CannotTell:
        """The published post's own id: the container does not say it, so find the post by its text."""
        where = f"{self.user_id}/threads" if previous is None else f"{previous}/replies"
        found = self.call_json("GET", where, params={"fields": "id,text", "limit": "25", **self.token})
        for item in found.get("data", []):
            if item.get("text") == part.text:
                return str(item["id"])
        return CannotTell("its container is published, but the post is not among the latest, so its id is unknown")


SPEC = PlatformSpec(
    "threads", "Threads", ThreadsAdapter, ThreadsRules,
    credentials=("access_token",), required_options=("user_id",), options=("username", "media_base_url"),
    default_base_url="https://graph.threads.net",
)
