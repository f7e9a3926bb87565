"""Bluesky: an app password, verified by creating a session (docs.bsky.app, "App passwords").

Bluesky's OAuth needs a public client metadata document and DPoP, which its Python SDK does not yet
do for a command-line client, so promo connects Bluesky with an app password (Settings -> Privacy
and security -> App passwords): it logs in once (``com.atproto.server.createSession``) to prove the
password works, then stores it encrypted like any other token. App passwords do not expire; a
revoked one is refused at the next publish and the account is marked for reconnecting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promo.platforms.base import Account, PlatformSpec, build_adapter
from promo.platforms.oauth.authcode import AuthorizationFailed, Flow
from promo.store.tokens import TokenSet


class _WithPassword:
    """The account as the Bluesky adapter sees it, with the password being checked as its credential."""

    def __init__(self, account: Account, password: str) -> None:
        self._account, self._password = account, password

    name = property(lambda self: self._account.name)
    base_url = property(lambda self: self._account.base_url)
    options: Mapping[str, Any] = property(lambda self: self._account.options)  # type: ignore[assignment]
    adapter = property(lambda self: None)
    spec: PlatformSpec = property(lambda self: self._account.spec)  # type: ignore[assignment]
    api_base = property(lambda self: self._account.api_base)

    def secret(self, name: str) -> str:
        return self._password


class BlueskyFlow(Flow):
    platform = "bluesky"
    credential = "app_password"
    refreshable = False

    def with_password(self, account: Account, password: str, timeout: float) -> tuple[TokenSet, str]:
        """The app password, proven by one login: its TokenSet and who it logged in as."""
        from promo.errors import PublishError

        password = password.strip()
        if not password:
            raise AuthorizationFailed("no app password given: make one in Bluesky's Settings -> Privacy and "
                                      "security -> App passwords")
        try:
            who = build_adapter(_WithPassword(account, password), timeout=timeout).verify()
        except PublishError as exc:
            raise AuthorizationFailed(f"Bluesky refused the app password: {exc}") from None
        return TokenSet(password, token_type="app-password", scopes=("app-password",)), who


FLOW = BlueskyFlow()
