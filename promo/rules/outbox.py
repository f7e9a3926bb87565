"""Outbox (a local file): no practical limit (100,000 characters as a guard); any media."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.webhook import ANY_MEDIA


class OutboxRules(TextRules):
    platform = "outbox"
    title = "Outbox"
    limit = 100_000
    multipart = True
    media_rules = ANY_MEDIA
