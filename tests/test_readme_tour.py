"""The README's tour, run as real commands in a scratch copy of the repository: what the README says
a user sees is what they see. (tests/cli/test_first_run.py runs step 5, ``promo run``, and ``promo demo``
from a folder outside the checkout.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def promo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(COLUMNS="100", NO_COLOR="1")
    result = subprocess.run([sys.executable, "-m", "promo", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def promised(text: str) -> str:
    """A string the README shows; the test then checks the command prints it."""
    assert text in README, f"the README no longer says {text!r}"
    return text


def test_step_1_preview_and_check(tmp_path: Path) -> None:
    for name in ("promo.toml", "templates", "examples"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    assert promo(tmp_path, "preview", "examples/jessica-jones-s3.yaml").returncode == 0
    posts, accounts = 64, 14
    promised(f"{posts} posts on {accounts} accounts")
    compact = promo(tmp_path, "preview", "examples/jessica-jones-s3.yaml", "--compact")
    assert compact.returncode == 0 and len(compact.stdout.splitlines()) == posts + 2
    preview = promo(tmp_path, "preview", "examples/jessica-jones-s3.yaml", "--json")
    assert preview.returncode == 0, preview.stderr
    entries = json.loads(preview.stdout)
    assert len(entries) == posts and len({e["account"] for e in entries}) == accounts
    assert {e["platform"] for e in entries} >= {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook",
                                                "telegram", "discord", "slack"}
    assert all(e["ok"] for e in entries)
    too_long = promo(tmp_path, "check", "--platform", "x", "a" * 281)
    assert too_long.returncode == 1
    assert too_long.stdout.strip() == promised("x: 281/280: 1 over, does not fit")


def test_steps_2_to_4_init_edit_apply(tmp_path: Path) -> None:
    made = promo(tmp_path, "init", "my-campaign")
    assert made.returncode == 0 and promised("cd my-campaign") in made.stdout
    project = tmp_path / "my-campaign"
    campaign = (project / "campaign.yaml").read_text()
    assert promised("at: premiere - 2m") in campaign and promised("at: premiere - 1m") in campaign
    assert promised("America/Los_Angeles") in campaign
    assert promo(project, "preview", "campaign.yaml").returncode == 0
    first = promo(project, "apply", "campaign.yaml", "--yes")
    assert first.returncode == 0, first.stderr
    assert promised("3 new, 0 changed") in first.stdout
    again = json.loads(promo(project, "apply", "campaign.yaml", "--json", "--yes").stdout)
    assert not again["created"] and not again["changed"] and not again["cancelled"]
    queue = json.loads(promo(project, "queue", "--json").stdout)
    assert len(queue) == 3
    moved = re.sub(r"(?m)^(    at: )(\d{4}-\d\d-\d\d) ", r"\g<1>2099-01-01 ", campaign)
    (project / "campaign.yaml").write_text(moved)
    plan = json.loads(promo(project, "apply", "campaign.yaml", "--json", "--yes").stdout)
    assert len(plan["changed"]) == 3 and not plan["created"]
