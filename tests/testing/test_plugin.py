"""The ``promo_preview`` fixture in a scratch project's own test run: a real ``pytest`` subprocess in a
project made by ``promo init``, with the plugin loaded as the ``pytest11`` entry point would load it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from promo.errors import ConfigError
from promo.manage.scaffold import scaffold
from promo.testing.project import preview_in_project

LAUNCH = """\
campaign: night-harbor-launch
name: Night Harbor launch
timezone: America/Los_Angeles
fields:
  show: Night Harbor
  season: 1
  network: Streamly
  link: https://example.com/night-harbor
  hashtags: [NightHarbor]
  cast: [Ada Stone, Ben Okafor, Carla Reyes]
accounts: [outbox]
announcements:
  - key: countdown
    kind: generic
    at: premiere - 14d            # before the March DST change: 18:00 -08:00
    text: "Two weeks: {{ show }} season {{ season }} on {{ network }}. {{ hashtags | hashtags }}"
  - key: premiere
    kind: premiere
    at: 2027-03-20 18:00          # after it: 18:00 -07:00
    media:
      - path: ../media/poster.png
        alt: "Night Harbor poster: a lighthouse at dusk"
    thread:
      - "Starring {{ cast | join_names }}."
"""

TOO_LONG = """\
campaign: too-long
timezone: America/Los_Angeles
accounts: [nh-x]
announcements:
  - key: essay
    kind: generic
    at: 2027-03-01 10:00
    text: "{{ 'word ' * 70 }}"
