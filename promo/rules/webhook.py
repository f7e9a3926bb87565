"""Generic webhook: no practical limit (100,000 characters as a guard); any media."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MediaRules
from promo.rules.video import ANY_VIDEO

ANY_MEDIA = MediaRules(100, dict.fromkeys(("image", "gif", "video", "other"), 2**62), video=ANY_VIDEO)


# Video limits: docs/platforms/webhook.md#video-limits (none: the receiver decides).

class WebhookRules(TextRules):
    platform = "webhook"
    title = "Webhook"
    limit = 100_000
    multipart = True
    media_rules = ANY_MEDIA
