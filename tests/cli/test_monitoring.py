"""``promo metrics``: one scrape printed (text and JSON), and a real server scraped over HTTP then
stopped by SIGTERM with status 0; a port in use is one line naming --port. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.cli.conftest import Promo, one_line_error
from tests.conftest import free_port


def test_once_prints_one_scrape(applied: Promo) -> None:
    ran = applied("metrics", "--once")
    assert ran.code == 0, ran.err
    families = {family.name: family for family in text_string_to_metric_families(ran.out)}
    assert families["promo_up"].samples[0].value == 1
    waiting = [s for s in families["promo_posts"].samples if s.labels == {"state": "scheduled", "account": "jj-x"}]
    assert waiting and waiting[0].value > 0
    assert "promo_dispatches" in families and "promo_lateness_seconds" in families


def test_json_is_a_list_of_samples(applied: Promo) -> None:
    ran = applied("metrics", "--json")
    assert ran.code == 0, ran.err
    names = {sample["name"]: sample for sample in ran.json}
    assert names["promo_up"]["value"] == 1 and names["promo_events_unread"]["value"] == 0


def test_the_server_answers_a_scrape_and_stops_on_sigterm(applied: Promo, project: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from promo.cli import main; main()", "metrics", "--port",
                               str(port)], cwd=project, env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        text = _scrape(port, server)
        assert "promo_posts{" in text and "promo_processes_alive{kind=\"worker\"} 0.0" in text
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
        assert server.returncode == 0, err
        assert f"serving http://127.0.0.1:{port}/metrics" in out
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def _scrape(port: int, server: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no scrape answered on port {port}: {server.poll()}")


def test_a_port_in_use_is_one_line_naming_the_option(applied: Promo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ran = applied("metrics", "--port", str(taken.getsockname()[1]))
    one_line_error(ran, 2, "--port")
    assert "cannot listen on 127.0.0.1:" in ran.err
