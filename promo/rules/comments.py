"""A thread as a post and comments on it (LinkedIn, Facebook): the rules of the later parts.

Neither network chains posts, so their adapters post a thread's first part as the post and each
later part as a comment on it, each comment journaled like a thread's reply
(``promo.platforms.progress.send_parts``), so a crash between two never sends one twice. A later
part is checked as the comment it becomes: the comment's own length limit (``comment_limit``,
counted like the post), and text only, since promo attaches no media to a comment. Preview notes
that the later parts go out as comments.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from promo.posts import Part, Post, Problem, Report
from promo.rules.base import TextRules


class CommentRules(TextRules):
    comments = True
    comment_limit: ClassVar[int] = 0
    comment_source: ClassVar[str] = ""    # "unverified" where no primary source gives the figure

    def check(self, post: Post) -> Report:
        report = super().check(post)
        if len(post.parts) < 2:
            return report
        note = (f"{self.title}: the later parts go out as comments on the post (text only, at most "
                f"{self.comment_limit:,} characters each)")
        return replace(report, notes=(*report.notes, note))

    def part_problems(self, part: Part, index: int, length: int) -> list[Problem]:
        if index == 0:
            return super().part_problems(part, index, length)
        problems = []
        if not part.text.strip():
            problems.append(Problem("empty", f"{self.where(index)}a comment needs text", index))
        elif length > self.comment_limit:
            problems.append(Problem("too_long", self.too_long_message(part, index, length, self.comment_limit),
                                    index))
        if part.media:
            problems.append(Problem("comment_media", f"{self.where(index)}a comment carries text only: move "
                                    "the media to the first part", index))
        return problems

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        if index == 0:
            return super().too_long_message(part, index, length, limit)
        source = f", {self.comment_source}" if self.comment_source else ""
        return f"{self.where(index)}comment {length}/{limit} (a comment's limit is {limit:,}{source})"