"""

PASSING = '''\
from datetime import timedelta


def test_every_post_fits(promo_preview):
    promo_preview("campaigns/launch.yaml").assert_fits()


def test_the_premiere_copy(promo_preview):
    premiere = promo_preview("campaigns/launch.yaml").post("premiere", "outbox")
    premiere.assert_text(contains=["Night Harbor season 1", "#NightHarbor"], excludes="TODO")
    premiere.assert_text(contains="Starring Ada Stone, Ben Okafor and Carla Reyes.", thread=True)
    assert premiere.media[0].alt == "Night Harbor poster: a lighthouse at dusk"
    assert premiere.length <= premiere.limit and premiere.ok


def test_times_keep_the_wall_clock_across_dst(promo_preview):
    preview = promo_preview("campaigns/launch.yaml")
    preview.post("premiere").assert_at("2027-03-20 18:00")
    preview.post("premiere").assert_at("2027-03-20T18:00:00-07:00")
    preview.post("countdown").assert_at("2027-03-06T18:00:00-08:00")
    elapsed = preview.post("premiere").at.timestamp() - preview.post("countdown").at.timestamp()
    assert elapsed == timedelta(days=14, hours=-1).total_seconds()  # the spring-forward hour
    preview.assert_between("09:00", "21:00")
    assert "# Preview: Night Harbor launch" in preview.markdown()
'''

FAILING = '''\
def test_wrong_copy(promo_preview):
    promo_preview("campaigns/launch.yaml").post("premiere").assert_text(contains="now on DVD")


def test_wrong_time(promo_preview):
    promo_preview("campaigns/launch.yaml").post("countdown").assert_at("2027-03-06 19:00")


def test_night_owls(promo_preview):
    promo_preview("campaigns/launch.yaml").assert_between("08:00", "12:00")


def test_does_not_fit(promo_preview):
    promo_preview("campaigns/too-long.yaml").assert_fits()


def test_no_such_campaign(promo_preview):
    promo_preview("campaigns/nosuch.yaml")


def test_no_such_post(promo_preview):
    promo_preview("campaigns/launch.yaml").post("finale")
'''


# The lines the package's metadata carries (pyproject.toml: [project.entry-points.pytest11]).
ENTRY_POINT = "[pytest11]\npromo.testing = promo.testing\n"


def registered() -> bool:
    return any(ep.value.startswith("promo.testing") for ep in entry_points(group="pytest11"))


def run_pytest(where: Path, *args: str, entry_point: bool = False) -> subprocess.CompletedProcess[str]:
    """pytest in ``where``: the plugin found through a ``pytest11`` entry point (the installed one, else a
    distribution carrying ``ENTRY_POINT`` put on the path), or named with ``-p promo.testing``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMO_", "PYTEST_"))}
    env["PROMO_HOME"] = str(where / ".promo")
    plugin = [] if registered() else ["-p", "promo.testing"]
    if entry_point and plugin:
        dist = where / ".entry-point" / "promo_plugin_probe-0.dist-info"
        dist.mkdir(parents=True, exist_ok=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: promo-plugin-probe\nVersion: 0\n")
        (dist / "entry_points.txt").write_text(ENTRY_POINT)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dist.parent), env.get("PYTHONPATH")]))
        plugin = []
    command = [sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``promo init`` plus a campaign across a DST change and an X account."""
    root = tmp_path_factory.mktemp("team") / "night-harbor"
    scaffold(root, start_in=timedelta(minutes=2))
    (root / "campaigns").mkdir()
    (root / "campaigns" / "launch.yaml").write_text(LAUNCH)
    (root / "campaigns" / "too-long.yaml").write_text(TOO_LONG)
    config = root / "promo.toml"
    config.write_text(config.read_text() + '\n[accounts.nh-x]\nplatform = "x"\nhandle = "nightharbor"\n')
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def write_tests(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(source)


def test_a_team_suite_passes_in_its_own_run(project: Path) -> None:
    write_tests(project / "tests", "test_campaigns.py", PASSING)
    ran = run_pytest(project, "tests/test_campaigns.py", entry_point=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 passed" in ran.stdout


def test_failures_read_like_review_comments(project: Path) -> None:
    write_tests(project / "failing", "test_failing.py", FAILING)
    ran = run_pytest(project, "failing/test_failing.py", "-rf")
    out = ran.stdout
    assert ran.returncode == 1 and "6 failed" in out, out + ran.stderr
    assert "night-harbor-launch/premiere/outbox: the text lacks ['now on DVD']; it is:" in out
    assert ("night-harbor-launch/countdown/outbox goes out at 2027-03-06 18:00 -08:00, "
            "not 2027-03-06 19:00 -08:00") in out
    assert "outside 08:00-12:00 America/Los_Angeles" in out
    assert "1 of 1 posts break a rule:" in out and "too-long/essay/nh-x: X: " in out
    assert "promo_preview('campaigns/nosuch.yaml'): " in out and "cannot read" in out
    assert "0 posts match 'finale'" in out and "(the posts: night-harbor-launch/countdown/outbox" in out


def test_a_template_change_fails_an_equals_assertion(project: Path, tmp_path: Path) -> None:
    """The ini setting points at a project elsewhere; a team test pinned to the copy fails once it changes."""
    premiere = preview_in_project(project / "promo.toml", Path("campaigns/launch.yaml")).post("premiere")
    pinned = f"def test_pinned(promo_preview):\n    promo_preview('campaigns/launch.yaml').post('premiere')" \
             f".assert_text(equals={premiere.text!r})\n"
    write_tests(tmp_path / "review", "test_pinned.py", pinned)
    (tmp_path / "review" / "pytest.ini").write_text(f"[pytest]\npromo_config = {project / 'promo.toml'}\n")
    assert run_pytest(tmp_path / "review").returncode == 0
    template = project / "templates" / "premiere" / "default.j2"
    original = template.read_text()
    template.write_text(original.replace("is now streaming", "streams"))
    try:
        ran = run_pytest(tmp_path / "review")
    finally:
        template.write_text(original)
    assert ran.returncode == 1 and "streams on Streamly" in ran.stdout and "is now streaming" in ran.stdout


def test_the_fixture_names_a_missing_project(tmp_path: Path) -> None:
    write_tests(tmp_path, "test_lost.py", "def test_lost(promo_preview):\n    promo_preview('c.yaml')\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    ran = run_pytest(tmp_path)
    assert ran.returncode == 1
    assert f"{tmp_path / 'promo.toml'}: no such file: set the promo_config ini option" in ran.stdout


def test_the_helpers_in_process(project: Path) -> None:
    preview = preview_in_project(project / "promo.toml", Path("campaigns/launch.yaml"))
    assert [post.key for post in preview] == ["night-harbor-launch/countdown/outbox",
                                              "night-harbor-launch/premiere/outbox"]
    assert len(preview) == 2 and preview[1].thread == ("Starring Ada Stone, Ben Okafor and Carla Reyes.",)
    preview.assert_between("17:00", "19:00")
    preview.assert_between("17:30", "01:00")  # a window across midnight
    with pytest.raises(AssertionError, match="outside 19:00-23:00"):
        preview.post("premiere").assert_between("19:00", "23:00")
    with pytest.raises(AssertionError, match=r"2 posts match None"):
        preview.post(None, "outbox")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no such file"):
        preview_in_project(project / "nosuch.toml", Path("campaigns/launch.yaml"))
    assert textwrap.dedent(preview.markdown()).count("```text") == 3
