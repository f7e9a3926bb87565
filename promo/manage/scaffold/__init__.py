"""``promo init``: copy the starter project in ``project/`` (config, templates, a campaign) into a folder.

The starter's templates are the repository's ``templates/`` (a test keeps them identical); the demo
renders the packaged seed campaign with them too (``TEMPLATES``).

The sample campaign's premiere is written at init time (``PREMIERE_AT`` in ``project/campaign.yaml``),
a little ahead of now in the campaign's zone, and its other announcements are relative to it: the
first post goes out ``start_in`` after ``promo init`` (two minutes by default), so a first
``promo apply`` and ``promo run`` publish it, on time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from promo.errors import ConfigError
from promo.times import utcnow, zone

TEMPLATES = Path(__file__).resolve().parent / "project" / "templates"
CAMPAIGN = "campaign.yaml"
PLACEHOLDER = "PREMIERE_AT"
START_IN = timedelta(minutes=2)  # from init to the sample's first post
FIRST_BEFORE_PREMIERE = timedelta(minutes=2)  # the trailer: ``at: premiere - 2m``
_SKIP = {"__pycache__", "__init__.py"}
_ZONE = re.compile(r"^timezone:\s*([\w/+-]+)", re.MULTILINE)


@dataclass(frozen=True)
class Scaffolded:
    """What ``promo init`` wrote, and when the sample's first post goes out (in its campaign's zone)."""

    written: list[Path]
    first_post_at: datetime


def starter_files() -> dict[str, bytes]:
    """Every file of the starter project by its relative path, as shipped (``PREMIERE_AT`` unfilled)."""
    found: dict[str, bytes] = {}
    _collect(files("promo.manage.scaffold") / "project", "", found)
    return found


def _collect(folder: Traversable, prefix: str, found: dict[str, bytes]) -> None:
    for entry in folder.iterdir():
        if entry.name in _SKIP:
            continue
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            _collect(entry, relative + "/", found)
        else:
            found[relative] = entry.read_bytes()


def sample_campaign(text: str, now: datetime, start_in: timedelta = START_IN) -> tuple[str, datetime]:
    """The sample campaign with its premiere filled in so that its first post is ``start_in`` from
    ``now``; and that first post's time, in the campaign's zone."""
    found = _ZONE.search(text)
    tz = zone(found.group(1) if found else "UTC")
    premiere = _round_up(now + start_in + FIRST_BEFORE_PREMIERE, 60 if start_in >= timedelta(minutes=1) else 1)
    premiere = premiere.astimezone(tz)
    shown = premiere.strftime("%Y-%m-%d %H:%M:%S" if premiere.second else "%Y-%m-%d %H:%M")
    filled = re.sub(PLACEHOLDER + "( *)", lambda found: shown.ljust(len(found.group(0)) - 1) + " ", text)
    return filled, premiere - FIRST_BEFORE_PREMIERE


def _round_up(moment: datetime, step_s: int) -> datetime:
    """``moment`` rounded up to a whole ``step_s`` seconds."""
    seconds = math.ceil(moment.timestamp() / step_s) * step_s
    return datetime.fromtimestamp(seconds, moment.tzinfo)


def scaffold(directory: Path, *, now: datetime | None = None, start_in: timedelta = START_IN) -> Scaffolded:
    """Write the starter project into ``directory``; refuses (ConfigError) if any file already exists."""
    wanted = starter_files()
    existing = sorted(name for name in wanted if (directory / name).exists())
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ConfigError(f"{directory / existing[0]}{more} already exist; promo init never overwrites "
                          "files (choose an empty folder)")
    campaign, first = sample_campaign(wanted[CAMPAIGN].decode("utf-8"), now or utcnow(), start_in)
    wanted[CAMPAIGN] = campaign.encode("utf-8")
    written = []
    for name, data in sorted(wanted.items()):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return Scaffolded(written, first)
