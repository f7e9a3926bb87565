"""Settings: environment (``PROMO_*``), then ``.env``, then the ``[promo]`` table of promo.toml, then defaults.

Secrets (database and broker passwords, account credentials) are ``SecretStr`` and are only
unwrapped at the point of use. ``Settings.display()`` is the masked view ``promo config`` prints.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from promo.errors import ConfigError
from promo.settings_peek import (  # the parts the settings peek shares, stdlib only
    BROKER_SCHEMES,
    DATABASE_SCHEMES,
    DEFAULT_CONFIG_FILE,
    MAX_CONFIG_BYTES,
    broker_in,
    database_in,
    mask_url,
    read_toml,
)

__all__ = ["BROKER_SCHEMES", "DATABASE_SCHEMES", "DEFAULT_CONFIG_FILE", "MAX_CONFIG_BYTES", "Settings",
           "load_settings", "mask_url", "read_toml"]


class _PromoTableSource(PydanticBaseSettingsSource):
    """Reads the ``[promo]`` table of the config file, lowest priority after defaults."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        table = read_toml(self.path).get("promo", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{self.path}: 'promo' must be a table ([promo] with key = value lines)")
        for key in table:
            if key not in Settings.model_fields:
                raise ConfigError(f"{self.path}:{_line_of(self.path, key)}: [promo] {key}: unknown setting"
                                  f"{_did_you_mean(key)}")
        return dict(table)


def _line_of(path: Path, key: str) -> int | str:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), "?")


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, list(Settings.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(Settings.model_fields)})"


