"""Hypothesis strategies for text a promo post might hold: words, links, emoji, CJK, punctuation."""

from __future__ import annotations

from hypothesis import strategies as st
from twitter_text.regexp.emoji import emoji_list

EMOJI = sorted({e.emoji for e in emoji_list if e.status == "fully-qualified"})
LINKS = [
    "https://example.com", "https://example.com/jessica-jones?utm=promo", "http://example.org/a(b)c",
    "example.com", "www.netflix.com/title/80002311", "bit.ly/3xYz", "https://例え.jp/パス",
    "https://sub.domain.co.uk:8080/x/y/", "foo.bar", "https://t.co/abc123",
]
WORDS = ["Jessica", "Jones", "season", "3", "premieres", "on", "Netflix", "June", "14", "café", "naïve",
         "Ritter", "director's", "chair", "—", "…", "©", "@promo", "@alice@example.social", "#JessicaJones"]
CJK = ["日本語", "中文", "한국어", "ｶﾀｶﾅ", "テスト"]
PUNCTUATION = [".", ",", "!", "?", "(", ")", ":", "\"", "'", "-"]
SEPARATORS = [" ", " ", " ", "\n", "\r\n", "  "]  # glued tokens: see docs/counting.md

_RANDOM = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Co", "Cn", "Cc")),
                  max_size=3)
tokens = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(LINKS), st.sampled_from(EMOJI), st.sampled_from(CJK),
    st.sampled_from(PUNCTUATION),
    # random characters, kept apart: a bare domain glued to non-ASCII letters is a known divergence
    _RANDOM.map(lambda text: f" {text} "),
)


@st.composite
def post_texts(draw: st.DrawFn, max_tokens: int = 40) -> str:
    parts = draw(st.lists(st.tuples(tokens, st.sampled_from(SEPARATORS)), max_size=max_tokens))
    return "".join(token + separator for token, separator in parts)


@st.composite
def plain_texts(draw: st.DrawFn, max_tokens: int = 40) -> str:
    """Words, links, emoji and CJK separated by spaces: no random code points."""
    pool = st.one_of(st.sampled_from(WORDS), st.sampled_from(LINKS), st.sampled_from(EMOJI),
                     st.sampled_from(CJK), st.sampled_from(PUNCTUATION))
    return " ".join(draw(st.lists(pool, max_size=max_tokens)))
