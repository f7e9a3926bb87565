"""Reddit: a title of 300 characters, then a link, a text body (40,000 characters), an image or a video.

A Reddit post is written as one text: its **first line is the title**, the rest (after the line
break) the body. What is submitted follows from the post (``submission_kind``): a video or an image
attached makes a video or image post (the body, if any, goes with it); else a body that is one URL
and nothing more makes a link post; else a text ("self") post with the body as its Markdown.

These are Reddit's fixed limits, checked in preview without I/O. Each subreddit adds its own
(``post_requirements``: title lengths, required flair, body policy, allowed domains; and which kinds
of post it takes): ``requirement_problems`` checks those, pure, against what the adapter read from
Reddit just before submitting, and ``promo apply`` against the copy ``promo accounts check`` cached
(``requirements_summary`` is its one line). Figures: docs/platforms/reddit.md#limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from promo.posts import Part, Problem
from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules
from promo.rules.video import MP4_MOV, VideoRules

TITLE_LIMIT = 300
BODY_LIMIT = 40_000
_URL = re.compile(r"^https?://\S+$")

# Video limits: docs/platforms/reddit.md#video-limits (Reddit Help, "Uploading videos"; unverified).
VIDEO = VideoRules(max_duration_s=15 * 60, max_bytes=1000 * MB, containers=MP4_MOV, verified=False, cover=True)


def split(text: str) -> tuple[str, str]:
    """``(title, body)``: the first line, and the rest with its blank edges trimmed."""
    title, _, body = text.partition("\n")
    return title.strip(), body.strip()


def submission_kind(part: Part) -> str:
    """``video``, ``image``, ``link`` or ``self``: what this part is submitted as."""
    kinds = {m.kind for m in part.media}
    if "video" in kinds:
        return "video"
    if kinds & {"image", "gif"}:
        return "image"
    return "link" if _URL.match(split(part.text)[1]) else "self"


class RedditRules(TextRules):
    platform = "reddit"
    title = "Reddit"
    limit = TITLE_LIMIT
    unit = "title characters"
    # One image (a GIF is an image post) or one video per post; galleries are not sent.
    media_rules = MediaRules(1, {"image": 20 * MB, "gif": 100 * MB, "video": 1000 * MB}, mixed=False, video=VIDEO)

    def length(self, text: str) -> int:
        return len(split(text)[0])

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        title, body = split(part.text)
        problems = []
        if not title:
            problems.append(Problem("empty", f"{self.where(index)}no title: the first line is the post's title",
                                    index))
        if len(body) > BODY_LIMIT:
            problems.append(Problem("too_long", f"{self.where(index)}body {len(body):,}/{BODY_LIMIT:,} characters",
                                    index))
        if self.options.get("flair_text") and not self.options.get("flair_id"):
            problems.append(Problem("flair", f"{self.where(index)}flair_text needs flair_id (the flair "
                                             "template's id) on the account", index))
        return problems


def requirement_problems(rules: Mapping[str, Any], part: Part, *, flair_id: str | None = None,
                         allowed: Mapping[str, bool] | None = None) -> list[str]:
    """What the subreddit's own rules (``post_requirements``, and ``allowed`` kinds) refuse in ``part``."""
    title, body = split(part.text)
    kind = submission_kind(part)
    found = _title_problems(rules, title)
    found += _body_problems(rules, body if kind != "link" else "", kind)
    if kind == "link":
        found += _domain_problems(rules, body)
    if rules.get("is_flair_required") and not flair_id:
        found.append("the subreddit requires post flair: set flair_id on the account")
    if allowed is not None and not allowed.get(kind, True):
        found.append(f"the subreddit does not take {kind} posts")
    return found


def _title_problems(rules: Mapping[str, Any], title: str) -> list[str]:
    found = []
    low, high = rules.get("title_text_min_length"), rules.get("title_text_max_length")
    if low and len(title) < int(low):
        found.append(f"title {len(title)} characters, the subreddit's minimum is {low}")
    if high and len(title) > int(high):
        found.append(f"title {len(title)} characters, the subreddit's maximum is {high}")
    lowered = title.lower()
    for word in rules.get("title_required_strings") or ():
        if str(word).lower() not in lowered:
            found.append(f"the title must contain {word!r}")
    for word in rules.get("title_blacklisted_strings") or ():
        if str(word).lower() in lowered:
            found.append(f"the title may not contain {word!r}")
    for pattern in rules.get("title_regexes") or ():
        if not _matches(str(pattern), title):
            found.append(f"the title must match {pattern!r}")
    return found


def _body_problems(rules: Mapping[str, Any], body: str, kind: str) -> list[str]:
    policy = rules.get("body_restriction_policy") or "none"
    found = []
    if policy == "required" and kind == "self" and not body:
        found.append("the subreddit requires a body: add text after the title line")
    if policy == "notAllowed" and body:
        found.append("the subreddit takes no body text: keep only the title line")
    low, high = rules.get("body_text_min_length"), rules.get("body_text_max_length")
    if body and low and len(body) < int(low):
        found.append(f"body {len(body)} characters, the subreddit's minimum is {low}")
    if body and high and len(body) > int(high):
        found.append(f"body {len(body)} characters, the subreddit's maximum is {high}")
    lowered = body.lower()
    for word in rules.get("body_required_strings") or ():
        if body and str(word).lower() not in lowered:
            found.append(f"the body must contain {word!r}")
    for word in rules.get("body_blacklisted_strings") or ():
        if str(word).lower() in lowered:
            found.append(f"the body may not contain {word!r}")
    return found


def _domain_problems(rules: Mapping[str, Any], url: str) -> list[str]:
    host = (urlsplit(url).hostname or "").lower()

    def listed(domains: Any) -> bool:
        return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains or ())

    if rules.get("domain_whitelist") and not listed(rules["domain_whitelist"]):
        return [f"the subreddit takes links only to {', '.join(rules['domain_whitelist'])} (not {host})"]
    if listed(rules.get("domain_blacklist")):
        return [f"the subreddit refuses links to {host}"]
    return []


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True  # a pattern Python cannot read: Reddit decides


def requirements_summary(rules: Mapping[str, Any], allowed: Mapping[str, bool] | None = None) -> str:
    """The subreddit's rules in a few words: title lengths, required flair, body policy, domains, kinds."""
    facts = []
    low, high = rules.get("title_text_min_length"), rules.get("title_text_max_length")
    if low or high:
        facts.append(f"title {low or 1}-{high or TITLE_LIMIT} characters")
    if rules.get("is_flair_required"):
        facts.append("flair required")
    policy = rules.get("body_restriction_policy")
    if policy and policy != "none":
        facts.append(f"body {policy}")
    if rules.get("domain_whitelist"):
        facts.append(f"links only to {', '.join(rules['domain_whitelist'])}")
    if allowed is not None and not all(allowed.values()):
        facts.append(f"takes {', '.join(k for k, ok in allowed.items() if ok) or 'no'} posts")
    return "; ".join(facts) or "no extra rules"
