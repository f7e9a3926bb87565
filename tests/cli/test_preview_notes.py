"""Preview carries notes that do not stop a post: an unaudited TikTok app posts privately (SELF_ONLY), and
preview says so in text and in --json (``notes``), while the post stays within its rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promo.cli import main
from promo.posts import Post, Report
from promo.rules.tiktok import UNAUDITED_NOTE, TikTokRules

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "examples" / "jessica-jones-s3.yaml"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


def test_preview_notes_an_unaudited_tiktok_app(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("PROMO_CONFIG_FILE", raising=False)
    monkeypatch.delenv("PROMO_TEMPLATES_DIR", raising=False)
    code, out = _run(capsys, "preview", str(SEED), "--json")
    entries = json.loads(out)
    tiktok = [e for e in entries if e["platform"] == "tiktok"]
    assert tiktok and all(e["notes"] == [UNAUDITED_NOTE] for e in tiktok)
    assert all(e["notes"] == [] for e in entries if e["platform"] != "tiktok")
    assert all(e["ok"] for e in tiktok), [e["problems"] for e in tiktok]
    code, out = _run(capsys, "preview", str(SEED), "--platform", "tiktok")
    assert f"note: {UNAUDITED_NOTE}" in " ".join(out.split()) and code == 0


def test_an_audited_app_has_no_note_and_a_report_without_notes_still_reads() -> None:
    post = Post.single("tiktok", "jj-tiktok", "Jessica Jones returns")
    assert TikTokRules({"audited": "true"}).check(post).notes == ()
    assert UNAUDITED_NOTE in TikTokRules({}).check(post).notes
    assert Report("x", 3, 280).notes == ()


def test_apply_dry_run_shows_the_cached_rules_and_refuses_by_them(promo: Any, store_url: str) -> None:
    from datetime import UTC, datetime

    from promo.planning.facts import save_facts
    from promo.store.db import make_engine
    from promo.store.migrate import upgrade
    from tests.cli.conftest import CAMPAIGN

    dry = promo("apply", CAMPAIGN, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    notes = dry.json["notes"]
    assert any(n.startswith("jj-tiktok (tiktok): no creator_info cached") and "SELF_ONLY" in n for n in notes)
    assert any(n.startswith("jj-reddit (reddit): no subreddit rules cached") for n in notes)
    engine = make_engine(store_url)
    upgrade(engine)
    save_facts(engine, "jj-tiktok", "tiktok", {"creator_username": "jessicajones", "max_video_post_duration_sec": 1,
                                               "privacy_level_options": ["SELF_ONLY"]},
               datetime(2026, 11, 30, 5, 0, tzinfo=UTC))
    engine.dispose()
    refused = promo("apply", CAMPAIGN, "--dry-run")
    assert refused.code == 1 and "over this creator's 0:01 limit" in refused.err, refused.err
    assert "creator_info read 2026-11-30T05:00:00" in refused.err
