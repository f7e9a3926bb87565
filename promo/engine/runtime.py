"""What one engine process holds: settings, the store, the accounts, and adapters built once.

A worker process builds one ``Runtime`` on its first task and keeps it; adapters are built once per
account. ``publish_mode`` picks the adapter: ``live`` the platform's own, ``dry-run`` a rehearsal
that only checks and logs, ``outbox`` a rehearsal that also writes the local outbox file.

A connected account (``promo accounts connect``: no credentials in the environment, tokens in the
store) is built from its stored tokens, decrypted with ``PROMO_SECRET_KEY``; its row's ``version``
is read before each publish (one small query) and the adapter rebuilt when a refresh changed it.
``publish`` meets a credentials refusal of a connected account by refreshing once (one process at
a time: ``promo.platforms.oauth.refresh``) and trying again; if that fails too the account is
marked ``needs-reconnect`` and ``NeedsReconnect`` holds the post (``promo.engine.outcomes``), as
every later post of the account is held without calling the platform, until it is connected again.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from promo.accounts import Account, load_accounts, with_connection
from promo.engine.rehearsal import RehearsalAdapter
from promo.errors import AuthError, ConfigError, Retryable
from promo.platforms.base import Adapter, build_adapter
from promo.platforms.mediahost import MediaHost, host_from_settings
from promo.platforms.oauth import CONNECTABLE, flow_for
from promo.settings import Settings
from promo.store import tokens
from promo.store.db import make_engine
from promo.store.hot_path import HotPath
from promo.store.login_cache import DbLoginCache
from promo.times import utcnow

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

    from promo.platforms.oauth.refresh import Refreshed
    from promo.posts import Journal, Post, Published


class NeedsReconnect(AuthError):
    """A connected account's tokens are refused and cannot be refreshed: its posts are held for a person."""

    def __init__(self, account: str, why: str, *, platform: str = "") -> None:
        self.account = account
        super().__init__(f"account {account} needs reconnecting ({why}): run 'promo accounts connect {account}'; "
                         "its held posts are released when it is connected again", platform=platform)


