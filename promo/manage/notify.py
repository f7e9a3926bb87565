"""Signed lifecycle notifications: ``[notify.NAME]`` webhooks, delivered by the beat, replayable by a person.

``load_subscriptions`` reads and checks the ``[notify.NAME]`` tables of promo.toml (one clear line
naming the file and table for a mistake). ``notify_tick`` is the beat's ``notify`` tick: with no
subscription it returns before touching the store; otherwise it derives new notifications from
the event log (``promo.store.notifications``) and delivers the due ones with httpx, each request
bounded by the subscription's ``timeout``, failures retried with exponential backoff and jitter
up to ``max_attempts``. ``list_notifications`` and ``retry_notifications`` are ``promo notify``.

A ``standard`` delivery is signed per the Standard Webhooks spec (``standardwebhooks``):
``webhook-id`` (the notification's delivery id, the same on every retry), ``webhook-timestamp``
(this attempt) and ``webhook-signature`` (``v1,`` HMAC-SHA256 of ``id.timestamp.body`` under the
``whsec_`` secret). ``slack`` and ``discord`` send the one-line summary their incoming webhooks
take; they verify no signature, so their URL is the secret (``url_env``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from promo.errors import ConfigError, PromoError
from promo.settings import read_toml
from promo.store import notifications as outbox
from promo.store.db import transaction
from promo.store.tables import Notification
from promo.times import iso, utcnow

log = logging.getLogger("promo.notify")
events = logging.getLogger("promo.events")  # one line per delivery, printed by ``promo beat``

FORMATS = ("standard", "slack", "discord")
KEYS = ("url", "url_env", "events", "secret_env", "format", "max_attempts", "retry_base", "timeout")
POSTGRES_GRACE_S = 5.0   # events younger than this wait a turn on PostgreSQL (promo.store.notifications)
DELIVERY_BATCH = 20      # deliveries per tick at most
TICK_BUDGET_S = 30.0     # no new delivery starts after this long in one tick
MAX_TIMEOUT_S = 30.0
_LIMITS = {"max_attempts": (1, 20, 5), "retry_base": (0.01, 86400.0, 240.0), "timeout": (0.1, MAX_TIMEOUT_S, 10.0)}


@dataclass(frozen=True)
class Subscription:
    """One ``[notify.NAME]`` table: where, which events, how signed. ``url`` and ``secret`` are never shown."""

    name: str
    url: str = field(repr=False)
    events: frozenset[str]
    format: str = "standard"
    secret: str | None = field(default=None, repr=False)
    max_attempts: int = 5
    retry_base: float = 240.0
    timeout: float = 10.0


def load_subscriptions(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Subscription]:
    """The ``[notify.NAME]`` tables of ``path`` (none if the file or the table is absent)."""
    if not path.is_file():
        return {}
    table = read_toml(path).get("notify", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [notify]: must hold one table per webhook ([notify.NAME] with url and events)")
    env = os.environ if environ is None else environ
    return {name: _subscription(f"{path}: [notify.{name}]", name, body, env) for name, body in table.items()}


def _subscription(where: str, name: str, body: Any, env: Mapping[str, str]) -> Subscription:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table with url, events and secret_env")
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    form = body.get("format", "standard")
    if form not in FORMATS:
        raise ConfigError(f"{where}: format: {form!r} is not one of {', '.join(FORMATS)}")
    return Subscription(name=name, url=_url(where, body, env), events=_events(where, body.get("events")),
                        format=form, secret=_secret(where, body, env, required=form == "standard"),
                        **{key: _number(where, key, body.get(key, default), low, high)
                           for key, (low, high, default) in _LIMITS.items()})


def _url(where: str, body: dict[str, Any], env: Mapping[str, str]) -> str:
    if ("url" in body) == ("url_env" in body):
        raise ConfigError(f"{where}: give url, or url_env naming the variable that holds it (not both)")
    url = body.get("url") if "url" in body else env.get(str(body["url_env"]), "")
    if "url_env" in body and not url:
        raise ConfigError(f"{where}: url_env: {body['url_env']} is not set in the environment")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) < 10:
        shown = f" {url!r}" if "url" in body else ""  # a URL from the environment may be a secret
        raise ConfigError(f"{where}: url{shown}: must be an http:// or https:// URL")
    return url


def _events(where: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: events: a list of event names, e.g. ["post.published", "post.failed"]')
    for name in value:
        if name not in outbox.TYPES:
            raise ConfigError(f"{where}: events: unknown event {name!r} (known: {', '.join(outbox.TYPES)})")
    return frozenset(value)


def _secret(where: str, body: dict[str, Any], env: Mapping[str, str], *, required: bool) -> str | None:
    variable = body.get("secret_env")
    if variable is None:
        if required:
            raise ConfigError(f"{where}: secret_env: name the variable holding the whsec_ signing secret")
        return None
    value = env.get(str(variable), "")
    if not value:
        raise ConfigError(f"{where}: secret_env: {variable} is not set in the environment "
                          "(a whsec_ secret: see docs/notifications.md)")
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not 24 <= len(key) <= 64:
        raise ConfigError(f"{where}: secret_env: {variable} must be whsec_ and 24 to 64 bytes in base64 "
                          "(see docs/notifications.md)")
    return value


def _number(where: str, key: str, value: Any, low: float, high: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{where}: {key}: a number from {low:g} to {high:g}")
    return int(value) if key == "max_attempts" else float(value)


_cached: dict[Path, tuple[tuple[int, int], dict[str, Subscription] | ConfigError]] = {}


def subscriptions_for(path: Path) -> dict[str, Subscription]:
    """``load_subscriptions`` once per version of the file: the tick runs every second."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _cached.get(path)
    if cached is None or cached[0] != version:
        try:
            cached = (version, load_subscriptions(path))
        except ConfigError as exc:
            cached = (version, exc)
        _cached[path] = cached
    if isinstance(cached[1], ConfigError):
        raise cached[1]
    return cached[1]


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt's result."""

    notification_id: int
    subscription: str
    type: str
    status: str            # delivered, pending (retried later), failed
    status_code: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def notify_tick(engine: Engine, config_file: Path, *, clock: Callable[[], datetime] = utcnow) -> list[Delivery]:
    """Derive new notifications and deliver the due ones; nothing at all when no ``[notify]`` exists."""
    subscriptions = subscriptions_for(config_file)
    if not subscriptions:
        return []
    grace = POSTGRES_GRACE_S if engine.dialect.name == "postgresql" else 0.0
    with transaction(engine) as session:  # one transaction a turn: on SQLite, one turn of the writer lock
        outbox.derive(session, {name: sub.events for name, sub in subscriptions.items()}, clock(), grace=grace)
        rows = [(row.id, row.next_attempt_at) for row in outbox.due(session, clock(), DELIVERY_BATCH)]
    started, done = time.monotonic(), []
    for notification_id, _ in rows:
        if time.monotonic() - started > TICK_BUDGET_S:
            break
        result = deliver_one(engine, subscriptions, notification_id, clock)
        if result is not None:
            done.append(result)
    return done


