"""promo's pytest plugin: a team's own tests hold its campaigns to account.

Registered through the ``pytest11`` entry point (``-p promo.testing`` loads it by hand), it gives
tests the ``promo_preview`` fixture::

    def test_the_premiere(promo_preview):
        preview = promo_preview("campaigns/night-harbor.yaml")
        preview.assert_fits()
        premiere = preview.post("premiere", "outbox")
        premiere.assert_text(contains="now streaming")
        premiere.assert_at("2026-06-14 18:00")

The project is the folder of its ``promo.toml``: ``promo.toml`` in pytest's rootdir unless the
``promo_config`` ini setting (or ``--promo-config``) names another; campaign paths and a relative
templates folder are read from that folder. Templates: the ``promo_templates`` ini setting, else
the project's ``templates_dir`` setting. Nothing is written and no credential is read. Importing
this module loads nothing heavy; the fixture loads promo's rendering when first called.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from promo.testing.preview import Preview

__all__ = ["promo_preview"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promo", "promo campaign previews")
    group.addoption("--promo-config", dest="promo_config", default=None,
                    help="promo.toml of the project whose campaigns promo_preview renders (default: in rootdir).")
    parser.addini("promo_config", "promo.toml of the project (relative to rootdir)", default="promo.toml")
    parser.addini("promo_templates", "templates folder (relative to promo.toml's folder; default: its "
                  "templates_dir setting)", default="")


def project_config(config: pytest.Config) -> Path:
    """The project's promo.toml: ``--promo-config``, else the ``promo_config`` ini setting, from rootdir."""
    named = config.getoption("promo_config", None) or str(config.getini("promo_config"))
    return (config.rootpath / named).resolve()


@pytest.fixture
def promo_preview(request: pytest.FixtureRequest) -> Callable[[str | Path], Preview]:
    """``promo_preview("campaigns/x.yaml")``: the rendered posts of a campaign file (a ``Preview``)."""
    config = project_config(request.config)
    templates = str(request.config.getini("promo_templates"))

    def render(campaign: str | Path) -> Preview:
        __tracebackhide__ = True
        from promo.errors import PromoError
        from promo.testing.project import preview_in_project

        try:
            return preview_in_project(config, Path(campaign), templates or None)
        except PromoError as exc:
            pytest.fail(f"promo_preview({str(campaign)!r}): {exc}", pytrace=False)

    return render
