"""A settings peek for the read commands: the store, the zone and the config file, without pydantic.

``promo queue``, ``show`` and ``status`` need four things from the settings (the database and broker
URLs, which follow from ``home``; the timezone; the config file) and must start within 0.5 s, which
importing pydantic-settings alone would spend. ``peek_settings()`` resolves those with exactly the
precedence of ``promo.settings.Settings`` (init overrides > ``PROMO_*`` environment, names in any
case > ``.env`` > the ``[promo]`` table of the config file > defaults) and checks every other
setting it meets against the same bounds, but only in the plainest forms (``2.5``, ``6h``, a valid
zone). Anything else (a form it does not read, a value out of bounds, a PostgreSQL database, an odd
file) returns None: the caller then builds the full ``Settings``, which accepts it or raises the
usual one-line ConfigError. So a peek is never more lenient than ``load_settings``, only quicker;
``tests/cli/test_settings_peek.py`` holds the two against each other and this table against the fields.

The file helpers and URL defaults here are the ones ``Settings`` itself uses.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promo.errors import ConfigError

DEFAULT_CONFIG_FILE = "promo.toml"
ENV_FILE = ".env"
PREFIX = "promo_"
MAX_CONFIG_BYTES = 1024 * 1024
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
BROKER_SCHEMES = ("redis", "rediss", "sqla+sqlite")
MAX_LATENESS_S = 366 * 86400

# Settings' numeric fields: (int only, lowest, lowest allowed itself, highest). A test compares them
# with the Field(gt=..., ge=..., le=...) of Settings.
NUMBERS: dict[str, tuple[bool, float, bool, float]] = {
    "dispatch_interval": (False, 0, False, 3600), "dispatch_lookahead": (False, 0, True, 3600),
    "dispatch_batch": (True, 0, False, 100_000), "queued_lease": (False, 0, False, 86400),
    "publish_time_limit": (False, 0, False, 86400), "sweep_interval": (False, 0, False, 3600),
    "retry_base": (False, 0, False, 86400), "retry_max": (False, 0, False, 604800),
    "max_attempts": (True, 0, False, 100), "http_timeout": (False, 0, False, 600),
    "worker_concurrency": (True, 0, False, 256), "outcome_group_ms": (False, 0, True, 10_000),
    "visibility_timeout": (True, 0, False, 604800),
    "broker_connection_max_retries": (True, 1, True, 100_000),
    "heartbeat_interval": (False, 0, False, 600),
    "token_refresh_fraction": (False, 0, False, 0.9), "token_refresh_days": (False, 0, False, 365),
    "token_warn_days": (False, 0, True, 365), "token_refresh_interval": (False, 0, False, 86400),
    "recurrence_horizon_days": (True, 1, True, 366),
    "media_host_url_ttl": (False, 600, True, 604800),
    "media_stage_ahead": (False, 0, True, 604800), "media_stage_interval": (False, 0, False, 86400),
}
PATHS = ("home", "config_file", "templates_dir")
# Free text the read commands never use, taken as Settings takes it (plain text only; else a doubt).
TEXTS = ("media_host_bucket", "media_host_endpoint_url", "media_host_region", "media_host_prefix",
         "media_host_access_key_id", "media_host_secret_access_key", "media_host_base_url")
URLS = {"database_url": DATABASE_SCHEMES, "broker_url": BROKER_SCHEMES}
CHOICES = {"publish_mode": ("live", "dry-run", "outbox"), "outcome_commit": ("grouped", "each")}
# Every field of Settings (a test checks it).
FIELDS = (*PATHS, *URLS, "timezone", *NUMBERS, "max_lateness", *CHOICES, *TEXTS)
_INT = re.compile(r"(0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?")
_DURATION = re.compile(r"(0|[1-9][0-9]{0,9})[smhd]")


class Doubt(Exception):
    """A value the peek does not read: build the full Settings instead."""


@dataclass(frozen=True)
class SettingsPeek:
    """What the read commands need, resolved as ``Settings`` resolves it."""

    home: Path
    config_file: Path
    timezone: str
    database: str  # the URL, as ``Settings.database`` (secret: never print it)
    broker: str    # as ``Settings.broker``
    # Each [accounts.NAME] table's ``timezone`` (None: not set); None when the file's accounts look
    # odd, so that ``load_accounts`` should read them.
    account_zones: Mapping[str, str | None] | None


def database_in(url: str | None, home: Path) -> str:
    """The database URL: the one given, else a SQLite file in ``home``."""
    return url if url is not None else f"sqlite:///{(home / 'promo.db').as_posix()}"


def broker_in(url: str | None, home: Path) -> str:
    """The broker URL: the one given, else kombu's SQLAlchemy transport on a SQLite file in ``home``."""
    return url if url is not None else f"sqla+sqlite:///{(home / 'broker.db').as_posix()}"


