"""Instagram with Facebook Login: a user token, exchanged for a long-lived one, and the Page's Instagram account
(developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login, "Get Started",
"Content Publishing"; /docs/facebook-login/guides/access-tokens/get-long-lived).

Authorise at ``https://www.facebook.com/v21.0/dialog/oauth`` (scopes ``instagram_basic,
instagram_content_publish, pages_show_list, pages_read_engagement, business_management``);
exchange the code at ``https://graph.facebook.com/v21.0/oauth/access_token`` for a short-lived
user token, then the same endpoint with ``grant_type=fb_exchange_token`` for a long-lived one
(about 60 days). ``GET /v21.0/me/accounts?fields=id,name,instagram_business_account`` (on the
token URL's Graph host and version) names the Pages the person manages and the Instagram
professional account connected to each: the account's ``page_id`` picks one (without it, the one
Page that has an Instagram account). Its id becomes the adapter's ``ig_user_id`` credential (the
``user_id`` option, when set, must match it). The Instagram API with Facebook Login publishes with
the user token itself; promo exchanges it again before it expires, and reads the id again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promo.errors import PromoError
from promo.platforms.oauth.authcode import App, AuthorizationFailed, Flow, RefreshRefused, get_json, token_set
from promo.store.tokens import TokenSet

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client


class InstagramFlow(Flow):
    platform = "instagram"
    authorize_url = "https://www.facebook.com/v21.0/dialog/oauth"
    token_url = "https://graph.facebook.com/v21.0/oauth/access_token"
    scopes = ("instagram_basic", "instagram_content_publish", "pages_show_list", "pages_read_engagement",
              "business_management")
    scope_separator = ","
    client_auth = "client_secret_post"

    def after_code(self, client: OAuth2Client, app: App, token: Mapping[str, Any]) -> TokenSet:
        return self._long_lived(client, app, str(token["access_token"]), AuthorizationFailed, app.scopes)

    def refresh(self, app: App, tokens: TokenSet) -> TokenSet:
        with self.client(app) as client:
            return self._long_lived(client, app, tokens.access_token, RefreshRefused, tokens.scopes)

    def credentials(self, tokens: TokenSet) -> dict[str, str]:
        return {"access_token": tokens.access_token, "ig_user_id": tokens.extras.get("ig_user_id", "")}

    def _long_lived(self, client: OAuth2Client, app: App, user_token: str, refused: type[PromoError],
                    scopes: tuple[str, ...]) -> TokenSet:
        params = {"grant_type": "fb_exchange_token", "client_id": app.client_id or "",
                  "client_secret": app.client_secret or "", "fb_exchange_token": user_token}
        answer = get_json(client, app.token_url, params, refused, "the user token was not exchanged")
        long_lived = token_set(answer, scopes, renewable=True)
        graph = app.token_url.rsplit("/oauth/", 1)[0]
        pages = get_json(client, f"{graph}/me/accounts", {"access_token": long_lived.access_token,
                                                         "fields": "id,name,instagram_business_account"},
                         refused, "the Pages were not listed")
        page = _page(app, pages.get("data", []), refused)
        ig_user_id = str(page["instagram_business_account"]["id"])
        wanted = str(app.options.get("user_id") or "")
        if wanted and wanted != ig_user_id:
            raise refused(f"Page {page.get('id')}'s Instagram account is {ig_user_id}, not user_id {wanted}: "
                          "fix user_id (or page_id) in promo.toml and connect again")
        return long_lived.with_extras(ig_user_id=ig_user_id, page_id=str(page.get("id", "")))


def _page(app: App, pages: list[dict[str, Any]], refused: type[PromoError]) -> dict[str, Any]:
    """The Page whose Instagram account promo publishes as: ``page_id``'s, else the only one with an account."""
    page_id = str(app.options.get("page_id") or "")
    linked = [p for p in pages if (p.get("instagram_business_account") or {}).get("id")]
    if page_id:
        chosen = [p for p in linked if str(p.get("id")) == page_id]
        if not chosen:
            raise refused(f"Page {page_id} has no Instagram professional account connected, or the person who "
                          "authorised promo does not manage it: connect it in the Page's settings, then again here")
        return chosen[0]
    if len(linked) != 1:
        found = ", ".join(str(p.get("id")) for p in linked) or "none"
        raise refused(f"set page_id in promo.toml to the Page whose Instagram account to use (Pages with one: "
                      f"{found})")
    return linked[0]


FLOW = InstagramFlow()
