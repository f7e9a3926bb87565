"""What a campaign file or a template can cost is bounded, and every bad one is one clear error.

Each class of hostile input found in review has a case here: huge files, alias bombs, deep nesting,
recursive aliases, bad encodings, NUL bytes, long chains of relative times, dates past year 9999,
template bombs (output, loops, big values, recursion) and non-UTF-8 templates. The property tests
feed random bytes and random campaign bodies: the answer is a campaign or a CampaignError /
TemplateError, never anything else.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo.accounts import Account
from promo.campaigns import load_campaign
from promo.campaigns.render_budget import MAX_OUTPUT
from promo.campaigns.rendering import Renderer
from promo.campaigns.yamlfile import MAX_BYTES, MAX_DEPTH, read_yaml
from promo.errors import CampaignError, PromoError, TemplateError

HEAD = "campaign: bounds\ntimezone: America/Los_Angeles\naccounts: [box]\nannouncements:\n"
ONE = "  - {key: first, kind: generic, at: 2030-01-01 10:00, text: hello}\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def refused(data: bytes) -> CampaignError:
    started = time.monotonic()
    with pytest.raises(CampaignError) as caught:
        read_yaml(Path("campaign.yaml"), data)
    assert time.monotonic() - started < 2.0
    assert str(caught.value).startswith("campaign.yaml")
    return caught.value


@pytest.mark.parametrize(("data", "line", "words"), [
    (b"a: " + b"[" * 100_000 + b"]" * 100_000, 1, f"nested more than {MAX_DEPTH} levels deep"),
    (b"a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']\n" + BOMB.encode(), 7,
     "once aliases are expanded"),
    (b"a: &a [1, *a]\n", 1, "alias *a refers to itself"),
    (b"a: 1\nb: caf\xe9\n", 2, "not UTF-8 text"),
    (b"a: 1\nb: \x00\n", 2, "contains a NUL character"),
    (b"a: *nowhere\n", 1, "undefined alias"),
])
def test_hostile_yaml_is_one_clear_error(data: bytes, line: int, words: str) -> None:
    error = refused(data)
    assert error.line == line and words in error.reason


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    with pytest.raises(CampaignError, match="larger than 1024 KiB"):
        read_yaml(path)


def test_a_file_near_the_size_limit_parses_quickly() -> None:
    entry = "  - key: k{0}\n    kind: generic\n    at: 2030-01-01 10:00\n    text: hello {0}\n"
    body = HEAD + "".join(entry.format(i) for i in range(MAX_BYTES // 80))
    assert len(body) < MAX_BYTES
    started = time.monotonic()
    document = read_yaml(Path("campaign.yaml"), body.encode())
    assert len(document["announcements"]) == MAX_BYTES // 80
    assert time.monotonic() - started < 10.0


def test_a_long_chain_of_relative_times_resolves_without_recursion(
        tmp_path: Path, accounts: dict[str, Account], templates: Path) -> None:
    chain = "".join(f"  - {{key: k{i}, kind: generic, at: k{i - 1} + 1m, text: hi}}\n" for i in range(1, 3000))
    path = tmp_path / "chain.yaml"
    path.write_text(HEAD + "  - {key: k0, kind: generic, at: 2030-01-01 10:00, text: hi}\n" + chain)
    campaign = load_campaign(path, accounts, templates)
    assert campaign.announcement("k2999").scheduled_at.minute == (10 * 60 + 2999) % 60


@pytest.mark.parametrize("at", ["first + 3000000d", "first + 99999999999h", "9999-12-31 23:59 + 0s"])
def test_times_out_of_range_name_the_field(
        tmp_path: Path, accounts: dict[str, Account], templates: Path, at: str) -> None:
    path = tmp_path / "far.yaml"
    path.write_text(HEAD + ONE + f"  - {{key: far, kind: generic, at: {at}, text: hi}}\n"
                    + "  - {key: later, kind: generic, at: far + 1d, text: hi}\n")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path, accounts, templates)
    assert caught.value.field is not None and caught.value.line is not None


TEMPLATE_BOMBS = {
    "big value": "{{ 'x' * 10**8 }}",
    "big number": "{{ 9 ** 99999999 }}",
    "silent loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "huge output": "{% for i in range(100000) %}0123456789{% endfor %}",
    "string loops": "{% set s = 'x' * 90000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    "recursive macro": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_BOMBS))
def test_template_bombs_stop_within_the_render_budget(tmp_path: Path, name: str) -> None:
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "x.j2").write_text(TEMPLATE_BOMBS[name])
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        Renderer(tmp_path).render("generic", "x", {})
    assert time.monotonic() - started < 5.0
    assert "generic/x.j2" in str(caught.value) and "render budget exceeded" in str(caught.value)


def test_a_template_that_extends_itself_is_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "x.j2").write_text("{% extends 'generic/x.j2' %}")
    with pytest.raises(TemplateError, match="recursion too deep"):
        Renderer(tmp_path).render("generic", "x", {})


def test_a_non_utf8_template_is_named(tmp_path: Path) -> None:
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "x.j2").write_bytes(b"caf\xe9 {{ 1 }}")
    with pytest.raises(TemplateError, match=r"generic/x.j2.*not UTF-8"):
        Renderer(tmp_path).render("generic", "x", {})


def test_ordinary_templates_are_untouched(tmp_path: Path) -> None:
    (tmp_path / "generic").mkdir()
    source = "{{ 'ab' * 3 }} {{ 2 ** 10 }} {% for i in range(3) %}{{ i }}{% endfor %}"
    (tmp_path / "generic" / "x.j2").write_text(source)
    assert Renderer(tmp_path).render("generic", "x", {}) == "ababab 1024 012"
    assert MAX_OUTPUT >= 10_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_are_a_document_or_a_campaign_error(data: bytes) -> None:
    try:
        read_yaml(Path("campaign.yaml"), data)
    except CampaignError as error:
        assert str(error).startswith("campaign.yaml") and "\n" not in str(error)


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                   st.sampled_from(["2030-01-01 10:00", "first + 1d", "first - 99999d", "", "-", "9999-12-31"]))
ANNOUNCEMENT = st.fixed_dictionaries(
    {"key": st.one_of(st.sampled_from(["first", "second", "x"]), st.text(max_size=8))},
    optional={"kind": st.sampled_from(["generic", "premiere", "nosuch", ""]), "at": VALUES, "text": VALUES,
              "not_before": VALUES, "max_lateness": VALUES, "media": VALUES, "thread": VALUES,
              "fields": st.dictionaries(st.text(max_size=8), VALUES, max_size=3)},
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ANNOUNCEMENT, max_size=4))
def test_random_campaigns_load_or_fail_clearly(
        tmp_path: Path, accounts: dict[str, Account], templates: Path, announcements: list[dict[str, object]]) -> None:
    import json

    path = tmp_path / "random.yaml"
    body = [ONE] + [f"  - {json.dumps(item)}\n" for item in announcements]
    path.write_text(HEAD + "".join(body))
    try:
        load_campaign(path, accounts, templates)
    except PromoError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)


@pytest.mark.parametrize("name", ["../promo.toml", "/etc/passwd", "nosuch.j2"])
def test_an_include_outside_the_templates_folder_says_why(tmp_path: Path, name: str) -> None:
    (tmp_path / "promo.toml").write_text("[promo]\n")
    (tmp_path / "templates" / "generic").mkdir(parents=True)
    (tmp_path / "templates" / "generic" / "x.j2").write_text(f'{{% include "{name}" %}}')
    with pytest.raises(TemplateError) as caught:
        Renderer(tmp_path / "templates").render("generic", "x", {})
    message = str(caught.value)
    assert f"no template {name!r}" in message and "inside the templates folder" in message
