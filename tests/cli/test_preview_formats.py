"""``promo preview --format markdown``, ``--snapshot`` and ``--check-snapshot``: a review document, a lock of
every rendered post, and a check that fails when a template or a time moves a post away from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.cli.conftest import CAMPAIGN, Promo, one_line_error

SNAP = "jj.snapshot.yaml"


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # preview never opens the store


def test_markdown_is_a_review_document(promo: Promo) -> None:
    ran = promo("preview", CAMPAIGN, "--format", "markdown")
    assert ran.code == 0, ran.err
    document = ran.out
    assert document.startswith("# Preview: Jessica Jones season 3 (`jessica-jones-s3`)\n")
    assert "## `premiere` (premiere) at 2027-06-14 00:01 -07:00" in document
    assert "- not before 2027-06-14 00:00 -07:00 (embargo)" in document
    assert "graphemes, ✅ fits" in document and "### `jj-x` (x): " in document
    assert "alt `Jessica Jones season 3 key art: Jessica and Trish, back to back`" in document
    entries = promo("preview", CAMPAIGN, "--json").json
    fences = [t for t in MarkdownIt("commonmark").parse(document) if t.type == "fence"]
    assert len(fences) == sum(1 + len(entry["thread"]) for entry in entries)
    assert {f.content for f in fences} >= {entry["text"] + "\n" for entry in entries}
    assert promo("preview", CAMPAIGN, "--format", "markdown").out == document  # deterministic


def test_json_keeps_working_and_formats_do_not_mix(promo: Promo) -> None:
    as_json = promo("preview", CAMPAIGN, "--json")
    assert as_json.code == 0 and isinstance(as_json.json, list)
    assert promo("preview", CAMPAIGN, "--format", "json").out == as_json.out
    one_line_error(promo("preview", CAMPAIGN, "--json", "--format", "markdown"), 2, "--json and --format markdown")
    one_line_error(promo("preview", CAMPAIGN, "--format", "html"), 2, "'--format'")
    one_line_error(promo("preview", CAMPAIGN, "--snapshot", "a.yaml", "--check-snapshot", "a.yaml"), 2,
                   "--snapshot and --check-snapshot: give one of them")


def test_a_template_change_fails_the_snapshot_check(promo: Promo, project: Path) -> None:
    wrote = promo("preview", CAMPAIGN, "--snapshot", SNAP, "--compact")
    count = len(promo("preview", CAMPAIGN, "--json").json)
    assert wrote.code == 0 and f"wrote the snapshot of {count} posts to {SNAP}" in wrote.err
    same = promo("preview", CAMPAIGN, "--check-snapshot", SNAP, "--compact")
    assert same.code == 0 and "as snapshotted" in same.out.splitlines()[-1]
    template = project / "templates" / "premiere" / "x.j2"
    template.write_text(template.read_text().replace("is now streaming", "streams now"))
    drifted = promo("preview", CAMPAIGN, "--check-snapshot", SNAP, "--compact")
    assert drifted.code == 1 and "snapshot" not in drifted.err  # stderr: only the cached-facts notes
    assert "snapshot jj.snapshot.yaml: 1 changed, 0 new, 0 gone" in drifted.out
    assert "changed jessica-jones-s3/premiere/jj-x: text" in drifted.out
    assert "  -Jessica Jones season 3 is now streaming" in drifted.out
    assert "  +Jessica Jones season 3 streams now" in drifted.out
    assert f"if intended, update it: promo preview {CAMPAIGN} --snapshot {SNAP}" in drifted.out
    document = promo("preview", CAMPAIGN, "--format", "markdown", "--check-snapshot", SNAP)
    assert document.code == 1 and document.out.index("## Snapshot") < document.out.index("## `featurette`")
    assert "```diff\n--- snapshot jessica-jones-s3/premiere/jj-x" in document.out
    report = promo("preview", CAMPAIGN, "--json", "--check-snapshot", SNAP).json
    assert report["snapshot"]["changed"][0]["what"] == ["text"] and len(report["posts"]) > 10


def test_a_moved_time_is_named(promo: Promo, project: Path) -> None:
    assert promo("preview", CAMPAIGN, "--snapshot", SNAP, "--platform", "x").code == 0
    campaign = project / CAMPAIGN
    campaign.write_text(campaign.read_text().replace("at: 2027-06-14 00:01", "at: 2027-06-14 00:05"))
    ran = promo("preview", CAMPAIGN, "--check-snapshot", SNAP, "--platform", "x", "--compact")
    assert ran.code == 1
    assert ("  scheduled_at: 2027-06-14T00:01:00-07:00 -> 2027-06-14T00:05:00-07:00" in ran.out.splitlines())
    assert "changed jessica-jones-s3/premiere/jj-x: scheduled_at" in ran.out
    assert "new " not in ran.out  # the snapshot and the check see the same platform


def test_a_new_account_is_a_new_post(promo: Promo) -> None:
    assert promo("preview", CAMPAIGN, "--snapshot", SNAP, "--platform", "x").code == 0
    ran = promo("preview", CAMPAIGN, "--check-snapshot", SNAP, "--platform", "x", "--platform", "mastodon", "--compact")
    assert ran.code == 1 and "new jessica-jones-s3/premiere/jj-mastodon" in ran.out


def test_a_missing_or_malformed_snapshot_is_one_line_and_exit_2(promo: Promo, project: Path) -> None:
    ran = promo("preview", CAMPAIGN, "--check-snapshot", "nosuch.yaml")
    one_line_error(ran, 2, "snapshot nosuch.yaml: no such file; write it with 'promo preview CAMPAIGN "
                           "--snapshot nosuch.yaml'")
    (project / "bad.yaml").write_text("promo_snapshot: 1\nposts: {a: [\n")
    one_line_error(promo("preview", CAMPAIGN, "--check-snapshot", "bad.yaml", "--format", "markdown"), 2,
                   "snapshot bad.yaml: not valid YAML (line 3)")
    (project / "other.yaml").write_text("campaign: not a snapshot\n")
    one_line_error(promo("preview", CAMPAIGN, "--check-snapshot", "other.yaml"), 2, "not a promo snapshot")


def test_a_scratch_project_made_by_init(promo: Promo, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert promo("init", "scratch").code == 0
    monkeypatch.chdir(project / "scratch")
    assert promo("preview", "campaign.yaml", "--snapshot", "campaign.snapshot.yaml").code == 0
    assert "promo_snapshot: 1\n" in Path("campaign.snapshot.yaml").read_text()
    assert promo("preview", "campaign.yaml", "--check-snapshot", "campaign.snapshot.yaml").code == 0
    template = Path("templates/premiere/default.j2")
    template.write_text(template.read_text().replace("is now streaming", "arrives"))
    drifted = promo("preview", "campaign.yaml", "--format", "markdown", "--check-snapshot", "campaign.snapshot.yaml")
    assert drifted.code == 1
    assert "### Changed: `night-harbor-s1/premiere/outbox` (text)" in drifted.out
    assert "+Night Harbor season 1 arrives on Streamly." in drifted.out


def test_help_has_the_new_examples(promo: Promo) -> None:
    ran = promo("preview", "--help")
    assert "promo preview campaign.yaml --snapshot campaign.snapshot.yaml" in ran.out
    assert "--format markdown --check-snapshot campaign.snapshot.yaml > review.md" in ran.out
