"""Instagram through the Graph API's content publishing (plain httpx): host the media, make a container, publish it.

Instagram fetches media itself, by public URL, so each file goes to the media host first
(``promo.platforms.mediahost``: content-addressed, uploaded once, a presigned URL; or the
account's ``media_base_url``, a folder you serve). Then::

    POST /{ig-user-id}/media            image_url | video_url + media_type (REELS, STORIES, VIDEO for a
                                        carousel item, CAROUSEL + children), caption, share_to_feed,
                                        cover_url / thumb_offset  -> a container id (journaled: container)
    GET  /{container}?fields=status_code,status   until FINISHED (ERROR: Permanent with the reason;
                                        EXPIRED after 24 hours: a fresh container, once)
    POST /{ig-user-id}/media_publish    creation_id -> the published media's own id (not the container's)

A carousel makes one item container per file first (``is_carousel_item``; ids journaled as
``items``), all FINISHED before the CAROUSEL container names them. Before anything is made, the
account's ``content_publishing_limit`` is read: an account at its 100 posts in 24 hours is
``RateLimited`` (the post waits an hour and the account is blocked for every worker), and so is
``media_publish``'s own refusal (subcode 2207042).

A look-up asks the container's ``status_code``: FINISHED / IN_PROGRESS mean never published (a
retry publishes the same container); PUBLISHED means the post exists, and its id is found among
the user's media (or stories) published since the attempt, by its caption; if not found the
look-up cannot tell (a person resolves it; it is never sent again). The token (a user token from
Facebook Login) is sent as ``access_token`` and masked in logs. Requests go to
``{base_url}/v21.0/...``; ``base_url`` defaults to ``https://graph.facebook.com``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from promo.errors import Ambiguous, ConfigError, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.base import PlatformSpec
from promo.platforms.graph import GraphAdapter, error_fields
from promo.platforms.mediahost import hosted
from promo.platforms.progress import NEVER_SENT, PartFound, attempted_at, lookup_parts, send_parts
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.instagram import MAX_CAROUSEL, PUBLISHING_LIMIT, InstagramRules, is_story, share_to_feed
from promo.times import utcnow

if TYPE_CHECKING:
    import httpx

    from promo.platforms.mediahost import MediaHost

API_VERSION = "v21.0"
LIMIT_REACHED = 2207042     # media_publish: the account reached its publishing limit
LIMIT_WAIT = timedelta(hours=1)
_UNUSABLE = {"ERROR", "EXPIRED"}


class _Expired(Exception):
    """A container (or a carousel item) was left unpublished for 24 hours: make it again."""


class InstagramAdapter(GraphAdapter):
    platform = "instagram"
    poll_seconds = 5.0
    wait_seconds = 60.0

    def graph_version(self) -> str:
        return API_VERSION

    @property
    def user_id(self) -> str:
        """The Instagram professional account's id: the ``user_id`` option, else what connecting found."""
        found = self.account.options.get("user_id")
        if found:
            return str(found)
        try:
            return self.account.secret("ig_user_id")
        except ConfigError:
            raise ConfigError(f"account {self.account.name}: set user_id (the Instagram account's id) or run "
                              f"'promo accounts connect {self.account.name}'") from None

    def raise_for(self, response: httpx.Response) -> None:
        if not response.is_success and error_fields(response).get("error_subcode") == LIMIT_REACHED:
            raise RateLimited("Instagram's publishing limit (100 posts in 24 hours) is reached",
                              platform=self.platform, retry_at=utcnow() + LIMIT_WAIT)
        super().raise_for(response)

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(post, journal, lambda index, part, previous: self._send(journal, part))
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return lookup_parts(post, journal, lambda index, part, previous: self._find(journal, part), self._published)

    def verify(self) -> str:
        me = self.call_json("GET", self.user_id, params={"fields": "id,username", **self.token})
        used, total = self.publishing_quota()
        return f"@{me.get('username', me.get('id'))} ({used}/{total} posts published in 24 hours)"

    def publishing_quota(self) -> tuple[int, int]:
        """(posts published in the last 24 hours, the limit) from ``content_publishing_limit``."""
        answer = self.call_json("GET", f"{self.user_id}/content_publishing_limit",
                                params={"fields": "config,quota_usage", **self.token})
        data = (answer.get("data") or [{}])[0]
        total = int((data.get("config") or {}).get("quota_total") or PUBLISHING_LIMIT)
        return int(data.get("quota_usage") or 0), total

    def _published(self, ids: list[str]) -> Published:
        try:
            answer = self.call_json("GET", ids[0], params={"fields": "permalink", **self.token})
        except PublishError:
            return Published(ids[0], None)  # the post exists; a missing link is not a failed publish
        link = answer.get("permalink")
        return Published(ids[0], str(link) if link else None)

    # -- publishing ------------------------------------------------------------------------------
    def _send(self, journal: Journal, part: Part) -> str:
        if not part.media:
            raise Permanent("an Instagram post needs an image or a video", platform=self.platform)
        for _ in range(2):  # an expired container is made again, once
            try:
                status, container = self._ready_container(journal, part)
            except _Expired:
                journal.record("container", "")
                journal.record("items", "")
                continue
            if status == "PUBLISHED":  # an earlier attempt published it; its answer was lost
                return self._already_published(journal, part)
            answer = self.call_json("POST", f"{self.user_id}/media_publish",
                                    data={"creation_id": container, **self.token})
            return str(answer["id"])
        raise Retryable("its Instagram container expired twice; a retry makes a new one", platform=self.platform)

    def _check_quota(self) -> None:
        with self.repeatable("a look at the publishing limit"):
            used, total = self.publishing_quota()
        if used >= total:
            raise RateLimited(f"Instagram's publishing limit is reached ({used}/{total} posts in 24 hours)",
                              platform=self.platform, retry_at=utcnow() + LIMIT_WAIT)

    def _ready_container(self, journal: Journal, part: Part) -> tuple[str, str]:
        """(status, container): the post's container, FINISHED or already PUBLISHED."""
        container = journal.get("container")
        if container:
            return self._status_when_ready(container), container
        self._check_quota()
        container = self._create_container(journal, part)
        journal.record("container", container)
        return self._status_when_ready(container), container

    def _create_container(self, journal: Journal, part: Part) -> str:
        story = is_story(self.account.options)
        if len(part.media) > 1:
            children = self._carousel_items(journal, part.media)
            fields: dict[str, str] = {"media_type": "CAROUSEL", "children": ",".join(children)}
        else:
            fields = self._media_fields(part.media[0], story=story)
        if not story:
            fields["caption"] = part.text
        with self.repeatable("a new container"):  # an unused container expires unpublished
            return str(self.call_json("POST", f"{self.user_id}/media", data={**fields, **self.token})["id"])

    def _carousel_items(self, journal: Journal, media: tuple[Media, ...]) -> list[str]:
        """One FINISHED item container per file, each journaled as soon as it exists."""
        if len(media) > MAX_CAROUSEL or is_story(self.account.options):
            raise Permanent(f"an Instagram carousel takes 2 to {MAX_CAROUSEL} media, and a Story one",
                            platform=self.platform)
        fields = [self._media_fields(item, item_of_carousel=True) for item in media]
        items = [item for item in (journal.get("items") or "").split(",") if item]
        for more in fields[len(items):]:
            with self.repeatable("a new carousel item"):
                answer = self.call_json("POST", f"{self.user_id}/media", data={**more, **self.token})
            items.append(str(answer["id"]))
            journal.record("items", ",".join(items))
        for item in items:
            if self._status_when_ready(item) != "FINISHED":
                raise _Expired(item)  # an item gone stale: start the carousel again
        return items

    def _media_fields(self, media: Media, *, story: bool = False, item_of_carousel: bool = False) -> dict[str, str]:
        """The container fields of one file; its URL from the media host (uploading it first)."""
        if media.kind not in ("image", "video"):
            raise Permanent(f"Instagram takes JPEG images and MP4/MOV videos, not {media.mime or media.path}",
                            platform=self.platform)
        host = hosted(self.platform, self.media_host, self.account.options.get("media_base_url"))
        url = host.url_for(self.platform, media)
        fields = {f"{media.kind}_url": url}
        if item_of_carousel:
            fields["is_carousel_item"] = "true"
            if media.kind == "video":
                fields["media_type"] = "VIDEO"
        elif story:
            fields["media_type"] = "STORIES"
        elif media.kind == "video":
            fields.update(self._reel_fields(media, host))
        return fields

    def _reel_fields(self, media: Media, host: MediaHost) -> dict[str, str]:
        from promo.platforms.media import cover_path

        fields = {"media_type": "REELS", "share_to_feed": "true" if share_to_feed(self.account.options) else "false"}
        cover = cover_path(self.platform, media)
        if cover is not None:
            fields["cover_url"] = host.url_for_file(self.platform, cover)
        elif media.cover_time is not None:
            fields["thumb_offset"] = str(int(media.cover_time * 1000))
        return fields

    def _status_when_ready(self, container: str) -> str:
        """FINISHED or PUBLISHED, polling while IN_PROGRESS; ERROR is Permanent with Instagram's reason."""
        def look() -> str | None:
            with self.repeatable(f"a look at container {container}"):
                answer = self.call_json("GET", container, params={"fields": "id,status_code,status", **self.token})
            status = str(answer.get("status_code") or "")
            if status == "ERROR":
                raise Permanent(f"Instagram could not use the media: {answer.get('status') or 'no reason given'}",
                                platform=self.platform)
            if status == "EXPIRED":
                raise _Expired(container)
            return status if status in ("FINISHED", "PUBLISHED") else None

        return self.wait_for(look, f"Instagram container {container}")

    def _already_published(self, journal: Journal, part: Part) -> str:
        found = self._published_id(journal, part)
        if isinstance(found, CannotTell):
            raise Ambiguous(found.reason, platform=self.platform)
        return found

    # -- look-ups --------------------------------------------------------------------------------
    def _find(self, journal: Journal, part: Part) -> PartFound:
        container = journal.get("container")
        if not container:
            return NEVER_SENT  # never created a container, so never published
        status = self.call_json("GET", container, params={"fields": "id,status_code", **self.token})
        code = status.get("status_code")
        if code == "PUBLISHED":
            return self._published_id(journal, part)
        if code in _UNUSABLE:
            journal.record("container", "")  # make a fresh container next time
            journal.record("items", "")
        return NotPublished(f"its container is {code}, never published")

    def _published_id(self, journal: Journal, part: Part) -> str | CannotTell:
        """The published media's own id, found among the user's latest media (or stories) by its caption."""
        story = is_story(self.account.options)
        where = f"{self.user_id}/stories" if story else f"{self.user_id}/media"
        found = self.call_json("GET", where, params={"fields": "id,caption,timestamp", "limit": "25", **self.token})
        since = attempted_at(journal, 0)
        matches = [str(item["id"]) for item in found.get("data", [])
                   if (story or item.get("caption", "") == part.text) and _not_before(item.get("timestamp"), since)]
        if len(matches) == 1:
            return matches[0]
        return CannotTell("its container is published, but the post is not (or not only one) among the latest, "
                          "so its id is unknown")


def _not_before(stamp: object, since: datetime | None) -> bool:
    """Whether a media's ``timestamp`` is after the attempt started (less a minute of clock skew)."""
    if since is None or not stamp:
        return True
    try:
        moment = datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return True
    return moment >= since - timedelta(minutes=1)


SPEC = PlatformSpec(
    "instagram", "Instagram", InstagramAdapter, InstagramRules,
    credentials=("access_token",), optional_credentials=("ig_user_id",),
    options=("user_id", "username", "page_id", "stories", "share_to_feed", "media_base_url", "media_host"),
    default_base_url="https://graph.facebook.com",
)