class Settings(BaseSettings):
    """Every setting promo reads. Environment variables are ``PROMO_`` + the upper-case name."""

    model_config = SettingsConfigDict(
        env_prefix="PROMO_", env_nested_delimiter="__", env_file=".env", extra="ignore",
        validate_default=True,
    )

    home: Path = Field(Path(".promo"), description="state folder for the embedded database, broker and outbox")
    config_file: Path = Field(Path(DEFAULT_CONFIG_FILE), description="accounts and settings file")
    templates_dir: Path = Field(Path("templates"), description="Jinja2 templates, <kind>/<platform>.j2")
    database_url: SecretStr | None = Field(None, description="SQLAlchemy URL; default SQLite in home")
    broker_url: SecretStr | None = Field(None, description="Celery broker; default an embedded SQLite broker")
    timezone: str = Field("UTC", description="zone for times typed on the command line")

    dispatch_interval: float = Field(1.0, gt=0, le=3600, description="seconds between dispatcher runs")
    dispatch_lookahead: float = Field(2.0, ge=0, le=3600, description="claim posts due this many seconds ahead")
    dispatch_batch: int = Field(
        500, gt=0, le=100_000,
        description="most posts claimed per dispatcher run; after a full batch the dispatcher claims again at once",
    )
    queued_lease: float = Field(60.0, gt=0, le=86400, description="a queued post not started by then is re-dispatched")
    publish_time_limit: float = Field(120.0, gt=0, le=86400, description="hard limit of one publish; then unknown")
    sweep_interval: float = Field(15.0, gt=0, le=3600, description="seconds between sweeper runs")
    retry_base: float = Field(30.0, gt=0, le=86400, description="first retry delay in seconds (doubles, with jitter)")
    retry_max: float = Field(3600.0, gt=0, le=604800, description="longest retry delay in seconds")
    max_attempts: int = Field(8, gt=0, le=100, description="attempts before a retryable failure becomes failed")
    max_lateness: timedelta = Field(timedelta(hours=6), description="default late-post policy")
    http_timeout: float = Field(10.0, gt=0, le=600, description="seconds for every platform request")
    publish_mode: Literal["live", "dry-run", "outbox"] = Field(
        "live",
        description="live: real adapters; dry-run: render, check and log only; outbox: every account writes the outbox",
    )
    worker_concurrency: int = Field(2, gt=0, le=256, description="worker processes")
    outcome_commit: Literal["grouped", "each"] = Field(
        "grouped",
        description="PostgreSQL: 'grouped' commits a publish's outcome without waiting for its own WAL flush and "
        "acknowledges its message after one flush shared by every outcome of the moment; 'each' flushes every "
        "outcome on its own",
    )
    outcome_group_ms: float = Field(
        20.0, ge=0, le=10_000,
        description="grouped outcomes: milliseconds a worker gathers outcomes before their one flush",
    )
    visibility_timeout: int = Field(3600, gt=0, le=604800, description="Redis transport visibility timeout, seconds")
    broker_connection_max_retries: int = Field(
        100, ge=1, le=100_000, description="reconnects to a lost broker before a worker exits 1 (for its supervisor)"
    )
    heartbeat_interval: float = Field(
        1.0, gt=0, le=600,
        description="seconds between a worker's or beat's heartbeats; alive while its last is within 3 of them, "
        "and a worker or beat silent longer has its overdue claims dispatched again",
    )
    token_refresh_fraction: float = Field(
        0.2, gt=0, le=0.9, description="refresh a connected account's token when this share of its lifetime remains",
    )
    token_refresh_days: float = Field(
        7.0, gt=0, le=365, description="... or when this many days remain, whichever comes first",
    )
    token_warn_days: float = Field(
        7.0, ge=0, le=365, description="'promo accounts' warns this many days before a token expires",
    )
    token_refresh_interval: float = Field(
        60.0, gt=0, le=86400, description="seconds between the beat's looks for connected tokens due a refresh",
    )
    recurrence_horizon_days: int = Field(
        30, ge=1, le=366, description="days ahead a recurring announcement's occurrences are written to the ledger",
    )
    # The media host (docs/media-host.md): where networks that fetch media by URL get it from.
    media_host_bucket: str | None = Field(None, description="S3-compatible bucket for media fetched by URL")
    media_host_endpoint_url: str | None = Field(None, description="S3 endpoint (R2, MinIO...); none: AWS S3")
    media_host_region: str | None = Field(None, description="the bucket's region; none: boto3's default")
    media_host_prefix: str = Field("promo-media/", description="key prefix of uploaded media in the bucket")
    media_host_access_key_id: SecretStr | None = Field(None, description="none: boto3's own (AWS_* variables...)")
    media_host_secret_access_key: SecretStr | None = Field(None, description="none: boto3's own credentials")
    media_host_url_ttl: float = Field(
        172800.0, ge=600, le=604800, description="seconds a presigned media URL stays valid (S3 allows 7 days)",
    )
    media_host_base_url: str | None = Field(None, description="static backend: a folder you serve at this URL")
    media_stage_ahead: float = Field(
        21600.0, ge=0, le=604800,
        description="seconds ahead the beat uploads due posts' media to the media host; 0: only at publish time",
    )
    media_stage_interval: float = Field(
        300.0, gt=0, le=86400, description="seconds between the beat's media staging runs",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from promo.times import zone

        zone(value)  # ValueError naming the zone
        return value

    @field_validator("database_url", "broker_url")
    @classmethod
    def _known_scheme(cls, value: SecretStr | None, info: Any) -> SecretStr | None:
        if value is None:
            return None
        schemes = DATABASE_SCHEMES if info.field_name == "database_url" else BROKER_SCHEMES
        scheme = value.get_secret_value().partition("://")[0]
        if scheme not in schemes:
            raise ValueError(f"unsupported scheme {scheme!r} (use one of: {', '.join(schemes)})")
        return value

    @field_validator("max_lateness")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(days=366):
            raise ValueError("must be between 0 and 366 days (e.g. 6h)")
        return value

    @field_validator("max_lateness", mode="before")
    @classmethod
    def _read_duration(cls, value: Any) -> Any:
        """Also accept promo's durations: ``6h``, ``90m``, ``2d``."""
        if not isinstance(value, str) or value.strip().upper().startswith("P") or ":" in value:
            return value  # ISO 8601 or HH:MM:SS: pydantic reads those
        from promo.times import parse_duration

        return parse_duration(value if value.strip()[-1:].isalpha() else f"{value}s")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        probe = env_settings()
        dotenv = dotenv_settings()
        config = (init_settings.init_kwargs.get("config_file")  # type: ignore[attr-defined]
                  or probe.get("config_file") or dotenv.get("config_file") or DEFAULT_CONFIG_FILE)
        return (init_settings, env_settings, dotenv_settings, _PromoTableSource(settings_cls, Path(config)))

    @property
    def database(self) -> str:
        """The database URL to connect to (secret: never print it)."""
        return database_in(self.database_url.get_secret_value() if self.database_url is not None else None, self.home)

    @property
    def broker(self) -> str:
        """The broker URL (secret: never print it). Without one: kombu's SQLAlchemy transport on SQLite."""
        return broker_in(self.broker_url.get_secret_value() if self.broker_url is not None else None, self.home)

    def display(self) -> dict[str, str]:
        """Every setting as text, passwords in URLs masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            shown[name] = "" if value is None else str(value)
        shown["database_url"] = mask_url(self.database)
        shown["broker_url"] = mask_url(self.broker)
        return shown


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one ConfigError that names the field.

    The environment may hold other ``PROMO_*`` names (ignored); an override named here must exist.
    """
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}{_did_you_mean(unknown[0])}")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"setting {field} (PROMO_{field.upper()} or [promo] {field}): {message}") from None
    _check_config_file(settings)
    return settings


def _check_config_file(settings: Settings) -> None:
    """A config file named in ``PROMO_CONFIG_FILE`` must exist; the default one may be absent."""
    if "PROMO_CONFIG_FILE" in os.environ and not settings.config_file.is_file():
        raise ConfigError(f"PROMO_CONFIG_FILE: {settings.config_file}: no such file (run 'promo init' to make one)")