@dataclass
class Runtime:
    """One process's settings, store, accounts and adapters."""

    settings: Settings
    db: Engine
    accounts: dict[str, Account]
    actor: str = "worker"
    adapters: dict[str, Adapter] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # adapter key -> the token version it was built with
    _keys: MultiFernet | None = None
    _media_host: MediaHost | None = None
    grouped_outcomes: bool = False  # a worker's pool process under grouped outcome commits (workers/grouped_acks.py)
    _hot_path: HotPath | None = None

    @classmethod
    def from_settings(cls, settings: Settings, actor: str | None = None, *, grouped_outcomes: bool = False) -> Runtime:
        accounts = load_accounts(settings.config_file)
        return cls(settings, make_engine(settings.database), accounts, actor or worker_name(),
                   grouped_outcomes=grouped_outcomes)

    @property
    def keys(self) -> MultiFernet:
        """The token keys (``PROMO_SECRET_KEY``), read once; ConfigError naming the variable."""
        if self._keys is None:
            self._keys = tokens.cipher()
        return self._keys

    @property
    def hot_path(self) -> HotPath:
        """The publish hot path's statements for this store and these accounts, compiled once."""
        if self._hot_path is None:
            accounts = self.accounts.items()
            self._hot_path = HotPath(self.db, late_accounts=[n for n, a in accounts if a.max_lateness is not None],
                                     rate_limited=[n for n, a in accounts if a.rate_limit is not None],
                                     grouped_outcomes=self.grouped_outcomes)
        return self._hot_path

    @property
    def media_host(self) -> MediaHost | None:
        """The media host the settings configure (one per process, shared by every adapter), or None."""
        if self._media_host is None:
            self._media_host = host_from_settings(self.settings)
        return self._media_host

    def account(self, name: str, platform: str) -> Account:
        """The configured account; stand-in modes accept a post for an unconfigured one."""
        account = self.accounts.get(name)
        if account is None:
            if self.settings.publish_mode != "live":
                return Account(name, platform)
            raise ConfigError(f"account {name!r} is not configured in {self.settings.config_file}")
        if account.platform != platform:
            raise ConfigError(f"account {name!r} is a {account.platform} account, the post is for {platform}")
        return account

    def adapter(self, name: str, platform: str) -> Adapter:
        """The adapter for an account, built on first use and kept (rebuilt when its stored tokens change)."""
        key = f"{name}/{platform}"
        account = self.account(name, platform)
        if not self._may_be_connected(account):
            if key not in self.adapters:
                self.adapters[key] = self._build(account)
            return self.adapters[key]
        with self.db.connect() as connection:
            current = tokens.version(connection, name)
        if current is None:  # not connected (any more): the adapter names the missing variable
            if self.versions.pop(key, None) is not None or key not in self.adapters:
                self.adapters[key] = self._build(account)
            return self.adapters[key]
        version, status = current
        if status != tokens.CONNECTED:
            raise NeedsReconnect(name, "its tokens were refused", platform=platform)
        if self.versions.get(key) != version or key not in self.adapters:
            self.adapters[key] = self._build(self._connected(account))
            self.versions[key] = version
        return self.adapters[key]

    def publish(self, adapter: Adapter, name: str, platform: str, post: Post, journal: Journal) -> Published:
        """``adapter.publish``; a connected account's refusal is met by one refresh and one more try."""
        key = f"{name}/{platform}"
        try:
            return adapter.publish(post, journal)
        except AuthError as exc:
            version = self.versions.get(key)
            if version is None or isinstance(exc, NeedsReconnect):
                raise  # credentials from the environment: a person fixes them (the account is flagged)
            refused = exc
        result = self.refresh(name, platform, unless_changed=version)
        if result.outcome == "needs-reconnect":
            raise NeedsReconnect(name, f"refused: {refused}", platform=platform) from refused
        if result.outcome in ("busy", "failed"):
            raise Retryable(f"the token was refused and its refresh did not finish ({result.detail}); "
                            "trying again later", platform=platform) from refused
        try:
            return self.adapter(name, platform).publish(post, journal)
        except AuthError as again:
            why = f"refused again after a refresh: {again}"
            with self.db.begin() as connection:
                tokens.mark(connection, name, tokens.NEEDS_RECONNECT, why, utcnow())
            raise NeedsReconnect(name, why, platform=platform) from again

    def refresh(self, name: str, platform: str, *, unless_changed: int | None = None) -> Refreshed:
        """Refresh a connected account's tokens now (one process at a time); flag it if refused."""
        from promo.engine.ratelimits import flag
        from promo.platforms.oauth.refresh import refresh_account

        now = utcnow()
        return refresh_account(self.db, self.keys, self.account(name, platform), owner=self.actor[:64], now=now,
                               timeout=self.settings.http_timeout, unless_changed=unless_changed,
                               on_refused=lambda connection, reason: flag(connection, name, reason, now))

    def _may_be_connected(self, account: Account) -> bool:
        return (self.settings.publish_mode == "live" and account.platform in CONNECTABLE
                and not account.in_environment)

    def _connected(self, account: Account) -> Account:
        """The account with its stored tokens (decrypted) as credentials."""
        with self.db.connect() as connection:
            stored = tokens.load(connection, account.name, self.keys)
        if stored is None or stored.tokens is None:
            return account
        flow = flow_for(account.platform)
        return with_connection(account, flow.credentials(stored.tokens), flow.adapter)

    def _build(self, account: Account) -> Adapter:
        mode = self.settings.publish_mode
        if mode == "live":
            return build_adapter(account, timeout=self.settings.http_timeout, login_cache=DbLoginCache(self.db),
                                 home=self.settings.home, media_host=self.media_host)
        outbox = self.settings.home / "outbox.jsonl" if mode == "outbox" else None
        return RehearsalAdapter(account, log_path=self.settings.home / "rehearsal.jsonl", outbox=outbox)


def worker_name() -> str:
    return f"worker@{socket.gethostname()}:{os.getpid()}"
