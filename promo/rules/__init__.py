"""Platform rules as pure functions: counting, limits, media. No I/O, no credentials.

``rules_for("x").check(post)`` -> ``Report(length, limit, problems)``. Each platform's rules live in
their own module with the limits as data next to the name. Only the module asked for is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from promo.posts import Part, Post, Report

_MODULES = {
    "x": "promo.rules.x:XRules",
    "mastodon": "promo.rules.mastodon:MastodonRules",
    "bluesky": "promo.rules.bluesky:BlueskyRules",
    "threads": "promo.rules.threads:ThreadsRules",
    "linkedin": "promo.rules.linkedin:LinkedInRules",
    "facebook": "promo.rules.facebook:FacebookRules",
    "telegram": "promo.rules.telegram:TelegramRules",
    "discord": "promo.rules.discord:DiscordRules",
    "slack": "promo.rules.slack:SlackRules",
    "webhook": "promo.rules.webhook:WebhookRules",
    "outbox": "promo.rules.outbox:OutboxRules",
}


class Rules(Protocol):
    platform: str
    limit: int

    def length(self, text: str) -> int: ...

    def limit_for(self, part: Part) -> int:
        """The length limit of one part (Telegram: 1,024 when media is attached)."""
        ...

    def check(self, post: Post) -> Report: ...


def rules_for(platform: str, options: Mapping[str, Any] | None = None) -> Rules:
    """The rules of ``platform``, configured by an account's options (e.g. Mastodon max_characters)."""
    from promo.errors import ConfigError

    try:
        module_name, _, class_name = _MODULES[platform].partition(":")
    except KeyError:
        raise ConfigError(f"unknown platform {platform!r}") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    rules: Rules = cls(dict(options or {}))
    return rules