def deliver_one(engine: Engine, subscriptions: Mapping[str, Subscription], notification_id: int,
                clock: Callable[[], datetime] = utcnow) -> Delivery | None:
    """Claim one due notification, send it, record the attempt; None if someone else has it."""
    claimed = _claim(engine, subscriptions, notification_id, clock())
    if claimed is None:
        return None
    name, kind, delivery_id, attempts, payload = claimed
    sub = subscriptions.get(name)
    code: int | None = None
    error: str | None = f"subscription {name} is no longer in promo.toml"
    if sub is not None:
        code, error = send(sub, delivery_id, payload, clock())
    retry_at = None
    if error is not None and sub is not None and attempts + 1 < sub.max_attempts:
        retry_at = clock() + timedelta(seconds=backoff(attempts + 1, sub.retry_base))
    with transaction(engine) as session:
        status = outbox.record(session, notification_id, clock(), status_code=code, error=error,
                               next_attempt_at=retry_at)
    _report(notification_id, name, kind, status, error, retry_at)
    return Delivery(notification_id, name, kind, status, code, error)


def _claim(engine: Engine, subscriptions: Mapping[str, Subscription], notification_id: int,
           now: datetime) -> tuple[str, str, str, int, dict[str, Any]] | None:
    """The notification's subscription, type, delivery id, attempts and payload, leased to this caller."""
    with transaction(engine) as session:
        row = session.get(Notification, notification_id)
        if row is None or row.status != outbox.PENDING or row.next_attempt_at is None or row.next_attempt_at > now:
            return None
        sub = subscriptions.get(row.subscription)
        lease = now + timedelta(seconds=3 * (sub.timeout if sub else 1.0) + 5)
        if not outbox.claim(session, row, lease):
            return None
        return row.subscription, row.type, row.delivery_id, row.attempts, dict(row.payload)


def _report(notification_id: int, name: str, kind: str, status: str, error: str | None,
            retry_at: datetime | None) -> None:
    if status == outbox.DELIVERED:
        events.info("notify %s: %s %s delivered", name, kind, notification_id)
        return
    then = (f"; next attempt at {iso(retry_at)}" if retry_at
            else f"; 'promo notify retry {notification_id}' sends it again")
    log.warning("notify %s: %s %s not delivered: %s%s", name, kind, notification_id, error, then)


