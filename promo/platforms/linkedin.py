r"""LinkedIn through the Posts API (plain httpx): little-text escaping, images, a thread as comments.

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
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from promo.errors import Duplicate
from promo.platforms.base import PlatformSpec
from promo.platforms.http import HttpAdapter, error_message
from promo.platforms.media import media_file
from promo.platforms.progress import NEVER_SENT, PartFound, lookup_parts, send_parts, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.linkedin import LinkedInRules, little_text

if TYPE_CHECKING:
    import httpx

DEFAULT_VERSION = "202506"
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
        ids = send_parts(post, journal, self._send)
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(
            post, journal, lambda index, part, previous: self._find(journal, index, part, previous),
            self._published,
        )

    def verify(self) -> str:
        me = self.call_json("GET", "v2/userinfo")
        return str(me.get("name") or me.get("sub") or self.author)

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://www.linkedin.com/feed/update/{ids[0]}", tuple(ids[1:]))

    def _send(self, index: int, part: Part, previous: str | None) -> str:
        text = little_text(part.text)  # already little text when it came through preview
        if previous is not None:
            body = {"actor": self.author, "object": previous, "message": {"text": text}}
            answer = self.call("POST", f"rest/socialActions/{quote(previous, safe='')}/comments", json=body)
            return answer.headers.get("x-restli-id") or str(answer.json().get("id", ""))
        body = self._post_body(text, part.media)
        try:
            response = self.call("POST", "rest/posts", json=body)
        except Duplicate as exc:
            if exc.existing_id:
                return exc.existing_id  # LinkedIn says it is already there: that is our post
            raise
        return response.headers.get("x-restli-id") or str(response.json()["id"])

    def _post_body(self, text: str, media: tuple[Media, ...]) -> dict[str, Any]:
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
        images = [{"id": self._upload(m), "altText": m.alt} for m in media]
        if len(images) == 1:
            body["content"] = {"media": images[0]}
        elif images:
            body["content"] = {"multiImage": {"images": images}}
        return body

    def _upload(self, media: Media) -> str:
        _, data, mime = media_file(self.platform, media)
        answer = self.call_json(
            "POST",
            "rest/images",
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = answer["value"]
        self.call("PUT", value["uploadUrl"], content=data, headers={"Content-Type": mime})
        return str(value["image"])

    def _find(self, journal: Journal, index: int, part: Part, previous: str | None) -> PartFound:
        if not was_attempted(journal, index):
            return NEVER_SENT
        if previous is not None:
            return self._find_comment(part, previous)
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


SPEC = PlatformSpec(
    "linkedin", "LinkedIn", LinkedInAdapter, LinkedInRules,
    credentials=("access_token",), required_options=("author",), options=("version",),
    default_base_url="https://api.linkedin.com",
)
