"""Platform rules as pure functions: counting, limits, media. No I/O, no credentials.

Each platform's rules live in their own module (``promo/rules/<name>.py``) as a ``TextRules``
subclass with the limits as data next to the name; its platform's ``SPEC`` names the class, and
``promo.platforms.registry.rules_for(platform, options)`` builds it. ``Rules`` is the interface
preview and overflow use: ``check(post)`` -> ``Report(length, limit, problems)``.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from promo.posts import Part, Post, Report


class Rules(Protocol):
    platform: ClassVar[str]
    limit: int

    def length(self, text: str) -> int: ...

    def limit_for(self, part: Part) -> int:
        """The length limit of one part (Telegram: 1,024 when media is attached)."""
        ...

    def check(self, post: Post) -> Report: ...

    def wire(self, post: Post) -> Post:
        """``post`` with each part's text as the platform receives it (LinkedIn escapes little text)."""
        ...
