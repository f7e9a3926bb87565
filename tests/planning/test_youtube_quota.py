"""YouTube's daily quota, campaign-wide: preview refuses a day over the project's budget, and apply adds what
other campaigns already planned on that Pacific day. Also ``upload_ahead``: the post is planned early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from promo.accounts import load_accounts
from promo.campaigns import load_campaign
from promo.campaigns.preview import render_campaign
from promo.planning.apply import apply_plan
from promo.planning.campaign import RulesBroken, plan_campaign_file
from tests.media.mediakit import tiny_video

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
ACCOUNTS = """
[accounts.jj-youtube]
platform = "youtube"
project = "jj-promo"
"""
ANNOUNCEMENT = """
  - key: clip-{n}
    kind: generic
    at: 2019-06-14 {hour:02d}:00
    text: "Jessica Jones, clip {n}\\n\\nA featurette clip from season 3."
    media:
      - path: media/clip.mp4
        alt: Krysten Ritter on set
"""


def write(folder: Path, name: str, count: int, first_hour: int = 9, **options: Any) -> tuple[Path, dict[str, Any]]:
    (folder / "media").mkdir(exist_ok=True)
    tiny_video(folder / "media", seconds=2, name="clip.mp4")
    extra = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in options.items())
    (folder / "promo.toml").write_text(ACCOUNTS + extra, encoding="utf-8")
    body = "".join(ANNOUNCEMENT.format(n=n, hour=first_hour + n) for n in range(count))
    path = folder / f"{name}.yaml"
    path.write_text(f"campaign: {name}\ntimezone: America/Los_Angeles\naccounts: [jj-youtube]\nannouncements:"
                    f"{body}", encoding="utf-8")
    return path, dict(load_accounts(folder / "promo.toml", environ={}))


def test_preview_refuses_a_day_over_the_budget(tmp_path: Path) -> None:
    path, accounts = write(tmp_path, "seven", 7)
    rendered = render_campaign(load_campaign(path, accounts, TEMPLATES), accounts, TEMPLATES)
    assert len(rendered) == 7 and not any(item.ok for item in rendered)
    assert {p.message for item in rendered for p in item.report.problems} == {
        "YouTube: this campaign needs 11,585 quota units on 2019-06-14, the project's daily budget is 10,000: "
        "spread the uploads over more days"}
    six, accounts = write(tmp_path, "six", 6)
    assert all(item.ok for item in render_campaign(load_campaign(six, accounts, TEMPLATES), accounts, TEMPLATES))


def test_apply_counts_what_other_campaigns_planned_that_day(engine: Engine, tmp_path: Path) -> None:
    first, accounts = write(tmp_path, "first", 4)
    apply_plan(engine, plan_campaign_file(engine, first, accounts, TEMPLATES), actor="test")
    second, accounts = write(tmp_path, "second", 3, first_hour=14)
    with pytest.raises(RulesBroken) as caught:
        plan_campaign_file(engine, second, accounts, TEMPLATES)
    [message] = {p.message for item in caught.value.broken for p in item.report.problems}
    assert message == ("YouTube: this campaign needs 4,965 quota units on 2019-06-14, the project's daily budget "
                       "is 10,000 and 6,620 are already planned")
    apply_plan(engine, plan_campaign_file(engine, first, accounts, TEMPLATES), actor="test")  # its own: no change


def test_upload_ahead_plans_the_post_early_with_its_publish_time(engine: Engine, tmp_path: Path) -> None:
    path, accounts = write(tmp_path, "ahead", 1, upload_ahead="2h")
    planned = plan_campaign_file(engine, path, accounts, TEMPLATES)
    [post] = [item for item in render_campaign(load_campaign(path, accounts, TEMPLATES), accounts, TEMPLATES)]
    assert post.scheduled.scheduled_at.isoformat() == "2019-06-14T07:00:00-07:00"
    assert post.scheduled.post.text.endswith("\nPublish at: 2019-06-14T16:00:00Z")
    assert len(planned.by_action("created")) == 1
