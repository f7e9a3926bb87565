"""A relative outbox path is in promo's home, not the working folder: two processes in different folders
sharing one home write and find the same file (scaled compose workers, a reconciler elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.accounts import Account
from promo.engine.runtime import Runtime
from promo.platforms.base import build_adapter
from promo.platforms.outbox import OutboxAdapter
from promo.posts import MemoryJournal, Post, Published
from promo.settings import load_settings


def _outbox(path: str | None, home: Path | None) -> OutboxAdapter:
    options = {"path": path} if path is not None else {}
    adapter = build_adapter(Account("box", "outbox", options=options), home=home)
    assert isinstance(adapter, OutboxAdapter)
    return adapter


def test_a_relative_path_is_in_home_whatever_the_working_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "shared-home"
    post = Post.single("outbox", "box", "Jessica Jones returns", key="k-1")
    journal = MemoryJournal()
    (tmp_path / "worker-1").mkdir()
    monkeypatch.chdir(tmp_path / "worker-1")
    sent = _outbox("outbox.jsonl", home).publish(post, journal)
    assert (home / "outbox.jsonl").is_file() and not Path("outbox.jsonl").exists()
    (tmp_path / "reconciler").mkdir()
    monkeypatch.chdir(tmp_path / "reconciler")
    found = _outbox("outbox.jsonl", home).lookup(post, journal)
    assert isinstance(found, Published) and found.platform_id == sent.platform_id
    assert _outbox(None, home).path == home / "outbox.jsonl"  # the default too


def test_an_absolute_path_stays_and_no_home_means_the_working_folder(tmp_path: Path) -> None:
    assert _outbox(str(tmp_path / "elsewhere.jsonl"), tmp_path / "home").path == tmp_path / "elsewhere.jsonl"
    assert _outbox("outbox.jsonl", None).path == Path("outbox.jsonl")


def test_the_engine_builds_outbox_adapters_in_its_home(tmp_path: Path) -> None:
    (tmp_path / "promo.toml").write_text('[accounts.box]\nplatform = "outbox"\npath = "out/box.jsonl"\n')
    settings = load_settings(home=tmp_path / "home", config_file=tmp_path / "promo.toml",
                             database_url=f"sqlite:///{tmp_path / 'promo.db'}")
    runtime = Runtime.from_settings(settings)
    try:
        adapter = runtime.adapter("box", "outbox")
        assert isinstance(adapter, OutboxAdapter) and adapter.path == tmp_path / "home" / "out" / "box.jsonl"
    finally:
        runtime.db.dispose()
