"""Media staging: upload the media of posts due soon to the media host before their publish (issue 15).

Instagram, Threads (with the media host) and TikTok's ``PULL_FROM_URL`` fetch media from a URL the
adapter gets from the media host, which uploads the file first (docs/media-host.md). For a trailer
that upload is minutes inside the publish. ``stage_due_media`` does it ahead of time: it reads the
``scheduled`` posts due within ``ahead`` (one read transaction, closed before any upload), keeps the
media files their account will have fetched by URL, and uploads each file once under its
content-addressed key (HEAD, then PUT only if the bucket lacks it). The publish then finds the key
by its own HEAD and uploads nothing; its presigned URL is still made at publish time, so it lasts
``media_host_url_ttl`` from then.

Nothing here fails a post: a missing file or a host error is one line in the log and the file is
left to the publish, which uploads it if it can (or fails the post with the usual reason). Only the
S3 backend uploads; with the static backend, an account's ``media_base_url`` or no host, there is
nothing to stage. No Celery here: the beat's ``stage-media`` tick calls this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from promo.accounts import Account
from promo.platforms.media import resolve
from promo.platforms.mediahost import MediaHost, needs_host
from promo.platforms.mediahost.s3 import S3Host
from promo.posts import Media, Post
from promo.store import states
from promo.store.db import transaction
from promo.store.tables import Campaign as CampaignRow
from promo.store.tables import PostRow
from promo.times import utcnow

log = logging.getLogger("promo.engine.staging")

# The adapters that take a URL from the media host (``hosted(...)``); every other platform uploads itself.
HOSTED_PLATFORMS = ("instagram", "threads", "tiktok")
UPLOADED, PRESENT, MISSING, FAILED = "uploaded", "already on the host", "missing", "failed"


@dataclass(frozen=True)
class Staged:
    """One file of one post: what staging did with it (``UPLOADED``, ``PRESENT``, ``MISSING``, ``FAILED``)."""

    post_id: int
    account: str
    path: Path
    outcome: str
    detail: str = ""


def stage_due_media(db: Engine, accounts: Mapping[str, Account], host: MediaHost | None, *, ahead: timedelta,
                    now: datetime | None = None, stop: Callable[[], bool] = lambda: False) -> list[Staged]:
    """Upload the files of ``scheduled`` posts due within ``ahead`` that will be fetched by URL; one log line each.

    Each file is handled once per call, whichever posts share it. ``stop`` is asked between files
    (the beat's stop signal). Never raises for a file: its error is logged and left to the publish.
    """
    if not isinstance(host, S3Host) or ahead <= timedelta(0):
        return []
    done: list[Staged] = []
    seen: set[Path] = set()
    for post_id, account, path in _due_files(db, accounts, (now or utcnow()), ahead):
        if stop():
            break
        if path in seen:
            continue
        seen.add(path)
        staged = _stage(host, post_id, account, path)
        _log(staged)
        done.append(staged)
    return done


def _due_files(db: Engine, accounts: Mapping[str, Account], now: datetime,
               ahead: timedelta) -> Iterator[tuple[int, str, Path]]:
    """``(post id, account, file)`` for each file a due post's account fetches by URL, soonest post first."""
    with transaction(db) as session:
        rows = session.execute(
            select(PostRow.id, PostRow.account, PostRow.platform, PostRow.payload, CampaignRow.source)
            .outerjoin(CampaignRow, CampaignRow.id == PostRow.campaign_id)
            .where(PostRow.status == states.SCHEDULED, PostRow.due_at > now, PostRow.due_at <= now + ahead)
            .order_by(PostRow.due_at, PostRow.id)
        ).all()
    for post_id, name, platform, payload, source in rows:
        account = accounts.get(name)
        if account is None or account.platform != platform or not _uses_host(account):
            continue
        root = str(Path(source).parent) if source else ""
        post = Post.from_payload(platform, name, payload, media_root=root)
        for part in post.parts:
            for media in part.media:
                for path in _files(account, media):
                    yield post_id, name, path


def _uses_host(account: Account) -> bool:
    """Whether the account's adapter gets its media URLs from the configured host (not its own folder)."""
    return (account.adapter is None and account.platform in HOSTED_PLATFORMS
            and needs_host(account.platform, account.options))


def _files(account: Account, media: Media) -> list[Path]:
    """The files of one media the adapter hands out by URL: TikTok pulls photos, and videos only with
    ``source = "pull"``; Instagram also hands out a Reel's cover image."""
    if account.platform == "tiktok" and media.kind != "image" and account.options.get("source") != "pull":
        return []
    files = [resolve(media)]
    if account.platform == "instagram" and media.kind == "video" and media.cover and media.cover_time is None:
        files.append(resolve(media, media.cover))
    return files


def _stage(host: S3Host, post_id: int, account: str, path: Path) -> Staged:
    from botocore.exceptions import BotoCoreError, ClientError

    if not path.is_file():
        return Staged(post_id, account, path, MISSING, "not found; the publish will fail it if it is still missing")
    try:
        key = host.key_for(path)
        if _stored_size(host, key) == path.stat().st_size:
            return Staged(post_id, account, path, PRESENT, key)
        host.upload(path)
        return Staged(post_id, account, path, UPLOADED, key)
    except (OSError, ClientError, BotoCoreError) as exc:
        return Staged(post_id, account, path, FAILED, f"{type(exc).__name__}: {exc}; left to the publish")


def _stored_size(host: S3Host, key: str) -> int | None:
    """The size the bucket holds under ``key``, or None (a HEAD, as ``S3Host.upload`` does first)."""
    from botocore.exceptions import ClientError

    try:
        head = host.client.head_object(Bucket=host.config.bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return int(head.get("ContentLength", -1))


def _log(staged: Staged) -> None:
    # A staged file is found again at every run until its post is published: that line is DEBUG.
    level = {UPLOADED: logging.INFO, PRESENT: logging.DEBUG}.get(staged.outcome, logging.WARNING)
    log.log(level, "media staging: post %s (%s): %s: %s (%s)", staged.post_id, staged.account, staged.path.name,
            staged.outcome, staged.detail)
