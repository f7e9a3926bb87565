"""YouTube: Google's OAuth 2.0 for installed applications, with PKCE and offline access
(developers.google.com/identity/protocols/oauth2/native-app, and
developers.google.com/youtube/v3/guides/authentication).

Authorise at ``https://accounts.google.com/o/oauth2/v2/auth`` with ``access_type=offline`` (a
refresh token comes back) and ``prompt=consent`` (Google sends the refresh token only on consent,
so connecting again always brings a new one), PKCE S256 and a loopback redirect on a free port.
Exchange and refresh at ``https://oauth2.googleapis.com/token``, the client id and secret in the
form body (a "Desktop app" client has a secret Google calls not confidential; it is still kept in
``PROMO_ACCOUNT_<NAME>_CLIENT_SECRET``). Scopes: ``youtube.upload`` (videos.insert) and
``youtube`` (thumbnails, captions, playlists, releasing a video, reading the channel). Access tokens
live an hour; promo refreshes them ahead of expiry and after a 401. A refresh token stops working
when the person revokes access, after six months unused, or, for an app still in "Testing" on its
consent screen, after seven days: then the account needs connecting again.
"""

from __future__ import annotations

import secrets

from promo.platforms.oauth.authcode import App, Flow, Started

SCOPES = ("https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube")


class YouTubeFlow(Flow):
    platform = "youtube"
    authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url = "https://oauth2.googleapis.com/token"
    scopes = SCOPES
    client_auth = "client_secret_post"

    def begin(self, app: App, redirect_uri: str) -> Started:
        """The standard start, asking for offline access (a refresh token) on a consent screen."""
        self.require_client(app)
        verifier = secrets.token_urlsafe(64)
        with self.client(app, redirect_uri) as client:
            url, state = client.create_authorization_url(app.authorize_url, state=secrets.token_urlsafe(24),
                                                         code_verifier=verifier, access_type="offline",
                                                         prompt="consent")
        return Started(url, state, verifier, redirect_uri, app)


FLOW = YouTubeFlow()
