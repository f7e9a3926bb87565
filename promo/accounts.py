"""Accounts: declared in promo.toml as ``[accounts.NAME]``, credentials from the environment.

::

    [accounts.jj-bluesky]
    platform = "bluesky"
    handle = "jessicajones.bsky.social"
    base_url = "https://bsky.social"      # optional; scheme://host[:port] of the API, nothing more
    rate_limit = "30/5m"                  # optional; posts per window, shared by all workers
    max_lateness = "6h"                   # optional; later than this, a post is held for a person
    timezone = "America/Los_Angeles"      # optional; the zone of times typed for its ad hoc posts
    adapter = "mypkg.adapters:MyAdapter"  # optional; replaces the platform's adapter class (rules stay)
    slots = ["09:00", "12:30", "18:00"]   # optional; its time-slot queue, wall-clock times in its zone
    slot_days = ["mon", "tue", "wed"]     # optional; the days slots run on (default: mon to fri)

The credential ``app_password`` is read from ``PROMO_ACCOUNT_JJ_BLUESKY_APP_PASSWORD`` (the name
upper-cased, every other character turned to ``_``), or from the variable named by
``app_password_env = "MY_VAR"`` (then only from that one, and errors name it). Secrets written
into the file itself are refused.

An account of a platform promo can connect (``promo accounts connect NAME``: X, LinkedIn, Threads,
Facebook, Mastodon, Bluesky) may also say how: ``client_id``, ``authorize_url``, ``token_url``,
``scopes`` and ``redirect_port`` (``connect``), with the app's secret in
``PROMO_ACCOUNT_<NAME>_CLIENT_SECRET`` (or ``client_secret_env``). Credentials in the environment
take precedence; an account with none there takes its connected tokens from the store
(``with_connection``: ``source`` says which).

``base_url`` is one rule for every platform: the API's scheme://host[:port], with no path; the
adapter adds every path (``/v1.0``, ``/bot<token>``, a webhook's path). Unset, it is the platform's
default, or for a webhook URL (Discord, Slack, webhook) that URL's own scheme and host.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from promo.errors import ConfigError
from promo.platforms.base import PlatformSpec
from promo.platforms.oauth import CONNECT_OPTIONS, CONNECTABLE
from promo.platforms.registry import spec_for
from promo.settings import read_toml
from promo.times import parse_duration, zone

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_COMMON = {"platform", "base_url", "rate_limit", "max_lateness", "adapter", "timezone", "slots", "slot_days"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLOT = re.compile(r"^(\d{1,2}):(\d{2})$")
CLIENT_SECRET = "client_secret"
ENVIRONMENT, CONNECTED, MISSING = "environment", "connected", "missing"


@dataclass(frozen=True)
class RateLimit:
    posts: int
    per: timedelta

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        count, _, window = text.partition("/")
        try:
            return cls(int(count), parse_duration(window or "1m"))
        except ValueError:
            raise ValueError(f"rate_limit {text!r} should look like 30/5m") from None


@dataclass(frozen=True)
class Slots:
    """An account's time-slot queue: wall-clock ``times`` (sorted) on ``days`` (0 is Monday), in its zone."""

    times: tuple[time, ...]
    days: frozenset[int] = frozenset(range(5))


@dataclass(frozen=True)
class Account:
    name: str
    platform: str
    base_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, SecretStr] = field(default_factory=dict)
    rate_limit: RateLimit | None = None
    max_lateness: timedelta | None = None
    adapter: str | None = None  # "module:Class" replacing the platform's adapter (a team's own, a benchmark's)
    timezone: str | None = None  # IANA zone of times typed for its ad hoc posts (else the settings' zone)
    credential_env: Mapping[str, str] = field(default_factory=dict)  # credential -> its variable, if not default
    connect: Mapping[str, Any] = field(default_factory=dict)  # how to connect: client_id, token_url, ...
    app_secret: SecretStr | None = None  # the connecting app's client secret (environment only)
    connected: bool = False  # credentials came from the store (``with_connection``)
    slots: Slots | None = None  # its time-slot queue (``slots``, ``slot_days``), if it declares one

    @property
    def source(self) -> str:
        """Where its credentials come from: ``environment``, ``connected`` (the store) or ``missing``."""
        if self.connected:
            return CONNECTED
        return ENVIRONMENT if self.in_environment else MISSING

    @property
    def in_environment(self) -> bool:
        """Whether any of its platform's credentials is set in the environment (they then take precedence)."""
        return any(c in self.credentials for c in self.spec.credentials)

    @property
    def client_secret(self) -> str | None:
        return self.app_secret.get_secret_value() if self.app_secret is not None else None

    def variable(self, credential: str) -> str:
        """The environment variable a credential is read from: ``<credential>_env``, else the default name."""
        return self.credential_env.get(credential) or env_name(self.name, credential)

    @property
    def spec(self) -> PlatformSpec:
        return spec_for(self.platform)

    @property
    def api_base(self) -> str:
        base = self.base_url or self.spec.default_base_url
        if not base:
            raise ConfigError(f"account {self.name}: base_url is not set")
        return base.rstrip("/")

    def secret(self, name: str) -> str:
        """A credential's value, for the adapter's constructor only."""
        try:
            return self.credentials[name].get_secret_value()
        except KeyError:
            raise ConfigError(f"account {self.name}: credential {name} is not set "
                              f"(set {self.variable(name)})") from None

    def __repr__(self) -> str:  # never show credentials
        return f"Account(name={self.name!r}, platform={self.platform!r})"


