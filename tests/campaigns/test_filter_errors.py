"""A filter given a missing or wrong value is a TemplateError naming the file and line."""

from pathlib import Path

import pytest

from promo.campaigns.rendering import Renderer
from promo.errors import TemplateError


@pytest.mark.parametrize(("source", "message"), [
    ("Out\n{{ missing | day }}", "undefined name 'missing'"),
    ("Out\n{{ 5 | date }}", "a date filter needs a date or time, got 5"),
])
def test_filter_errors_name_template_and_line(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "default.j2").write_text(source)
    with pytest.raises(TemplateError, match=message) as info:
        Renderer(tmp_path).render("generic", "x", {"timezone": "UTC"})
    assert info.value.line == 2
    assert str(info.value.file).endswith("default.j2")
