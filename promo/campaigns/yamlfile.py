"""YAML that remembers where things are: every mapping and list knows its line, and each key's.

Times stay strings (the timestamp resolver is removed) so the campaign's zone, not PyYAML,
decides what ``2019-06-14 00:01`` means. Duplicate keys are an error, not a silent overwrite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from promo.errors import CampaignError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


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


class LineLoader(yaml.SafeLoader):
    """SafeLoader building YamlMap / YamlList, without implicit timestamps."""


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
    try:
        text = (data if data is not None else path.read_bytes()).decode("utf-8")
    except OSError as exc:
        raise CampaignError(f"cannot read: {exc.strerror}", file=file) from None
    except UnicodeDecodeError:
        raise CampaignError("not UTF-8 text", file=file) from None
    try:
        return yaml.load(text, Loader=LineLoader)  # LineLoader is a SafeLoader
    except CampaignError as exc:
        raise CampaignError(exc.reason, file=file, line=exc.line, field=exc.field) from None
    except yaml.MarkedYAMLError as exc:
        raise CampaignError(f"not valid YAML: {_describe(exc)}", file=file, line=_line(exc)) from None
    except yaml.YAMLError as exc:
        raise CampaignError(f"not valid YAML: {exc}", file=file) from None


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
