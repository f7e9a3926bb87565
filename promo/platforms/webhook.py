"""Generic webhook: a JSON POST of the post to a URL you run. Protocol: docs/platforms/webhook.md.

Request: ``POST <url>`` with the JSON body ``{"idempotency_key", "account", "platform", "parts",
"link"}``, headers ``Idempotency-Key`` and ``X-Promo-Signature: t=<unix>,v1=<hex>`` where ``v1`` is
HMAC-SHA256 of ``"<t>.<body>"`` keyed with the account's ``signing_secret``.
Answers: 2xx (optional JSON ``{"id", "url"}``) published; 429 wait (``Retry-After`` seconds or
date, else ``X-RateLimit-Reset`` / ``RateLimit-Reset`` epoch); 401/403 auth; 409 duplicate
(optional ``{"id"}``); other 4xx permanent; 5xx and connection failures before sending retryable;
a timeout after sending ambiguous.
Media (a video included): the same request as ``multipart/form-data``, streamed from disk: a
``payload`` part holding that JSON body, in which each media entry also names its file part
(``"file": "media-<part>-<n>"``) and pins it by ``sha256`` and ``size``, then one part per file.
The signature is over the ``payload`` part's bytes, exactly as over a JSON body, so a receiver
that checks it and each file's sha256 knows every byte came from promo.
Lookup: ``GET <url>?idempotency_key=...`` -> 200 ``{"id", "url"}`` (published) or 404 (never
received); any other answer is "cannot tell".
``base_url`` defaults to the ``url``'s own scheme and host; set, it replaces them and the path is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promo.errors import AuthError, Duplicate
from promo.platforms.base import PlatformSpec
from promo.platforms.boundary import error_for_status
from promo.platforms.http import FilePart, HookUrlAdapter, Multipart, file_chunks, json_object
from promo.platforms.media import local_path
from promo.posts import CannotTell, Journal, Lookup, NotPublished, Post, Published
from promo.rules.webhook import WebhookRules

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Promo-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Promo-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, tolerance: float = 300.0) -> bool:
    """For receivers: is ``header`` a fresh, valid signature of ``body``?"""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class WebhookAdapter(HookUrlAdapter):
    platform = "webhook"

    def hook_url(self) -> str:
        return str(self.account.options["url"])

    def publish(self, post: Post, journal: Journal) -> Published:
        files = self._files(post)
        payload = _payload(post, files)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": post.idempotency_key,
            SIGNATURE_HEADER: sign(self.account.secret("signing_secret"), body, int(time.time())),
        }
        if not files:
            return _published(post, self.call("POST", "", content=body, headers=headers))
        multipart = Multipart([("payload", body, "application/json")], list(files.values()))
        response = self.call("POST", "", content=multipart, headers={**headers, **multipart.headers})
        return _published(post, response)

    def _files(self, post: Post) -> dict[tuple[int, int], FilePart]:
        """Each media file as a multipart part, by (part, n); a missing file is ``Permanent``."""
        return {(index, n): FilePart(f"media-{index}-{n}", path, path.name, media.mime or "application/octet-stream")
                for index, part in enumerate(post.parts) for n, media in enumerate(part.media)
                for path in [local_path(self.platform, media)]}

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """The receiver's answer: 200 published, 404 never received, anything else cannot tell."""
        response = self.request("GET", "", params={"idempotency_key": post.idempotency_key})
        if response.status_code == 404:
            return NotPublished("the receiver has no post with this idempotency key")
        if response.status_code == 200:
            return _published(post, response)
        return CannotTell(f"the receiver's lookup answered HTTP {response.status_code}")

    def verify(self) -> str:
        """A lookup of a key never sent: 404 (or 200) proves the URL and the receiver answer."""
        response = self.request("GET", "", params={"idempotency_key": "promo-verify"})
        if response.status_code != 404:
            self.raise_for(response)
        return self.hook_url()

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        code = response.status_code
        said = f"HTTP {code} {response.text[:200].strip()}".strip()
        if code == 409:
            existing = json_object(response).get("id")
            raise Duplicate(said, platform=self.platform, existing_id=str(existing) if existing else None)
        if code == 403:
            raise AuthError(said, platform=self.platform)
        raise error_for_status(self.platform, code, said, response.headers)


def _payload(post: Post, files: dict[tuple[int, int], FilePart]) -> dict[str, Any]:
    payload = {"idempotency_key": post.idempotency_key, "account": post.account, "platform": post.platform,
               **post.to_payload()}
    for (index, n), file in files.items():
        entry = payload["parts"][index]["media"][n]
        entry.update(file=file.field, size=file.path.stat().st_size, sha256=file_sha256(file.path))
    return payload


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read from disk a chunk at a time."""
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _published(post: Post, response: httpx.Response) -> Published:
    answer = json_object(response)
    return Published(str(answer.get("id") or post.idempotency_key), answer.get("url"))


SPEC = PlatformSpec(
    "webhook", "Webhook", WebhookAdapter, WebhookRules, credentials=("signing_secret",), required_options=("url",),
)
