"""Telegram channel through the Bot API (plain httpx): messages, photos, videos and albums.

``POST {base}/bot<token>/sendMessage`` answers ``{"ok": true, "result": {"message_id": ...}}``.
A thread is a chain of replies (``reply_parameters``). Media go as ``sendPhoto`` / ``sendVideo``
(one file) or ``sendMediaGroup`` (2-10) with the text as caption (at most 1,024 characters).
The Bot API cannot read a channel's history: a timeout after sending is unconfirmed for good.
Files stream from disk (``http.Multipart``); a video goes as ``sendVideo`` with its ``width``,
``height``, ``duration``, ``supports_streaming`` and its cover as a ``thumbnail`` (JPEG, 320 px,
200 kB). Files over the Bot API's 50 MB (``max_upload_mb``; a local Bot API server takes 2000) are
refused before sending. ``upload:<i>`` in the journal says whether part i's request body was sent
to its last byte: one cut off before (a killed worker) cannot have been posted, so the look-up
answers "not published" and it is sent again (docs/platforms/telegram.md, "Video upload").
Requests go to ``{base_url}/bot<token>/<method>``; ``base_url`` defaults to ``https://api.telegram.org``
(or a local Bot API server's address).
"""

from __future__ import annotations

import json
import math
import mimetypes
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promo.errors import Permanent
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status
from promo.platforms.http import FilePart, HttpAdapter, Multipart, json_object, redact
from promo.platforms.media import local_path
from promo.platforms.progress import PartFound, lookup_parts, send_parts, unknowable, was_attempted
from promo.posts import Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.telegram import TelegramRules

if TYPE_CHECKING:
    import httpx

_NO_HISTORY = "the Bot API cannot read a channel's history: check the channel by hand"
UPLOAD_MB = 50  # the Bot API's upload limit (a local Bot API server: 2000)
THUMBNAIL_SIDE, THUMBNAIL_BYTES = 320, 200_000  # sendVideo's thumbnail: JPEG, at most 320 px and 200 kB
_SINGLE = {
    "image": ("sendPhoto", "photo"),
    "gif": ("sendAnimation", "animation"),
    "video": ("sendVideo", "video"),
    "other": ("sendDocument", "document"),
}


