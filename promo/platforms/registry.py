"""The platforms promo knows: one explicit list of platform modules, each contributing its ``SPEC``.

Adding a platform: write ``promo/platforms/<name>.py`` (adapter and ``SPEC``) and
``promo/rules/<name>.py`` (its counting and limits), add the module to ``_MODULES`` below, add its
templates and its page in docs/platforms/. Importing this loads no client library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promo.errors import ConfigError
from promo.platforms import (
    bluesky,
    discord,
    facebook,
    instagram,
    linkedin,
    mastodon,
    outbox,
    reddit,
    slack,
    telegram,
    threads,
    tiktok,
    webhook,
    x,
    youtube,
)
from promo.platforms.base import PlatformSpec
from promo.rules import Rules

_MODULES = (x, mastodon, bluesky, threads, linkedin, facebook, telegram, discord, slack, webhook, outbox,
            reddit, tiktok, instagram, youtube)

PLATFORMS: dict[str, PlatformSpec] = {module.SPEC.name: module.SPEC for module in _MODULES}


def spec_for(platform: str) -> PlatformSpec:
    try:
        return PLATFORMS[platform]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise ConfigError(f"unknown platform {platform!r} (known: {known})") from None


def rules_for(platform: str, options: Mapping[str, Any] | None = None) -> Rules:
    """The rules of ``platform``, configured by an account's options (e.g. Mastodon max_characters)."""
    rules: Rules = spec_for(platform).rules(dict(options or {}))
    return rules
