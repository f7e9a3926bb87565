"""``promo accounts connect`` as a person runs it (real processes): the loopback redirect, and
``--no-browser`` with the redirected address pasted; then ``promo accounts``, ``check``, ``config``,
``status`` and ``rotate-key``, with every output and the database file searched for the secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.connect.connectkit import KEY, Network, environment, leaks, network, secrets_of


def _env(tmp_path: Path, name: str, key: str = KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(environment(name))
    env.update({"PROMO_HOME": str(tmp_path / ".promo"), "PROMO_CONFIG_FILE": str(tmp_path / "promo.toml"),
                "PROMO_SECRET_KEY": key})
    return env


def _promo(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promo", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def _connect(tmp_path: Path, env: dict[str, str], name: str, *, paste: bool) -> str:
    """Run ``promo accounts connect``; play the browser on the URL it prints. Its whole output."""
    args = [sys.executable, "-m", "promo", "accounts", "connect", name] + (["--no-browser"] if paste else [])
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None and process.stdin is not None
    url = ""
    while not url.startswith("http"):
        url = process.stderr.readline().strip()
        assert url or process.poll() is None, "promo exited before printing the URL"
    if paste:  # the browser ends on an address nothing answers on this machine: the person copies it
        location = httpx.get(url, follow_redirects=False, timeout=10).headers["location"]
        out, err = process.communicate(location + "\n", timeout=60)
    else:
        assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    return url + out + err


def _project(tmp_path: Path, net: Network, name: str) -> None:
    (tmp_path / "promo.toml").write_text(net.account_toml(name), encoding="utf-8")


def test_connect_with_a_pasted_address_then_list_check_and_rotate(tmp_path: Path) -> None:
    with network("x") as net:
        _project(tmp_path, net, "jj-x")
        env = _env(tmp_path, "jj-x")
        outputs = [_connect(tmp_path, env, "jj-x", paste=True)]
        assert "connected jj-x (x)" in outputs[0] and "ok: @JessicaJones" in outputs[0]
        listed = _promo(tmp_path, env, "accounts", "--json")
        row = json.loads(listed.stdout)[0]
        assert (row["source"], row["status"], row["warning"]) == ("connected", "connected", None)
        assert "tweet.write" in row["scopes"] and row["expires_at"]
        checked = _promo(tmp_path, env, "accounts", "check", "--json")
        assert checked.returncode == 0 and json.loads(checked.stdout)[0]["ok"], checked.stderr
        outputs += [listed.stdout, checked.stdout + checked.stderr]
        for args in (("accounts",), ("config",), ("config", "--json"), ("status", "--json"), ("accounts", "refresh")):
            ran = _promo(tmp_path, env, *args)
            assert "Traceback" not in ran.stderr, ran.stderr
            outputs.append(ran.stdout + ran.stderr)

        new = Fernet.generate_key().decode()
        rotated = _promo(tmp_path, {**env, "PROMO_SECRET_KEY": f"{new},{KEY}"}, "accounts", "rotate-key")
        assert rotated.returncode == 0 and "re-encrypted 1 account" in rotated.stdout, rotated.stderr
        after = _promo(tmp_path, {**env, "PROMO_SECRET_KEY": new}, "accounts", "check")
        assert after.returncode == 0 and after.stdout.startswith("ok   jj-x (x, connected)"), after.stderr
        missing = _promo(tmp_path, {k: v for k, v in env.items() if k != "PROMO_SECRET_KEY"}, "accounts", "check")
        assert missing.returncode == 1 and missing.stderr.count("\n") == 1
        assert missing.stderr.startswith("error: PROMO_SECRET_KEY is not set")
        outputs += [rotated.stdout, after.stdout, missing.stderr]

        database = (tmp_path / ".promo" / "promo.db").read_bytes().decode("latin-1")
        assert leaks([*outputs, database], secrets_of(net)) == []


def test_connect_through_the_loopback_redirect(tmp_path: Path) -> None:
    with network("linkedin") as net:
        _project(tmp_path, net, "jj-linkedin")
        env = _env(tmp_path, "jj-linkedin")
        output = _connect(tmp_path, env, "jj-linkedin", paste=False)
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in output and "connected jj-linkedin (linkedin)" in output
        assert "w_organization_social" in output
        assert leaks([output], secrets_of(net)) == []