def with_connection(account: Account, credentials: Mapping[str, str], adapter: str | None = None) -> Account:
    """The account with its connected tokens as credentials (and the flow's adapter, unless it names one).

    Credentials in the environment take precedence: an account that has any keeps them.
    """
    if account.in_environment:
        return account
    secrets = {**account.credentials, **{k: SecretStr(v) for k, v in credentials.items()}}
    return replace(account, credentials=secrets, adapter=account.adapter or adapter, connected=True)


def env_name(account: str, credential: str) -> str:
    return "PROMO_ACCOUNT_" + re.sub(r"[^A-Za-z0-9]", "_", f"{account}_{credential}").upper()


def load_accounts(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Account]:
    """Every account in ``path`` (none if the file does not exist)."""
    if not path.is_file():
        return {}
    table = read_toml(path).get("accounts", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [accounts] must be a table of [accounts.NAME] tables")
    env = os.environ if environ is None else environ
    return {name: _account(path, name, body, env) for name, body in table.items()}


def _account(path: Path, name: str, body: Any, env: Mapping[str, str]) -> Account:
    where = f"{path}: [accounts.{name}]"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: account names use a-z, 0-9, '-', '_' and '.'")
    if not isinstance(body, dict) or "platform" not in body:
        raise ConfigError(f"{where}: platform is required (e.g. platform = \"mastodon\")")
    try:
        spec = spec_for(str(body["platform"]))
    except ConfigError as exc:
        raise ConfigError(f"{where}: platform: {exc}") from None
    options = _options(where, name, spec, body)
    credentials = _credentials(name, spec, body, env)
    try:
        rate = RateLimit.parse(str(body["rate_limit"])) if "rate_limit" in body else None
        lateness = parse_duration(str(body["max_lateness"])) if "max_lateness" in body else None
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    base_url = _base_url(where, body.get("base_url"))
    adapter = body.get("adapter")
    if adapter is not None and ":" not in str(adapter):
        raise ConfigError(f"{where}: adapter should be \"module:Class\", got {adapter!r}")
    return Account(name, spec.name, base_url, options, credentials, rate, lateness, str(adapter) if adapter else None,
                   _timezone(where, body.get("timezone")), _variables(spec, body), _connect(where, spec, body),
                   _client_secret(name, spec, body, env), slots=parse_slots(where, body))


def _connect(where: str, spec: PlatformSpec, body: dict[str, Any]) -> dict[str, Any]:
    """How the account connects (``promo accounts connect``): only for platforms that can."""
    found = {key: body[key] for key in CONNECT_OPTIONS if key in body}
    if "redirect_port" in found:
        port = found["redirect_port"]
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"{where}: redirect_port should be a port number (0-65535), got {port!r}")
    for key in ("authorize_url", "token_url"):
        if key in found and urlsplit(str(found[key])).scheme not in ("http", "https"):
            raise ConfigError(f"{where}: {key} should be an http(s) URL, got {found[key]!r}")
    return found


def _client_secret(name: str, spec: PlatformSpec, body: dict[str, Any], env: Mapping[str, str]) -> SecretStr | None:
    if spec.name not in CONNECTABLE:
        return None
    variable = str(body.get(f"{CLIENT_SECRET}_env") or env_name(name, CLIENT_SECRET))
    return SecretStr(env[variable]) if env.get(variable) else None


