"""A webhook adapter that stalls before its call: a window to kill its pool process with nothing sent.

Each publish waits ``STALL_S`` (the post already ``publishing``), then calls the receiver like the
webhook adapter. Its look-up is the webhook's: the receiver says whether the post arrived. An
account points at it in the test's promo.toml (the worker needs the repository on its
``PYTHONPATH``)::

    [accounts.hook]
    platform = "webhook"
    url = "http://127.0.0.1:PORT/hook"
    adapter = "tests.engine.stalling:StallingWebhook"
"""

from __future__ import annotations

import time

from promo.platforms.webhook import WebhookAdapter
from promo.posts import Journal, Post, Published

STALL_S = 2.0


class StallingWebhook(WebhookAdapter):
    def publish(self, post: Post, journal: Journal) -> Published:
        time.sleep(STALL_S)
        return super().publish(post, journal)
