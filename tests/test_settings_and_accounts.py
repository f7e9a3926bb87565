from pathlib import Path

import pytest

from promo.accounts import env_name, load_accounts
from promo.errors import ConfigError
from promo.settings import Settings, load_settings, mask_url


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database.startswith("sqlite:///")
    assert settings.broker.startswith("sqla+sqlite:///")


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "promo.toml", '[promo]\ntimezone = "Europe/Paris"\nhttp_timeout = 3\n')
    monkeypatch.setenv("PROMO_HTTP_TIMEOUT", "7")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.timezone == "Europe/Paris"
    assert settings.http_timeout == 7


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMO_HTTP_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="PROMO_HTTP_TIMEOUT"):
        load_settings()


def test_an_override_with_an_unknown_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'broker'"):
        load_settings(home=tmp_path, broker="redis://127.0.0.1:6379/0")  # broker_url was meant


def test_display_masks_passwords(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMO_DATABASE_URL", "postgresql://promo:hunter2@db/promo")
    monkeypatch.setenv("PROMO_BROKER_URL", "redis://:s3cret@redis:6379/0")
    shown = load_settings().display()
    text = repr(shown) + repr(load_settings())
    assert "hunter2" not in text and "s3cret" not in text
    assert shown["database_url"] == "postgresql://promo:***@db/promo"


def test_mask_url_leaves_plain_urls() -> None:
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"


def test_accounts_read_credentials_from_environment(tmp_path: Path) -> None:
    config = write(tmp_path / "promo.toml", """
[accounts.jj-bluesky]
platform = "bluesky"
handle = "jj.bsky.social"
rate_limit = "30/5m"

[accounts.jj-mastodon]
platform = "mastodon"
base_url = "https://mastodon.example"
access_token_env = "MY_TOKEN"
""")
    env = {env_name("jj-bluesky", "app_password"): "pw-123", "MY_TOKEN": "tok-456"}
    accounts = load_accounts(config, env)
    assert accounts["jj-bluesky"].secret("app_password") == "pw-123"
    assert accounts["jj-bluesky"].rate_limit is not None and accounts["jj-bluesky"].rate_limit.posts == 30
    assert accounts["jj-mastodon"].secret("access_token") == "tok-456"
    assert accounts["jj-mastodon"].api_base == "https://mastodon.example"
    assert "pw-123" not in repr(accounts) and "tok-456" not in repr(accounts)


def test_env_name_shape() -> None:
    assert env_name("jj-x", "access_token") == "PROMO_ACCOUNT_JJ_X_ACCESS_TOKEN"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[accounts.a]\nhandle = "x"\n', "platform is required"),
        ('[accounts.a]\nplatform = "myspace"\n', "unknown platform 'myspace'"),
        ('[accounts.a]\nplatform = "x"\n', "handle is required"),
        ('[accounts.a]\nplatform = "mastodon"\naccess_token = "leak"\n', "is a secret"),
        ('[accounts.a]\nplatform = "mastodon"\ncolour = "red"\n', "unknown setting 'colour'"),
        ('[accounts.a]\nplatform = "outbox"\nrate_limit = "lots"\n', "rate_limit"),
        ("[accounts.a\n", "promo.toml"),
    ],
)
def test_bad_accounts_file_names_file_and_account(tmp_path: Path, body: str, message: str) -> None:
    config = write(tmp_path / "promo.toml", body)
    with pytest.raises(ConfigError, match=message) as info:
        load_accounts(config, {})
    assert "promo.toml" in str(info.value)


def test_missing_credential_names_the_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "promo.toml", '[accounts.m]\nplatform = "mastodon"\n')
    account = load_accounts(config, {})["m"]
    with pytest.raises(ConfigError, match="PROMO_ACCOUNT_M_ACCESS_TOKEN"):
        account.secret("access_token")
