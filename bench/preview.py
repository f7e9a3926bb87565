"""Preview: render and check announcements x 10 platforms, posts per second.

The seed campaign's announcements are copied until there are N of them (each copy keeps its kind,
fields, media and thread; relative times count from the seed's premiere), written to a scratch
folder, then loaded, rendered with the real templates and checked with each platform's rules.

The workload stays the one docs/benchmarks.md has always recorded: the seed's accounts on the ten
text platforms (``PLATFORMS``). The seed's video-only accounts (YouTube, Instagram, Reddit, TikTok)
and the announcements only they take are left out: copies of a video announcement at one time would
also exceed YouTube's daily quota and Instagram's 24-hour publishing limit, campaign-wide checks a
real campaign meets.

    python -m bench.preview               # 1,000 announcements x 10 accounts
    python -m bench.preview --quick
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Target, parser, report, size

TARGET = 5_000
SEED = ROOT / "examples" / "jessica-jones-s3.yaml"
PLATFORMS = ("x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord", "slack", "outbox")


def text_accounts() -> list[str]:
    """The seed campaign's accounts on ``PLATFORMS``, in its order."""
    import yaml

    from promo.accounts import load_accounts

    accounts = load_accounts(ROOT / "promo.toml", environ={})
    listed = yaml.safe_load(SEED.read_text(encoding="utf-8"))["accounts"]
    return [name for name in listed if accounts[name].platform in PLATFORMS]


def on_text_accounts(announcement: dict[str, Any], kept: list[str]) -> dict[str, Any] | None:
    """``announcement`` with its skips of other platforms dropped; None if it goes to none of ``kept``."""
    if announcement.get("accounts") and not set(announcement["accounts"]) & set(kept):
        return None
    copy = dict(announcement)
    if isinstance(copy.get("platforms"), dict):
        copy["platforms"] = {name: value for name, value in copy["platforms"].items() if name in PLATFORMS}
    return copy


def write_campaign(folder: Path, announcements: int) -> Path:
    """A copy of the seed campaign, on its text accounts, with ``announcements`` announcements."""
    import yaml

    doc = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    doc["accounts"] = kept = text_accounts()
    seed = [a for a in (on_text_accounts(a, kept) for a in doc["announcements"]) if a is not None]
    copies = []
    for i in range(announcements):
        copy = dict(seed[i % len(seed)])
        batch = i // len(seed)
        if batch:  # copies get new keys; relative times still count from the seed's premiere
            copy["key"] = f"{copy['key']}b{batch}"
        copies.append(copy)
    doc["announcements"] = copies
    shutil.copytree(SEED.parent / "media", folder / "media")
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def measure(announcements: int) -> dict[str, Any]:
    from promo.accounts import load_accounts
    from promo.campaigns import load_campaign
    from promo.campaigns.preview import render_campaign

    accounts = load_accounts(ROOT / "promo.toml", environ={})
    templates = ROOT / "templates"
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp:
        path = write_campaign(Path(tmp), announcements)
        start = time.perf_counter()
        campaign = load_campaign(path, accounts, templates)
        loaded = time.perf_counter()
        rendered = render_campaign(campaign, accounts, templates)
        done = time.perf_counter()
    return {"announcements": announcements, "accounts": len(campaign.accounts), "posts": len(rendered),
            "load_s": loaded - start, "render_s": done - loaded, "total_s": done - start,
            "problems": sum(1 for r in rendered if not r.ok)}


def main(argv: list[str] | None = None) -> None:
    args: argparse.Namespace = parser(__doc__.splitlines()[0], default_n=1_000, quick_n=12).parse_args(argv)
    m = measure(size(args))
    rate = m["posts"] / m["total_s"]
    rows = [[m["announcements"], m["accounts"], m["posts"], f"{m['load_s']:.2f}", f"{m['render_s']:.2f}",
             f"{rate:,.0f}", m["problems"]]]
    report(args, "Preview: render and check every post",
           ["announcements", "accounts", "posts", "load s", "render+check s", "posts/s", "with problems"],
           rows, [Target(f"preview >= {TARGET:,} posts/s", rate >= TARGET, f"{rate:,.0f} posts/s")],
           ["posts/s counts load (YAML, times, media) plus render and check; skipped platforms make no post"])


if __name__ == "__main__":
    main()
