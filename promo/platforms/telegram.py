"""Telegram channel through the Bot API (plain httpx): messages, photos, videos and albums.

``POST {base}/bot<token>/sendMessage`` answers ``{"ok": true, "result": {"message_id": ...}}``.
A thread is a chain of replies (``reply_parameters``). Media go as ``sendPhoto`` / ``sendVideo``
(one file) or ``sendMediaGroup`` (2-10) with the text as caption (at most 1,024 characters).
The Bot API cannot read a channel's history: a timeout after sending is unconfirmed for good.
Requests go to ``{base_url}/bot<token>/<method>``; ``base_url`` defaults to ``https://api.telegram.org``
(or a local Bot API server's address).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status
from promo.platforms.http import HttpAdapter, json_object, redact
from promo.platforms.media import media_file
from promo.platforms.progress import lookup_parts, send_parts, unknowable
from promo.posts import Journal, Lookup, Media, Part, Post, Published
from promo.rules.telegram import TelegramRules

if TYPE_CHECKING:
    import httpx

_NO_HISTORY = "the Bot API cannot read a channel's history: check the channel by hand"
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
        ids = send_parts(post, journal, self._send)
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Parts in the journal are published; a part sent without an answer cannot be told."""
        return lookup_parts(post, journal, lambda index, part, previous: unknowable(journal, index, _NO_HISTORY),
                            self._published)

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

    def _send(self, index: int, part: Part, previous: str | None) -> str:
        common: dict[str, Any] = {"chat_id": self.chat_id}
        if previous is not None:
            common["reply_parameters"] = json.dumps({"message_id": int(previous)})
        if not part.media:
            body = {**common, "text": part.text, "link_preview_options": {"is_disabled": False}}
            if previous is not None:
                body["reply_parameters"] = {"message_id": int(previous)}
            return self._message_id(self.call_json("POST", "sendMessage", json=body))
        if len(part.media) == 1:
            return self._send_one(common, part.text, part.media[0])
        return self._send_album(common, part)

    def _send_one(self, common: dict[str, Any], caption: str, media: Media) -> str:
        method, field = _SINGLE[media.kind]
        name, data, mime = media_file(self.platform, media)
        answer = self.call_json(
            "POST", method, data={**common, "caption": caption}, files={field: (name, data, mime)}
        )
        return self._message_id(answer)

    def _send_album(self, common: dict[str, Any], part: Part) -> str:
        files, items = {}, []
        for number, media in enumerate(part.media):
            name, data, mime = media_file(self.platform, media)
            files[f"file{number}"] = (name, data, mime)
            item = {"type": "video" if media.kind == "video" else "photo", "media": f"attach://file{number}"}
            if number == 0:
                item["caption"] = part.text
            items.append(item)
        answer = self.call_json(
            "POST", "sendMediaGroup", files=files, data={**common, "media": json.dumps(items)}
        )
        return self._message_id(answer)

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


SPEC = PlatformSpec(
    "telegram", "Telegram", TelegramAdapter, TelegramRules,
    credentials=("bot_token",), required_options=("chat_id",), default_base_url="https://api.telegram.org",
)
