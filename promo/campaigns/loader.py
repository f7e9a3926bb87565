"""Load a campaign file: YAML with line numbers -> checked fields -> resolved times -> ``Campaign``.

Every mistake is one ``CampaignError`` naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from promo.campaigns.approval import in_force, read_approval
from promo.campaigns.kinds import FieldProblem, Kinds
from promo.campaigns.media import MediaReader, read_media
from promo.campaigns.model import MEDIA_OVERFLOW, OVERFLOW_POLICIES, Announcement, Approval, Campaign, Override
from promo.campaigns.recurrence import KEY_ROOM, RecurrenceProblem, Repeat, parse_repeat
from promo.campaigns.timing import TimeSpec, parse_spec, resolve, resolve_relative
from promo.campaigns.yamlfile import YamlList, YamlMap, read_yaml
from promo.errors import CampaignError
from promo.platforms.registry import PLATFORMS
from promo.times import parse_duration, zone

if TYPE_CHECKING:
    from promo.accounts import Account

SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
TOP_KEYS = ("campaign", "name", "timezone", "fields", "accounts", "defaults", "approval", "announcements")
ANNOUNCEMENT_KEYS = ("key", "kind", "at", "fields", "not_before", "max_lateness", "media", "thread",
                     "platforms", "accounts", "text", "approval", "repeat", "variants")
DEFAULT_KEYS = ("max_lateness", "platforms")
OVERRIDE_KEYS = ("skip", "text", "thread", "overflow", "media")


@dataclass
class _Reader:
    """What every check needs: the file, its folder, the configured accounts and kinds."""

    file: str
    folder: Path
    accounts: Mapping[str, Account]
    kinds: Kinds
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    approval: Approval | None = None        # the campaign's rule, which announcements build on

    def fail(self, message: str, line: int | None, field: str | None = None) -> CampaignError:
        return CampaignError(message, file=self.file, line=line, field=field)

    def mapping(self, value: Any, line: int, field: str) -> YamlMap:
        if value is None:
            empty = YamlMap()
            empty.line = line
            return empty
        if not isinstance(value, YamlMap):
            raise self.fail(f"expected a mapping (key: value lines), got {_shown(value)}", line, field)
        return value

    def strings(self, value: Any, line: int, field: str) -> YamlList:
        if not isinstance(value, YamlList) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"expected a list of text, got {_shown(value)}", line, field)
        return value

    def known_keys(self, body: YamlMap, allowed: tuple[str, ...], where: str) -> None:
        for key in body:
            if key not in allowed:
                raise self.fail(f"unknown key {key!r} (allowed: {', '.join(allowed)})",
                                body.line_of(key), f"{where}{key}")


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else repr(value)


def load_campaign(path: Path, accounts: Mapping[str, Account], templates_dir: Path) -> Campaign:
    """Read, check and resolve the campaign in ``path``; CampaignError (file, line, field) if it is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CampaignError(f"cannot read: {exc.strerror}", file=str(path)) from None
    doc = read_yaml(path, data)
    reader = _Reader(str(path), path.parent, accounts, Kinds(templates_dir))
    if not isinstance(doc, YamlMap):
        raise reader.fail("a campaign file is a mapping with campaign:, timezone:, accounts: and "
                          "announcements:", 1)
    reader.known_keys(doc, TOP_KEYS, "")
    return _campaign(reader, doc, hashlib.sha256(data).hexdigest())


def _campaign(reader: _Reader, doc: YamlMap, digest: str) -> Campaign:
    slug = _required(reader, doc, "campaign", "")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise reader.fail("campaign id must be a slug: a-z, 0-9, '-', '_' (e.g. jessica-jones-s3)",
                          doc.line_of("campaign"), "campaign")
    timezone = str(_required(reader, doc, "timezone", ""))
    try:
        reader.tz = zone(timezone)
    except ValueError as exc:
        raise reader.fail(str(exc), doc.line_of("timezone"), "timezone") from None
    shared = reader.mapping(doc.get("fields"), doc.line_of("fields"), "fields")
    accounts = _accounts(reader, doc, None)
    defaults = reader.mapping(doc.get("defaults"), doc.line_of("defaults"), "defaults")
    reader.known_keys(defaults, DEFAULT_KEYS, "defaults.")
    reader.approval = read_approval(reader.file, doc.get("approval"), doc.line_of("approval"), "", None)
    announcements = _announcements(reader, doc, shared, accounts, defaults)
    return Campaign(slug, str(doc.get("name", slug)), timezone, reader.tz, reader.file, digest,
                    dict(shared), accounts, announcements, in_force(reader.approval))


def _required(reader: _Reader, body: YamlMap, key: str, where: str) -> Any:
    if body.get(key) in (None, ""):
        raise reader.fail("is required", body.line, f"{where}{key}")
    return body[key]


