"""``promo notify list`` and ``promo notify retry``: in-process, against SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.manage.notify import notify_tick
from promo.store.db import make_engine, transaction
from promo.store.ledger import log as log_event
from promo.store.migrate import upgrade
from tests.cli.conftest import Promo
from tests.manage.test_notify import SECRET_ENV, SIGNING, Hooks, hooks, later  # noqa: F401  (hooks: a fixture)


def failed_notification(project: Path, store_url: str, hooks: Hooks) -> None:  # noqa: F811
    """A campaign.applied notification whose one attempt got a 500: failed."""
    config = project / "promo.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'\n[notify.ops]\nurl = "{hooks.url}"\n'
                      f'events = ["campaign.applied"]\nsecret_env = "{SECRET_ENV}"\nmax_attempts = 1\n',
                      encoding="utf-8")
    engine = make_engine(store_url)
    upgrade(engine)
    notify_tick(engine, config, clock=later)
    with transaction(engine) as session:
        log_event(session, None, "applied", actor="cli", detail={"campaign": "jj", "created": 2})
    hooks.errors = 1
    assert [d.status for d in notify_tick(engine, config, clock=later)] == ["failed"]
    engine.dispose()


def test_list_and_retry(promo: Promo, project: Path, store_url: str, hooks: Hooks,  # noqa: F811
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SIGNING)
    empty = promo("notify", "list")
    assert empty.code == 0 and "no notifications" in empty.out
    failed_notification(project, store_url, hooks)
    listed = promo("notify", "list", "--failed", "--json")
    assert listed.code == 0 and [row["type"] for row in listed.json] == ["campaign.applied"]
    row = listed.json[0]
    assert row["last_status_code"] == 500 and row["payload"]["data"]["campaign"] == "jj"
    assert "promo notify retry" in promo("notify", "list").out
    retried = promo("notify", "retry", str(row["id"]), "--json")
    assert retried.code == 0 and retried.json[0]["status"] == "delivered"
    assert hooks.delivered()[0]["id"] == row["delivery_id"]
    assert promo("notify", "list", "--failed", "--json").json == []
    again = promo("notify", "retry", str(row["id"]))
    assert again.code == 1 and again.err.count("\n") == 1 and "is delivered, not failed" in again.err
    assert promo("notify", "retry", "--failed").out.strip() == "no failed notification to send again"


def test_retry_needs_ids_or_failed(promo: Promo) -> None:
    ran = promo("notify", "retry")
    assert ran.code == 2 and "name notification IDs, or --failed" in ran.err


def test_a_bad_notify_table_is_one_line(promo: Promo, project: Path) -> None:
    config = project / "promo.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[notify.ops]\nurl = "https://x.test/h"\n'
                      'events = ["post.sent"]\nsecret_env = "NOPE"\n', encoding="utf-8")
    ran = promo("notify", "retry", "--failed")
    assert ran.code != 0 and ran.err.count("\n") == 1 and "Traceback" not in ran.err
    assert "promo.toml: [notify.ops]: events: unknown event 'post.sent'" in ran.err
