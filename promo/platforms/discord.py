"""Discord channel through a webhook (plain httpx): ``?wait=true`` so Discord answers with the message.

``POST {webhook_url}?wait=true`` with JSON ``content`` (at most 2,000 characters) and
``allowed_mentions: {"parse": []}`` (an announcement never pings @everyone), or multipart
``files[n]`` + ``payload_json`` (with ``attachments: [{id, filename, description}]``, the alt text)
for media, a video included, streamed from disk. The whole request must fit the server's upload
limit (``promo.rules.discord.upload_limits``: 25 MiB without boosts, else the account's
``upload_limit_mib``), the same figure preview checks: over it, nothing is sent.
A webhook cannot reply, so a thread's parts follow as separate messages. No idempotency and no
history: a timeout after sending is unconfirmed, but an upload cut off before its last byte (a
killed worker; the journal's ``upload:<i>`` still ``started``) cannot have made a message.
``base_url`` defaults to the webhook URL's own ``https://discord.com``; set, it replaces that
scheme and host (a fake in tests) and the webhook's path is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from promo.errors import Permanent
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status
from promo.platforms.http import FilePart, HookUrlAdapter, Multipart, error_message, json_object, secret_hook_url
from promo.platforms.media import local_path
from promo.platforms.progress import PartFound, lookup_parts, send_parts, unknowable
from promo.posts import Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.counting import MIB
from promo.rules.discord import DiscordRules, upload_limits

if TYPE_CHECKING:
    import httpx


_NO_HISTORY = "a Discord webhook cannot read a message without its id: check the channel by hand"
_CUT_OFF = NotPublished("the upload was cut off before its last byte: Discord cannot have the message")


class DiscordAdapter(HookUrlAdapter):
    platform = "discord"

    def hook_url(self) -> str:
        return secret_hook_url(self)

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(post, journal, lambda index, part, previous: self._send(journal, index, part))
        return Published(ids[0], journal.get("url"), tuple(ids[1:]))

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """Parts in the journal are published; a part sent without an answer (no id) cannot be told."""
        return lookup_parts(
            post, journal, lambda index, part, previous: _find(journal, index),
            lambda ids: Published(ids[0], journal.get("url"), tuple(ids[1:])),
        )

    def verify(self) -> str:
        hook = self.call_json("GET", "")
        return f"webhook {hook.get('name', hook.get('id'))} in channel {hook.get('channel_id')}"

    def _send(self, journal: Journal, index: int, part: Part) -> str:
        payload: dict[str, Any] = {"content": part.text, "allowed_mentions": {"parse": []}}
        if "username" in self.account.options:
            payload["username"] = str(self.account.options["username"])
        if part.media:
            message = self._send_files(journal, index, payload, part.media)
        else:
            message = self.call_json("POST", "", params={"wait": "true"}, json=payload)
        if index == 0 and message.get("guild_id"):
            journal.record(
                "url",
                f"https://discord.com/channels/{message['guild_id']}/{message['channel_id']}/{message['id']}",
            )
        return str(message["id"])

    def _send_files(self, journal: Journal, index: int, payload: dict[str, Any], media: tuple[Media, ...]) -> Any:
        """One multipart message: ``payload_json`` and each file streamed from disk as ``files[n]``."""
        files = [FilePart(f"files[{n}]", local_path(self.platform, m), local_path(self.platform, m).name,
                          m.mime or "application/octet-stream") for n, m in enumerate(media)]
        payload["attachments"] = [{"id": n, "filename": f.filename, "description": m.alt[:1024]}
                                  for n, (f, m) in enumerate(zip(files, media, strict=True))]
        body = Multipart([("payload_json", json.dumps(payload).encode(), "application/json")], files,
                         on_sent=lambda: journal.record(f"upload:{index}", "complete"))
        headers = body.headers
        _, limit = upload_limits(self.account.options)
        if int(headers["Content-Length"]) > limit:
            raise Permanent(f"the message with its files is {int(headers['Content-Length']) / MIB:.1f} MiB, "
                            f"over the webhook's {limit / MIB:g} MiB upload limit (set upload_limit_mib for a "
                            "boosted server, or send a smaller file)", platform=self.platform)
        journal.record(f"upload:{index}", "started")
        return self.call_json("POST", "", params={"wait": "true"}, content=body, headers=headers)

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        retry_after = json_object(response).get("retry_after") if response.status_code == 429 else None
        raise error_for_status(
            self.platform, response.status_code, _reason(response), response.headers, retry_after
        )


def _find(journal: Journal, index: int) -> PartFound:
    """A part sent without an answer cannot be told, unless its upload never reached its last byte."""
    return _CUT_OFF if journal.get(f"upload:{index}") == "started" else unknowable(journal, index, _NO_HISTORY)


def _reason(response: httpx.Response) -> str:
    """Discord's message plus its per-field errors: ``Invalid Form Body (content: Must be 2000 ...)``."""
    message = error_message(response)
    details = list(_field_errors(json_object(response).get("errors", {}), ""))
    return f"{message} ({'; '.join(details)})" if details else message


def _field_errors(tree: Any, where: str) -> Iterator[str]:
    if not isinstance(tree, dict):
        return
    for item in tree.get("_errors", []):
        yield f"{where or 'body'}: {item.get('message', item)}"
    for key, sub in tree.items():
        if key != "_errors":
            yield from _field_errors(sub, f"{where}.{key}".lstrip("."))


SPEC = PlatformSpec(
    "discord", "Discord", DiscordAdapter, DiscordRules, credentials=("webhook_url",),
    options=("username", "upload_limit_mib"),
)
