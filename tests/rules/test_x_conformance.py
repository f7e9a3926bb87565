"""X counting agrees with twitter-text's own conformance suite (issue 13): every case of the v3 sections
of conformance/validate.yml, copied into tests/rules/data/ with its source and licence (Apache 2.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from twitter_text import parse_tweet

from promo.platforms.registry import rules_for
from promo.posts import Post
from promo.rules.counting import find_links
from promo.rules.x import weighted_length

SUITE = yaml.safe_load((Path(__file__).parent / "data" / "twitter_text_validate_v3.yml").read_text("utf-8"))
CASES = [(section, case) for section, cases in SUITE["tests"].items() for case in cases]


@pytest.mark.parametrize(("section", "case"), CASES, ids=[f"{s}: {c['description']}" for s, c in CASES])
def test_every_v3_case(section: str, case: dict[str, Any]) -> None:
    text, expected = case["text"], case["expected"]
    report = rules_for("x").check(Post.single("x", "a", text))
    assert weighted_length(text) == expected["weightedLength"]
    assert (report.length, report.ok) == (expected["weightedLength"], expected["valid"])


def test_the_suite_is_the_v3_suite() -> None:
    assert set(SUITE["tests"]) == {"WeightedTweetsWithDiscountedEmojiCounterTest",
                                   "UnicodeDirectionalMarkerCounterTest"}
    assert len(CASES) == 24
    assert all(parse_tweet(c["text"]).weightedLength == c["expected"]["weightedLength"] for _, c in CASES)


def test_invalid_characters_make_a_post_invalid_in_plain_words() -> None:
    report = rules_for("x").check(Post.single("x", "a", "Premiere tonight\ufeff"))
    assert [p.message for p in report.problems] == [
        "X: U+FEFF cannot be posted (twitter-text refuses it; often a stray byte-order mark): remove it"]


@pytest.mark.parametrize(("text", "links"), [
    ("a" * 63 + ".com", 1),
    ("a" * 64 + ".com", 0),                                # a 64-character label is not a link
    ("https://" + "a" * 64 + ".com/x and example.com", 1),  # the long one is skipped, the short one counts
    ("http://" + "あ" * 20 + ".com", 1),
    ("http://" + "あ" * 60 + ".com", 0),                   # its punycode form is over 63 characters
])
def test_domain_labels_over_63_characters_are_not_links(text: str, links: int) -> None:
    assert len(find_links(text)) == links
    assert weighted_length(text) == parse_tweet(text).weightedLength
