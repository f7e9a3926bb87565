"""Slack (incoming webhook): text up to 40,000 characters; no file uploads, no threads."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MediaRules


class SlackRules(TextRules):
    platform = "slack"
    title = "Slack"
    limit = 40000
    multipart = True
    media_rules = MediaRules(0, {}, refusal="Slack incoming webhooks cannot upload files")
