"""The dispatcher's lighter send writes the same message Celery's ``apply_async`` would, on a real Redis."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis

from promo.times import utcnow
from tests.engine.enginekit import settings_for
from workers.app import QUEUE, create_app
from workers.tasks import publish, send_publish


def queued(url: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(url)
    try:
        return [json.loads(raw) for raw in reversed(client.lrange(QUEUE, 0, -1))]
    finally:
        client.close()


def test_send_publish_matches_apply_async(tmp_path: Path, redis_server: Any) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", broker_url=redis_server.url))
    task = app.tasks[publish.name]
    due = utcnow() + timedelta(seconds=30)
    with app.producer_or_acquire() as producer:
        task.apply_async((7, "attempt"), eta=due, producer=producer)
        send_publish(app, producer, 7, "attempt", due)
        send_publish(app, producer, 8, "now", utcnow() - timedelta(seconds=1))
    celery, ours, due_now = queued(redis_server.url)

    assert ours["body"] == celery["body"]  # the same (args, kwargs, embed), base64 JSON
    assert {k: v for k, v in ours["headers"].items() if k not in ("id", "root_id", "origin")} == {
        k: v for k, v in celery["headers"].items() if k not in ("id", "root_id", "origin")
    }
    assert ours["headers"]["task"] == "promo.publish" and ours["headers"]["eta"] == due.isoformat()
    assert ours["properties"]["delivery_info"]["routing_key"] == QUEUE
    assert due_now["headers"]["eta"] is None  # already due: no eta, the worker runs it at once
