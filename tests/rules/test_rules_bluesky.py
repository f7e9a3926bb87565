"""Bluesky: facets with UTF-8 byte offsets, 300 graphemes and 3,000 bytes, images with alt text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post
from promo.rules.bluesky import Facet, facets
from tests.rules.rulekit import post_texts


def test_link_offset_is_in_bytes() -> None:
    [link] = facets("Sale \u2728 now: https://example.com")
    assert link == Facet(14, 33, "link", "https://example.com")
    assert link.to_record() == {
        "index": {"byteStart": 14, "byteEnd": 33},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}],
    }


FACET_CASES = [
    ("read example.com.", [("link", "https://example.com", "example.com")]),
    ("(https://x.org/a)", [("link", "https://x.org/a", "https://x.org/a")]),
    ("https://en.wikipedia.org/wiki/Jessica_(TV)", [
        ("link", "https://en.wikipedia.org/wiki/Jessica_(TV)", "https://en.wikipedia.org/wiki/Jessica_(TV)")]),
    ("#JessicaJones!", [("tag", "JessicaJones", "#JessicaJones")]),
    ("#2019 only digits", []),
    ("ask @krysten.bsky.social, now", [("mention", "krysten.bsky.social", "@krysten.bsky.social")]),
    ("mail me@example.com", []),
    ("@nodot here", []),
    ("not.a.tld/x", []),
    ("日本語 #タグ https://例え.jp", [("tag", "タグ", "#タグ"), ("link", "https://例え.jp", "https://例え.jp")]),
]


@pytest.mark.parametrize(("text", "expected"), FACET_CASES)
def test_facets_table(text: str, expected: list[tuple[str, str, str]]) -> None:
    found = facets(text)
    raw = text.encode()
    assert [(f.kind, f.value, raw[f.byte_start:f.byte_end].decode()) for f in found] == expected


def test_tag_and_mention_records() -> None:
    tag, mention = facets("#promo @alice.test")
    assert tag.to_record()["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "promo"}]
    assert mention.to_record("did:plc:abc")["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:abc"}]
    with pytest.raises(ValueError, match=r"DID of @alice\.test"):
        mention.to_record()


@settings(max_examples=300, deadline=None)
@given(post_texts())
def test_facet_offsets_cut_the_utf8_text_exactly(text: str) -> None:
    raw = text.encode()
    for facet in facets(text):
        span = raw[facet.byte_start:facet.byte_end].decode()
        if facet.kind == "link":
            assert facet.value in (span, "https://" + span)
        elif facet.kind == "tag":
            assert span[0] in "#＃" and span[1:] == facet.value
        else:
            assert span == "@" + facet.value


@pytest.mark.parametrize(("text", "codes"), [("a" * 300, []), ("a" * 301, ["too_long"])])
def test_graphemes(text: str, codes: list[str]) -> None:
    report = rules_for("bluesky").check(Post.single("bluesky", "a", text))
    assert [p.code for p in report.problems] == codes
    assert report.limit == 300


def test_bytes_limit() -> None:
    text = "👨\u200d👩\u200d👧\u200d👦" * 120 + "a" * 10        # 130 graphemes, 3,010 bytes
    report = rules_for("bluesky").check(Post.single("bluesky", "a", text))
    assert report.length == 130
    assert [(p.code, p.message) for p in report.problems] == [
        ("too_long_bytes", "Bluesky: 3,010/3,000 UTF-8 bytes")]


def test_300_graphemes_of_family_emoji_are_too_many_bytes() -> None:
    report = rules_for("bluesky").check(Post.single("bluesky", "a", "👨\u200d👩\u200d👧\u200d👦" * 300))
    assert report.length == 300
    assert [p.code for p in report.problems] == ["too_long_bytes"]


MEDIA_CASES = [
    ((Media("a.png", "poster", 1_000_000, "image/png"),) * 4, []),
    ((Media("a.png", "poster", 1_000_001, "image/png"),), ["media_too_large"]),
    ((Media("a.png", "", 10, "image/png"),), ["missing_alt"]),
    ((Media("a.png", "poster", 10, "image/png"),) * 5, ["too_many_media"]),
    ((Media("a.mp4", "clip", 10, "video/mp4", duration_s=181),), ["video_too_long"]),
    ((Media("a.mp4", "clip", 10, "video/mp4"), Media("a.png", "poster", 10, "image/png")), ["media_type"]),
]


@pytest.mark.parametrize(("media", "codes"), MEDIA_CASES)
def test_media(media: tuple[Media, ...], codes: list[str]) -> None:
    report = rules_for("bluesky").check(Post("bluesky", "a", (Part("poster", media),)))
    assert [p.code for p in report.problems] == codes
