"""The project the ``promo_preview`` fixture renders for: its promo.toml, accounts and templates."""

from __future__ import annotations

from pathlib import Path

from promo.accounts import load_accounts
from promo.errors import ConfigError
from promo.settings import load_settings
from promo.testing.preview import Preview, load_preview


def templates_for(config: Path, templates: str | None) -> Path:
    """``templates`` (or the project's ``templates_dir`` setting), relative to promo.toml's folder."""
    folder = Path(templates) if templates else load_settings(config_file=config).templates_dir
    return folder if folder.is_absolute() else config.parent / folder


def preview_in_project(config: Path, campaign: Path, templates: str | None = None) -> Preview:
    """Render ``campaign`` (relative to the project's folder) with the project's accounts and templates."""
    if not config.is_file():
        raise ConfigError(f"{config}: no such file: set the promo_config ini option to the project's "
                          "promo.toml, or run 'promo init' to make one")
    path = campaign if campaign.is_absolute() else config.parent / campaign
    accounts = load_accounts(config, environ={})
    return load_preview(path, accounts, templates_for(config, templates))
