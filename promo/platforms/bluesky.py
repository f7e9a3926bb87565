"""Bluesky through the atproto SDK: facets, images with alt text, threads, deterministic record keys.

Each part is created with ``com.atproto.repo.createRecord`` and a record key derived from the
post's idempotency key (``promo.platforms.tids``), so a repeat cannot create a second record and a
look-up is ``getRecord``. Links, #tags and @mentions become facets with UTF-8 byte offsets
(``promo.rules.bluesky.facets``). Replies carry ``root`` and ``parent`` references. Logins are
limited (30 per 5 minutes, 300 per day), so the exported login is kept in the ``LoginCache`` and
reused by every worker; a refused cached login is replaced by one fresh login.
``base_url`` is the PDS (default ``https://bsky.social``); atproto adds ``/xrpc/...``. atproto is
imported on the first call to the PDS, so the registry and preview never load it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from promo.errors import AuthError, Permanent, Retryable
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import media_file
from promo.platforms.progress import PartFound, lookup_parts, send_parts
from promo.platforms.tids import tid_for
from promo.posts import Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.bluesky import BlueskyRules, facets
from promo.times import iso, utcnow

if TYPE_CHECKING:
    import httpx  # noqa: F401  (the quoted generic argument below)
    from atproto import Client

COLLECTION = "app.bsky.feed.post"
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
        record = self._record(part, previous, journal.get("part:0") if index else None)
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

    def _record(self, part: Part, previous: str | None, root: str | None) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": COLLECTION, "text": part.text, "createdAt": iso(utcnow())}
        found = self._facets(part.text)
        if found:
            record["facets"] = found
        if previous is not None and root is not None:
            record["reply"] = {"root": _ref(root), "parent": _ref(previous)}
        if part.media:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._image(media) for media in part.media],
            }
        return record

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
    credentials=("app_password",), required_options=("handle",), default_base_url="https://bsky.social",
)
