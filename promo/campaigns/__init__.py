"""Campaign files: YAML in git -> a checked ``Campaign`` with every announcement's time resolved.

``load_campaign(path, accounts, templates_dir)`` is the one entry point; see docs/campaigns.md
for the file format.
"""

from promo.campaigns.loader import load_campaign
from promo.campaigns.model import OVERFLOW_POLICIES, Announcement, Campaign, Override

__all__ = ["OVERFLOW_POLICIES", "Announcement", "Campaign", "Override", "load_campaign"]
