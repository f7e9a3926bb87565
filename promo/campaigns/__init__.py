"""Campaign files: YAML in git -> a checked ``Campaign`` with every announcement's time resolved.

``load_campaign(path, accounts, templates_dir)`` is the one entry point; see docs/campaigns.md
for the file format. The modules: ``yamlfile`` (YAML with line numbers), ``timing`` (times),
``loader``, ``model``, ``kinds`` (announcement kinds), ``approval`` (the ``approval:`` key),
``media`` (each media file found and probed), ``probe`` (PyAV and Pillow), ``transcode``
(``overflow: transcode``), ``rendering`` (sandboxed Jinja2), ``render_budget``, ``preview`` (render
and check every post), ``review`` (the Markdown review document) and ``snapshots`` (the payload lock).
"""

from promo.campaigns.loader import load_campaign
from promo.campaigns.model import OVERFLOW_POLICIES, Announcement, Campaign, Override

__all__ = ["OVERFLOW_POLICIES", "Announcement", "Campaign", "Override", "load_campaign"]
