"""The settings peek (``promo.settings_peek``) agrees with ``load_settings``: for any mix of ``PROMO_*``
variables, ``.env`` lines and ``[promo]`` tables, a peek that answers gives exactly the fields the full
Settings gives, and it answers for every plain, valid mix; whatever the full Settings refuses, the
peek leaves to it (so the error is the same one line)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from annotated_types import Ge, Gt, Le
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo.accounts import load_accounts
from promo.errors import ConfigError
from promo.settings import Settings, load_settings
from promo.settings_peek import FIELDS, NUMBERS, SettingsPeek, peek_settings

PLAIN: dict[str, list[Any]] = {
    "home": ["h1", "state/h2", "/tmp/h3"],
    "config_file": ["promo.toml", "other.toml"],
    "templates_dir": ["tpl"],
    "database_url": ["sqlite:///db/x.db", "sqlite:////tmp/y.db"],
    "broker_url": ["redis://localhost:6379/0", "sqla+sqlite:///b.db", "rediss://:pw@h:1/2"],
    "timezone": ["UTC", "Europe/Paris", "America/Los_Angeles"],
    "dispatch_interval": ["1.5", "3600", 2, 0.25],
    "dispatch_lookahead": ["0", 0],
    "dispatch_batch": ["10", 100_000],
    "max_attempts": ["3", 100],
    "max_lateness": ["6h", "90m", "2d", "366d"],
    "publish_mode": ["outbox", "dry-run", "live"],
    "outcome_commit": ["grouped", "each"],
    "outcome_group_ms": ["20", "0", 10_000, 2.5],
}
ODD: dict[str, list[Any]] = {  # forms the peek leaves to Settings (some valid, most not)
    "home": ["", " h"],
    "database_url": ["postgresql://u@h/db", "mysql://h/db", ""],
    "broker_url": ["amqp://rabbit"],
    "timezone": ["Mars/Phobos", "utc ", ""],
    "dispatch_interval": ["0", "-1", "1e3", " 2", "abc", 0, True, "nan"],
    "dispatch_batch": ["1.5", "0", 100_001, 2.0],
    "max_lateness": ["400d", "-6h", "PT6H", "01:00:00", 3600],
    "publish_mode": ["Live", "loud"],
    "outcome_commit": ["Grouped", "every"],
    "outcome_group_ms": ["10001", "-1", "1e3"],
}
SOURCES = ("env", "dotenv", "toml")


def _value(name: str, plain: bool) -> st.SearchStrategy[Any]:
    return st.sampled_from(PLAIN[name] if plain or name not in ODD else ODD[name])


@st.composite
def mixes(draw: st.DrawFn, plain: bool) -> list[tuple[str, str, Any, bool]]:
    """``(source, field, value, lower-case name)`` entries: each field in some of the three sources."""
    entries = []
    for name in draw(st.lists(st.sampled_from(sorted(PLAIN)), unique=True, max_size=6)):
        for source in draw(st.lists(st.sampled_from(SOURCES), unique=True, min_size=1)):
            odd = not plain and draw(st.booleans())
            value = draw(_value(name, not odd))
            if source != "toml":
                value = str(value).lower() if isinstance(value, bool) else str(value)
            entries.append((source, name, value, draw(st.booleans())))
    return entries


def _toml(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)


@contextmanager
def _project(entries: list[tuple[str, str, Any, bool]], zone: str | None) -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, clear=False):
        root, here = Path(folder), os.getcwd()
        for name in [name for name in os.environ if name.upper().startswith("PROMO_")]:
            del os.environ[name]
        table = [f"{n} = {_toml(v)}" for source, n, v, _ in entries if source == "toml"]
        account = '\n[accounts.out]\nplatform = "outbox"\n' + (f"timezone = {_toml(zone)}\n" if zone else "")
        for config in ("promo.toml", "other.toml"):
            (root / config).write_text("[promo]\n" + "\n".join(table) + "\n" + account, encoding="utf-8")
        dotenv = [f'{"promo_" if lower else "PROMO_"}{n.upper()}="{v}"' for s, n, v, lower in entries
                  if s == "dotenv"]
        (root / ".env").write_text("\n".join(dotenv) + "\n", encoding="utf-8")
        os.environ.update({f"{'promo_' if lower else 'PROMO_'}{n.upper()}": v for s, n, v, lower in entries
                           if s == "env"})
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(here)


def _expected(full: Settings) -> tuple[Any, ...]:
    return full.home, full.config_file, full.timezone, full.database, full.broker


def _check(entries: list[tuple[str, str, Any, bool]], zone: str | None) -> SettingsPeek | None:
    with _project(entries, zone):
        peek = peek_settings()
        try:
            full = load_settings()
        except ConfigError:
            assert peek is None, "the peek took what load_settings refuses"
            return None
        if peek is not None:
            assert (peek.home, peek.config_file, peek.timezone, peek.database, peek.broker) == _expected(full)
            try:
                zones = {name: account.timezone for name, account in load_accounts(full.config_file).items()}
            except ConfigError:
                zones = None  # an account load_accounts refuses: the peek leaves the zones to it
            assert peek.account_zones in (None, zones)
        return peek


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(mixes(plain=True), st.sampled_from([None, "Europe/Paris"]))
def test_a_plain_valid_mix_is_peeked_exactly(entries: list[tuple[str, str, Any, bool]], zone: str | None) -> None:
    peek = _check(entries, zone)
    assert peek is not None, entries
    if all(name != "config_file" for _, name, _, _ in entries):
        assert peek.account_zones == {"out": zone}


@PROPERTY
@given(mixes(plain=False), st.sampled_from([None, "Europe/Paris", "Mars/Phobos", ""]))
def test_any_mix_is_peeked_exactly_or_left_to_settings(entries: list[tuple[str, str, Any, bool]],
                                                       zone: str | None) -> None:
    _check(entries, zone)


def test_the_peek_knows_every_setting_and_its_bounds() -> None:
    assert set(FIELDS) == set(Settings.model_fields)
    for name, (integer, low, low_ok, high) in NUMBERS.items():
        field = Settings.model_fields[name]
        bounds = {type(m): getattr(m, type(m).__name__.lower()) for m in field.metadata}
        assert (field.annotation is int) == integer, name
        assert bounds.get(Ge if low_ok else Gt) == low and bounds.get(Le) == high, name
    numeric = {name for name, field in Settings.model_fields.items() if field.annotation in (int, float)}
    assert numeric == set(NUMBERS)


@pytest.mark.parametrize("text", ["[promo\n", "promo = 5\n", "[promo]\ntimezon = 'UTC'\n",
                                  "[promo]\nhttp_timeout = -1\n"])
def test_a_bad_config_file_is_left_to_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.upper().startswith("PROMO_")]:
        monkeypatch.delenv(name)
    (tmp_path / "promo.toml").write_text(text, encoding="utf-8")
    assert peek_settings() is None
    with pytest.raises(ConfigError):
        load_settings()
    monkeypatch.setenv("PROMO_CONFIG_FILE", str(tmp_path / "missing.toml"))
    assert peek_settings() is None
