"""``promo check``: one text against one platform's rules, with N stand-in images attached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promo.platforms.registry import rules_for
from promo.posts import Media, Post
from promo.rules.bluesky import facets


def check_text(platform: str, text: str, media_count: int = 0,
               options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{platform, length, limit, over, ok, problems}``: ``over`` is how many the text is over its
    limit (0 if it fits). Bluesky adds ``facets`` with UTF-8 byte offsets."""
    rules = rules_for(platform, options)
    media = tuple(Media(f"image-{n + 1}.png", "image", 0, "image/png") for n in range(media_count))
    report = rules.check(Post.single(platform, "check", text, *media))
    result: dict[str, Any] = {
        "platform": platform, "length": report.length, "limit": report.limit,
        "over": max(0, report.length - report.limit), "ok": report.ok,
        "problems": [p.to_dict() for p in report.problems],
    }
    if platform == "bluesky":
        result["facets"] = [{"byteStart": f.byte_start, "byteEnd": f.byte_end, "kind": f.kind,
                             "value": f.value} for f in facets(text)]
    return result
