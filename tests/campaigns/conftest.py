"""Fixtures for campaign tests: configured accounts, a templates folder, a campaign file writer."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from promo.accounts import Account, load_accounts

REPO = Path(__file__).resolve().parents[2]

ACCOUNTS_TOML = """
[accounts.x]
platform = "x"
handle = "promo"

[accounts.masto]
platform = "mastodon"

[accounts.sky]
platform = "bluesky"
handle = "promo.bsky.social"

[accounts.linked]
platform = "linkedin"
author = "urn:li:organization:1"

[accounts.box]
platform = "outbox"
"""


@pytest.fixture
def accounts(tmp_path: Path) -> dict[str, Account]:
    config = tmp_path / "promo.toml"
    config.write_text(ACCOUNTS_TOML)
    return load_accounts(config, environ={})


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A copy of the repository's templates, safe to add to."""
    target = tmp_path / "templates"
    shutil.copytree(REPO / "templates", target)
    return target


CampaignWriter = Callable[[str], Path]


@pytest.fixture
def write_campaign(tmp_path: Path) -> CampaignWriter:
    def write(text: str, name: str = "campaign.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write

