"""promo: a social media post scheduler for promotional announcements that never double-posts.

The library face, for scripts and a team's own tests (the ``promo`` command is a thin layer over it)::

    from promo import load_settings, load_accounts, preview_file, make_engine, upgrade
    from promo import plan_campaign_file, apply_plan, list_posts

    settings = load_settings()
    accounts = load_accounts(settings.config_file)
    engine = make_engine(settings.database)
    upgrade(engine)
    plan = plan_campaign_file(engine, Path("campaign.yaml"), accounts, settings.templates_dir)
    apply_plan(engine, plan)

Each operation owns its transaction and raises a ``PromoError`` subclass; none prints. The names load
on first use, so ``import promo`` (and ``promo --help``) stays free of SQLAlchemy, Jinja2 and Celery.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it; a test checks that every name resolves and that __all__ matches
_FACE = {
    # errors
    "PromoError": "promo.errors", "ConfigError": "promo.errors", "CampaignError": "promo.errors",
    "TemplateError": "promo.errors", "PostInvalid": "promo.errors", "NotFound": "promo.errors",
    "TransitionRefused": "promo.errors", "PublishError": "promo.errors",
    # settings, accounts, posts
    "Settings": "promo.settings", "load_settings": "promo.settings",
    "Account": "promo.accounts", "load_accounts": "promo.accounts",
    "Post": "promo.posts", "Published": "promo.posts",
    # campaigns and planning
    "load_campaign": "promo.campaigns.loader", "preview_file": "promo.campaigns.preview",
    "plan_campaign_file": "promo.planning.campaign", "apply_plan": "promo.planning.apply",
    # the store
    "make_engine": "promo.store.db", "upgrade": "promo.store.migrate",
    # what a person does
    "list_posts": "promo.manage.posts", "get_post": "promo.manage.posts", "cancel": "promo.manage.posts",
    "reschedule": "promo.manage.posts", "create_adhoc": "promo.manage.posts",
    "pause": "promo.manage.pauses", "resume": "promo.manage.pauses",
    "retry": "promo.manage.attention", "resolve": "promo.manage.attention",
    "engine_status": "promo.manage.status", "check_text": "promo.manage.checking",
}

__all__ = ["__version__", *sorted(_FACE)]


def __getattr__(name: str) -> Any:
    try:
        module = _FACE[name]
    except KeyError:
        raise AttributeError(f"module 'promo' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
