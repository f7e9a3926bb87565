"""Counting helpers shared by the platform rules: links, graphemes, code units, emoji, media.

Everything here is pure and compiled once at import. Indexes are Python string indexes (code
points) unless a name says bytes.

Links follow twitter-text 3's extraction, which X, Mastodon and Bluesky all derive from: a
link needs a known top-level domain (``promo.rules.tlds``); ``https://`` links may have Unicode
domains, bare ``name.tld`` links must be ASCII and must not follow ``- _ . /``; a path ends on a
letter, digit, ``/``, ``=``, ``+``, ``-``, ``_``, ``#`` or balanced parentheses, so the full stop
after a link is not part of it; a host with a label over 63 characters in its punycode form (the
ASCII form DNS uses) is not a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import regex

from promo.posts import Media, Problem
from promo.rules.tlds import TLDS
from promo.rules.video import VideoRules, post_problems, video_problems

_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066\u2067\u2068\u2069"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DOMAIN_CHAR = rf"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_LATIN = (r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
          r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF")
_CYRILLIC = r"\u0400-\u04FF"
_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN}]"
_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN}]|{_PARENS})"
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
_TLD = r"(?:xn--[\-0-9a-z]+|[a-z]+|[^\x00-\x7F\p{P}\p{S}\p{Z}\p{C}]+)"
_UNICODE_LABEL = rf"(?:{_DOMAIN_CHAR}(?:[\-_]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}"
_ASCII_LABEL = rf"[a-z0-9{_LATIN}][\-a-z0-9{_LATIN}]*"
_TAIL = rf"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:{_QUERY})?"
_WITH_SCHEME = rf"(?<![A-Za-z0-9@＠$#＃])(?P<scheme>https?://)(?P<domain>(?:{_UNICODE_LABEL}\.)+{_TLD})"
_BARE = rf"(?<![A-Za-z0-9@＠$#＃\-_./])(?P<bare>(?:{_ASCII_LABEL}\.)+{_TLD})"

_LINK = regex.compile(rf"(?:{_WITH_SCHEME}|{_BARE}){_TAIL}", regex.IGNORECASE | regex.VERSION0)
_SCHEME_LINK = regex.compile(rf"{_WITH_SCHEME}{_TAIL}", regex.IGNORECASE | regex.VERSION0)
_DOTTED_RUN = regex.compile(r"(?<!\S)[^\s.]*\.\S*")
_AFTER_TLD = regex.compile(r"[0-9a-zA-Z@+\-]")
_TCO = regex.compile(rf"https?://t\.co/[a-z0-9]+(?:{_QUERY})?", regex.IGNORECASE)

_GRAPHEME = regex.compile(r"\X")
# One emoji as a reader sees it: flags, keycaps, tag sequences, ZWJ and modifier sequences.
_EMOJI_UNIT = r"\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?"
EMOJI = regex.compile(
    r"\p{Regional_Indicator}{2}"
    r"|[0-9#*]\uFE0F?\u20E3"
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"
    rf"|{_EMOJI_UNIT}(?:\u200D{_EMOJI_UNIT})*"
)
NEWLINES = regex.compile(r"\r\n|\r")


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in text: ``text[start:end] == url``; ``bare`` when written without a scheme."""

    start: int
    end: int
    url: str
    bare: bool


def find_links(text: str, *, bare: bool = True) -> list[Link]:
    """The links in ``text``; ``bare=False`` finds only ``http(s)://`` links (Mastodon's rule)."""
    if "." not in text:
        return []
    pattern = _LINK if bare else _SCHEME_LINK
    links: list[Link] = []
    for run in _DOTTED_RUN.finditer(text):    # links hold no whitespace: search only words with a dot
        for match in pattern.finditer(text, run.start(), run.end()):
            if match.start() == 0 and bare and not text[0].isascii():
                # twitter-text takes a leading non-ASCII letter for the character before the link
                match = pattern.match(text, 1, run.end()) or match
            link = _accept(text, match)
            if link is not None:
                links.append(link)
    return links


def _accept(text: str, match: regex.Match[str]) -> Link | None:
    """Check the top-level domain; if it is unknown, fall back to the longest known one."""
    is_bare = match.groupdict().get("bare") is not None
    domain_group = "bare" if is_bare else "domain"
    start, domain_end = match.span(domain_group)
    tld_start = text.rfind(".", start, domain_end) + 1
    if _known_tld(text, tld_start, domain_end):
        if not _valid_host(text[start:domain_end], len(match.group()) + (8 if is_bare else 0)):
            return None
        url = match.group()
        tco = None if is_bare else _TCO.match(url)   # a t.co link ends with its slug
        if tco is not None:
            url = tco.group()
        return Link(match.start(), match.start() + len(url), url, is_bare)
    end = _shorter_domain_end(text, start, tld_start - 1)
    if end is None or not _valid_host(text[start:end], end - match.start() + (8 if is_bare else 0)):
        return None
    return Link(match.start(), end, text[match.start():end], is_bare)


MAX_LABEL = 63        # an IDNA label, in its ASCII (punycode) form
MAX_URL_LENGTH = 4096


