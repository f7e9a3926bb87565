"""Generic webhook: a JSON POST of the post to a URL you run. Protocol: docs/platforms/webhook.md.

Request: ``POST <url>`` with the JSON body ``{"idempotency_key", "account", "platform", "parts",
"link"}``, headers ``Idempotency-Key`` and ``X-Promo-Signature: t=<unix>,v1=<hex>`` where ``v1`` is
HMAC-SHA256 of ``"<t>.<body>"`` keyed with the account's ``signing_secret``.
Answers: 2xx (optional JSON ``{"id", "url"}``) published; 429 wait (``Retry-After`` seconds or
date, else ``X-RateLimit-Reset`` / ``RateLimit-Reset`` epoch); 401/403 auth; 409 duplicate
(optional ``{"id"}``); other 4xx permanent; 5xx and connection failures before sending retryable;
a timeout after sending ambiguous.
Lookup: ``GET <url>?idempotency_key=...`` -> 200 ``{"id", "url"}`` or 404.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from promo import errors
from promo.platforms.base import BaseAdapter
from promo.posts import Journal, Post, Published
from promo.times import utcnow

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


class WebhookAdapter(BaseAdapter):
    platform = "webhook"

    @property
    def url(self) -> str:
        return str(self.account.options["url"])

    def _client(self) -> httpx.Client:
        if self.session is None:
            self.session = httpx.Client(timeout=self.timeout)
        client: httpx.Client = self.session
        return client

    def publish(self, post: Post, journal: Journal) -> Published:
        body = json.dumps(self.body(post), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": post.idempotency_key,
            SIGNATURE_HEADER: sign(self.account.secret("signing_secret"), body, int(time.time())),
        }
        try:
            response = self._client().post(self.url, content=body, headers=headers, timeout=self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise errors.Retryable(f"cannot connect to {self.url}: {exc}", platform=self.platform) from exc
        except httpx.TransportError as exc:
            raise errors.Ambiguous(
                f"sent, no answer from {self.url}: {type(exc).__name__}", platform=self.platform
            ) from exc
        return self._published(post, response)

    def body(self, post: Post) -> dict[str, Any]:
        return {
            "idempotency_key": post.idempotency_key,
            "account": post.account,
            "platform": post.platform,
            **post.to_payload(),
        }

    def _published(self, post: Post, response: httpx.Response) -> Published:
        if response.is_success:
            answer = _json(response)
            return Published(str(answer.get("id") or post.idempotency_key), answer.get("url"))
        raise self._error(response)

    def _error(self, response: httpx.Response) -> errors.PublishError:
        code, text = response.status_code, response.text[:200].strip()
        said = f"HTTP {code} {text}".strip()
        if code == 429:
            return errors.RateLimited(said, platform=self.platform, retry_at=retry_at(response.headers))
        if code in (401, 403):
            return errors.AuthError(said, platform=self.platform)
        if code == 409:
            existing = _json(response).get("id")
            return errors.Duplicate(
                said, platform=self.platform, existing_id=str(existing) if existing else None
            )
        if code >= 500:
            return errors.Retryable(said, platform=self.platform)
        return errors.Permanent(said, platform=self.platform)

    def lookup(self, post: Post, journal: Journal) -> Published | None:
        try:
            response = self._client().get(
                self.url, params={"idempotency_key": post.idempotency_key}, timeout=self.timeout
            )
        except httpx.TransportError as exc:
            raise errors.Ambiguous(f"lookup failed: {type(exc).__name__}", platform=self.platform) from exc
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            answer = _json(response)
            return Published(str(answer.get("id") or post.idempotency_key), answer.get("url"))
        raise errors.Ambiguous(f"lookup answered HTTP {response.status_code}", platform=self.platform)

    def verify(self) -> str:
        probe = Post.single(self.platform, self.account.name, "", key="promo-verify")
        self.lookup(probe, _NoJournal())
        return self.url


def retry_at(headers: Any, now: datetime | None = None) -> datetime | None:
    """The reset time a 429 names: ``Retry-After`` (seconds or HTTP date), else an epoch reset header."""
    now = now or utcnow()
    after = headers.get("Retry-After")
    if after:
        try:
            return now + timedelta(seconds=float(after))
        except ValueError:
            try:
                return parsedate_to_datetime(after).astimezone(UTC)
            except (TypeError, ValueError):
                pass
    for name in ("X-RateLimit-Reset", "RateLimit-Reset"):
        value = headers.get(name)
        if value:
            try:
                number = float(value)
            except ValueError:
                continue
            # an epoch (X, Bluesky); small numbers are seconds from now (the IETF draft)
            return datetime.fromtimestamp(number, UTC) if number > 1e9 else now + timedelta(seconds=number)
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class _NoJournal:
    def get(self, key: str) -> str | None:
        return None

    def record(self, key: str, value: str) -> None:
        return None