def backoff(attempts: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt: ``base * 2^(attempts-1)`` with half jitter (5 attempts, 240 s: ~1 h)."""
    ceiling = base * 2 ** max(0, attempts - 1)
    return ceiling / 2 + (rng or random.Random()).random() * ceiling / 2


def send(sub: Subscription, delivery_id: str, payload: dict[str, Any], now: datetime) -> tuple[int | None, str | None]:
    """POST one notification: ``(status code, None)`` on a 2xx, else the code (if any) and a readable error."""
    import httpx

    body, headers = render(sub, delivery_id, payload, now)
    try:
        with (httpx.Client(timeout=httpx.Timeout(sub.timeout), follow_redirects=False) as client,
              client.stream("POST", sub.url, content=body, headers=headers) as response):
            code = response.status_code
    except httpx.HTTPError as exc:
        reason = (str(exc) or type(exc).__name__).replace(sub.url, "<url>")  # the URL may be a secret
        return None, f"{type(exc).__name__}: {reason}"[:500]
    return (code, None) if 200 <= code < 300 else (code, f"HTTP {code}")


def render(sub: Subscription, delivery_id: str, payload: dict[str, Any], now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: signed JSON, or the chat formats' one line."""
    headers = {"content-type": "application/json", "user-agent": "promo-notify",
               "webhook-id": delivery_id, "webhook-timestamp": str(int(now.timestamp()))}
    if sub.format == "slack":
        return json.dumps({"text": summary(payload)}).encode(), headers
    if sub.format == "discord":
        return json.dumps({"content": summary(payload), "allowed_mentions": {"parse": []}}).encode(), headers
    from standardwebhooks.webhooks import Webhook

    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    assert sub.secret is not None  # load_subscriptions requires one for the standard format
    headers["webhook-signature"] = Webhook(sub.secret).sign(delivery_id, now, text)
    return text.encode(), headers


def summary(payload: dict[str, Any]) -> str:
    """One line for a chat channel: ``post.published: premiere on x (post 12) https://...``."""
    data = payload.get("data", {})
    if payload.get("type") == outbox.APPLIED:
        return (f"{outbox.APPLIED}: {data.get('campaign')} ({data.get('created', 0)} created, "
                f"{data.get('changed', 0)} changed, {data.get('cancelled', 0)} cancelled)")
    what = f"{data.get('campaign') or 'ad hoc'}/{data.get('announcement') or '-'} on {data.get('account')}"
    tail = data.get("url") or data.get("reason") or ""
    return f"{payload.get('type')}: {what} (post {data.get('post_id')}) {tail}".strip()


@dataclass(frozen=True)
class NotificationView:
    """What ``promo notify list`` shows of one notification (the payload, never the URL or secret)."""

    id: int
    delivery_id: str
    subscription: str
    type: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    history: list[dict[str, Any]]
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_notifications(engine: Engine, *, status: str | None = None, limit: int = 100) -> list[NotificationView]:
    """The newest notifications first, optionally only ``pending``, ``delivered`` or ``failed`` ones."""
    with transaction(engine) as session:
        return [NotificationView(row.id, row.delivery_id, row.subscription, row.type, row.status, row.attempts,
                                 iso(row.next_attempt_at) if row.next_attempt_at else None, row.last_status_code,
                                 row.last_error, iso(row.created_at), list(row.history), dict(row.payload))
                for row in outbox.listing(session, status=status, limit=limit)]


def retry_notifications(engine: Engine, config_file: Path, ids: Sequence[int] | None,
                        *, clock: Callable[[], datetime] = utcnow) -> list[Delivery]:
    """Send failed notifications again now (``ids``, or all failed for None), with their delivery ids.

    One attempt each here; one that fails again stays pending and the beat retries it with backoff.
    """
    subscriptions = load_subscriptions(config_file)
    with transaction(engine) as session:
        if ids is not None:
            _check_failed(session, ids)
        chosen = outbox.requeue(session, ids, clock())
    return [result for notification_id in chosen
            if (result := deliver_one(engine, subscriptions, notification_id, clock)) is not None]


def _check_failed(session: Any, ids: Sequence[int]) -> None:
    for notification_id in ids:
        row = session.get(Notification, notification_id)
        if row is None:
            raise PromoError(f"notification {notification_id}: no such notification ('promo notify list' shows them)")
        if row.status != outbox.FAILED:
            raise PromoError(f"notification {notification_id} is {row.status}, not failed: only a failed one is "
                             "sent again ('promo notify list --failed' shows them)")
