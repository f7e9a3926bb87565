"""What one engine process holds: settings, the store, the accounts, and adapters built once.

A worker process builds one ``Runtime`` on its first task and keeps it; adapters are built once per
account. ``publish_mode`` picks the adapter: ``live`` the platform's own, ``dry-run`` a rehearsal
that only checks and logs, ``outbox`` a rehearsal that also writes the local outbox file.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from sqlalchemy import Engine

from promo.accounts import Account, load_accounts
from promo.engine.rehearsal import RehearsalAdapter
from promo.errors import ConfigError
from promo.platforms.base import Adapter, build_adapter
from promo.settings import Settings
from promo.store.db import make_engine
from promo.store.login_cache import DbLoginCache


@dataclass
class Runtime:
    """One process's settings, store, accounts and adapters."""

    settings: Settings
    db: Engine
    accounts: dict[str, Account]
    actor: str = "worker"
    adapters: dict[str, Adapter] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, actor: str | None = None) -> Runtime:
        accounts = load_accounts(settings.config_file)
        return cls(settings, make_engine(settings.database), accounts, actor or worker_name())

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
        """The adapter for an account, built on first use and kept for this process."""
        key = f"{name}/{platform}"
        if key not in self.adapters:
            self.adapters[key] = self._build(self.account(name, platform))
        return self.adapters[key]

    def _build(self, account: Account) -> Adapter:
        mode = self.settings.publish_mode
        if mode == "live":
            return build_adapter(account, timeout=self.settings.http_timeout, login_cache=DbLoginCache(self.db))
        outbox = self.settings.home / "outbox.jsonl" if mode == "outbox" else None
        return RehearsalAdapter(account, log_path=self.settings.home / "rehearsal.jsonl", outbox=outbox)


def worker_name() -> str:
    return f"worker@{socket.gethostname()}:{os.getpid()}"
