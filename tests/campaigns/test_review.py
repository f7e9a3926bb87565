"""The review document and snapshots: safe against any text (checked with a CommonMark parser), deterministic,
bounded; a snapshot reads back exactly, and every kind of drift is named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from promo.accounts import load_accounts
from promo.campaigns.preview import RenderedPost
from promo.campaigns.review import MAX_MARKDOWN, MAX_SHOWN_TEXT, Review, code, escape, fence, markdown, review_file
from promo.campaigns.snapshots import (
    SnapshotError,
    compare,
    drift_lines,
    read_snapshot,
    snapshot_entries,
    snapshot_text,
    visible,
    write_snapshot,
)
from promo.posts import Media, Part, Post, Problem, Report, ScheduledPost

REPO = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
AT = datetime(2027, 6, 14, 0, 1, tzinfo=LA)
COMMONMARK = MarkdownIt("commonmark")
POSTER = Media("media/poster.png", alt="Night Harbor poster", size=115, mime="image/png", width=64, height=36)
CLIP = Media("media/clip.mp4", alt="", size=4901, mime="video/mp4", width=256, height=144, duration_s=4.0)


def rendered(text: str = "Night Harbor is streaming", *, account: str = "jj-x", platform: str = "x",
             announcement: str = "premiere", at: datetime = AT, thread: tuple[str, ...] = (),
             media: tuple[Media, ...] = (), problems: tuple[Problem, ...] = ()) -> RenderedPost:
    post = Post(platform, account, (Part(text, media), *(Part(reply) for reply in thread)), "", None)
    scheduled = ScheduledPost("night-harbor", announcement, "premiere", post, at)
    return RenderedPost(scheduled, Report(platform, len(text), 280, problems))


def review(*posts: RenderedPost) -> Review:
    return Review("night-harbor", "Night Harbor", "America/Los_Angeles", "campaign.yaml", posts)


def fences(document: str) -> list[str]:
    return [token.content for token in COMMONMARK.parse(document) if token.type == "fence"]


def html_tokens(document: str) -> list[str]:
    found = []
    for token in COMMONMARK.parse(document):
        found += [token.type] if "html" in token.type else []
        found += [child.type for child in token.children or [] if "html" in child.type or child.type == "link_open"]
    return found


@settings(deadline=None)
@given(st.text())
def test_a_fence_holds_any_text_whole(text: str) -> None:
    assert fences(fence(visible(text))) == [visible(text) + "\n"]


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from("`~ \na")))
def test_a_fence_holds_backtick_and_tilde_runs(text: str) -> None:
    assert fences(fence(text)) == [text + "\n"]


@settings(deadline=None)
@given(st.text())
def test_an_inline_value_is_one_code_span(text: str) -> None:
    children = COMMONMARK.parseInline(code(text))[0].children or []
    flat = " ".join(visible(text).splitlines()) or " "
    assert [(child.type, child.content) for child in children] == [("code_inline", flat)]


@settings(deadline=None)
@given(st.text())
def test_escaped_text_stays_plain_text(text: str) -> None:
    children = COMMONMARK.parseInline(escape(text))[0].children or []
    assert {child.type for child in children} <= {"text"}
    assert "".join(child.content for child in children) == " ".join(visible(text).splitlines())


PIECES = ["`", "```", "~~~", "<script>", "</details>", "\n", "# ", "- ", "[x](y)", "@team", "*", "_", "\\", "|",
          "\x1b[31m", "\u202e", "a"]
hostile = st.lists(st.sampled_from(PIECES)).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile, reply=hostile, alt=hostile, account=hostile, problem=hostile)
def test_hostile_posts_cannot_break_out_of_the_document(text: str, reply: str, alt: str, account: str,
                                                        problem: str) -> None:
    item = rendered(text, account=account or "a", thread=(reply,), media=(Media("m/p.png", alt=alt, mime="image/png"),),
                    problems=(Problem("too_long", problem),))
    document = markdown(review(item, rendered()))
    assert fences(document) == [visible(text) + "\n", visible(reply) + "\n", "Night Harbor is streaming\n"]
    assert html_tokens(document) == []
    headings = [t.tag for t in COMMONMARK.parse(document) if t.type == "heading_open"]
    assert headings == ["h1", "h2", "h3", "h3"]
    assert "\x1b" not in document and "\u202e" not in document


def test_a_post_shows_its_length_media_time_and_problems() -> None:
    item = rendered("Tonight.", media=(POSTER, CLIP), thread=("Starring Ada Stone.",),
                    problems=(Problem("too_long", "X: 291/280, the link counts as 23", 1),))
    document = markdown(review(item))
    assert "### `jj-x` (x): 8/280 characters, ❌ 1 problem" in document
    assert "## `premiere` (premiere) at 2027-06-14 00:01 -07:00" in document
    assert "- at 2027-06-14 00:01 -07:00" in document
    assert "- media: `poster.png`: image, 64x36, alt `Night Harbor poster`" in document
    assert "- media: `clip.mp4`: video, 0:04, 256x144, **no alt text**" in document
    assert r"- problem (reply 1): X\: 291/280, the link counts as 23" in document
    assert fences(document) == ["Tonight.\n", "Starring Ada Stone.\n"]


def test_times_are_in_the_campaign_zone_with_the_offset_of_their_day() -> None:
    winter = rendered(announcement="teaser", at=datetime(2027, 1, 10, 17, 0, tzinfo=ZoneInfo("UTC")))
    document = markdown(review(winter, rendered()))
    assert "- at 2027-01-10 09:00 -08:00" in document and "- at 2027-06-14 00:01 -07:00" in document


def test_the_document_is_deterministic_and_in_campaign_order() -> None:
    posts = [rendered(account=name, announcement=key) for key in ("b-second", "a-first") for name in ("z", "y")]
    first, second = markdown(review(*posts)), markdown(review(*posts))
    assert first == second
    order = [line for line in first.splitlines() if line.startswith("#")]
    assert order[1].startswith("## `b-second`") and order[2].startswith("### `z`")
    assert order[4].startswith("## `a-first`")


def test_the_document_is_bounded_and_says_what_it_left_out() -> None:
    long = "word " * 4000
    posts = [rendered(long, account=f"account-{n}") for n in range(12)]
    document = markdown(review(*posts))
    assert len(document) <= MAX_MARKDOWN
    assert "posts not shown" in document and "`promo preview --json` lists them all" in document
    huge = markdown(review(rendered("x" * (MAX_SHOWN_TEXT + 5))))
    assert "(5 more characters not shown)" in huge and fences(huge) == ["x" * MAX_SHOWN_TEXT + "\n"]


def test_the_seed_campaign_renders_for_review() -> None:
    accounts = load_accounts(REPO / "promo.toml", environ={})
    seen = review_file(REPO / "examples" / "jessica-jones-s3.yaml", accounts, REPO / "templates",
                       only_platforms=["bluesky", "x"])
    document = markdown(seen)
    assert {item.scheduled.post.platform for item in seen.posts} == {"bluesky", "x"}
    assert "graphemes" in document and "-07:00" in document and "featurette" in document
    assert len(fences(document)) >= len(seen.posts)


# Snapshots


@settings(max_examples=80, deadline=None)
@given(text=st.text(), reply=st.text())
def test_a_snapshot_reads_back_exactly(tmp_path_factory: pytest.TempPathFactory, text: str, reply: str) -> None:
    path = tmp_path_factory.mktemp("snap") / "snapshot.yaml"
    posts = [rendered(text, thread=(reply,), media=(CLIP,)), rendered("two\nlines  \n", account="jj-m")]
    write_snapshot(path, posts)
    assert read_snapshot(path) == snapshot_entries(posts)
    assert compare(read_snapshot(path), posts, file="s", campaign_file="c").equal


def test_a_snapshot_is_stable_and_diff_friendly() -> None:
    posts = [rendered("Line one\nLine two", account="b"), rendered("one line", account="a")]
    text = snapshot_text(posts)
    assert text == snapshot_text(list(reversed(posts)))
    assert text.startswith("promo_snapshot: 1\nposts:\n  night-harbor/premiere/a:\n")
    assert "text: |-\n          Line one\n          Line two\n" in text
    assert "digest: " in text and "scheduled_at: '2027-06-14T00:01:00-07:00'" in text


def test_drift_names_text_media_times_new_and_gone() -> None:
    before = [rendered("Streaming now", media=(POSTER,)), rendered(account="jj-gone")]
    after = [rendered("Streaming tonight", media=(CLIP,), at=datetime(2027, 6, 14, 1, 1, tzinfo=LA)),
             rendered(account="jj-new")]
    drift = compare(snapshot_entries(before), after, file="snap.yaml", campaign_file="campaign.yaml")
    assert not drift.equal and drift.added == ("night-harbor/premiere/jj-new",)
    assert drift.removed == ("night-harbor/premiere/jj-gone",)
    (change,) = drift.changed
    assert change.what == ("text", "media", "scheduled_at")
    assert "media added: media/clip.mp4" in change.notes and "media removed: media/poster.png" in change.notes
    assert "scheduled_at: 2027-06-14T00:01:00-07:00 -> 2027-06-14T01:01:00-07:00" in change.notes
    assert "-Streaming now" in change.diff and "+Streaming tonight" in change.diff
    lines = drift_lines(drift)
    assert lines[0] == "snapshot snap.yaml: 1 changed, 1 new, 1 gone (of 2 posts)"
    assert lines[-1] == "if intended, update it: promo preview campaign.yaml --snapshot snap.yaml"
    document = markdown(review(*after), drift)
    assert "```diff\n--- snapshot night-harbor/premiere/jj-x" in document
    assert "- new: `night-harbor/premiere/jj-new`" in document


def test_a_changed_alt_text_and_a_thread_are_named() -> None:
    before = snapshot_entries([rendered(media=(POSTER,), thread=("Starring Ada.",))])
    after = [rendered(media=(Media(**{**POSTER.to_dict(), "alt": "A lighthouse"}),), thread=("Starring Ben.",))]
    (change,) = compare(before, after, file="s", campaign_file="c").changed
    assert change.what == ("thread", "media") and change.notes == ("media media/poster.png: alt changed",)
    assert " ~ reply 1 ~" in change.diff and "+Starring Ben." in change.diff


def test_a_drift_report_shows_control_characters_as_escapes() -> None:
    before = snapshot_entries([rendered("calm")])
    drift = compare(before, [rendered("\x1b[2J\u202eevil")], file="s", campaign_file="c")
    assert "+\\x1b[2J\\u202eevil" in "\n".join(drift_lines(drift))


@pytest.mark.parametrize(("content", "reason"), [
    (None, "no such file; write it with 'promo preview CAMPAIGN --snapshot"),
    (b"posts: [unclosed", "not valid YAML (line 2)"),
    (b"\xff\xfe", "not UTF-8 text"),
    (b"- a\n- b\n", "not a promo snapshot"),
    (b"promo_snapshot: 1\nposts: []\n", "'posts' must be a mapping"),
    (b"promo_snapshot: 1\nposts:\n  a/b/c: {platform: x}\n", "post 'a/b/c': 'scheduled_at' is missing"),
    (b"promo_snapshot: 1\nposts: &p\n  a: *p\n", "line 2: anchors and aliases are not allowed"),
    (b"promo_snapshot: 1\nposts: " + b"[" * 40 + b"]" * 40 + b"\n", "nested more than 16 levels deep"),
])
def test_a_bad_snapshot_is_one_line_naming_the_file(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "snap.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SnapshotError) as raised:
        read_snapshot(path)
    message = str(raised.value)
    assert message.startswith(f"snapshot {path}: ") and reason in message and "\n" not in message
    assert raised.value.exit_code == 2
