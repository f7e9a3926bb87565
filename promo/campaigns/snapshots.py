"""Snapshots: a lock of every rendered payload, and what drifted from it.

``snapshot_text(rendered)`` is the file ``promo preview --snapshot FILE`` writes: YAML with sorted
keys, one entry per post keyed ``campaign/announcement/account``, holding the exact payload, its
time and its digest (``ScheduledPost.digest``, apply's change detector); a text of several lines is
a ``|`` block, so a changed line is a changed line in ``git diff``. ``read_snapshot(path)`` reads
one back (bounded: size, depth, no aliases); ``compare`` holds the rendered posts against it and
returns a ``Drift``: posts new, gone and changed, each change with a unified diff of its texts and
the media, times and link it changed. ``drift_lines`` is its plain-text report.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promo.campaigns.preview import RenderedPost
from promo.errors import PromoError
from promo.times import iso

VERSION = 1
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 16
MAX_DIFF_CHARS = 10_000     # of one post's diff; the rest is counted, not shown
TIMING = ("scheduled_at", "not_before", "max_lateness_s", "platform")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SnapshotError(PromoError):
    """A snapshot file is missing or is not one ``promo preview --snapshot`` wrote. Exit 2, like diff's
    trouble, so CI tells a broken check (2) from posts that drifted (1)."""

    exit_code = 2


def post_key(item: RenderedPost) -> str:
    """``campaign/announcement/account``: a post's name in a snapshot."""
    scheduled = item.scheduled
    return f"{scheduled.campaign}/{scheduled.announcement}/{scheduled.post.account}"


def entry(item: RenderedPost) -> dict[str, Any]:
    """One post as a snapshot holds it."""
    scheduled = item.scheduled
    return {
        "platform": scheduled.post.platform,
        "scheduled_at": item.when(iso),  # next-slot: "next free slot of ACCOUNT", never the stand-in
        "not_before": iso(scheduled.not_before) if scheduled.not_before else None,
        "max_lateness_s": scheduled.max_lateness_s,
        "payload": scheduled.post.to_payload(),
        "digest": scheduled.digest,
    }


def snapshot_entries(rendered: Sequence[RenderedPost]) -> dict[str, dict[str, Any]]:
    return {post_key(item): entry(item) for item in rendered}


class _Dumper(yaml.SafeDumper):
    """Sorted, never an alias, a text of several lines as a ``|`` block where YAML can keep it exact."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Outside printable YAML (or a line break YAML reads its own way): written double-quoted, with escapes.
_QUOTED = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _QUOTED.search(value) else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def snapshot_text(rendered: Sequence[RenderedPost]) -> str:
    """The snapshot file's text: the same posts always give the same bytes."""
    document = {"promo_snapshot": VERSION, "posts": _sorted(snapshot_entries(rendered))}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=2**30,
                     default_flow_style=False)


