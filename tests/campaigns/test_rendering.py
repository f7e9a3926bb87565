"""Templates: lookup and fallback, the marketer's filters, the sandbox, and errors that name file and line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from promo.campaigns.rendering import Renderer, hashtags, join_names, tidy
from promo.errors import TemplateError

CONTEXT = {"show": "Jessica Jones", "platform": "x", "timezone": "America/Los_Angeles",
           "campaign": {"id": "jessica-jones-s3"}, "link": "https://www.netflix.com/title/80002311",
           "premiere": datetime(2019, 6, 14, 7, 1, tzinfo=UTC)}


def renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return Renderer(tmp_path)


def test_lookup_prefers_the_platform_template_then_default(tmp_path) -> None:
    renderer = renderer_with(tmp_path, {"premiere/x.j2": "short {{ show }}",
                                        "premiere/default.j2": "long {{ show }}"})
    assert renderer.render("premiere", "x", CONTEXT) == "short Jessica Jones"
    assert renderer.render("premiere", "mastodon", CONTEXT) == "long Jessica Jones"


def test_missing_template_names_the_files_to_add(tmp_path) -> None:
    expected = r"no template for kind 'teaser': add .*teaser/x\.j2 or .*teaser/default\.j2"
    with pytest.raises(TemplateError, match=expected):
        Renderer(tmp_path).render("teaser", "x", CONTEXT)


@pytest.mark.parametrize(("value", "expected"), [
    (["JessicaJones", "#Netflix", "Marvel Studios"], "#JessicaJones #Netflix #MarvelStudios"),
    ("JessicaJones", "#JessicaJones"),
    ([], ""),
])
def test_hashtags(value, expected) -> None:
    assert hashtags(value) == expected


@pytest.mark.parametrize(("names", "expected"), [
    (["Krysten Ritter", "Rachael Taylor", "Carrie-Anne Moss"],
     "Krysten Ritter, Rachael Taylor and Carrie-Anne Moss"),
    (["Krysten Ritter", "Rachael Taylor"], "Krysten Ritter and Rachael Taylor"),
    (["Krysten Ritter"], "Krysten Ritter"),
    ([], ""),
])
def test_join_names(names, expected) -> None:
    assert join_names(names) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ premiere | day }}", "June 14"),
    ("{{ premiere | date }}", "June 14"),
    ("{{ premiere | date('%A, %B %d %Y') }}", "Friday, June 14 2019"),
    ("{{ premiere | clock }}", "12:01 AM"),
    ("{{ '2019-06-14 00:01' | day }}", "June 14"),
    ("{{ link | utm }}", "https://www.netflix.com/title/80002311?utm_source=x&utm_medium=social"
                         "&utm_campaign=jessica-jones-s3"),
    ("{{ 'https://e.com/a?ref=1&utm_source=old' | utm('teaser') }}",
     "https://e.com/a?ref=1&utm_source=x&utm_medium=social&utm_campaign=jessica-jones-s3&utm_content=teaser"),
])
def test_filters(tmp_path, source, expected) -> None:
    assert Renderer(tmp_path).render_inline(source, CONTEXT, file="c.yaml", line=3) == expected


def test_dates_are_shown_in_the_campaign_zone(tmp_path) -> None:
    # 2019-06-14 06:00 UTC is still June 13 in Los Angeles
    context = {**CONTEXT, "premiere": datetime(2019, 6, 14, 6, 0, tzinfo=UTC)}
    assert Renderer(tmp_path).render_inline("{{ premiere | day }}", context, file="c", line=1) == "June 13"


def test_undefined_name_names_template_file_and_line(tmp_path) -> None:
    renderer = renderer_with(tmp_path, {"premiere/default.j2": "{{ show }}\n{{ episode_title }}\n"})
    with pytest.raises(TemplateError) as caught:
        renderer.render("premiere", "x", CONTEXT)
    error = caught.value
    assert (Path(error.file or "").name, error.line, error.name) == ("default.j2", 2, "episode_title")
    assert str(error).endswith("premiere/default.j2:2: undefined name 'episode_title'")


def test_undefined_name_in_an_imported_macro_points_at_the_macro(tmp_path) -> None:
    renderer = renderer_with(tmp_path, {
        "_macros.j2": "{% macro tag() %}\n{{ missing_tag }}{% endmacro %}",
        "premiere/default.j2": '{% import "_macros.j2" as m %}\n{{ m.tag() }}',
    })
    with pytest.raises(TemplateError) as caught:
        renderer.render("premiere", "x", CONTEXT)
    error = caught.value
    assert (Path(error.file or "").name, error.line, error.name) == ("_macros.j2", 2, "missing_tag")


def test_syntax_error_names_template_file_and_line(tmp_path) -> None:
    renderer = renderer_with(tmp_path, {"premiere/x.j2": "line one\n{% if show %}\n{{ show }\n"})
    with pytest.raises(TemplateError) as caught:
        renderer.render("premiere", "x", CONTEXT)
    assert Path(caught.value.file or "").name == "x.j2" and caught.value.line == 3
    assert "syntax error" in str(caught.value)


def test_inline_template_errors_point_at_the_campaign_line(tmp_path) -> None:
    renderer = Renderer(tmp_path)
    with pytest.raises(TemplateError) as caught:
        renderer.render_inline("{{ show }}\n{{ nope }}", CONTEXT, file="campaign.yaml", line=12)
    assert (caught.value.file, caught.value.line, caught.value.name) == ("campaign.yaml", 13, "nope")
    with pytest.raises(TemplateError, match=r"^campaign.yaml:12: syntax error"):
        renderer.render_inline("{{ show }", CONTEXT, file="campaign.yaml", line=12)


def test_the_sandbox_refuses_python_internals(tmp_path) -> None:
    with pytest.raises(TemplateError):
        Renderer(tmp_path).render_inline("{{ show.__class__.__mro__[1].__subclasses__() }}", CONTEXT,
                                         file="c.yaml", line=1)


def test_tidy_keeps_one_empty_line_between_paragraphs() -> None:
    assert tidy("\n a  \n\n\n\nb\t\n") == "a\n\nb"
