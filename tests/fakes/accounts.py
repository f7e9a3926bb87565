"""Accounts, posts and media for adapter tests: accounts point at a fake server through base_url."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from promo.accounts import Account
from promo.platforms.base import build_adapter
from promo.posts import Media, Part, Post

TEST_TIMEOUT = 1.0  # seconds: a fake told to hang sleeps longer than this; a loaded 2-core CI needs the room
HANG = 2.0
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
    b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


def make_account(
    platform: str, base_url: str | None, credentials: dict[str, str], name: str | None = None, **options: Any
) -> Account:
    return Account(
        name or f"test-{platform}",
        platform,
        base_url,
        options,
        {key: SecretStr(value) for key, value in credentials.items()},
    )


def adapter(account: Account, timeout: float = TEST_TIMEOUT, **kwargs: Any) -> Any:
    return build_adapter(account, timeout=timeout, **kwargs)


def image(tmp_path: Path, name: str = "poster.png", alt: str = "Jessica Jones poster") -> Media:
    path = tmp_path / name
    path.write_bytes(PNG)
    return Media(str(path), alt, len(PNG), "image/png")


def single(
    platform: str, text: str = "Season 3 is coming. Stream it June 14.", key: str = "k-1", *media: Media
) -> Post:
    return Post(platform, f"test-{platform}", (Part(text, tuple(media)),), key)


def thread(platform: str, count: int = 3, key: str = "k-thread") -> Post:
    parts = tuple(Part(f"Part {n + 1} of the Jessica Jones thread.") for n in range(count))
    return Post(platform, f"test-{platform}", parts, key)
