"""Bluesky through the atproto SDK: facets, images with alt text, threads, deterministic record keys.

Each part is created with ``com.atproto.repo.createRecord`` and a record key derived from the
post's idempotency key (``promo.platforms.tids``), so a repeat cannot create a second record and a
look-up is ``getRecord``. Links, #tags and @mentions become facets with UTF-8 byte offsets
(``promo.rules.bluesky.facets``). Replies carry ``root`` and ``parent`` references. Logins are
limited (30 per 5 minutes, 300 per day), so the session string is kept in the SessionCache and
reused by every worker; a refused cached session is replaced by one fresh login.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from atproto import Client
from atproto_client import exceptions as atp
from atproto_client.request import Request

from promo.errors import AuthError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.base import BaseAdapter
from promo.platforms.http import error_for_status, transport_error
from promo.platforms.progress import send_parts, settle_parts
from promo.platforms.tids import tid_for
from promo.posts import Journal, Media, Part, Post, Published
from promo.times import iso, utcnow

COLLECTION = "app.bsky.feed.post"
T = TypeVar("T")


class BlueskyAdapter(BaseAdapter):
    platform = "bluesky"

    @property
    def handle(self) -> str:
        return str(self.account.options["handle"]).lstrip("@")

    @property
    def cache_key(self) -> str:
        return f"bluesky-session:{self.account.name}"

    @cached_property
    def client(self) -> Client:
        request = Request(timeout=self.timeout)
        if self.session is not None:
            request._client = self.session
        client = Client(base_url=self.account.api_base, request=request)
        client.on_session_change(
            lambda event, session: self.cache.set(self.cache_key, client.export_session_string())
        )
        return client

    @contextmanager
    def boundary(self) -> Iterator[None]:
        """atproto's errors -> promo's error tree, in one place."""
        try:
            yield
        except PublishError:
            raise
        except atp.RequestErrorBase as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: atp.RequestErrorBase) -> PublishError:
        cause = exc.__cause__
        if exc.response is None and isinstance(cause, Exception):
            return transport_error(self.platform, cause)
        response = exc.response
        status = response.status_code if response is not None else 0
        headers = response.headers if response is not None else {}
        reason = _reason(exc)
        if status == 429:
            from promo.platforms.http import retry_at

            return RateLimited(f"rate limited: {reason}", platform=self.platform, retry_at=retry_at(headers))
        if status in (401, 403):
            return AuthError(f"session refused: {reason}", platform=self.platform)
        if status == 400:
            return Permanent(f"refused: {reason}", platform=self.platform)
        if status:
            return error_for_status(self.platform, status, reason, headers)
        return Retryable(f"could not reach the PDS: {reason}", platform=self.platform)

    # -- sessions ----------------------------------------------------------------------------
    def _login(self, fresh: bool = False) -> None:
        cached = None if fresh else self.cache.get(self.cache_key)
        with self.boundary():
            if cached:
                self.client.login(session_string=cached, fetch_bsky_profile=False)
            else:
                self.client.login(self.handle, self.account.secret("app_password"), fetch_bsky_profile=False)

    def _signed_in(self, action: Callable[[], T]) -> T:
        """Run ``action`` with a session: the cached one, or one fresh login if it is refused."""
        if self.client._session is None:
            self._login()
        try:
            with self.boundary():
                return action()
        except AuthError:
            if self.cache.get(self.cache_key) is None:
                raise
            self.cache.set(self.cache_key, "")
            self._login(fresh=True)
            with self.boundary():
                return action()

    @property
    def did(self) -> str:
        return str(self.client._session.did)  # type: ignore[union-attr]

    # -- the adapter -------------------------------------------------------------------------
    def publish(self, post: Post, journal: Journal) -> Published:
        ids = self._signed_in(
            lambda: send_parts(post, journal, lambda i, part, prev: self._send(post, journal, i, part, prev))
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Published | None:
        ids = self._signed_in(lambda: settle_parts(post, journal, lambda i, part, prev: self._find(post, i)))
        return self._published(ids) if ids else None

    def verify(self) -> str:
        session = self._signed_in(lambda: self.client.com.atproto.server.get_session())
        return f"@{session.handle}"

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
                created = self.client.com.atproto.repo.create_record(data)
        except Retryable:
            existing = self._find(post, index)  # the PDS answers 500 when the rkey already exists
            if existing is None:
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
        from promo.rules.bluesky import facets

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
                return str(self.client.com.atproto.identity.resolve_handle({"handle": handle}).did)
        except Permanent:
            return None

    def _image(self, media: Media) -> dict[str, Any]:
        from promo.platforms.http import media_file

        _, data, _ = media_file(self.platform, media)
        with self.boundary():
            blob = self.client.com.atproto.repo.upload_blob(
                data, headers={"Content-Type": media.mime or "application/octet-stream"}).blob
        return {"alt": media.alt, "image": blob.model_dump(by_alias=True, exclude_none=True)}

    def _find(self, post: Post, index: int) -> str | None:
        rkey = tid_for(post.idempotency_key or post.parts[index].text, index)
        params = {"repo": self.did, "collection": COLLECTION, "rkey": rkey}
        try:
            with self.boundary():
                found = self.client.com.atproto.repo.get_record(params)
        except Permanent as exc:
            if "RecordNotFound" in str(exc) or "not found" in str(exc).lower():
                return None
            raise
        return f"{found.uri} {found.cid}"


def _ref(value: str) -> dict[str, str]:
    uri, _, cid = value.partition(" ")
    return {"uri": uri, "cid": cid}


def _reason(exc: atp.RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    message = getattr(content, "message", None)
    error = getattr(content, "error", None)
    if error or message:
        return f"{error or ''}: {message or ''}".strip(": ")
    return str(exc) or type(exc).__name__
