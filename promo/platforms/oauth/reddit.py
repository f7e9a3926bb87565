"""Reddit: OAuth 2.0 authorisation code (github.com/reddit-archive/reddit/wiki/OAuth2).

Authorise at ``https://www.reddit.com/api/v1/authorize`` with ``duration=permanent`` (without it
Reddit gives no refresh token), exchange and refresh at ``https://www.reddit.com/api/v1/access_token``
with the app's id and secret as HTTP Basic auth. Scopes: ``submit`` (post), ``identity`` (who we
are: ``promo accounts check`` and look-ups), ``read`` (the subreddit's rules and the account's
submissions) and ``flair`` (post flair). Access tokens live one hour; the refresh token lasts until
it is revoked. Reddit has no PKCE: the code is protected by the client secret and the state alone.
The redirect URI must match the app's registered one exactly, so set ``redirect_port`` and register
``http://127.0.0.1:<port>/callback``.
"""

from __future__ import annotations

import secrets

from promo.platforms.oauth.authcode import App, Flow, Started


class RedditFlow(Flow):
    platform = "reddit"
    authorize_url = "https://www.reddit.com/api/v1/authorize"
    token_url = "https://www.reddit.com/api/v1/access_token"
    scopes = ("submit", "identity", "read", "flair")
    pkce = False  # Reddit documents none

    def begin(self, app: App, redirect_uri: str) -> Started:
        """The standard authorise URL, plus ``duration=permanent`` for a refresh token."""
        self.require_client(app)
        with self.client(app, redirect_uri) as client:
            url, state = client.create_authorization_url(app.authorize_url, state=secrets.token_urlsafe(24),
                                                         duration="permanent")
        return Started(url, state, None, redirect_uri, app)


FLOW = RedditFlow()