def _valid_host(host: str, url_length: int) -> bool:
    """twitter-text's host check: every label 1-63 characters as punycode, the URL at most 4,096."""
    ascii_length = 0
    for label in host.split("."):
        size = len(label) if label.isascii() else 4 + len(label.encode("punycode"))   # "xn--" + punycode
        if not 1 <= size <= MAX_LABEL:
            return False
        ascii_length += size + 1
    return url_length + (ascii_length - 1) - len(host) <= MAX_URL_LENGTH


def _known_tld(text: str, start: int, end: int) -> bool:
    tld = text[start:end].lower()
    if not (tld in TLDS or tld.startswith("xn--")):
        return False
    return end >= len(text) or not _AFTER_TLD.match(text, end)


def _shorter_domain_end(text: str, start: int, dot: int) -> int | None:
    """The end of the longest prefix of the domain ending in a known TLD, before ``dot``."""
    while True:
        previous_dot = text.rfind(".", start, dot)
        if previous_dot < 0:
            return None
        if _known_tld(text, previous_dot + 1, dot):
            return dot
        dot = previous_dot


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters, Unicode's \\X)."""
    if text.isascii():
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME.findall(text))


def utf16_length(text: str) -> int:
    """UTF-16 code units, as JavaScript and Telegram count."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def blank_links(text: str, links: Sequence[Link], stand_in: str = "\x00") -> str:
    """``text`` with each link replaced by ``stand_in`` (one NUL by default: a grapheme boundary)."""
    if not links:
        return text
    pieces, position = [], 0
    for link in links:
        pieces.append(text[position:link.start])
        position = link.end
    pieces.append(text[position:])
    return stand_in.join(pieces)


def link_note(count: int, url_length: int) -> str:
    if count == 0:
        return ""
    return f", the link counts as {url_length}" if count == 1 else f", each link counts as {url_length}"


MB = 1_000_000
MIB = 1024 * 1024


@dataclass(frozen=True)
class MediaRules:
    """What one platform accepts as attachments on one part.

    ``sizes`` maps a media kind (image, gif, video, other) to its largest size in bytes; a kind
    missing from it is refused. ``per_kind`` caps the count of one kind (X: 1 GIF); ``mixed=False``
    means one kind per post (X: 4 images, or 1 GIF, or 1 video).
    """

    max_count: int
    sizes: dict[str, int]
    per_kind: dict[str, int] = field(default_factory=dict)
    mixed: bool = True
    alt_required: bool = False
    refusal: str = ""          # when max_count is 0: why, in plain words
    video: VideoRules | None = None   # what a video must be (duration, format, shape); None: size only


def media_problems(title: str, media: Sequence[Media], rules: MediaRules, part: int = 0) -> list[Problem]:
    """Count, kind, size and alt text of ``media`` against ``rules``."""
    if not media:
        return []
    where = f"{title}: " if part == 0 else f"{title}: part {part + 1}: "
    if rules.max_count == 0:
        reason = rules.refusal or "no attachments allowed"
        return [Problem("too_many_media", f"{where}{reason}", part)]
    problems = _count_problems(where, media, rules, part)
    if rules.video is not None:
        seen = {p.code for p in problems}
        problems.extend(p for p in post_problems(where, media, rules.video, part) if p.code not in seen)
    for item in media:
        if item.error:
            problems.append(Problem("media_unreadable", f"{where}{item.error}", part))
            continue
        problems.extend(_item_problems(where, item, rules, part))
        if item.kind == "video" and rules.video is not None and item.kind in rules.sizes:
            problems.extend(video_problems(where, item, rules.video, part))
        elif item.kind != "video" and (item.cover or item.captions):
            problems.append(Problem("media_type", f"{where}only a video carries a cover or captions", part))
    return problems


def _count_problems(where: str, media: Sequence[Media], rules: MediaRules, part: int) -> list[Problem]:
    problems = []
    if len(media) > rules.max_count:
        message = f"{where}{len(media)} attachments, at most {rules.max_count}"
        problems.append(Problem("too_many_media", message, part))
    kinds = [m.kind for m in media]
    for kind, most in rules.per_kind.items():
        if kinds.count(kind) > most:
            message = f"{where}{kinds.count(kind)} {kind}s, at most {most}"
            problems.append(Problem("too_many_media", message, part))
    if not rules.mixed and len(set(kinds)) > 1:
        mix = " and ".join(sorted(set(kinds)))
        problems.append(Problem("media_type", f"{where}cannot mix {mix} in one post", part))
    return problems


def _item_problems(where: str, item: Media, rules: MediaRules, part: int) -> list[Problem]:
    name = item.path.rsplit("/", 1)[-1]
    most = rules.sizes.get(item.kind)
    if most is None:
        accepted = ", ".join(sorted(rules.sizes))
        kind = item.mime or "unknown type"
        return [Problem("media_type", f"{where}{name} is {kind}; accepted: {accepted}", part)]
    problems = []
    video_limit = rules.video.max_bytes if rules.video is not None and item.kind == "video" else None
    if item.size is not None and item.size > most and video_limit is None:
        message = f"{where}{name} is {_size(item.size)}, the {item.kind} limit is {_size(most)}"
        problems.append(Problem("media_too_large", message, part))
    if rules.alt_required and not item.alt.strip():
        problems.append(Problem("missing_alt", f"{where}{name} needs alt text", part))
    return problems


def _size(size: int) -> str:
    if size % MIB == 0 and size >= MIB:
        return f"{size // MIB} MiB"
    if size >= MB:
        return f"{size / MB:g} MB"
    return f"{size:,} bytes"
