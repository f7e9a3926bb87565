"""LinkedIn: three-legged OAuth 2.0 (learn.microsoft.com, "Authorization Code Flow").

Authorise at ``https://www.linkedin.com/oauth/v2/authorization``, exchange at
``https://www.linkedin.com/oauth/v2/accessToken`` with the client id and secret in the form body.
Posting as an organisation (``author = "urn:li:organization:..."``) needs ``w_organization_social``,
as a member ``w_member_social``; ``openid profile`` let ``promo accounts check`` read who we are.
Access tokens live 60 days. Apps approved for programmatic refresh also get a refresh token
(365 days), which promo uses; without one, ``promo accounts`` warns ahead of expiry and the account
must be connected again.
"""

from __future__ import annotations

from promo.platforms.oauth.authcode import ConnectAccount, Flow


class LinkedInFlow(Flow):
    platform = "linkedin"
    authorize_url = "https://www.linkedin.com/oauth/v2/authorization"
    token_url = "https://www.linkedin.com/oauth/v2/accessToken"
    client_auth = "client_secret_post"

    def default_scopes(self, account: ConnectAccount) -> tuple[str, ...]:
        author = str(account.options.get("author", ""))
        posting = "w_organization_social" if author.startswith("urn:li:organization:") else "w_member_social"
        return ("openid", "profile", posting)


FLOW = LinkedInFlow()
