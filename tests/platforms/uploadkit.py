"""For video upload tests: a journal kept in a file, and a publish killed mid-upload in a real process.

``FileJournal`` writes every note to a JSON file before the next call, as the engine's ``DbJournal``
commits each one to the ledger row. ``killed_mid_upload`` runs an adapter's publish in a child
process (``python -m tests.platforms.uploadkit``), waits until the journal shows the upload under
way, kills the child with SIGKILL (no cleanup of any kind runs), and hands back the journal it left.
``publish_peak_memory`` publishes in a child process and answers tracemalloc's peak there, after
the client library is loaded: the fakes run in the test process, and werkzeug's server reads into
a 10 MB buffer after each request, which would swamp a measurement taken in the same process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promo.posts import Post

ROOT = Path(__file__).resolve().parents[2]


class FileJournal:
    """A Journal in a JSON file: each ``record`` is on disk before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str) -> str | None:
        return self.notes.get(key)

    def record(self, key: str, value: str) -> None:
        self.notes[key] = value
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.notes))
        os.replace(temporary, self.path)


def killed_mid_upload(tmp_path: Path, platform: str, base_url: str | None, credentials: dict[str, str],
                      options: dict[str, Any], post: Post, when: Callable[[dict[str, str]], bool],
                      timeout: float = 20.0) -> FileJournal:
    """Publish ``post`` in a child process; SIGKILL it as soon as ``when(journal notes)`` holds."""
    journal_path = tmp_path / "journal.json"
    spec = {"platform": platform, "base_url": base_url, "credentials": credentials, "options": options,
            "payload": post.to_payload(), "key": post.idempotency_key, "journal": str(journal_path)}
    child = subprocess.Popen([sys.executable, "-m", "tests.platforms.uploadkit", json.dumps(spec)], cwd=ROOT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and child.poll() is None:
            notes = json.loads(journal_path.read_text()) if journal_path.exists() else {}
            if when(notes):
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"the child ended ({child.poll()}) or timed out before the upload was under way")
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return FileJournal(journal_path)


def publish_peak_memory(tmp_path: Path, platform: str, base_url: str | None, credentials: dict[str, str],
                        options: dict[str, Any], post: Post) -> int:
    """tracemalloc's peak (bytes) while ``post`` is published in a child process."""
    spec = {"platform": platform, "base_url": base_url, "credentials": credentials, "options": options,
            "payload": post.to_payload(), "key": post.idempotency_key, "journal": str(tmp_path / "journal.json"),
            "measure": True}
    done = subprocess.run([sys.executable, "-m", "tests.platforms.uploadkit", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def _child(spec: dict[str, Any]) -> None:
    import tracemalloc

    import httpx

    from tests.fakes.accounts import adapter, make_account

    account = make_account(spec["platform"], spec["base_url"], spec["credentials"], **spec["options"])
    post = Post.from_payload(spec["platform"], account.name, spec["payload"], spec["key"])
    publisher = adapter(account, timeout=30.0)
    if not spec.get("measure"):
        publisher.publish(post, FileJournal(Path(spec["journal"])))
        return
    httpx.Client().close()  # the client library loaded (and its imports) before measuring
    tracemalloc.start()
    publisher.publish(post, FileJournal(Path(spec["journal"])))
    print(tracemalloc.get_traced_memory()[1])


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
