"""boto3 / botocore, under the media host (``promo.platforms.mediahost.s3``): its error map and client.

Nothing the media host does publishes a post (an upload, a HEAD, a presign), so no error here is
``Ambiguous``: a dropped connection or a timeout is ``Retryable`` (the upload is content-addressed,
so doing it again is harmless). The bucket's refusals name the setting to fix::

    connect / read timeout, connection closed, endpoint unreachable -> Retryable
    5xx, SlowDown, RequestTimeout, InternalError                     -> Retryable
    AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch          -> Permanent (check the credentials)
    NoSuchBucket                                                     -> Permanent (check media_host_bucket)
    no credentials found                                             -> Permanent (set them)
    any other 4xx                                                    -> Permanent (S3's own message)
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from promo.errors import Permanent, PublishError, Retryable
from promo.platforms.boundary import ErrorMap, short

_CREDENTIALS = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "403"}
_TRANSIENT = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500"}
NEXT_STEP = "check the media_host_* settings, then run 'promo accounts check'"


def _transient(platform: str, exc: BaseException) -> PublishError:
    return Retryable(f"media host unreachable ({type(exc).__name__}: {short(exc)}); nothing was published, "
                     "a retry uploads again", platform=platform)


def _client_error(platform: str, exc: BaseException) -> PublishError:
    assert isinstance(exc, ClientError)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = str(error.get("Message") or code)
    if code in _TRANSIENT or status >= 500:
        return Retryable(f"media host error {code or status}: {message}", platform=platform)
    if code in _CREDENTIALS:
        return Permanent(f"media host refused the credentials ({code}): {message}; {NEXT_STEP}", platform=platform)
    if code in ("NoSuchBucket", "404", "NotFound"):  # a HEAD's 404 has no body: only the bucket can be missing
        return Permanent(f"media host has no such bucket: {message}; {NEXT_STEP}", platform=platform)
    return Permanent(f"media host refused ({code or status}): {message}; {NEXT_STEP}", platform=platform)


def _no_credentials(platform: str, exc: BaseException) -> PublishError:
    return Permanent("media host: no credentials found; set PROMO_MEDIA_HOST_ACCESS_KEY_ID and "
                     "PROMO_MEDIA_HOST_SECRET_ACCESS_KEY (or boto3's AWS_* variables)", platform=platform)


def _other(platform: str, exc: BaseException) -> PublishError:
    return Permanent(f"media host: {type(exc).__name__}: {short(exc)}; {NEXT_STEP}", platform=platform)


BOTO3_ERRORS = ErrorMap((
    (ClientError, _client_error),
    (NoCredentialsError, _no_credentials),
    (EndpointConnectionError, _transient),
    (ConnectTimeoutError, _transient),
    (ReadTimeoutError, _transient),
    (ConnectionClosedError, _transient),
    (BotoCoreError, _other),
))


def make_s3_client(*, endpoint_url: str | None, region: str | None, access_key_id: str | None,
                   secret_access_key: str | None, timeout: float) -> Any:
    """An S3 client with every timeout set and SigV4 (presigned URLs need it on R2 and MinIO)."""
    session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                    region_name=region or "us-east-1")
    config = Config(signature_version="s3v4", connect_timeout=timeout, read_timeout=timeout,
                    retries={"max_attempts": 2, "mode": "standard"})
    return session.client("s3", endpoint_url=endpoint_url, config=config)
