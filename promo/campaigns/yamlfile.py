"""YAML that remembers where things are: every mapping and list knows its line, and each key's.

Times stay strings (the timestamp resolver is removed) so the campaign's zone, not PyYAML,
decides what ``2019-06-14 00:01`` means. Duplicate keys are an error, not a silent overwrite.

What a file can cost is bounded before anything is built from it: at most ``MAX_BYTES``, nesting
at most ``MAX_DEPTH`` deep, and at most ``MAX_NODES`` values once every alias is expanded (a
"billion laughs" file is refused in milliseconds). A first pass over libyaml's event stream, which
does not recurse, measures all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from promo.errors import CampaignError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 1_000_000


class YamlMap(dict[str, Any]):
    """A mapping with ``line`` (where it starts) and ``lines`` (where each key is)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class YamlList(list[Any]):
    """A list with ``line`` and ``lines`` (one per item)."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster


class LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader building YamlMap / YamlList, without implicit timestamps."""


LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    result = YamlMap()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool):
            raise CampaignError("a mapping key must be a plain word", line=line)
        key = str(key)
        if key in result:
            raise CampaignError(f"duplicate key {key!r} (first on line {result.lines[key]})",
                                line=line, field=key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _construct_list(loader: LineLoader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def read_yaml(path: Path, data: bytes | None = None) -> Any:
    """The document in ``path``; CampaignError with the file and line if it is not valid YAML."""
    file = str(path)
    text = _text(path, data)
    try:
        _check_cost(text)
        return yaml.load(text, Loader=LineLoader)  # LineLoader is a safe loader
    except CampaignError as exc:
        raise CampaignError(exc.reason, file=file, line=exc.line, field=exc.field) from None
    except yaml.MarkedYAMLError as exc:
        raise CampaignError(f"not valid YAML: {_describe(exc)}", file=file, line=_line(exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise CampaignError(f"not valid YAML: control character U+{exc.character:04X} is not allowed",
                            file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise CampaignError(f"not valid YAML: {' '.join(str(exc).split())}", file=file) from None


def _text(path: Path, data: bytes | None) -> str:
    file = str(path)
    try:
        if data is None:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CampaignError(f"cannot read: {exc.strerror}", file=file) from None
    if len(data) > MAX_BYTES:
        raise CampaignError(f"larger than {MAX_BYTES // 1024} KiB: split the campaign into several files", file=file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CampaignError("not UTF-8 text: save the file as UTF-8", file=file, line=line) from None
    if "\0" in text:
        raise CampaignError("contains a NUL character", file=file, line=text[: text.index("\0")].count("\n") + 1)
    return text


def _check_cost(text: str) -> None:
    """Refuse deep nesting, recursive aliases and alias expansion past ``MAX_NODES``, from events alone."""
    sizes: dict[str, int] = {}
    frames: list[tuple[str | None, int]] = [(None, 0)]  # (anchor, values so far) per open collection
    for event in yaml.parse(text, Loader=_SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.CollectionStartEvent):
            if len(frames) > MAX_DEPTH:
                raise CampaignError(f"nested more than {MAX_DEPTH} levels deep", line=line)
            frames.append((event.anchor, 0))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, count = frames.pop()
            _add(frames, count + 1, line)
            if anchor:
                sizes[anchor] = count + 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in frames):
                raise CampaignError(f"alias *{event.anchor} refers to itself", line=line)
            _add(frames, sizes.get(event.anchor or "", 1), line)
        elif isinstance(event, yaml.ScalarEvent):
            _add(frames, 1, line)
            if event.anchor:
                sizes[event.anchor] = 1


def _add(frames: list[tuple[str | None, int]], count: int, line: int) -> None:
    anchor, total = frames[-1]
    frames[-1] = (anchor, total + count)
    if sum(values for _, values in frames) > MAX_NODES:
        raise CampaignError(f"more than {MAX_NODES:,} values once aliases are expanded", line=line)


def _line(exc: yaml.MarkedYAMLError) -> int | None:
    """Where an unclosed bracket or quote starts, else where parsing failed."""
    unclosed = exc.context and ("flow" in exc.context or "quoted" in exc.context)
    mark = exc.context_mark if unclosed and exc.context_mark else exc.problem_mark
    return mark.line + 1 if mark is not None else None


def _describe(exc: yaml.MarkedYAMLError) -> str:
    context = ""
    if exc.context and exc.context_mark:
        context = f"{exc.context} (line {exc.context_mark.line + 1}): "
    problem = exc.problem or "cannot parse"
    if exc.problem_mark is not None and exc.context_mark is not None:
        problem += f" (line {exc.problem_mark.line + 1})"
    return context + problem
