"""X: OAuth 2.0 authorisation code with PKCE, user context (docs.x.com, "OAuth 2.0 Authorization Code
Flow with PKCE").

Authorise at ``https://x.com/i/oauth2/authorize``, exchange and refresh at
``https://api.x.com/2/oauth2/token`` (a confidential client authenticates with HTTP Basic, a public
one sends only its client id). Access tokens live two hours; ``offline.access`` brings a refresh
token, which X rotates on every refresh. The token is a bearer token, so a connected X account is
served by ``promo.platforms.oauth.xuser.XUserAdapter`` instead of the OAuth 1.0a adapter.
"""

from __future__ import annotations

from promo.platforms.oauth.authcode import Flow


class XFlow(Flow):
    platform = "x"
    authorize_url = "https://x.com/i/oauth2/authorize"
    token_url = "https://api.x.com/2/oauth2/token"
    scopes = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")
    needs_secret = False  # a public client (a native app) has none
    adapter = "promo.platforms.oauth.xuser:XUserAdapter"


FLOW = XFlow()
