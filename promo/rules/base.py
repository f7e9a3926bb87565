"""The shared shape of a platform's rules: limits as class attributes, one ``check`` for all.

A platform module subclasses ``TextRules``, names itself, sets its limits and, if its counting is
not plain code points, overrides ``length``. Extra rules (Bluesky's byte limit, Threads' links)
go in ``extra_problems``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from promo.posts import Part, Post, Problem, Report
from promo.rules.counting import MediaRules, media_problems


class TextRules:
    platform: ClassVar[str] = ""
    title: ClassVar[str] = ""
    limit: int = 0
    threads: ClassVar[bool] = False       # replies chain natively (X, Mastodon, Bluesky, Threads)
    multipart: ClassVar[bool] = False     # parts may go out as consecutive messages
    comments: ClassVar[bool] = False      # later parts go out as comments on the post (``CommentRules``)
    media_rules: ClassVar[MediaRules] = MediaRules(0, {})
    unit: ClassVar[str] = ""              # shown after the numbers: "bytes", "graphemes"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    def length(self, text: str) -> int:
        return len(text)

    def wire_text(self, text: str) -> str:
        """A part's text as the platform receives it; most take it as it is (LinkedIn: little text)."""
        return text

    def wire(self, post: Post) -> Post:
        """``post`` as it goes on the wire: what preview shows, apply stores and the adapter sends."""
        parts = tuple(replace(part, text=self.wire_text(part.text)) for part in post.parts)
        return post if parts == post.parts else replace(post, parts=parts)

    def limit_for(self, part: Part) -> int:
        """The length limit of one part (Telegram: smaller when media is attached)."""
        return self.limit

    def check(self, post: Post) -> Report:
        problems: list[Problem] = []
        if len(post.parts) > 1 and not (self.threads or self.multipart or self.comments):
            problems.append(Problem(
                "no_threads", f"{self.title} has no threads; remove the thread or skip this platform", 1))
        first_length = 0
        for index, part in enumerate(post.parts):
            length = self.length(part.text)
            if index == 0:
                first_length = length
            problems.extend(self.part_problems(part, index, length))
        first_limit = self.limit_for(post.parts[0]) if post.parts else self.limit
        return Report(self.platform, first_length, first_limit, tuple(problems))

    def part_problems(self, part: Part, index: int, length: int) -> list[Problem]:
        if not part.text.strip() and not part.media:
            return [Problem("empty", f"{self.where(index)}nothing to post", index)]
        problems = []
        limit = self.limit_for(part)
        if length > limit:
            problems.append(Problem("too_long", self.too_long_message(part, index, length, limit), index))
        problems.extend(self.extra_problems(part, index))
        problems.extend(media_problems(self.title, part.media, self.media_rules, index))
        return problems

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.where(index)}{length}/{limit}{unit}"

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        return []

    def where(self, index: int) -> str:
        return f"{self.title}: " if index == 0 else f"{self.title}: part {index + 1}: "
