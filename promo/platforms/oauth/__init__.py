"""Connecting accounts through each platform's own authorisation flow, and keeping the tokens fresh.

- ``authcode``: the generic machinery: OAuth 2.0 authorisation code with PKCE (S256) through
  Authlib, the state check, and ``Flow``, the base every platform's flow fills in (its
  authorise and token URLs, scopes, what its tokens give the adapter, how they are refreshed).
- ``loopback``: the RFC 8252 loopback redirect (``http://127.0.0.1:PORT/callback`` on a free
  port) and reading a pasted redirect URL or code (``--no-browser``).
- one small module per platform: ``x``, ``linkedin``, ``threads``, ``facebook``, ``mastodon``
  (Mastodon.py registers the app), ``bluesky`` (an app password, verified by creating a session),
  ``youtube`` (Google: PKCE, ``access_type=offline``), ``reddit`` (no PKCE, ``duration=permanent``),
  ``tiktok`` (``client_key``, its own PKCE encoding), ``instagram`` (Facebook Login, the Page's Instagram account).
- ``xuser``: the X adapter speaking OAuth 2.0 user context (a bearer token) instead of OAuth 1.0a.
- ``refresh``: refresh one account's tokens under a lease, storing the rotated refresh token first.

Nothing here is imported until an account is connected or refreshed: ``CONNECTABLE`` is data.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

from promo.errors import ConfigError

if TYPE_CHECKING:
    from promo.platforms.oauth.authcode import Flow

# Authlib 1.7+ warns at import that its httpx integration moves to "httpx2"; promo's handling works
# with either, and a worker's or beat's output is one line per event, not library chatter.
warnings.filterwarnings("ignore", message="The httpx module is deprecated", module="authlib")

CONNECTABLE = ("x", "linkedin", "threads", "facebook", "mastodon", "bluesky", "youtube", "reddit", "tiktok",
               "instagram")
# account settings in promo.toml that describe how to connect (none of them secret)
CONNECT_OPTIONS = ("client_id", "authorize_url", "token_url", "scopes", "redirect_port")


def flow_for(platform: str) -> Flow:
    """The platform's flow; ConfigError for a platform that has none (its credentials are pasted)."""
    if platform not in CONNECTABLE:
        raise ConfigError(f"{platform} accounts are not connected through an authorisation flow: set their "
                          f"credentials in the environment (see docs/platforms/{platform}.md)")
    module = importlib.import_module(f"promo.platforms.oauth.{platform}")
    flow: Flow = module.FLOW
    return flow