def _accounts(reader: _Reader, body: YamlMap, allowed: tuple[str, ...] | None,
              where: str = "") -> tuple[str, ...]:
    names = reader.strings(_required(reader, body, "accounts", where), body.line_of("accounts"),
                           f"{where}accounts")
    for index, name in enumerate(names):
        pool = allowed if allowed is not None else tuple(reader.accounts)
        if name not in pool:
            origin = "the campaign's accounts" if allowed is not None else "promo.toml"
            raise reader.fail(f"unknown account {name!r} (in {origin}: {', '.join(sorted(pool)) or 'none'})",
                              names.line_of(index), f"{where}accounts")
    return tuple(names)


def _announcements(reader: _Reader, doc: YamlMap, shared: YamlMap, accounts: tuple[str, ...],
                   defaults: YamlMap) -> tuple[Announcement, ...]:
    items = _required(reader, doc, "announcements", "")
    if not isinstance(items, YamlList) or not all(isinstance(i, YamlMap) for i in items):
        raise reader.fail("expected a list of announcements (- key: ...)", doc.line_of("announcements"),
                          "announcements")
    keys = _keys(reader, items)
    specs: dict[str, TimeSpec] = {}
    embargoes: dict[str, TimeSpec] = {}
    for key, body in zip(keys, items, strict=True):
        specs[key] = _time(reader, body, "at", key, keys, required=True)
        if body.get("not_before") is not None:
            embargoes[key] = _time(reader, body, "not_before", key, keys, required=True)
    schedule = resolve(specs, reader.tz, reader.file)
    default_lateness = _lateness(reader, defaults, "defaults.", None)
    default_overrides = _overrides(reader, defaults, "defaults.", {})
    return tuple(
        _announcement(reader, key, body, shared, accounts, schedule, embargoes, default_lateness,
                      default_overrides)
        for key, body in zip(keys, items, strict=True)
    )


def _keys(reader: _Reader, items: YamlList) -> list[str]:
    keys: list[str] = []
    for body in items:
        key = _required(reader, body, "key", "announcements.")
        if not isinstance(key, str) or not SLUG.match(key):
            raise reader.fail("an announcement key is a slug: a-z, 0-9, '-', '_' (e.g. premiere)",
                              body.line_of("key"), "key")
        if key in keys:
            raise reader.fail(f"duplicate announcement key {key!r}", body.line_of("key"), "key")
        keys.append(key)
    return keys


def _time(reader: _Reader, body: YamlMap, name: str, key: str, keys: list[str], *,
          required: bool) -> TimeSpec:
    where = f"announcements.{key}."
    value = _required(reader, body, name, where) if required else body.get(name)
    return parse_spec(value, field=f"{where}{name}", line=body.line_of(name), file=reader.file,
                      tz=reader.tz, keys=keys)


def _announcement(reader: _Reader, key: str, body: YamlMap, shared: YamlMap, accounts: tuple[str, ...],
                  schedule: Mapping[str, Any], embargoes: Mapping[str, TimeSpec],
                  default_lateness: timedelta | None,
                  default_overrides: Mapping[str, Override]) -> Announcement:
    where = f"announcements.{key}."
    reader.known_keys(body, ANNOUNCEMENT_KEYS, where)
    kind = str(_required(reader, body, "kind", where))
    if kind not in reader.kinds:
        raise reader.fail(f"unknown kind {kind!r} (known: {', '.join(reader.kinds.names())}; "
                          f"add templates/{kind}/kind.yaml to declare it)", body.line_of("kind"),
                          f"{where}kind")
    fields = _fields(reader, kind, body, shared, where)
    own = _accounts(reader, body, accounts, where) if "accounts" in body else accounts
    not_before = resolve_relative(embargoes[key], schedule, reader.tz, reader.file) if key in embargoes else None
    lines = {"text": body.line_of("text"), "thread": body.line_of("thread")}
    thread = _thread(reader, body.get("thread"), body.line_of("thread"), f"{where}thread", lines)
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise reader.fail("expected text (a template string)", body.line_of("text"), f"{where}text")
    repeat = _repeat(reader, key, body, schedule[key])
    return Announcement(
        key, kind, fields, schedule[key], not_before,
        _lateness(reader, body, where, default_lateness),
        read_media(MediaReader(reader.file, reader.folder, key), body.get("media"), body.line_of("media"),
                   f"{where}media"),
        thread or (), _overrides(reader, body, where, default_overrides), body.line, own, text, lines,
        in_force(read_approval(reader.file, body.get("approval"), body.line_of("approval"), where, reader.approval)),
        repeat, _variants(reader, kind, body, {**shared, **reader.mapping(body.get("fields"), body.line, where)},
                          where) if repeat else (),
    )


def _repeat(reader: _Reader, key: str, body: YamlMap, start: Any) -> Repeat | None:
    """``repeat:`` (promo.campaigns.recurrence); ``variants:`` without it is a mistake."""
    where = f"announcements.{key}."
    if body.get("repeat") is None:
        if body.get("variants") is not None:
            raise reader.fail("variants rotate across occurrences: add repeat: too", body.line_of("variants"),
                              f"{where}variants")
        return None
    if body.get("not_before") is not None:
        raise reader.fail("a recurring announcement cannot have not_before (each occurrence is its own time)",
                          body.line_of("not_before"), f"{where}not_before")
    if len(key) > KEY_ROOM:
        raise reader.fail(f"a recurring announcement's key is at most {KEY_ROOM} characters", body.line_of("key"),
                          f"{where}key")
    try:
        return parse_repeat(body["repeat"], reader.tz, start)
    except RecurrenceProblem as exc:
        raise reader.fail(str(exc), body.line_of("repeat"), f"{where}repeat") from None


