"""The registry: one spec per platform module, read without any client library; the one base_url rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promo.accounts import load_accounts
from promo.errors import ConfigError
from promo.platforms.registry import PLATFORMS


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_spec_names_its_own_rules_and_adapter(name: str) -> None:
    spec = PLATFORMS[name]
    assert spec.rules.platform == spec.adapter.platform == name
    assert spec.default_base_url is None or spec.default_base_url.count("/") == 2  # scheme://host, no path


def test_reading_the_registry_loads_no_client_library() -> None:
    code = ("import sys, promo.platforms.registry\n"
            "print([m for m in ('httpx', 'requests', 'tweepy', 'mastodon', 'atproto') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


@pytest.mark.parametrize("base_url", ["https://graph.threads.net/v1.0", "graph.threads.net", "https://h/?x=1"])
def test_a_base_url_with_a_path_is_refused(tmp_path: Path, base_url: str) -> None:
    config = tmp_path / "promo.toml"
    config.write_text(f'[accounts.t]\nplatform = "threads"\nuser_id = "1"\nbase_url = "{base_url}"\n')
    with pytest.raises(ConfigError, match="base_url should be scheme://host"):
        load_accounts(config, environ={})


def test_a_base_url_is_kept_without_its_trailing_slash(tmp_path: Path) -> None:
    config = tmp_path / "promo.toml"
    config.write_text('[accounts.t]\nplatform = "threads"\nuser_id = "1"\nbase_url = "http://127.0.0.1:8080/"\n')
    assert load_accounts(config, environ={})["t"].base_url == "http://127.0.0.1:8080"
