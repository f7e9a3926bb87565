"""Outbox: a local JSON-lines file standing in for a network. The demo and a first run use it.

Each published post is one line: ``{"id", "idempotency_key", "account", "platform", "published_at",
"parts"}``.
The line is written with one ``write`` and fsynced, so a crash leaves a whole line or none, and
``lookup`` finds a post by its idempotency key: published or not, it can always tell (but for the
two cases its docstring names). No network: ``base_url`` is not used. A relative ``path`` (the
default, ``outbox.jsonl``) is in promo's home, which the engine passes to every adapter it builds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from promo.errors import Ambiguous, AuthError
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.media import local_path
from promo.posts import CannotTell, Journal, Lookup, NotPublished, Post, Published
from promo.rules.outbox import OutboxRules
from promo.times import iso, utcnow

DEFAULT_PATH = "outbox.jsonl"


class OutboxAdapter(BaseAdapter[None]):
    platform = "outbox"

    @property
    def path(self) -> Path:
        """The outbox file. A relative ``path`` is read in promo's home (the ``home`` setting), not the
        process's working folder, so every worker and beat sharing a home writes and reads one file."""
        path = Path(str(self.account.options.get("path", DEFAULT_PATH))).expanduser()
        return path if path.is_absolute() or self.home is None else self.home / path

    def publish(self, post: Post, journal: Journal) -> Published:
        # Only an attempt that got as far as writing can have left a line: look for it then.
        if journal.get("outbox:writing"):
            found = self.lookup(post, journal)
            if isinstance(found, Published):
                return found
            if isinstance(found, CannotTell):
                raise Ambiguous(found.reason, platform=self.platform)
        for part in post.parts:     # like a network, refuse a media file that is not there
            for media in part.media:
                local_path(self.platform, media)
        journal.record("outbox:writing", "1")
        post_id = post.idempotency_key or f"outbox-{utcnow().timestamp():.6f}"
        line = {
            "id": post_id,
            "idempotency_key": post.idempotency_key,
            "account": post.account,
            "platform": post.platform,
            "published_at": iso(utcnow()),
            "parts": [part.to_dict() for part in post.parts],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return Published(post_id, self.path.resolve().as_uri() + "#" + post_id)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """The file always tells: a whole line with the post's key, or none (a write is one fsynced line).

        It cannot tell when a write began but the post has no key to find, or the file is missing
        (a process working in another folder would read and write another file).
        """
        if not journal.get("outbox:writing"):
            return NotPublished("never written")
        if not post.idempotency_key:
            return CannotTell("the post has no idempotency key to find in the outbox")
        if not self.path.exists():
            return CannotTell(f"the outbox {self.path.resolve()} does not exist here: is it another folder's?")
        with self.path.open(encoding="utf-8") as lines:
            for raw in lines:
                try:
                    entry = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # a torn last line from a crash is not a post
                if entry.get("idempotency_key") == post.idempotency_key:
                    return Published(entry["id"], self.path.resolve().as_uri() + "#" + entry["id"])
        return NotPublished(f"no line with its key in {self.path.resolve()}")

    def verify(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(self.path.parent, os.W_OK):
            raise AuthError(f"cannot write to {self.path.parent}", platform=self.platform)
        return f"file {self.path}"


SPEC = PlatformSpec("outbox", "Outbox (local file)", OutboxAdapter, OutboxRules, options=("path",))