def mask_url(url: str) -> str:
    """``redis://:s3cret@host/0`` -> ``redis://:***@host/0``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file; ConfigError naming the file (and line) if it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB")
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text: save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def peek_settings(**overrides: Any) -> SettingsPeek | None:
    """The read commands' settings, or None when only the full ``load_settings`` may decide."""
    try:
        return _peek(os.environ, overrides)
    except (Doubt, ConfigError, OSError, ValueError):
        return None


def _peek(env: Mapping[str, str], overrides: dict[str, Any]) -> SettingsPeek:
    if set(overrides) - set(FIELDS):
        raise Doubt("unknown override")
    environment = _prefixed({key.lower(): value for key, value in env.items()})
    dotenv = _prefixed(_dotenv())
    config = Path(overrides.get("config_file") or environment.get("config_file")
                  or dotenv.get("config_file") or DEFAULT_CONFIG_FILE)
    document = read_toml(config) if config.is_file() else {}
    table = document.get("promo", {})
    if not isinstance(table, dict) or set(table) - set(FIELDS):
        raise Doubt("the [promo] table is odd")
    merged = {**table, **dotenv, **environment, **overrides}  # lowest first: the highest wins
    values = {name: _checked(name, merged[name]) for name in FIELDS if name in merged}
    if "PROMO_CONFIG_FILE" in env and not Path(values.get("config_file", DEFAULT_CONFIG_FILE)).is_file():
        raise Doubt("PROMO_CONFIG_FILE names no file")  # load_settings says so
    home = values.get("home", Path(".promo"))
    database = database_in(values.get("database_url"), home)
    if not database.startswith("sqlite:"):
        raise Doubt("not SQLite: the full path")
    config_file = values.get("config_file", Path(DEFAULT_CONFIG_FILE))
    zones = _account_zones(document) if config.is_file() and config_file == config else None
    return SettingsPeek(home, config_file, values.get("timezone", "UTC"), database,
                        broker_in(values.get("broker_url"), home), zones)


def _prefixed(variables: Mapping[str, str | None]) -> dict[str, str]:
    """``promo_home=...`` -> ``{"home": ...}`` for Settings' fields; a name without a value is a doubt."""
    found = {key[len(PREFIX):]: value for key, value in variables.items()
             if key.startswith(PREFIX) and key[len(PREFIX):] in FIELDS}
    if any(value is None for value in found.values()):
        raise Doubt("a name without a value")
    return {key: str(value) for key, value in found.items()}


def _dotenv() -> dict[str, str | None]:
    """``.env`` in the working folder as pydantic-settings reads it (python-dotenv), names lower-cased."""
    path = Path(ENV_FILE)
    if not (path.is_file() or path.is_fifo()):
        return {}
    from dotenv import dotenv_values  # only when there is a .env: 30 ms

    return {key.lower(): value for key, value in dotenv_values(path, encoding="utf-8").items()}


def _checked(name: str, value: Any) -> Any:
    """The value as Settings would hold it, if it is in a plain form and within bounds; else Doubt."""
    if name in PATHS:
        return _path(value)
    if name in URLS:
        text = _text(value)
        if text.partition("://")[0] not in URLS[name]:
            raise Doubt(name)
        return text
    if name in NUMBERS:
        return _number(name, value)
    text = _text(value)
    if name in TEXTS:
        return text
    if name == "timezone":
        from promo.times import zone

        zone(text)  # ValueError: a doubt
    elif name == "max_lateness":
        if not _DURATION.fullmatch(text) or _seconds(text) > MAX_LATENESS_S:
            raise Doubt(name)
    elif text not in CHOICES[name]:
        raise Doubt(name)
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value or value != value.strip() or not value.isprintable():
        raise Doubt("not plain text")
    return value


def _path(value: Any) -> Path:
    return value if isinstance(value, Path) and str(value) == str(value).strip() else Path(_text(value))


def _number(name: str, value: Any) -> float:
    integer, low, low_ok, high = NUMBERS[name]
    if isinstance(value, str):
        if not (_INT if integer else _FLOAT).fullmatch(value):
            raise Doubt(name)
        number: float = int(value) if integer else float(value)
    elif type(value) is int or (type(value) is float and not integer):
        number = value
    else:
        raise Doubt(name)
    if not (low <= number if low_ok else low < number) or not number <= high:
        raise Doubt(name)
    return number


def _seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]


def _account_zones(document: dict[str, Any]) -> dict[str, str | None] | None:
    """Each account's ``timezone`` if every [accounts.NAME] table is a table and its zone a valid name."""
    accounts = document.get("accounts", {})
    if not isinstance(accounts, dict) or not all(isinstance(body, dict) for body in accounts.values()):
        return None
    zones = {name: body.get("timezone") for name, body in accounts.items()}
    if not all(value is None or isinstance(value, str) for value in zones.values()):
        return None
    from promo.times import zone

    try:
        return {name: zone(value).key if value is not None else None for name, value in zones.items()}
    except ValueError:
        return None
