"""``promo init``: copy the starter project in ``project/`` (config, templates, a campaign) into a folder.

The starter's templates are the repository's ``templates/`` (a test keeps them identical).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from promo.errors import ConfigError

_SKIP = {"__pycache__", "__init__.py"}


def starter_files() -> dict[str, bytes]:
    """Every file of the starter project by its relative path."""
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


def scaffold(directory: Path) -> list[Path]:
    """Write the starter project into ``directory``; refuses (ConfigError) if any file already exists."""
    wanted = starter_files()
    existing = sorted(name for name in wanted if (directory / name).exists())
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ConfigError(f"{directory / existing[0]}{more} already exist; promo init never overwrites "
                          "files (choose an empty folder)")
    written = []
    for name, data in sorted(wanted.items()):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
