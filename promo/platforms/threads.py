"""Threads (Meta) through the Graph API (plain httpx): create a container, wait until it is ready, publish it.

``POST {base}/{user_id}/threads`` (``media_type`` TEXT / IMAGE / VIDEO / CAROUSEL, ``text``,
``image_url`` / ``video_url``, ``alt_text``, ``reply_to_id``) answers a container id, written to
the journal (``container:<i>``) at once. Threads fetches media itself, by public URL: set the
account option ``media_base_url`` (a public folder holding the campaign's media files, by file
name), or configure the media host (``promo.platforms.mediahost``, docs/media-host.md: an S3
bucket with presigned URLs); without either a post with media is refused as Permanent. A container with media is polled
(``GET /{container}?fields=status,error_message``) until FINISHED: ERROR is Permanent with Threads'
own reason (``FAILED_DOWNLOADING_VIDEO``, ``INVALID_DURATION``...), EXPIRED (24 hours unpublished)
makes a fresh container, and still IN_PROGRESS after ``wait_seconds`` is Retryable (the retry
polls the same container). Several media make a carousel: one item container each
(``is_carousel_item``, ids journaled as ``items:<i>``), every item FINISHED before the CAROUSEL
container names them as ``children``. Then ``POST /{user_id}/threads_publish?creation_id=<container>``
answers the post's own media id (not the container's: that is the id a reply and a permalink need).

A look-up asks the container's ``status``: FINISHED / IN_PROGRESS mean it was never published, so
a retry publishes the same container; PUBLISHED means the post exists, but the container does not
say the post's id, so it is found among the user's threads (or the previous part's replies) by its
text, and when it is not there the look-up cannot tell its id (a person resolves it with the URL;
it is never sent again). The token is sent as the ``access_token`` form field and masked in logs.
Requests go to ``{base_url}/v1.0/...``; ``base_url`` defaults to ``https://graph.threads.net``.
"""

from __future__ import annotations

from typing import Any

from promo.errors import Ambiguous, Permanent, PublishError, Retryable
from promo.platforms.base import PlatformSpec
from promo.platforms.graph import GraphAdapter
from promo.platforms.mediahost import hosted
from promo.platforms.progress import NEVER_SENT, PartFound, lookup_parts, send_parts
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.threads import ThreadsRules

API_VERSION = "v1.0"
MAX_CAROUSEL = 20  # items in a carousel (Threads' docs); at least 2
_UNUSABLE = {"ERROR", "EXPIRED"}
_KINDS = {"image": "IMAGE", "video": "VIDEO"}
# Threads' container error_message codes, in plain words (its troubleshooting page)
_REASONS = {
    "FAILED_DOWNLOADING_VIDEO": "Threads could not download the video from media_base_url",
    "FAILED_PROCESSING_AUDIO": "Threads could not process the audio",
    "FAILED_PROCESSING_VIDEO": "Threads could not process the video",
    "INVALID_ASPEC_RATIO": "the aspect ratio is outside 0.01:1 to 10:1",
    "INVALID_BIT_RATE": "the bit rate is over Threads' limit",
    "INVALID_DURATION": "the duration is over Threads' limit of 5 minutes, or zero",
    "INVALID_FRAME_RATE": "the frame rate is outside 23-60 fps",
    "INVALID_AUDIO_CHANNELS": "the audio is not mono or stereo",
    "INVALID_AUDIO_CHANNEL_LAYOUT": "the audio channel layout is not supported",
}