def _sorted(value: Any) -> Any:
    """Every mapping's keys in order (the version line stays first, so keys are sorted here, not by YAML)."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def write_snapshot(path: Path, rendered: Sequence[RenderedPost]) -> None:
    """Write the snapshot of ``rendered`` to ``path`` (through a temporary file: never half a snapshot)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(snapshot_text(rendered), encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PromoError(f"--snapshot {path}: cannot write: {exc.strerror}") from None


def read_snapshot(path: Path) -> dict[str, dict[str, Any]]:
    """The posts of the snapshot at ``path``; SnapshotError (one line naming the file) if it cannot be read."""
    text = _snapshot_bytes(path)
    try:
        _check_shape_of_events(path, text)
        document = yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise _bad(path, f"not valid YAML{where}") from None
    return _checked(path, document)


def _bad(path: Path, reason: str) -> SnapshotError:
    return SnapshotError(f"snapshot {path}: {reason}; write it again with "
                         f"'promo preview CAMPAIGN --snapshot {path}'")


def _snapshot_bytes(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path}: no such file; write it with "
                            f"'promo preview CAMPAIGN --snapshot {path}'") from None
    except OSError as exc:
        raise SnapshotError(f"snapshot {path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise _bad(path, f"larger than {MAX_SNAPSHOT_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(path, "not UTF-8 text") from None


def _check_shape_of_events(path: Path, text: str) -> None:
    """Refuse what promo never writes before building anything: aliases, anchors, deep nesting."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _bad(path, f"line {line}: anchors and aliases are not allowed")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _bad(path, f"line {line}: nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _checked(path: Path, document: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(document, dict) or document.get("promo_snapshot") != VERSION:
        raise _bad(path, f"not a promo snapshot (no 'promo_snapshot: {VERSION}' at the top)")
    posts = document.get("posts")
    if not isinstance(posts, dict):
        raise _bad(path, "'posts' must be a mapping of campaign/announcement/account to a post")
    for key, post in posts.items():
        problem = _entry_problem(post)
        if problem:
            raise _bad(path, f"post {str(key)!r}: {problem}")
    return {str(key): post for key, post in posts.items()}


def _entry_problem(post: Any) -> str | None:
    if not isinstance(post, dict):
        return "must be a mapping"
    for name, kinds in (("platform", str), ("scheduled_at", str), ("digest", str), ("payload", dict),
                        ("not_before", (str, type(None))), ("max_lateness_s", (int, type(None)))):
        if not isinstance(post.get(name), kinds) or (name not in post):
            return f"{name!r} is missing or of the wrong type"
    parts = post["payload"].get("parts")
    if not isinstance(parts, list) or not parts:
        return "'payload.parts' must be a list of parts"
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("text"), str) \
                or not isinstance(part.get("media", []), list):
            return "each part of 'payload.parts' needs a 'text' and a list of 'media'"
    return None


@dataclass(frozen=True)
class Change:
    """One post that differs from its snapshot: what changed, notes on media and times, a text diff."""

    key: str
    what: tuple[str, ...]
    notes: tuple[str, ...]
    diff: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "what": list(self.what), "notes": list(self.notes), "diff": list(self.diff)}


@dataclass(frozen=True)
class Drift:
    """The rendered posts held against a snapshot file."""

    file: str
    campaign_file: str
    total: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[Change, ...]

    @property
    def equal(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.equal:
            return f"snapshot {self.file}: all {self.total} posts as snapshotted"
        return (f"snapshot {self.file}: {len(self.changed)} changed, {len(self.added)} new, "
                f"{len(self.removed)} gone (of {self.total} posts)")

    def accept_hint(self) -> str:
        return f"if intended, update it: promo preview {self.campaign_file} --snapshot {self.file}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "equal": self.equal, "posts": self.total, "added": list(self.added),
                "removed": list(self.removed), "changed": [change.to_dict() for change in self.changed]}


def compare(snapshot: Mapping[str, Mapping[str, Any]], rendered: Sequence[RenderedPost], *,
            file: str, campaign_file: str) -> Drift:
    """What drifted: posts rendered but not snapshotted (new), snapshotted but not rendered (gone), changed."""
    current = snapshot_entries(rendered)
    added = tuple(key for key in current if key not in snapshot)
    removed = tuple(sorted(key for key in snapshot if key not in current))
    changed = tuple(describe(key, snapshot[key], current[key])
                    for key in current if key in snapshot and dict(snapshot[key]) != current[key])
    return Drift(file, campaign_file, len(current), added, removed, changed)


def describe(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Change:
    """Name what changed between two entries of one post, with a unified diff of its texts."""
    old_parts, new_parts = old["payload"]["parts"], new["payload"]["parts"]
    what: list[str] = []
    if old_parts[0]["text"] != new_parts[0]["text"]:
        what.append("text")
    if [p["text"] for p in old_parts[1:]] != [p["text"] for p in new_parts[1:]]:
        what.append("thread")
    notes = media_notes(old_parts, new_parts)
    if notes:
        what.append("media")
    for name in TIMING:
        if old.get(name) != new.get(name):
            what.append(name)
            notes.append(f"{name}: {old.get(name)} -> {new.get(name)}")
    if old["payload"].get("link") != new["payload"].get("link"):
        what.append("link")
        notes.append(f"link: {old['payload'].get('link')} -> {new['payload'].get('link')}")
    if not what:
        what.append("digest")
        notes.append("only the digest differs: the snapshot was edited by hand?")
    diff = text_diff(key, old_parts, new_parts) if {"text", "thread"} & set(what) else ()
    return Change(key, tuple(what), tuple(notes), diff)


def media_notes(old_parts: Sequence[Mapping[str, Any]], new_parts: Sequence[Mapping[str, Any]]) -> list[str]:
    """``media added: b.png``, ``media removed: a.png``, ``media poster.png: alt, size changed``."""
    old = {m.get("path"): m for part in old_parts for m in part.get("media", [])}
    new = {m.get("path"): m for part in new_parts for m in part.get("media", [])}
    notes = [f"media added: {path}" for path in new if path not in old]
    notes += [f"media removed: {path}" for path in old if path not in new]
    for path in (path for path in new if path in old and old[path] != new[path]):
        keys = sorted(k for k in set(old[path]) | set(new[path]) if old[path].get(k) != new[path].get(k))
        notes.append(f"media {path}: {', '.join(keys)} changed")
    return notes


def _document(parts: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = str(parts[0]["text"]).split("\n")
    for number, part in enumerate(parts[1:], 1):
        lines += [f"~ reply {number} ~", *str(part["text"]).split("\n")]
    return lines


def text_diff(key: str, old_parts: Sequence[Mapping[str, Any]],
              new_parts: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """A unified diff of the post's texts (its replies after ``~ reply N ~`` lines), at most
    ``MAX_DIFF_CHARS`` characters of it."""
    lines = list(difflib.unified_diff(_document(old_parts), _document(new_parts),
                                      f"snapshot {key}", f"rendered {key}", lineterm="", n=2))
    shown: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        size += len(line) + 1
        if size > MAX_DIFF_CHARS:
            shown.append(f"... {len(lines) - index} more lines of diff")
            break
        shown.append(line)
    return tuple(shown)


def drift_lines(drift: Drift) -> list[str]:
    """The plain-text report: the summary, then each changed, new and gone post (control characters shown
    as escapes, so a hostile text cannot drive the terminal)."""
    lines = [drift.summary()]
    for change in drift.changed:
        lines.append(f"changed {change.key}: {', '.join(change.what)}")
        lines += [f"  {note}" for note in change.notes]
        lines += [f"  {line}" for line in change.diff]
    lines += [f"new {key}" for key in drift.added]
    lines += [f"gone {key}" for key in drift.removed]
    if not drift.equal:
        lines.append(drift.accept_hint())
    return [visible(line) for line in lines]


# Characters that move the cursor, colour a terminal, end a line unseen or reorder text (bidi controls):
# shown as ``\x1b`` / ``\u202e`` in reports and review documents, never sent through as they are.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control, line-separator and bidi character written as an escape (tab and
    newline kept)."""
    return _HIDDEN.sub(lambda found: ascii(found.group())[1:-1], text)
