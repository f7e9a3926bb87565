"""What to do with a post that is too long: reject it (the default), truncate it, or thread it.

Nothing is cut unless a campaign asks for it. ``truncate`` cuts each over-long part at a word
boundary and ends it with "…"; ``thread`` splits each over-long part into several, at sentence
boundaries where it can and word boundaries where it must, media staying on the first; each
piece fits the limit of its place (from the second part on, a LinkedIn or Facebook comment's).
Links are never cut: cuts only fall on whitespace, or, for a single word longer than the limit,
on a grapheme boundary outside any link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import regex

from promo.errors import ConfigError, PostInvalid
from promo.posts import Media, Part, Post, Problem
from promo.rules import Rules
from promo.rules.counting import find_links

POLICIES = ("reject", "truncate", "thread")
ELLIPSIS = "…"
_LENGTH_CODES = ("too_long", "too_long_bytes")
_WORD_END = regex.compile(r"(?<=\S)\s")
_SENTENCE_END = regex.compile(r"(?<=[.!?…][\"')\]]*)\s")
_GRAPHEME = regex.compile(r"\X")
_DANGLING = " \t\n,;:-–—"


def fit(post: Post, rules: Rules, policy: str = "reject") -> Post:
    """``post`` made to fit ``rules`` by ``policy``; other problems (media, links) are left as they are."""
    if policy not in POLICIES:
        raise ConfigError(f"unknown overflow policy {policy!r} (known: {', '.join(POLICIES)})")
    if policy == "reject" or all(_fits(rules, post, p.text, p.media, i) for i, p in enumerate(post.parts)):
        return post
    if policy == "truncate":
        return replace(post, parts=tuple(_truncate(rules, post, part, i) for i, part in enumerate(post.parts)))
    if not any(getattr(rules, way, False) for way in ("threads", "multipart", "comments")):
        name = getattr(rules, "title", rules.platform)
        raise PostInvalid([Problem("no_threads", f"{name} has no threads; use truncate or shorten the text")])
    parts: list[Part] = []
    for part in post.parts:
        parts.extend(_split(rules, post, part, len(parts)))
    return replace(post, parts=tuple(parts))


def _fits(rules: Rules, post: Post, text: str, media: tuple[Media, ...], index: int = 0) -> bool:
    """Does ``Part(text, media)`` fit as part ``index``? A later part is checked behind a stand-in
    first part, as its limit may differ (a LinkedIn or Facebook comment)."""
    parts = (Part(text, media),) if index == 0 else (Part("."), Part(text, media))
    report = rules.check(replace(post, parts=parts))
    return not any(p.code in _LENGTH_CODES and p.part == len(parts) - 1 for p in report.problems)


def _truncate(rules: Rules, post: Post, part: Part, index: int) -> Part:
    if _fits(rules, post, part.text, part.media, index):
        return part

    def shortened(cut: int) -> str:
        return part.text[:cut].rstrip(_DANGLING) + ELLIPSIS

    def fits(cut: int) -> bool:
        return _fits(rules, post, shortened(cut), part.media, index)

    cut = _largest(_word_cuts(part.text), fits)
    if cut is None:
        cut = _largest(_grapheme_cuts(part.text), fits)
    if cut is None:
        raise PostInvalid([Problem("too_long", f"{rules.platform}: cannot truncate this text to fit")])
    return Part(shortened(cut), part.media)


def _split(rules: Rules, post: Post, part: Part, first: int) -> list[Part]:
    """``part`` as pieces that each fit, the first becoming part ``first`` of the post."""
    pieces: list[Part] = []
    text, media = part.text, part.media
    while not _fits(rules, post, text, media, first + len(pieces)):
        cut = _best_cut(rules, post, text, media, first + len(pieces))
        pieces.append(Part(text[:cut].rstrip(), media))
        text, media = text[cut:].lstrip(), ()
    if text.strip() or media:
        pieces.append(Part(text, media))
    return pieces


def _best_cut(rules: Rules, post: Post, text: str, media: tuple[Media, ...], index: int) -> int:
    def fits(cut: int) -> bool:
        return _fits(rules, post, text[:cut].rstrip(), media, index)

    word = _largest(_word_cuts(text), fits)
    sentence = _largest([m.start() for m in _SENTENCE_END.finditer(text)], fits)
    if sentence is not None and word is not None and sentence * 2 >= word:
        return sentence
    cut = word if word is not None else _largest(_grapheme_cuts(text), fits)
    if not cut:
        message = f"{rules.platform}: a link or word is too long to fit a part"
        raise PostInvalid([Problem("too_long", message)])
    return cut


def _word_cuts(text: str) -> list[int]:
    return [m.start() for m in _WORD_END.finditer(text)]


def _grapheme_cuts(text: str) -> list[int]:
    """Grapheme boundaries that are not inside a link."""
    inside = [(link.start, link.end) for link in find_links(text)]
    cuts = [m.end() for m in _GRAPHEME.finditer(text)][:-1]
    return [c for c in cuts if c > 0 and not any(start < c < end for start, end in inside)]


def _largest(cuts: list[int], fits: Callable[[int], bool]) -> int | None:
    """The largest cut that fits: a binary search (length grows with the cut), then a check downwards."""
    low, high = 0, len(cuts) - 1
    best = -1
    while low <= high:
        middle = (low + high) // 2
        if fits(cuts[middle]):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    for index in range(best, -1, -1):
        if fits(cuts[index]):
            return cuts[index]
    return None
