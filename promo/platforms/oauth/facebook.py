"""Facebook Page: a user token, exchanged for a long-lived user token, then the Page's own token
(developers.facebook.com/docs/facebook-login, "Manually Build a Login Flow", "Long-Lived Access Tokens",
and /docs/pages-api/getting-started).

Authorise at ``https://www.facebook.com/v21.0/dialog/oauth`` (scopes ``pages_show_list,
pages_manage_posts, pages_read_engagement``); exchange the code at
``https://graph.facebook.com/v21.0/oauth/access_token`` for a short-lived user token, then the same
endpoint with ``grant_type=fb_exchange_token`` for a long-lived one (about 60 days); then
``GET /v21.0/me/accounts`` (on the token URL's Graph host and version) gives the Page token of the
account's ``page_id``. A Page token from a long-lived user token has no expiry of its own, but it
dies with the user's grant: promo exchanges the user token again before it expires and fetches a
fresh Page token with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promo.errors import PromoError
from promo.platforms.oauth.authcode import App, AuthorizationFailed, Flow, RefreshRefused, get_json, token_set
from promo.store.tokens import TokenSet

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client


class FacebookFlow(Flow):
    platform = "facebook"
    authorize_url = "https://www.facebook.com/v21.0/dialog/oauth"
    token_url = "https://graph.facebook.com/v21.0/oauth/access_token"
    scopes = ("pages_show_list", "pages_manage_posts", "pages_read_engagement")
    scope_separator = ","
    client_auth = "client_secret_post"
    credential = "page_token"

    def after_code(self, client: OAuth2Client, app: App, token: Mapping[str, Any]) -> TokenSet:
        return self._long_lived(client, app, str(token["access_token"]), AuthorizationFailed, app.scopes)

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        with self.client(app) as client:
            return self._long_lived(client, app, tokens.access_token, RefreshRefused, tokens.scopes)

    def credentials(self, tokens: TokenSet) -> dict[str, str]:
        return {"page_token": tokens.extras.get("page_token", "")}

    def _long_lived(self, client: OAuth2Client, app: App, user_token: str, refused: type[PromoError],
                    scopes: tuple[str, ...]) -> TokenSet:
        params = {"grant_type": "fb_exchange_token", "client_id": app.client_id or "",
                  "client_secret": app.client_secret or "", "fb_exchange_token": user_token}
        answer = get_json(client, app.token_url, params, refused, "the user token was not exchanged")
        long_lived = token_set(answer, scopes, renewable=True)
        page_id = str(app.options.get("page_id", ""))
        graph = app.token_url.rsplit("/oauth/", 1)[0]
        pages = get_json(client, f"{graph}/me/accounts", {"access_token": long_lived.access_token,
                                                         "fields": "id,name,access_token"},
                         refused, "the Page token was not given")
        page = next((p for p in pages.get("data", []) if str(p.get("id")) == page_id), None)
        if page is None or not page.get("access_token"):
            raise refused(f"the user who authorised promo does not manage Page {page_id} (or did not grant "
                          "pages_manage_posts for it); connect with a Page admin's account")
        return long_lived.with_extras(page_token=str(page["access_token"]), page_name=str(page.get("name", "")))


FLOW = FacebookFlow()