def _variants(reader: _Reader, kind: str, body: YamlMap, merged: dict[str, Any], where: str) -> tuple[Any, ...]:
    """``variants:``: a list of texts (each replaces the template) or of field sets (each over the fields)."""
    value = body.get("variants")
    if value is None:
        return ()
    line = body.line_of("variants")
    if not isinstance(value, YamlList) or not value:
        raise reader.fail("expected a list of texts or of field sets", line, f"{where}variants")
    found: list[Any] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, YamlMap):
            try:
                found.append(reader.kinds.validate(kind, {**merged, **item}))
            except FieldProblem as problem:
                raise reader.fail(f"{problem.message} (kind {kind})", value.line_of(index),
                                  f"{where}variants.{index}.{problem.field}") from None
        else:
            raise reader.fail(f"a variant is a text or a mapping of fields, got {_shown(item)}",
                              value.line_of(index), f"{where}variants.{index}")
    return tuple(found)


def _fields(reader: _Reader, kind: str, body: YamlMap, shared: YamlMap, where: str) -> dict[str, Any]:
    own = reader.mapping(body.get("fields"), body.line_of("fields"), f"{where}fields")
    try:
        return reader.kinds.validate(kind, {**shared, **own})
    except FieldProblem as problem:
        name = problem.field.split(".", 1)[0]
        line = own.line_of(name) if name in own else shared.line_of(name) if name in shared else body.line
        raise reader.fail(f"{problem.message} (kind {kind})", line,
                          f"{where}fields.{problem.field}") from None


def _lateness(reader: _Reader, body: YamlMap, where: str, default: timedelta | None) -> timedelta | None:
    if body.get("max_lateness") is None:
        return default
    try:
        return parse_duration(str(body["max_lateness"]))
    except ValueError as exc:
        raise reader.fail(str(exc), body.line_of("max_lateness"), f"{where}max_lateness") from None


def _thread(reader: _Reader, value: Any, line: int, field: str,
            lines: dict[str, int] | None = None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value is False:
        return ()
    items = reader.strings(value, line, field)
    if lines is not None:
        lines.update({f"thread.{i}": items.line_of(i) for i in range(len(items))})
    return tuple(items)


def _overrides(reader: _Reader, body: YamlMap, where: str,
               defaults: Mapping[str, Override]) -> dict[str, Override]:
    table = reader.mapping(body.get("platforms"), body.line_of("platforms"), f"{where}platforms")
    found = dict(defaults)
    for target, value in table.items():
        field = f"{where}platforms.{target}"
        if target not in PLATFORMS and target not in reader.accounts:
            raise reader.fail(f"{target!r} is neither a platform ({', '.join(sorted(PLATFORMS))}) "
                              "nor a configured account", table.line_of(target), field)
        own = _override(reader, value, table.line_of(target), field)
        found[target] = own.merged_over(defaults[target]) if target in defaults else own
    return found


def _override(reader: _Reader, value: Any, line: int, field: str) -> Override:
    if value == "skip" or value is False:
        return Override(skip=True, line=line)
    body = reader.mapping(value, line, field)
    reader.known_keys(body, OVERRIDE_KEYS, f"{field}.")
    overflow, transcode = _overflow(reader, body, field)
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise reader.fail("expected text (a template string)", body.line_of("text"), f"{field}.text")
    for flag in ("skip", "media"):
        if flag in body and not isinstance(body[flag], bool):
            raise reader.fail("expected true or false", body.line_of(flag), f"{field}.{flag}")
    return Override(
        skip=bool(body.get("skip", False)), text=text,
        thread=_thread(reader, body.get("thread"), body.line_of("thread"), f"{field}.thread"),
        overflow=overflow, media=bool(body.get("media", True)), line=line, transcode=transcode,
    )


def _overflow(reader: _Reader, body: YamlMap, field: str) -> tuple[str | None, bool]:
    """``overflow: thread``, ``overflow: transcode`` or both (``[thread, transcode]``): (text policy, transcode)."""
    value = body.get("overflow")
    values = list(value) if isinstance(value, list) else [value]
    known = OVERFLOW_POLICIES + MEDIA_OVERFLOW
    for item in values:
        if item is not None and item not in known:
            raise reader.fail(f"unknown overflow policy {item!r} (known: {', '.join(known)})",
                              body.line_of("overflow"), f"{field}.overflow")
    text = [v for v in values if v in OVERFLOW_POLICIES]
    if len(text) > 1:
        raise reader.fail(f"one text policy at most ({' or '.join(OVERFLOW_POLICIES)}), got {', '.join(text)}",
                          body.line_of("overflow"), f"{field}.overflow")
    return (text[0] if text else None), "transcode" in values
