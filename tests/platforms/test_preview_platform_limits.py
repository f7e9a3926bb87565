"""Preview says what the LinkedIn, Facebook and Discord adapters do: a thread goes out as comments, and a
file is checked against the Discord account's own upload limit (``upload_limit_mib``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promo.accounts import load_accounts
from promo.campaigns.preview import preview_file
from promo.cli import main
from tests.media.mediakit import large_video

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
CONFIG = """
[accounts.jj-linkedin]
platform = "linkedin"
author = "urn:li:organization:777"

[accounts.jj-facebook]
platform = "facebook"
page_id = "1234"

[accounts.jj-discord]
platform = "discord"

[accounts.jj-discord-boosted]
platform = "discord"
upload_limit_mib = 50
"""
CAMPAIGN = """\
campaign: limits
timezone: America/Los_Angeles
accounts: [{accounts}]
announcements:
  - key: premiere
    kind: generic
    at: 2019-06-14 00:01
    text: "Jessica Jones season 3 is on Netflix now."
    thread:
      - "Krysten Ritter directs episode 2."
      - "All 13 episodes, tonight."
{media}"""


def project(tmp_path: Path, accounts: str, media: str = "") -> Path:
    (tmp_path / "promo.toml").write_text(CONFIG)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(CAMPAIGN.format(accounts=accounts, media=media))
    return campaign


def test_a_thread_on_linkedin_and_facebook_is_accepted_as_comments(tmp_path: Path) -> None:
    campaign = project(tmp_path, "jj-linkedin, jj-facebook")
    rendered = preview_file(campaign, load_accounts(tmp_path / "promo.toml", environ={}), tmp_path / "templates")
    assert [r.scheduled.post.platform for r in rendered] == ["linkedin", "facebook"]
    for item in rendered:
        entry = item.to_dict()
        assert entry["ok"], entry["problems"]
        assert entry["thread"][0] == "Krysten Ritter directs episode 2." and len(entry["thread"]) == 2
        assert len(entry["notes"]) == 1 and "later parts go out as comments on the post" in entry["notes"][0]


def test_preview_text_shows_the_comments_note(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, "jj-linkedin")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROMO_CONFIG_FILE", raising=False)
    monkeypatch.delenv("PROMO_TEMPLATES_DIR", raising=False)
    main(["preview", "campaign.yaml"])  # returns: every post is ok (a problem exits 1)
    shown = " ".join(capsys.readouterr().out.split())
    assert "note: LinkedIn: the later parts go out as comments on the post (text only, at most 1,250" in shown
    main(["preview", "campaign.yaml", "--json"])
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["ok"] and "comments" in entry["notes"][0]


def test_discord_files_are_checked_against_the_accounts_upload_limit(tmp_path: Path) -> None:
    large_video(tmp_path / "media", 12 * MIB, name="trailer.mp4")  # over 10 MiB, under a boosted 50
    media = "    media:\n      - {path: media/trailer.mp4, alt: \"The trailer\"}\n"
    campaign = project(tmp_path, "jj-discord, jj-discord-boosted", media)
    rendered = preview_file(campaign, load_accounts(tmp_path / "promo.toml", environ={}), tmp_path / "templates")
    verdicts = {r.scheduled.post.account: [p.message for p in r.report.problems] for r in rendered}
    assert verdicts == {
        "jj-discord": ["Discord: video is 12.6 MB, the limit is 10.5 MB (a boosted server takes more: set "
                       "upload_limit_mib)"],
        "jj-discord-boosted": []}
