"""Generic webhook: no practical limit (100,000 characters as a guard); any media."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MediaRules

ANY_MEDIA = MediaRules(100, dict.fromkeys(("image", "gif", "video", "other"), 2**62))


class WebhookRules(TextRules):
    platform = "webhook"
    title = "Webhook"
    limit = 100_000
    multipart = True
    media_rules = ANY_MEDIA
