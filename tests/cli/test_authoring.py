"""``promo init``, ``promo preview`` and ``promo check`` through the real CLI entry point."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promo.cli import main

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "examples" / "jessica-jones-s3.yaml"
SCAFFOLD_TEMPLATES = REPO / "promo" / "manage" / "scaffold" / "project" / "templates"


def promo(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``promo ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("PROMO_CONFIG_FILE", raising=False)
    monkeypatch.delenv("PROMO_TEMPLATES_DIR", raising=False)


def test_preview_json_of_the_seed_campaign_is_valid_everywhere(capsys, in_repo) -> None:
    code, out, err = promo(capsys, "preview", str(SEED), "--json")
    entries = json.loads(out)
    assert code == 0, err
    assert all(entry["ok"] for entry in entries)
    assert {e["platform"] for e in entries} == {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook",
                                                 "telegram", "discord", "slack", "outbox", "youtube", "instagram",
                                                 "reddit", "tiktok"}


def test_preview_table_and_filters(capsys, in_repo) -> None:
    code, out, _ = promo(capsys, "preview", str(SEED), "--platform", "x")
    assert code == 0
    assert "premiere (premiere) at 2019-06-14 00:01 -07:00" in out and "jj-x" in out and "jj-mastodon" not in out
    assert "posts, all within their platform's rules" in out
    code, out, _ = promo(capsys, "preview", str(SEED), "--account", "jj-bluesky", "--json")
    assert {e["account"] for e in json.loads(out)} == {"jj-bluesky"}


def test_preview_exits_1_when_a_post_breaks_a_rule(capsys, in_repo, tmp_path) -> None:
    campaign = _long_campaign(tmp_path)
    code, out, _ = promo(capsys, "preview", str(campaign), "--json")
    assert code == 1
    broken = [e for e in json.loads(out) if not e["ok"]]
    assert broken and all(e["announcement"] == "tonight" for e in broken)
    x = next(e for e in broken if e["platform"] == "x")
    assert x["problems"][0]["message"].startswith("X: 349/280")
    code, out, _ = promo(capsys, "preview", str(campaign))
    assert code == 1 and "X: 349/280" in out and "break a platform rule" in out


@pytest.mark.parametrize(("body", "message"), [
    ("campaign: demo\ntimezone: [oops\n", "campaign.yaml:2: not valid YAML"),
    ("campaign: demo\ntimezone: Nowhere/Land\naccounts: [jj-x]\nannouncements: []\n",
     "campaign.yaml:2: timezone: unknown IANA timezone"),
])
def test_bad_campaign_is_one_line_without_traceback(capsys, in_repo, tmp_path, body, message) -> None:
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(body)
    code, out, err = promo(capsys, "preview", str(campaign))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_check_agrees_with_the_reference_counters(capsys) -> None:
    assert promo(capsys, "check", "--platform", "x", "a" * 280)[0] == 0
    code, out, _ = promo(capsys, "check", "--platform", "x", "a" * 281)
    assert code == 1 and out == "x: 281/280: 1 over, does not fit\n"
    code, out, _ = promo(capsys, "check", "--platform", "x", "--json", "漢" * 141)
    assert code == 1 and json.loads(out) | {"problems": []} == {
        "platform": "x", "length": 282, "limit": 280, "over": 2, "ok": False, "problems": []}
    code, out, _ = promo(capsys, "check", "--platform", "x", "--json",
                         "https://example.com/" + "very-long-path/" * 20)
    assert code == 0 and json.loads(out)["length"] == 23


def test_check_says_the_length_once_with_what_else_is_wrong(capsys) -> None:
    code, out, _ = promo(capsys, "check", "--platform", "x", "--media", "5", "a" * 282 + " https://example.com/x")
    assert code == 1 and out.count("306/280") == 1
    assert out.splitlines() == ["x: 306/280: 26 over (the link counts as 23), does not fit",
                                "  X: 5 attachments, at most 4"]
    code, out, _ = promo(capsys, "check", "--platform", "x", "hello")
    assert code == 0 and out == "x: 5/280: 275 to spare, fits\n"


def test_check_reports_bluesky_facet_byte_offsets(capsys) -> None:
    code, out, _ = promo(capsys, "check", "--platform", "bluesky", "--json", "Sale \u2728 now: https://example.com")
    result = json.loads(out)
    assert code == 0 and result["ok"]
    assert result["facets"][0] == {"byteStart": 14, "byteEnd": 33, "kind": "link", "value": "https://example.com"}


def test_check_counts_attached_media(capsys) -> None:
    code, out, _ = promo(capsys, "check", "--platform", "x", "--media", "5", "--json", "five pictures")
    result = json.loads(out)
    assert code == 1 and not result["ok"] and result["problems"]


def test_check_unknown_platform_is_one_line(capsys) -> None:
    code, _, err = promo(capsys, "check", "--platform", "myspace", "hello")
    assert code in (1, 2) and "unknown platform 'myspace'" in err and "Traceback" not in err


def test_init_scaffolds_a_project_that_previews_cleanly(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    before = datetime.now(UTC)
    code, out, _ = promo(capsys, "init", "my-campaign")
    assert code == 0 and "promo preview campaign.yaml" in out and "first post goes out at" in out
    monkeypatch.chdir(tmp_path / "my-campaign")
    code, out, err = promo(capsys, "preview", "campaign.yaml", "--json")
    assert code == 0, err
    entries = json.loads(out)
    assert [e["account"] for e in entries] == ["outbox"] * 3, "only the outbox is enabled"
    assert all(e["ok"] for e in entries)
    times = sorted(datetime.fromisoformat(e["scheduled_at"]) for e in entries)
    assert before + timedelta(minutes=2) <= times[0] <= before + timedelta(minutes=3), "a first post soon"
    assert times[-1] - times[0] == timedelta(minutes=2)
    assert not (tmp_path / "my-campaign" / ".promo").exists(), "preview must not write anything"


def test_init_refuses_to_overwrite(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "campaign.yaml").write_text("mine\n")
    code, _, err = promo(capsys, "init")
    assert code == 1 and "campaign.yaml already exist" in err and "Traceback" not in err
    assert (tmp_path / "campaign.yaml").read_text() == "mine\n"
    assert not (tmp_path / "promo.toml").exists()


def test_scaffold_templates_are_the_repository_templates() -> None:
    comparison = filecmp.dircmp(REPO / "templates", SCAFFOLD_TEMPLATES)
    stack, different = [comparison], []
    while stack:
        current = stack.pop()
        different += current.left_only + current.right_only + current.diff_files
        stack += current.subdirs.values()
    assert different == [], "copy templates/ to promo/manage/scaffold/project/templates/"


def test_preview_end_to_end_in_a_subprocess_touches_no_database(tmp_path) -> None:
    code = ("import sys\nfrom promo.cli import main\ntry:\n    main(['preview', sys.argv[1], '--json'])\n"
            "    print('EXIT 0', file=sys.stderr)\n"
            "except SystemExit as exc:\n    print('EXIT', exc.code, file=sys.stderr)\n"
            "print('SQLALCHEMY', 'sqlalchemy' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, str(SEED)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert "EXIT 0" in done.stderr, done.stderr
    assert "SQLALCHEMY False" in done.stderr
    assert len(json.loads(done.stdout)) > 50


def test_init_comments_out_every_account_but_the_outbox_with_how_to_enable_it(tmp_path) -> None:
    from promo.accounts import load_accounts
    from promo.manage.scaffold import scaffold

    scaffold(tmp_path)
    assert set(load_accounts(tmp_path / "promo.toml")) == {"outbox"}
    toml, campaign = (tmp_path / "promo.toml").read_text(), (tmp_path / "campaign.yaml").read_text()
    for name, variable in (("my-mastodon", "PROMO_ACCOUNT_MY_MASTODON_ACCESS_TOKEN"),
                           ("my-bluesky", "PROMO_ACCOUNT_MY_BLUESKY_APP_PASSWORD")):
        assert f"# [accounts.{name}]" in toml and f"# - {name}" in campaign
        assert re.search(f"To enable .*{variable}", toml) and re.search(f"{name} .*enable.*{variable}", campaign)
    assert "PREMIERE_AT" not in campaign


def test_init_start_in_is_checked(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = promo(capsys, "init", "--start-in", "soon")
    assert code == 2 and "--start-in" in err and not (tmp_path / "campaign.yaml").exists()


def _long_campaign(tmp_path: Path) -> Path:
    campaign = tmp_path / "long.yaml"
    campaign.write_text(SEED.read_text().replace("text: \"Tonight at midnight:", "text: \"{{ 'a' * 300 }}"))
    (tmp_path / "media").symlink_to(REPO / "examples" / "media")
    return campaign


def test_preview_compact_is_one_line_per_post(capsys, in_repo, tmp_path) -> None:
    code, out, _ = promo(capsys, "preview", str(_long_campaign(tmp_path)), "--compact")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 64 + 2  # the header, a line per post, the summary
    assert re.search(r"^tonight +jj-x +x +349/280 +1 problem", out, re.MULTILINE)
    assert re.search(r"^premiere +jj-mastodon +mastodon +\d+/500 +ok", out, re.MULTILINE)


@pytest.mark.parametrize("columns", [100, 80])
@pytest.mark.parametrize("mode", ["--compact", "--full"])
def test_preview_fits_the_terminal_and_never_breaks_a_url(monkeypatch, tmp_path, columns, mode) -> None:
    monkeypatch.chdir(REPO)
    env = {"COLUMNS": str(columns), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "promo", "preview", str(SEED), mode], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout, "piped output is plain"
    urls = set(re.findall(r"https://\S+", done.stdout))
    for line in done.stdout.splitlines():
        words = line.split()
        assert len(line) <= columns or len(words) == 1, f"wider than {columns}: {line!r}"
    if mode == "--full":
        assert "https://www.netflix.com/title/80002311?utm_source=x&utm_medium=social&utm_campaign=jessica-jones-s3" \
            in urls
        assert all(url.endswith(("jessica-jones-s3", "jessica-jones-s3.")) for url in urls), urls


def test_wrap_text_keeps_words_and_urls_whole() -> None:
    from promo.cli.authoring import wrap_text

    url = "https://example.com/" + "very-long-path/" * 10
    lines = wrap_text(f"Watch it now {url} tonight, with friends and family", 30)
    assert url in lines and all(len(line) <= 30 for line in lines if line != url)
    assert " ".join(lines) == f"Watch it now {url} tonight, with friends and family"
    assert wrap_text("one\n\ntwo", 30) == ["one", "", "two"]
