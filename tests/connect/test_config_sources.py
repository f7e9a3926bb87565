"""``promo config`` and ``promo accounts`` say where each account's credentials come from (environment,
connected, missing) as one another does, never a secret; and with the database unreachable, ``promo
accounts`` still lists every account, warns once (the problem and the next step) and exits 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from promo.store.db import make_engine
from promo.store.migrate import upgrade
from tests.connect.connectkit import KEY, connect, environment, leaks, network, project, secrets_of

TELEGRAM = '[accounts.jj-telegram]\nplatform = "telegram"\nchat_id = "@jessicajones"\n'
BOT_TOKEN = "123456:telegram-bot-token-never-shown"
DOWN = "postgresql://promo:pw-never-shown@127.0.0.1:1/promo"  # nothing listens on port 1


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(environment("jj-x"))
    env.update({"PROMO_HOME": str(tmp_path / "home"), "PROMO_CONFIG_FILE": str(tmp_path / "promo.toml"),
                "PROMO_DATABASE_URL": database_url, "PROMO_SECRET_KEY": KEY,
                "PROMO_ACCOUNT_JJ_TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    return env


def _promo(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promo", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_config_shows_each_source_and_survives_a_database_that_is_down(tmp_path: Path, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with network("x") as net:
        settings, accounts = project(tmp_path, sqlite_url, net, "jj-x")
        connect(settings, engine, accounts["jj-x"])
        with (tmp_path / "promo.toml").open("a", encoding="utf-8") as toml:
            toml.write(TELEGRAM + '\n[accounts.jj-bluesky]\nplatform = "bluesky"\nhandle = "jj.bsky.social"\n')
        env = _env(tmp_path, sqlite_url)
        shown = _promo(tmp_path, env, "config")
        assert shown.returncode == 0, shown.stderr
        lines = {line.split(":")[0]: line for line in shown.stdout.splitlines() if line.startswith("account ")}
        assert lines["account jj-x"].startswith("account jj-x: x, connected (scopes ") and "missing" not in \
            lines["account jj-x"]
        assert lines["account jj-telegram"] == "account jj-telegram: telegram, environment (bot_token set)"
        assert "missing" in lines["account jj-bluesky"] and "PROMO_ACCOUNT_JJ_BLUESKY_" in lines["account jj-bluesky"]
        as_json = _promo(tmp_path, env, "config", "--json")
        found = json.loads(as_json.stdout)["accounts"]
        assert {name: row["source"] for name, row in found.items()} == {
            "jj-x": "connected", "jj-telegram": "environment", "jj-bluesky": "missing"}
        assert set(found["jj-x"]["credentials"].values()) == {"connected"}
        listed = _promo(tmp_path, env, "accounts", "--json")
        assert {r["name"]: r["source"] for r in json.loads(listed.stdout)} == {n: r["source"] for n, r in found.items()}

        down = _env(tmp_path, DOWN)
        outputs = [shown.stdout, shown.stderr, as_json.stdout, listed.stdout]
        text = _promo(tmp_path, down, "accounts")
        assert text.returncode == 4, text.stderr
        rows = {line.split()[0]: line for line in text.stdout.splitlines()}
        assert set(rows) == {"jj-x", "jj-telegram", "jj-bluesky"}
        assert "  unknown  " in rows["jj-x"] and "  environment  " in rows["jj-telegram"]
        assert "  unknown  " in rows["jj-bluesky"]  # an app password may have been connected: only the store knows
        assert text.stderr.count("\n") == 1 and text.stderr.startswith("warning: connected tokens could not be read")
        assert "Connection refused" in text.stderr and "then run 'promo accounts' again" in text.stderr
        as_json_down = _promo(tmp_path, down, "accounts", "--json")
        assert as_json_down.returncode == 4 and len(json.loads(as_json_down.stdout)) == 3
        config_down = _promo(tmp_path, down, "config", "--json")
        assert config_down.returncode == 0 and json.loads(config_down.stdout)["warnings"], config_down.stderr
        outputs += [text.stdout, text.stderr, as_json_down.stdout, config_down.stdout, config_down.stderr]
        assert not any("Traceback" in out for out in outputs)
        assert leaks(outputs, [*secrets_of(net), BOT_TOKEN, "pw-never-shown"]) == []
