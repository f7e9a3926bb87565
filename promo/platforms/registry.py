"""The platforms promo knows, as data: no client library is imported here.

Each entry names the adapter class (imported only when publishing), the credentials an account
needs (read from the environment, never from files) and the options it may set in promo.toml.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    title: str
    adapter: str                       # "module:Class", imported lazily
    credentials: tuple[str, ...] = ()  # secrets, from PROMO_ACCOUNT_<NAME>_<CREDENTIAL>
    required_options: tuple[str, ...] = ()
    options: tuple[str, ...] = ()      # optional, non-secret
    default_base_url: str | None = None


PLATFORMS: dict[str, PlatformSpec] = {
    spec.name: spec
    for spec in (
        PlatformSpec("x", "X", "promo.platforms.x:XAdapter",
                     ("api_key", "api_secret", "access_token", "access_token_secret"),
                     ("handle",), ("user_id", "upload_base_url"), "https://api.twitter.com"),
        PlatformSpec("mastodon", "Mastodon", "promo.platforms.mastodon:MastodonAdapter",
                     ("access_token",), (), ("max_characters",), "https://mastodon.social"),
        PlatformSpec("bluesky", "Bluesky", "promo.platforms.bluesky:BlueskyAdapter",
                     ("app_password",), ("handle",), (), "https://bsky.social"),
        PlatformSpec("threads", "Threads", "promo.platforms.threads:ThreadsAdapter",
                     ("access_token",), ("user_id",), ("username", "media_base_url"), "https://graph.threads.net/v1.0"),
        PlatformSpec("linkedin", "LinkedIn", "promo.platforms.linkedin:LinkedInAdapter",
                     ("access_token",), ("author",), ("version",), "https://api.linkedin.com"),
        PlatformSpec("facebook", "Facebook Page", "promo.platforms.facebook:FacebookAdapter",
                     ("page_token",), ("page_id",), ("graph_version",), "https://graph.facebook.com"),
        PlatformSpec("telegram", "Telegram", "promo.platforms.telegram:TelegramAdapter",
                     ("bot_token",), ("chat_id",), (), "https://api.telegram.org"),
        PlatformSpec("discord", "Discord", "promo.platforms.discord:DiscordAdapter",
                     ("webhook_url",), (), ("username",), None),
        PlatformSpec("slack", "Slack", "promo.platforms.slack:SlackAdapter",
                     ("webhook_url",), (), (), None),
        PlatformSpec("webhook", "Webhook", "promo.platforms.webhook:WebhookAdapter",
                     ("signing_secret",), ("url",), (), None),
        PlatformSpec("outbox", "Outbox (local file)", "promo.platforms.outbox:OutboxAdapter",
                     (), (), ("path",), None),
    )
}


def spec_for(platform: str) -> PlatformSpec:
    from promo.errors import ConfigError

    try:
        return PLATFORMS[platform]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise ConfigError(f"unknown platform {platform!r} (known: {known})") from None
