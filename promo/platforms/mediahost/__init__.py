"""The media host: public URLs for networks that fetch media themselves (Instagram, Threads, TikTok's PULL_FROM_URL).

Those networks take an ``image_url`` / ``video_url`` and download the file from there, so promo
must put the campaign's media somewhere public first. A ``MediaHost`` answers one question::

    host.url_for(platform, media, *, expires_s=None) -> str     # a URL the platform can GET now
    host.url_for_file(platform, path, *, expires_s=None) -> str  # the same for a file (a Reel's cover)
    host.check() -> str                                          # `promo accounts check`: reachable, writable

Two backends:

- ``S3Host`` (``promo.platforms.mediahost.s3``): an S3-compatible bucket (AWS S3, Cloudflare R2,
  MinIO, GCS interoperability) through boto3 with ``endpoint_url``. Files are staged ahead of
  their post by the beat (``promo.engine.staging``, ``media_stage_ahead``) and checked again at publish
  time, as the adapter's first step, under content-addressed keys (``<prefix><sha256>.<ext>``):
  HEAD before PUT, so the same featurette is uploaded once for every network and every retry; big
  files go up as a multipart upload streamed from disk, resumed after a crash from the parts S3
  already holds. The URL handed to the platform is a presigned GET that expires after
  ``expires_s`` (default the ``media_host_url_ttl`` setting): the bucket itself stays private.
- ``StaticHost``: a folder the operator serves themselves at a base URL (``media_host_base_url``,
  or Threads' per-account ``media_base_url``); the URL is ``<base>/<file name>``, nothing is uploaded.

``host_from_settings(settings)`` builds the configured one (or None); adapters receive it as
``BaseAdapter.media_host`` and call ``hosted(platform, host, base_url)`` to get a host or a
``Permanent`` error naming the setting to add. Every host error is a ``PublishError``: nothing a
host does publishes anything, so none is ``Ambiguous``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from promo.errors import Permanent

if TYPE_CHECKING:
    from promo.posts import Media
    from promo.settings import Settings

__all__ = ["FETCH_BY_URL", "MediaHost", "StaticHost", "host_from_settings", "hosted", "needs_host"]
FETCH_BY_URL = ("instagram",)  # platforms whose every post is media fetched by URL


class MediaHost(Protocol):
    """Where a platform fetches a post's media from."""

    def url_for(self, platform: str, media: Media, *, expires_s: float | None = None) -> str:
        """A URL serving ``media``'s file, valid for at least ``expires_s`` seconds (uploading it first if needed)."""
        ...

    def url_for_file(self, platform: str, path: Path, *, expires_s: float | None = None) -> str:
        """``url_for`` for a local file that is not a ``Media`` (a cover image)."""
        ...

    def check(self) -> str:
        """A read-and-write probe for ``promo accounts check``: what was proven, or a PublishError."""
        ...


class StaticHost:
    """A folder the operator serves at ``base_url``: the URL is ``<base_url>/<file name>``; no upload."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url_for(self, platform: str, media: Media, *, expires_s: float | None = None) -> str:
        return self.url_for_file(platform, Path(media.path), expires_s=expires_s)

    def url_for_file(self, platform: str, path: Path, *, expires_s: float | None = None) -> str:
        return f"{self.base_url}/{quote(path.name)}"

    def check(self) -> str:
        return f"static base URL {self.base_url} (served by you: promo uploads nothing)"


def hosted(platform: str, host: MediaHost | None, base_url: object = None) -> MediaHost:
    """The host to use: an account's own ``base_url`` (Threads' ``media_base_url``) first, else the configured one."""
    if base_url:
        return StaticHost(str(base_url))
    if host is None:
        raise Permanent(
            f"{platform} fetches media by public URL and no media host is configured: set media_host_bucket "
            "(an S3-compatible bucket) or media_host_base_url in [promo] (docs/media-host.md)",
            platform=platform,
        )
    return host


def host_from_settings(settings: Settings) -> MediaHost | None:
    """The media host the settings configure: S3 when ``media_host_bucket`` is set, else static, else None."""
    if settings.media_host_bucket:
        from promo.platforms.mediahost.s3 import S3Config, S3Host

        return S3Host(S3Config.from_settings(settings))
    if settings.media_host_base_url:
        return StaticHost(settings.media_host_base_url)
    return None


def needs_host(platform: str, options: Mapping[str, Any]) -> bool:
    """Whether an account relies on the configured host: Instagram always, any account with ``media_host = true``,
    unless it serves its own folder (``media_base_url``)."""
    if options.get("media_base_url"):
        return False
    return platform in FETCH_BY_URL or str(options.get("media_host", "")).lower() in ("true", "1", "yes")
