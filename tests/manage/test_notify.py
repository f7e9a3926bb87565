"""Signed lifecycle notifications: derived from real publishes, delivered to a real receiver that
verifies every signature with the ``standardwebhooks`` library, retried, bounded, replayed."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from standardwebhooks.webhooks import Webhook

from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.errors import ConfigError
from promo.manage.notify import list_notifications, load_subscriptions, notify_tick, retry_notifications
from promo.store.db import transaction
from promo.store.ledger import log as log_event
from promo.times import utcnow
from tests.engine.enginekit import add_post, make_store, runtime_for, settings_for, write_config
from tests.fakes.webhook import SECRET as PLATFORM_SECRET
from tests.fakes.webhook import FakeWebhookServer, Receiver

SIGNING = "whsec_" + base64.b64encode(b"promo-notify-test-key-32-bytes!!").decode()
SECRET_ENV = "PROMO_TEST_NOTIFY_SECRET"


def later() -> datetime:
    """The tick's clock: past PostgreSQL's grace for young events (promo.store.notifications)."""
    return utcnow() + timedelta(seconds=10)


@dataclass
class Hooks:
    """A real receiver: verifies each request with ``Webhook.verify`` and answers as told."""

    errors: int = 0             # answer 500 this many times first
    hang: float = 0.0           # stall this long before answering
    calls: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.raw.append(body)
            try:
                verified = Webhook(SIGNING).verify(body, headers)
            except Exception:  # a receiver refuses what it cannot verify
                verified = None
            self.calls.append({"id": headers.get("webhook-id"), "verified": verified, "body": body})
            failing, self.errors = self.errors > 0, self.errors - 1
        if self.hang:
            time.sleep(self.hang)
        return 500 if failing else 204

    def delivered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [call for call in self.calls if call["verified"] is not None]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            code = hooks.handle({k.lower(): v for k, v in self.headers.items()}, body)
            try:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hooks.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hooks
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with FakeWebhookServer() as receiver:
        yield receiver


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


def subscribe(config: Path, url: str, events: str = '"post.published", "post.failed"', extra: str = "") -> None:
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[notify.ops]\nurl = "{url}"\nevents = [{events}]\nsecret_env = "{SECRET_ENV}"\n{extra}')


@pytest.fixture
def project(tmp_path: Path, database_url: str, store: Engine, receiver: Receiver, hooks: Hooks,
            monkeypatch: pytest.MonkeyPatch) -> Any:
    """A runtime publishing to the fake platform; ``subscribe`` adds ``[notify.ops]`` to its promo.toml."""
    monkeypatch.setenv(SECRET_ENV, SIGNING)
    config = write_config(tmp_path, receiver.url)

    def build(**overrides: Any) -> Any:
        return runtime_for(settings_for(tmp_path, database_url, **overrides), store, PLATFORM_SECRET)

    return build, config


def publish(rt: Any, store: Engine) -> tuple[int, str]:
    post_id = add_post(store)
    claims = dispatch(rt.db, rt.settings, rt.accounts)
    return post_id, publish_claimed(rt, post_id, claims[0].attempt_id)


def tick_until(store: Engine, config: Path, done: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "notifications not delivered in time"
        notify_tick(store, config, clock=later)
        time.sleep(0.05)


def test_published_and_failed_are_delivered_signed(project: Any, store: Engine, receiver: Receiver,
                                                   hooks: Hooks) -> None:
    build, config = project
    subscribe(config, hooks.url)
    rt = build(max_attempts=1)
    notify_tick(store, config, clock=later)  # the cursor starts here: no history is sent
    published_id, outcome = publish(rt, store)
    assert outcome == "published"
    receiver.mode, receiver.times = "error", 5
    failed_id, outcome = publish(rt, store)
    assert outcome == "failed"
    tick_until(store, config, lambda: len(hooks.delivered()) >= 2)
    got = {call["verified"]["type"]: call["verified"] for call in hooks.delivered()}
    assert set(got) == {"post.published", "post.failed"} and len(hooks.calls) == 2
    published = got["post.published"]["data"]
    assert published["post_id"] == published_id and published["state"] == "published"
    assert published["url"].startswith("https://example.test/p/") and published["account"] == "hook"
    assert got["post.failed"]["data"]["post_id"] == failed_id and got["post.failed"]["data"]["reason"]
    assert all(call["id"].startswith("msg_") for call in hooks.calls)
    assert {row.status for row in list_notifications(store)} == {"delivered"}


def test_a_500_is_retried_with_backoff_then_delivered_under_one_id(project: Any, store: Engine,
                                                                     hooks: Hooks) -> None:
    build, config = project
    subscribe(config, hooks.url, extra="retry_base = 0.3\n")
    rt = build()
    notify_tick(store, config, clock=later)
    hooks.errors = 2
    publish(rt, store)
    tick_until(store, config, lambda: len(hooks.calls) >= 3 and hooks.errors < 0)
    row = list_notifications(store)[0]
    assert row.status == "delivered" and row.attempts == 3
    assert [attempt["status_code"] for attempt in row.history] == [500, 500, 204]
    assert row.history[0]["next_attempt_at"] and row.history[0]["error"] == "HTTP 500"
    gaps = [datetime.fromisoformat(row.history[i + 1]["at"]) - datetime.fromisoformat(row.history[i]["at"])
            for i in range(2)]
    assert gaps[0] >= timedelta(seconds=0.15) and gaps[1] >= timedelta(seconds=0.3)  # 0.3 * 2^n, half jitter
    assert len({call["id"] for call in hooks.calls}) == 1  # the webhook-id is stable across retries


def test_a_receiver_that_hangs_is_bounded(project: Any, store: Engine, hooks: Hooks) -> None:
    build, config = project
    subscribe(config, hooks.url, extra="timeout = 0.5\n")
    rt = build()
    notify_tick(store, config, clock=later)
    publish(rt, store)
    hooks.hang = 5.0
    started = time.monotonic()
    done = notify_tick(store, config, clock=later)
    assert time.monotonic() - started < 3.0
    assert [d.status for d in done] == ["pending"] and "Timeout" in (done[0].error or "")
    assert list_notifications(store)[0].next_attempt_at is not None


def test_a_failed_notification_is_replayed_with_its_id(project: Any, store: Engine, hooks: Hooks) -> None:
    build, config = project
    subscribe(config, hooks.url, extra="max_attempts = 1\n")
    rt = build()
    notify_tick(store, config, clock=later)
    publish(rt, store)
    hooks.errors = 1
    assert [d.status for d in notify_tick(store, config, clock=later)] == ["failed"]
    failed = list_notifications(store, status="failed")
    assert len(failed) == 1 and failed[0].last_status_code == 500
    assert notify_tick(store, config, clock=later) == []  # the beat does not retry a failed one
    done = retry_notifications(store, config, None)
    assert [d.status for d in done] == ["delivered"]
    assert len(hooks.delivered()) == 2 and hooks.calls[0]["id"] == hooks.calls[1]["id"] == failed[0].delivery_id


def test_no_secret_in_payloads_or_logs(project: Any, store: Engine, hooks: Hooks,
                                       caplog: pytest.LogCaptureFixture) -> None:
    build, config = project
    subscribe(config, hooks.url, extra="max_attempts = 2\nretry_base = 0.01\n")
    rt = build()
    notify_tick(store, config, clock=later)
    caplog.set_level(logging.DEBUG)
    publish(rt, store)
    hooks.errors = 1
    tick_until(store, config, lambda: len(hooks.delivered()) >= 1)
    key = SIGNING.removeprefix("whsec_")
    shown = caplog.text + "".join(body.decode() for body in hooks.raw)
    shown += json.dumps([row.to_dict() for row in list_notifications(store)])
    for secret in (SIGNING, key, base64.b64decode(key).decode(), PLATFORM_SECRET):
        assert secret not in shown


def test_campaign_applied_and_chat_format(project: Any, store: Engine, hooks: Hooks) -> None:
    _, config = project
    config.write_text(config.read_text(encoding="utf-8") + f'\n[notify.chat]\nurl = "{hooks.url}"\n'
                      'events = ["campaign.applied"]\nformat = "slack"\n', encoding="utf-8")
    notify_tick(store, config, clock=later)
    with transaction(store) as session:
        log_event(session, None, "applied", actor="cli", detail={"campaign": "jj", "source": "/x.yaml",
                                                                 "digest": "d", "created": 3, "changed": 0})
    tick_until(store, config, lambda: len(hooks.calls) >= 1)
    assert json.loads(hooks.calls[0]["body"]) == {"text": "campaign.applied: jj (3 created, 0 changed, 0 cancelled)"}


def test_no_notify_table_costs_the_store_nothing(tmp_path: Path, store: Engine) -> None:
    config = tmp_path / "promo.toml"
    config.write_text('[accounts.box]\nplatform = "outbox"\n', encoding="utf-8")
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(store, "before_cursor_execute", listener)
    try:
        assert notify_tick(store, config) == []
    finally:
        event.remove(store, "before_cursor_execute", listener)
    assert statements == []


@pytest.mark.parametrize(("body", "says"), [
    ('url = "ftp://x.test/h"\nevents = ["post.published"]\nsecret_env = "S"', "url 'ftp://x.test/h': must be an http"),
    ('url = "https://x.test/h"\nevents = ["post.sent"]\nsecret_env = "S"', "unknown event 'post.sent'"),
    ('url = "https://x.test/h"\nevents = ["post.published"]\nsecret_env = "NOPE"', "NOPE is not set"),
    ('url = "https://x.test/h"\nevents = ["post.published"]\nsecret_env = "WEAK"', "WEAK must be whsec_"),
    ('url = "https://x.test/h"\nevents = ["post.published"]', "secret_env: name the variable"),
    ('url = "https://x.test/h"\nevents = ["post.published"]\nsecret_env = "S"\nretries = 3', "unknown key 'retries'"),
    ('url = "https://x.test/h"\nevents = ["post.published"]\nformat = "teams"', "format: 'teams'"),
])
def test_bad_config_is_one_line_naming_file_and_table(tmp_path: Path, body: str, says: str) -> None:
    config = tmp_path / "promo.toml"
    config.write_text(f"[notify.ops]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(config, {"S": SIGNING, "WEAK": "whsec_c2hvcnQ="})
    message = str(caught.value)
    assert message.startswith(f"{config}: [notify.ops]: ") and says in message and "\n" not in message