class _Expired(Exception):
    """A container (or a carousel item) was left unpublished for 24 hours: make it again."""


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

    # -- publishing ------------------------------------------------------------------------------
    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        for _ in range(2):  # an expired container is made again, once
            try:
                status, container = self._ready_container(journal, index, part, previous)
            except _Expired:
                journal.record(f"container:{index}", "")
                journal.record(f"items:{index}", "")
                continue
            if status == "PUBLISHED":  # an earlier attempt published it; its answer was lost
                return self._already_published(part, previous)
            answer = self.call_json(
                "POST", f"{self.user_id}/threads_publish", data={"creation_id": container, **self.token}
            )
            return str(answer["id"])
        raise Retryable("its Threads container expired twice; a retry makes a new one", platform=self.platform)

    def _ready_container(self, journal: Journal, index: int, part: Part, previous: str | None) -> tuple[str, str]:
        """(status, container): the part's container, FINISHED or already PUBLISHED."""
        container = journal.get(f"container:{index}")
        if container:
            return self._status_when_ready(container), container
        container = self._create_container(journal, index, part, previous)
        journal.record(f"container:{index}", container)
        status = self._status_when_ready(container) if part.media else "FINISHED"
        return status, container

    def _create_container(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        fields: dict[str, Any] = {"text": part.text, **self.token}
        if previous is not None:
            fields["reply_to_id"] = previous
        if len(part.media) > 1:
            children = self._carousel_items(journal, index, part.media)
            fields.update({"media_type": "CAROUSEL", "children": ",".join(children)})
        elif part.media:
            fields.update(self._media_fields(part.media[0]))
        else:
            fields["media_type"] = "TEXT"
        with self.repeatable("a new container"):  # an unused container expires unpublished
            return str(self.call_json("POST", f"{self.user_id}/threads", data=fields)["id"])

    def _carousel_items(self, journal: Journal, index: int, media: tuple[Media, ...]) -> list[str]:
        """One FINISHED item container per media file, each journaled as soon as it exists."""
        if len(media) > MAX_CAROUSEL:
            raise Permanent(f"a Threads carousel takes at most {MAX_CAROUSEL} media, not {len(media)}",
                            platform=self.platform)
        fields = [self._media_fields(item) for item in media]  # refuse unusable media before sending any
        items = [item for item in (journal.get(f"items:{index}") or "").split(",") if item]
        for more in fields[len(items):]:
            with self.repeatable("a new carousel item"):
                answer = self.call_json(
                    "POST", f"{self.user_id}/threads", data={"is_carousel_item": "true", **more, **self.token}
                )
            items.append(str(answer["id"]))
            journal.record(f"items:{index}", ",".join(items))
        for item in items:
            if self._status_when_ready(item) != "FINISHED":
                raise _Expired(item)  # an item published on its own or gone stale: start the carousel again
        return items

    def _media_fields(self, media: Media) -> dict[str, str]:
        kind = _KINDS.get(media.kind)
        if kind is None:
            raise Permanent(f"Threads takes JPEG/PNG images and MP4/MOV videos, not {media.mime or media.path}",
                            platform=self.platform)
        fields = {"media_type": kind, f"{kind.lower()}_url": self._public_url(media)}
        if media.alt:
            fields["alt_text"] = media.alt
        return fields

    def _public_url(self, media: Media) -> str:
        """The account's ``media_base_url`` (a folder served by you), else the configured media host."""
        base = self.account.options.get("media_base_url")
        if not base and self.media_host is None:
            raise Permanent(
                "Threads needs media at a public URL: set media_base_url for this account, or configure "
                "the media host (docs/media-host.md)", platform=self.platform,
            )
        return hosted(self.platform, self.media_host, base).url_for(self.platform, media)

    def _status_when_ready(self, container: str) -> str:
        """FINISHED or PUBLISHED, polling while IN_PROGRESS; ERROR is Permanent with Threads' reason."""
        def look() -> str | None:
            with self.repeatable(f"a look at container {container}"):
                answer = self.call_json("GET", container, params={"fields": "id,status,error_message", **self.token})
            status = str(answer.get("status") or "")
            if status == "ERROR":
                raise Permanent(f"Threads could not use the media: {_reason(answer.get('error_message'))}",
                                platform=self.platform)
            if status == "EXPIRED":
                raise _Expired(container)
            return status if status in ("FINISHED", "PUBLISHED") else None

        return self.wait_for(look, f"Threads container {container}")

    def _already_published(self, part: Part, previous: str | None) -> str:
        found = self._published_id(part, previous)
        if isinstance(found, CannotTell):
            raise Ambiguous(found.reason, platform=self.platform)
        return found

    # -- look-ups --------------------------------------------------------------------------------
    def _find(self, journal: Journal, index: int, part: Part, previous: str | None) -> PartFound:
        container = journal.get(f"container:{index}")
        if not container:
            return NEVER_SENT  # never created a container, so never published
        status = self.call_json("GET", container, params={"fields": "id,status", **self.token})
        if status.get("status") == "PUBLISHED":
            return self._published_id(part, previous)
        if status.get("status") in _UNUSABLE:
            journal.record(f"container:{index}", "")  # make a fresh container next time
            journal.record(f"items:{index}", "")
        return NotPublished(f"its container is {status.get('status')}, never published")

    def _published_id(self, part: Part, previous: str | None) -> str | CannotTell:
        """The published post's own id: the container does not say it, so find the post by its text."""
        where = f"{self.user_id}/threads" if previous is None else f"{previous}/replies"
        found = self.call_json("GET", where, params={"fields": "id,text", "limit": "25", **self.token})
        for item in found.get("data", []):
            if item.get("text") == part.text:
                return str(item["id"])
        return CannotTell("its container is published, but the post is not among the latest, so its id is unknown")


def _reason(code: object) -> str:
    """Threads' error_message code with its meaning in plain words."""
    text = str(code or "UNKNOWN")
    return f"{text} ({_REASONS[text]})" if text in _REASONS else text


SPEC = PlatformSpec(
    "threads", "Threads", ThreadsAdapter, ThreadsRules,
    credentials=("access_token",), required_options=("user_id",), options=("username", "media_base_url", "media_host"),
    default_base_url="https://graph.threads.net",
)