def _options(where: str, name: str, spec: PlatformSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The account's non-secret settings; a secret written in the file, or an unknown key, is refused."""
    options = {}
    connectable = spec.name in CONNECTABLE
    for key, value in body.items():
        if key in _COMMON or (key.endswith("_env") and key[:-4] in spec.credentials + spec.optional_credentials):
            continue
        if connectable and (key in CONNECT_OPTIONS or key == f"{CLIENT_SECRET}_env"):
            continue
        if key in spec.credentials + spec.optional_credentials or (connectable and key == CLIENT_SECRET):
            raise ConfigError(f"{where}: {key} is a secret; set {env_name(name, key)} instead of "
                              "writing it in the file")
        if key not in spec.required_options + spec.options:
            extra = set(CONNECT_OPTIONS) if connectable else set()
            allowed = ", ".join(sorted(_COMMON | extra | set(spec.required_options + spec.options)))
            raise ConfigError(f"{where}: unknown setting {key!r} (allowed: {allowed})")
        options[key] = value
    for option in spec.required_options:
        if option not in options:
            raise ConfigError(f"{where}: {option} is required for {spec.title}")
    return options


def _credentials(name: str, spec: PlatformSpec, body: dict[str, Any], env: Mapping[str, str]) -> dict[str, SecretStr]:
    """Each credential from the variable ``<credential>_env`` names, else from PROMO_ACCOUNT_<NAME>_<CREDENTIAL>."""
    credentials = {}
    configured = _variables(spec, body)
    for credential in spec.credentials + spec.optional_credentials:
        variable = configured.get(credential) or env_name(name, credential)
        if variable in env:
            credentials[credential] = SecretStr(env[variable])
    return credentials


def _variables(spec: PlatformSpec, body: dict[str, Any]) -> dict[str, str]:
    """The variables named by ``<credential>_env`` (only those set in the file)."""
    return {c: str(body[f"{c}_env"]) for c in spec.credentials + spec.optional_credentials if body.get(f"{c}_env")}


def _timezone(where: str, value: Any) -> str | None:
    """An account's ``timezone``: an IANA zone name, checked now."""
    if value is None:
        return None
    try:
        return zone(str(value)).key
    except ValueError as exc:
        raise ConfigError(f"{where}: timezone: {exc}") from None


def parse_slots(where: str, body: Mapping[str, Any]) -> Slots | None:
    """``slots`` (``"HH:MM"`` texts) and ``slot_days`` (``"mon"``...``"sun"``); one line naming what is wrong."""
    if "slots" not in body:
        if "slot_days" in body:
            raise ConfigError(f"{where}: slot_days needs slots (e.g. slots = [\"09:00\", \"18:00\"])")
        return None
    texts = _texts(where, "slots", body["slots"], 'slots = ["09:00", "12:30", "18:00"]')
    times = [_slot_time(where, text) for text in texts]
    days = _texts(where, "slot_days", body.get("slot_days", list(WEEKDAYS[:5])), 'slot_days = ["mon", "fri"]')
    for day in days:
        if day.lower() not in WEEKDAYS:
            raise ConfigError(f"{where}: slot_days: unknown day {day!r} (use {', '.join(WEEKDAYS)})")
    for name, values in (("slots", [t.strftime("%H:%M") for t in times]), ("slot_days", [d.lower() for d in days])):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ConfigError(f"{where}: {name}: {', '.join(twice)} given more than once")
    return Slots(tuple(sorted(times)), frozenset(WEEKDAYS.index(d.lower()) for d in days))


def _texts(where: str, key: str, value: Any, example: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} should be a non-empty list of texts ({example}), got {value!r}")
    return [v.strip() for v in value]


def _slot_time(where: str, text: str) -> time:
    found = _SLOT.match(text)
    hour, minute = (int(found.group(1)), int(found.group(2))) if found else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ConfigError(f"{where}: slots: {text!r} is not a time of day (HH:MM, 00:00 to 23:59)")
    return time(hour, minute)


def _base_url(where: str, value: Any) -> str | None:
    """``base_url`` as the one rule wants it: scheme://host[:port], no path (the adapter adds paths)."""
    if not value:
        return None
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
        raise ConfigError(f"{where}: base_url should be scheme://host[:port] with no path, got {value!r} "
                          "(promo adds the API's paths and versions itself)")
    return str(value).rstrip("/")