class TelegramAdapter(HttpAdapter):
    platform = "telegram"

    def endpoint(self) -> str:
        token = self.account.secret("bot_token")
        redact(token)
        return f"{self.origin()}/bot{token}"

    @property
    def chat_id(self) -> str:
        return str(self.account.options["chat_id"])

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(post, journal, lambda index, part, previous: self._send(journal, index, part, previous))
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Parts in the journal are published; a part whose upload was cut off before its last byte is
        not; a part sent whole without an answer cannot be told."""
        return lookup_parts(post, journal, lambda index, part, previous: _found(journal, index), self._published)

    def verify(self) -> str:
        me = self.call_json("GET", "getMe")["result"]
        return f"@{me.get('username', me.get('id'))} in {self.chat_id}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], self.message_url(ids[0]), tuple(ids[1:]))

    def message_url(self, message_id: str) -> str:
        chat = self.chat_id
        if chat.startswith("@"):
            return f"https://t.me/{chat[1:]}/{message_id}"
        return f"https://t.me/c/{chat.removeprefix('-100')}/{message_id}"

    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        common: dict[str, Any] = {"chat_id": self.chat_id}
        if previous is not None:
            common["reply_parameters"] = json.dumps({"message_id": int(previous)})
        if not part.media:
            body = {**common, "text": part.text, "link_preview_options": {"is_disabled": False}}
            if previous is not None:
                body["reply_parameters"] = {"message_id": int(previous)}
            return self._message_id(self.call_json("POST", "sendMessage", json=body))
        with ExitStack() as stack:
            if len(part.media) == 1:
                method, fields, files = self._one(stack, part.text, part.media[0])
            else:
                method, fields, files = self._album(part)
            return self._upload(journal, index, method, {**common, **fields}, files)

    def _upload(self, journal: Journal, index: int, method: str, fields: dict[str, Any], files: list[FilePart]) -> str:
        """One multipart request streamed from disk; ``upload:<i>`` is ``sent`` once its last byte left."""
        journal.record(f"upload:{index}", "started")
        body = Multipart([(name, _form(value).encode(), "text/plain") for name, value in fields.items()], files,
                         on_sent=lambda: journal.record(f"upload:{index}", "sent"))
        return self._message_id(self.call_json("POST", method, content=iter(body), headers=body.headers))

    def _one(self, stack: ExitStack, caption: str, media: Media) -> tuple[str, dict[str, Any], list[FilePart]]:
        method, field = _SINGLE[media.kind]
        fields: dict[str, Any] = {"caption": caption}
        files = [self._file(field, media)]
        if media.kind == "video":
            fields |= _video_fields(media)
            thumbnail = self._thumbnail(stack, media)
            if thumbnail is not None:
                fields["thumbnail"] = "attach://cover"
                files.append(FilePart("cover", thumbnail, "cover.jpg", "image/jpeg"))
        return method, fields, files

    def _album(self, part: Part) -> tuple[str, dict[str, Any], list[FilePart]]:
        files, items = [], []
        for number, media in enumerate(part.media):
            files.append(self._file(f"file{number}", media))
            item = {"type": "video" if media.kind == "video" else "photo", "media": f"attach://file{number}"}
            if media.kind == "video":
                item |= _video_fields(media)
            if number == 0:
                item["caption"] = part.text
            items.append(item)
        return "sendMediaGroup", {"media": json.dumps(items)}, files

    def _file(self, field: str, media: Media) -> FilePart:
        path = local_path(self.platform, media)
        limit = int(self.account.options.get("max_upload_mb") or UPLOAD_MB)
        if path.stat().st_size > limit * 1024 * 1024:
            raise Permanent(f"{path.name} is {path.stat().st_size / 1024 / 1024:.0f} MB; the Bot API takes files up "
                            f"to {limit} MB (a local Bot API server takes 2000: set max_upload_mb)",
                            platform=self.platform)
        mime = media.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FilePart(field, path, path.name, mime)

    def _thumbnail(self, stack: ExitStack, media: Media) -> Path | None:
        """The cover as the JPEG Telegram asks for, in a temporary file for the request's lifetime."""
        from promo.platforms.covers import cover_jpeg

        data = cover_jpeg(self.platform, media, THUMBNAIL_SIDE, THUMBNAIL_BYTES)
        if data is None:
            return None
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="promo-cover-")))
        (folder / "cover.jpg").write_bytes(data)
        return folder / "cover.jpg"

    def _message_id(self, answer: Any) -> str:
        result = answer["result"]
        first = result[0] if isinstance(result, list) else result
        return str(first["message_id"])

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        body = json_object(response)
        reason = str(body.get("description") or response.reason_phrase)
        retry_after = (body.get("parameters") or {}).get("retry_after")
        raise error_for_status(self.platform, response.status_code, reason, response.headers, retry_after)


def _video_fields(media: Media) -> dict[str, Any]:
    """What sendVideo (and an album's InputMediaVideo) take of a probed video."""
    fields: dict[str, Any] = {"supports_streaming": True}
    if media.width and media.height:
        fields |= {"width": media.width, "height": media.height}
    if media.duration_s:
        fields["duration"] = math.ceil(media.duration_s)
    return fields


def _form(value: Any) -> str:
    """A form field's text: booleans as the Bot API spells them."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _found(journal: Journal, index: int) -> PartFound:
    if was_attempted(journal, index) and journal.get(f"upload:{index}") == "started":
        return NotPublished(f"the upload of part {index} was cut off before its last byte: Telegram cannot have it")
    return unknowable(journal, index, _NO_HISTORY)


SPEC = PlatformSpec(
    "telegram", "Telegram", TelegramAdapter, TelegramRules,
    credentials=("bot_token",), required_options=("chat_id",), options=("max_upload_mb",),
    default_base_url="https://api.telegram.org",
)
