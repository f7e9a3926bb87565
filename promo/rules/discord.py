"""Discord (webhook): content up to 2,000 characters; up to 10 files, within the server's upload limit.

A server without boosts takes files of 10 MiB each and a request (the message with all its files) of
25 MiB; a boosted server takes more, and its account says how much with ``upload_limit_mib``: then
each file and the whole request may be that large (docs/platforms/discord.md#upload-limits, where
the boost figures are unverified). The adapter measures the request it builds and sends nothing
over the limit; preview refuses the same, counting ``request_bytes``: the files, the message as
JSON and the form's framing, an upper bound of what the adapter measures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from promo.errors import ConfigError
from promo.posts import Part, Problem
from promo.rules.base import TextRules
from promo.rules.counting import MIB, MediaRules
from promo.rules.video import VideoRules

FILE_LIMIT = 10 * MIB       # each file, on a server without boosts
REQUEST_LIMIT = 25 * MIB    # the whole request, on a server without boosts
_KINDS = ("image", "gif", "video", "other")
_FORM_BYTES = 256           # the payload_json part's head and the closing boundary
_FILE_BYTES = 256           # one file part's head and line end, besides its name and type

# Video limits: docs/platforms/discord.md#video-limits (a video is a file attachment).
VIDEO = VideoRules(max_bytes=FILE_LIMIT, max_count=10, mix_with_images=True, verified=False)


def upload_limits(options: Mapping[str, Any]) -> tuple[int, int]:
    """The largest file and the largest request, in bytes, for an account's options."""
    value = options.get("upload_limit_mib")
    if value is None:
        return FILE_LIMIT, REQUEST_LIMIT
    try:
        mib = float(value)
    except (TypeError, ValueError):
        mib = 0.0
    if isinstance(value, bool) or not 0 < mib < 1_000_000:
        raise ConfigError(f"discord upload_limit_mib must be a positive number of MiB, not {value!r}")
    return int(mib * MIB), int(mib * MIB)


def request_bytes(part: Part, username: str = "") -> int:
    """At least the bytes of the multipart request that sends ``part`` with its files."""
    names = [m.path.rsplit("/", 1)[-1] for m in part.media]
    payload: dict[str, Any] = {"content": part.text, "allowed_mentions": {"parse": []}, "username": username,
                               "attachments": [{"id": n, "filename": name, "description": m.alt[:1024]}
                                               for n, (name, m) in enumerate(zip(names, part.media, strict=True))]}
    framing = _FORM_BYTES + sum(_FILE_BYTES + 3 * len(name.encode()) + len(m.mime or "application/octet-stream")
                                for name, m in zip(names, part.media, strict=True))
    return sum(m.size or 0 for m in part.media) + len(json.dumps(payload)) + framing


class DiscordRules(TextRules):
    platform = "discord"
    title = "Discord"
    limit = 2000
    multipart = True
    media_rules = MediaRules(10, dict.fromkeys(_KINDS, FILE_LIMIT), video=VIDEO)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.file_limit, self.request_limit = upload_limits(self.options)
        if self.file_limit != FILE_LIMIT:  # an instance attribute: the class's stays an unboosted server's
            self.media_rules = MediaRules(  # type: ignore[misc]
                10, dict.fromkeys(_KINDS, self.file_limit), video=replace(VIDEO, max_bytes=self.file_limit))

    def part_problems(self, part: Part, index: int, length: int) -> list[Problem]:
        return [replace(p, message=p.message + self._hint()) if p.code == "media_too_large" else p
                for p in super().part_problems(part, index, length)]

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        """The whole request over the upload limit (a file over it alone is already a problem)."""
        if not part.media or any((m.size or 0) > self.file_limit for m in part.media):
            return []
        size = request_bytes(part, str(self.options.get("username", "")))
        if size <= self.request_limit:
            return []
        return [Problem("media_too_large", f"{self.where(index)}the message with its files is "
                        f"{size / MIB:.1f} MiB, over the {self.request_limit / MIB:g} MiB upload limit", index)]

    def _hint(self) -> str:
        """Where the upload limit comes from, said after a problem with it."""
        if "upload_limit_mib" in self.options:
            return " (this account's upload_limit_mib)"
        return " (a boosted server takes more: set upload_limit_mib)"
