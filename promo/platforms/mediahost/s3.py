"""The S3-compatible media host: content-addressed uploads and presigned GET URLs, through boto3.

A file's key is ``<prefix><sha256 of its bytes>.<extension>``: the same featurette has one key for
every network, every account and every retry. ``url_for`` HEADs the key first and uploads only when
it is missing (or holds a different size); then it presigns a GET for ``expires_s`` seconds.

Uploads stream from disk. Up to ``multipart_threshold`` bytes: one PUT with the open file as its
body. Above it: a multipart upload in ``part_size`` pieces, one piece in memory at a time. A
worker killed mid-upload leaves the multipart upload open in the bucket; the next attempt finds it
by its key (``list_multipart_uploads``), asks which parts S3 already holds (``list_parts``) and
sends only the rest, so a big file is never sent twice and needs no journal of its own (its key
is its content). Set a lifecycle rule on the bucket to abort incomplete uploads after a few days,
and to expire the prefix after the campaign (docs/media-host.md).
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from promo.platforms.boundary import boundary
from promo.platforms.media import local_path

if TYPE_CHECKING:
    from promo.posts import Media
    from promo.settings import Settings

MiB = 1024 * 1024
PROBE = b"promo media host check\n"


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str = "promo-media/"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    url_ttl: float = 172800.0
    timeout: float = 60.0
    part_size: int = 16 * MiB           # S3's minimum part is 5 MiB (except the last)
    multipart_threshold: int = 64 * MiB

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Config:
        key, secret = settings.media_host_access_key_id, settings.media_host_secret_access_key
        return cls(
            bucket=str(settings.media_host_bucket), endpoint_url=settings.media_host_endpoint_url,
            region=settings.media_host_region, prefix=settings.media_host_prefix,
            access_key_id=key.get_secret_value() if key is not None else None,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            url_ttl=settings.media_host_url_ttl, timeout=max(settings.http_timeout, 30.0),
        )

    def __repr__(self) -> str:  # never show the credentials
        return f"S3Config(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, prefix={self.prefix!r})"


class S3Host:
    """A bucket on any S3-compatible service; see the module docstring."""

    def __init__(self, config: S3Config, client: Any = None) -> None:
        self.config = config
        self._client = client
        self._digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256, per process
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            from promo.platforms.client_boto3 import make_s3_client

            c = self.config
            self._client = make_s3_client(endpoint_url=c.endpoint_url, region=c.region, timeout=c.timeout,
                                          access_key_id=c.access_key_id, secret_access_key=c.secret_access_key)
        return self._client

    def url_for(self, platform: str, media: Media, *, expires_s: float | None = None) -> str:
        return self.url_for_file(platform, local_path(platform, media), expires_s=expires_s)

    def url_for_file(self, platform: str, path: Path, *, expires_s: float | None = None) -> str:
        with self._boundary(platform):
            key = self.upload(path)
            return self.presign(key, expires_s)

    def check(self) -> str:
        """Reachable, writable, presignable: HEAD the bucket, write a small probe, presign it."""
        with self._boundary("media-host"):
            self.client.head_bucket(Bucket=self.config.bucket)
            key = f"{self.config.prefix}check-{hashlib.sha256(PROBE).hexdigest()[:16]}.txt"
            self.client.put_object(Bucket=self.config.bucket, Key=key, Body=PROBE, ContentType="text/plain")
            url = self.presign(key, 600)
        _fetch_back(url)
        return f"bucket {self.config.bucket}: reachable, writable, a presigned URL serves ({url.split('?')[0]})"

    # -- keys and uploads --------------------------------------------------------------------------
    def key_for(self, path: Path) -> str:
        return f"{self.config.prefix}{self.digest(path)}{path.suffix.lower()}"

    def digest(self, path: Path) -> str:
        """The file's sha256, read in 1 MiB pieces; remembered for this process while the file is unchanged."""
        stat = path.stat()
        known = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if known in self._digests:
                return self._digests[known]
        sha = hashlib.sha256()
        with path.open("rb") as stream:
            while piece := stream.read(MiB):
                sha.update(piece)
        with self._lock:
            self._digests[known] = sha.hexdigest()
        return sha.hexdigest()

    def upload(self, path: Path) -> str:
        """The file's key, uploading it unless the bucket holds it already (HEAD before PUT)."""
        key, size = self.key_for(path), path.stat().st_size
        if self._stored_size(key) == size:
            return key
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if size <= self.config.multipart_threshold:
            with path.open("rb") as body:
                self.client.put_object(Bucket=self.config.bucket, Key=key, Body=body, ContentType=mime,
                                       ContentLength=size)
        else:
            self._multipart(path, key, mime)
        return key

    def presign(self, key: str, expires_s: float | None) -> str:
        seconds = int(expires_s if expires_s is not None else self.config.url_ttl)
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.config.bucket, "Key": key}, ExpiresIn=max(1, min(seconds, 604800))
        )
        return url

    def _stored_size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head.get("ContentLength", -1))

    def _multipart(self, path: Path, key: str, mime: str) -> None:
        """Upload ``path`` in parts, resuming an upload a killed worker left open for this key."""
        bucket, size = self.config.bucket, self.config.part_size
        upload_id = self._open_upload(key)
        if upload_id is None:
            upload_id = self.client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=mime)["UploadId"]
        done = self._parts_done(key, upload_id)
        with path.open("rb") as stream:
            number = 1
            while piece := _read_part(stream, size):
                if done.get(number, {}).get("Size") != len(piece):
                    answer = self.client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                                     PartNumber=number, Body=piece)
                    done[number] = {"ETag": answer["ETag"], "Size": len(piece)}
                number += 1
        parts = [{"PartNumber": n, "ETag": done[n]["ETag"]} for n in range(1, number)]
        self.client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    def _open_upload(self, key: str) -> str | None:
        answer = self.client.list_multipart_uploads(Bucket=self.config.bucket, Prefix=key)
        for upload in answer.get("Uploads", []):
            if upload.get("Key") == key:
                return str(upload["UploadId"])
        return None

    def _parts_done(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        answer = self.client.list_parts(Bucket=self.config.bucket, Key=key, UploadId=upload_id)
        return {int(p["PartNumber"]): {"ETag": p["ETag"], "Size": int(p["Size"])} for p in answer.get("Parts", [])}

    def _boundary(self, platform: str) -> Any:
        from promo.platforms.client_boto3 import BOTO3_ERRORS

        return boundary(platform, BOTO3_ERRORS)


def _fetch_back(url: str) -> None:
    """GET the probe through its presigned URL, as a platform would; a refusal names the next step."""
    import httpx

    from promo.errors import Permanent, Retryable

    try:
        answer = httpx.get(url, timeout=30.0)
    except httpx.HTTPError as exc:
        raise Retryable(f"media host: the presigned URL did not answer ({type(exc).__name__})",
                        platform="media-host") from None
    if answer.status_code != 200 or answer.content != PROBE:
        raise Permanent(f"media host: the presigned URL answered {answer.status_code}, not the probe; check "
                        "media_host_endpoint_url and media_host_region (docs/media-host.md)", platform="media-host")


def _read_part(stream: BinaryIO, size: int) -> bytes:
    return stream.read(size)
