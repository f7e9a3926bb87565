"""A campaign of ``at: next-slot`` announcements, for the planning and the CLI tests of next-slot."""

from __future__ import annotations

from pathlib import Path

FILE = "evergreen.yaml"
ANNOUNCEMENT = """\
  - key: {key}
    kind: generic
    at: next-slot
    text: "{text}"
"""


def write_evergreen(folder: Path, accounts: str, **texts: str) -> Path:
    """``folder/evergreen.yaml``: one next-slot announcement per ``key=text``, to ``accounts`` (a YAML list)."""
    body = "".join(ANNOUNCEMENT.format(key=key, text=text) for key, text in texts.items())
    path = folder / FILE
    path.write_text(f"campaign: evergreen\ntimezone: America/Los_Angeles\naccounts: {accounts}\n"
                    f"announcements:\n{body}", encoding="utf-8")
    return path
