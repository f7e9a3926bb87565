"""Connected accounts' tokens, encrypted at rest: the ``account_tokens`` rows.

Every secret of a connection (the access and refresh tokens, a Facebook Page token, a Mastodon
app's client id and secret) is one JSON object encrypted with Fernet (``cryptography``) under the
key in ``PROMO_SECRET_KEY``. The variable holds one key, or several separated by commas: the first
encrypts, every one decrypts (``MultiFernet``), so a key is rotated by putting the new one first
(``PROMO_SECRET_KEY=new,old``) and running ``promo accounts rotate-key`` (``rotate_all``), then
dropping the old one. Only scopes, expiry and status are stored readable.

The functions take the caller's connection: the caller owns the transaction. ``save`` writes the
whole set in one statement, so a rotated refresh token replaces the old one atomically, and bumps
``version`` (a worker rebuilds its adapter when it changes). ``take_lease`` is the conditional
update that lets one process at a time refresh an account, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    Db = Connection | Session

KEY_VARIABLE = "PROMO_SECRET_KEY"
CONNECTED = "connected"
NEEDS_RECONNECT = "needs-reconnect"
MAKE_KEY = ('python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"')


@dataclass(frozen=True)
class TokenSet:
    """What a platform's authorisation gave: never printed (``repr`` shows no value)."""

    access_token: str
    refresh_token: str | None = None
    token_type: str = "bearer"
    scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    lifetime_s: int | None = None  # how long the access token lived when issued (the 20% rule)
    extras: Mapping[str, str] = field(default_factory=dict)  # page token, client id/secret, user id
    refreshable: bool = False  # promo can renew it without a person (a refresh token, Meta's exchange)

    def __repr__(self) -> str:
        return f"TokenSet(scopes={self.scopes!r}, expires_at={self.expires_at!r})"

    def secrets(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": self.token_type, "extras": dict(self.extras)}

    def with_extras(self, **extras: str) -> TokenSet:
        return replace(self, extras={**self.extras, **extras})


@dataclass(frozen=True)
class StoredToken:
    """One ``account_tokens`` row: what may be shown, and (decrypted, if asked for) the tokens."""

    account: str
    platform: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    lifetime_s: int | None
    refreshable: bool
    status: str
    status_reason: str | None
    version: int
    connected_at: datetime
    refreshed_at: datetime | None
    tokens: TokenSet | None = None

    def __repr__(self) -> str:
        return f"StoredToken(account={self.account!r}, status={self.status!r}, version={self.version})"


def cipher(environ: Mapping[str, str] | None = None) -> MultiFernet:
    """The keys in ``PROMO_SECRET_KEY`` (first encrypts, all decrypt); one ConfigError line if unusable."""
    from cryptography.fernet import Fernet, MultiFernet

    text = (os.environ if environ is None else environ).get(KEY_VARIABLE, "").strip()
    if not text:
        raise ConfigError(f"{KEY_VARIABLE} is not set: connected accounts' tokens are encrypted with it; "
                          f"make one with {MAKE_KEY} and keep it secret")
    keys = []
    for number, key in enumerate(text.split(","), 1):
        try:
            keys.append(Fernet(key.strip().encode()))
        except ValueError:
            raise ConfigError(f"{KEY_VARIABLE}: key {number} is not a Fernet key (32 url-safe base64-encoded "
                              f"bytes); make one with {MAKE_KEY}") from None
    return MultiFernet(keys)


def encrypt(keys: MultiFernet, tokens: TokenSet) -> str:
    return keys.encrypt(json.dumps(tokens.secrets()).encode()).decode()


def decrypt(keys: MultiFernet, row: Any) -> TokenSet:
    from cryptography.fernet import InvalidToken

    try:
        body = json.loads(keys.decrypt(row.secret.encode()))
    except InvalidToken:
        raise ConfigError(f"account {row.account}: its stored tokens do not open with {KEY_VARIABLE} "
                          "(a key was dropped too soon? put the old key back after the new one, or "
                          f"'promo accounts connect {row.account}' again)") from None
    return TokenSet(body["access_token"], body.get("refresh_token"), body.get("token_type") or "bearer",
                    _scopes(row.scopes), row.expires_at, row.lifetime_s, dict(body.get("extras") or {}),
                    bool(row.refreshable))


def _scopes(text: str | None) -> tuple[str, ...]:
    return tuple((text or "").split())


def _stored(row: Any, keys: MultiFernet | None) -> StoredToken:
    return StoredToken(row.account, row.platform, _scopes(row.scopes), row.expires_at, row.lifetime_s,
                       bool(row.refreshable), row.status,
                       row.status_reason, row.version, row.connected_at, row.refreshed_at,
                       decrypt(keys, row) if keys is not None else None)


def load(db: Db, account: str, keys: MultiFernet | None = None) -> StoredToken | None:
    """An account's row; with ``keys``, its tokens decrypted too."""
    from sqlalchemy import select

    from promo.store.tables import AccountToken

    row = db.execute(select(*AccountToken.__table__.c).where(AccountToken.account == account)).one_or_none()
    return None if row is None else _stored(row, keys)


def load_all(db: Db, keys: MultiFernet | None = None) -> dict[str, StoredToken]:
    from sqlalchemy import select

    from promo.store.tables import AccountToken

    rows = db.execute(select(*AccountToken.__table__.c).order_by(AccountToken.account)).all()
    return {row.account: _stored(row, keys) for row in rows}


def version(db: Db, account: str) -> tuple[int, str] | None:
    """``(version, status)`` of an account's row: one small query, nothing decrypted."""
    from sqlalchemy import select

    from promo.store.tables import AccountToken

    found = db.execute(select(AccountToken.version, AccountToken.status)
                       .where(AccountToken.account == account)).one_or_none()
    return None if found is None else (int(found[0]), str(found[1]))


def save(db: Db, keys: MultiFernet, account: str, platform: str, tokens: TokenSet, now: datetime,
         *, refreshed: bool = False) -> None:
    """Insert or replace the account's tokens in one statement: ``connected``, lease released."""
    from promo.store.meta import upsert_statement
    from promo.store.tables import AccountToken

    values: dict[str, Any] = {"platform": platform, "secret": encrypt(keys, tokens), "scopes": " ".join(tokens.scopes),
              "expires_at": tokens.expires_at, "lifetime_s": tokens.lifetime_s, "status": CONNECTED,
              "refreshable": tokens.refreshable or bool(tokens.refresh_token),
              "status_reason": None, "lease_owner": None, "lease_until": None, "updated_at": now,
              "refreshed_at": now if refreshed else None}
    statement = upsert_statement(db, AccountToken).values(account=account, version=1, connected_at=now, **values)
    if refreshed:
        values.pop("platform")
    else:
        values["connected_at"] = now
    values["version"] = AccountToken.version + 1
    db.execute(statement.on_conflict_do_update(index_elements=["account"], set_=values))


def take_lease(db: Db, account: str, owner: str, now: datetime, seconds: float) -> bool:
    """Become the one process refreshing ``account`` (until ``now + seconds``); False if another is."""
    from sqlalchemy import update

    from promo.store.tables import AccountToken

    taken = db.execute(
        update(AccountToken)
        .where(AccountToken.account == account,
               AccountToken.lease_until.is_(None) | (AccountToken.lease_until <= now))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_lease(db: Db, account: str, owner: str) -> None:
    from sqlalchemy import update

    from promo.store.tables import AccountToken

    db.execute(update(AccountToken).where(AccountToken.account == account, AccountToken.lease_owner == owner)
               .values(lease_owner=None, lease_until=None))


def mark(db: Db, account: str, status: str, reason: str | None, now: datetime) -> bool:
    """Set an account's status (``needs-reconnect`` with the reason); bumps ``version``. Whether it had a row."""
    from sqlalchemy import update

    from promo.store.tables import AccountToken

    marked = db.execute(update(AccountToken).where(AccountToken.account == account)
                        .values(status=status, status_reason=reason, updated_at=now, lease_owner=None,
                                lease_until=None, version=AccountToken.version + 1))
    return bool(marked.rowcount)  # type: ignore[attr-defined]


def delete(db: Db, account: str) -> bool:
    from sqlalchemy import delete as deleting

    from promo.store.tables import AccountToken

    return bool(db.execute(deleting(AccountToken).where(AccountToken.account == account)).rowcount)  # type: ignore[attr-defined]


def rotate_all(db: Db, keys: MultiFernet) -> int:
    """Re-encrypt every row under the first key (``MultiFernet.rotate``); the count of rows."""
    from cryptography.fernet import InvalidToken
    from sqlalchemy import select, update

    from promo.store.tables import AccountToken

    rows = db.execute(select(AccountToken.account, AccountToken.secret).with_for_update()).all()
    for account, secret in rows:
        try:
            rotated = keys.rotate(secret.encode()).decode()
        except InvalidToken:
            raise ConfigError(f"account {account}: its tokens do not open with any key in {KEY_VARIABLE}; "
                              "keep the old key after the new one (PROMO_SECRET_KEY=new,old) while rotating"
                              ) from None
        db.execute(update(AccountToken).where(AccountToken.account == account).values(secret=rotated))
    return len(rows)
