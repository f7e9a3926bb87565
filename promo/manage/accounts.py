"""The configured accounts as a person sees them (``promo accounts``, ``promo config``), and a
read-only check of their credentials (``promo accounts check``). Never a credential's value.

A passing check clears the account's credentials flag in the store (``promo status`` stops showing
it); it leaves a rate-limit block alone, which ends by itself at its reset time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from promo.accounts import Account
from promo.engine.ratelimits import clear_flag
from promo.errors import PromoError
from promo.platforms.base import build_adapter

if TYPE_CHECKING:
    from sqlalchemy import Engine


def credential_states(account: Account) -> dict[str, str]:
    """``{"access_token": "set" | "missing"}``: never the values."""
    return {c: ("set" if c in account.credentials else "missing") for c in account.spec.credentials}


def credential_variables(account: Account) -> dict[str, str]:
    """``{"access_token": "PROMO_ACCOUNT_JJ_X_ACCESS_TOKEN"}``: where each credential is read from."""
    return {c: account.variable(c) for c in account.spec.credentials}


def missing_credentials(account: Account) -> list[str]:
    """The variables an account still needs set (by the name configured with ``*_env``, if any)."""
    return [account.variable(c) for c in account.spec.credentials if c not in account.credentials]


def credential_warnings(accounts: Iterable[Account]) -> list[str]:
    """One line per account whose credentials are missing (its posts would fail)."""
    return [f"account {account.name} ({account.platform}): credentials missing, set "
            f"{', '.join(missing)} (its posts will fail until then)"
            for account in accounts if (missing := missing_credentials(account))]


def describe(account: Account) -> dict[str, Any]:
    """What may be shown about an account: platform, API base URL, zone, which credentials are set."""
    return {
        "name": account.name,
        "platform": account.platform,
        "base_url": account.base_url or account.spec.default_base_url,
        "timezone": account.timezone,
        "credentials": credential_states(account),
        "variables": credential_variables(account),
    }


def verify_accounts(accounts: Iterable[Account], timeout: float, engine: Engine | None = None) -> list[dict[str, Any]]:
    """One read-only call per account: ``{name, platform, ok, detail, flag_cleared}`` each. Never posts.

    With ``engine``, each passing account's credentials flag is cleared, in one transaction after
    the calls (none is held open during them); ``flag_cleared`` says whether it had one.
    """
    results = [_verify(account, timeout) for account in accounts]
    passed = [result for result in results if result["ok"]]
    if engine is not None and passed:
        with engine.begin() as connection:
            for result in passed:
                result["flag_cleared"] = clear_flag(connection, result["name"])
    return results


def _verify(account: Account, timeout: float) -> dict[str, Any]:
    try:
        detail, ok = build_adapter(account, timeout=timeout).verify(), True
    except PromoError as exc:
        detail, ok = str(exc), False
    return {"name": account.name, "platform": account.platform, "ok": ok, "detail": detail, "flag_cleared": False}
