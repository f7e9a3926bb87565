"""Every bad setting is one line naming the setting (and the file and line where there is one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo.errors import ConfigError
from promo.settings import Settings, load_settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in [name for name in __import__("os").environ if name.startswith("PROMO_")]:
        monkeypatch.delenv(name)
    return tmp_path


BAD_FILES = [
    (b"promo = 5\n", "promo.toml: 'promo' must be a table"),
    (b"[promo]\ntimezone = 'UTC'\ntimezon = 'UTC'\n",
     "promo.toml:3: [promo] timezon: unknown setting (did you mean 'timezone'?)"),
    (b"[promo]\ntimezone = 'Mars/Phobos'\n", "unknown IANA timezone 'Mars/Phobos'"),
    (b"[promo]\nmax_lateness = '-6h'\n", "max_lateness"),
    (b"[promo]\ndatabase_url = 'mysql://db/promo'\n", "unsupported scheme 'mysql'"),
    (b"[promo]\nbroker_url = 'amqp://rabbit'\n", "unsupported scheme 'amqp'"),
    (b"[promo]\nhttp_timeout = -1\n", "http_timeout"),
    (b"[promo]\ntimezone = 'caf\xe9'\n", "promo.toml:2: not UTF-8 text"),
    (b"[promo\n", "promo.toml: not valid TOML"),
]


@pytest.mark.parametrize(("data", "words"), BAD_FILES, ids=[words for _, words in BAD_FILES])
def test_a_bad_promo_toml_is_one_clear_line(project: Path, data: bytes, words: str) -> None:
    (project / "promo.toml").write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("PROMO_TIMEZONE", "Mars/Phobos", "PROMO_TIMEZONE"),
    ("PROMO_DISPATCH_INTERVAL", "0", "PROMO_DISPATCH_INTERVAL"),
    ("PROMO_MAX_LATENESS", "soon", "PROMO_MAX_LATENESS"),
    ("PROMO_CONFIG_FILE", "nosuch.toml", "PROMO_CONFIG_FILE: nosuch.toml: no such file"),
])
def test_a_bad_environment_variable_is_named(
        project: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=words):
        load_settings()


def test_a_missing_default_config_file_is_fine(project: Path) -> None:
    assert load_settings().config_file == Path("promo.toml")


def test_a_misspelt_override_suggests_the_setting(project: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'broker_url'"):
        load_settings(broker="redis://127.0.0.1")


KEYS = st.sampled_from([*Settings.model_fields, "timezon", "promo", ""])
VALUES = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.text(max_size=20),
                   st.sampled_from(["-6h", "0/0s", "UTC", "sqlite:///x.db", "redis://h", "9" * 40]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS, VALUES, max_size=4))
def test_any_promo_table_gives_settings_or_one_config_error(project: Path, table: dict[str, object]) -> None:
    import json

    lines = "".join(f"{json.dumps(key)} = {json.dumps(value)}\n" for key, value in table.items())
    (project / "promo.toml").write_text("[promo]\n" + lines, encoding="utf-8")
    try:
        load_settings()
    except ConfigError as error:
        assert "\n" not in str(error)
