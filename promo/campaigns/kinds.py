"""Announcement kinds: the typed fields each kind of announcement needs.

Built-in kinds are pydantic models: ``featurette_release``, ``director_debut``, ``premiere``,
``trailer``, ``cast_announcement``, and the free-form ``generic``. A team adds a kind without
Python: a folder ``templates/<kind>/`` with its templates and a ``kind.yaml``::

    description: A behind-the-scenes clip
    required: [show, link, clip_title]      # strings unless typed below
    fields:
      episode: {type: int, required: false}

Every kind accepts extra fields (a template may use any field it is given); the declared ones
are checked and typed. ``Kinds.validate(kind, fields)`` returns the cleaned fields or raises
``FieldProblem`` naming the field, which the campaign loader turns into a ``CampaignError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from promo.errors import ConfigError

KIND_FILE = "kind.yaml"


class FieldProblem(ValueError):
    """One field of an announcement is missing or has the wrong type."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _check_link(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be a URL starting with https://")
    return value


class Record(BaseModel):
    """Fields every kind understands; extra fields pass through untouched."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    show: str | None = None
    season: int | None = None
    network: str | None = None
    link: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    cast: list[str] = Field(default_factory=list)

    @field_validator("link")
    @classmethod
    def _link_is_a_url(cls, value: str | None) -> str | None:
        return _check_link(value)


class Generic(Record):
    """Free-form: any fields; ``text`` is the copy when no other template is given."""

    text: str | None = None


class FeaturetteRelease(Record):
    """A featurette (a short behind-the-scenes video) is out."""

    show: str
    link: str
    title: str | None = None
    quote: str | None = None
    quote_by: str | None = None


class DirectorDebut(Record):
    """Someone directs for the first time: who, which episode."""

    show: str
    link: str
    director: str
    episode: int = Field(ge=1)
    focus: str | None = None         # the character the episode centres on
    focus_actor: str | None = None   # who plays them


class Premiere(Record):
    """The season (or film) is out: where to watch."""

    show: str
    network: str
    link: str


class Trailer(Record):
    """A trailer is out."""

    show: str
    link: str
    title: str | None = None


class CastAnnouncement(Record):
    """Who is in it: ``cast`` must name at least one person."""

    show: str
    cast: list[str] = Field(min_length=1)


BUILT_IN: dict[str, type[Record]] = {
    "generic": Generic,
    "featurette_release": FeaturetteRelease,
    "director_debut": DirectorDebut,
    "premiere": Premiere,
    "trailer": Trailer,
    "cast_announcement": CastAnnouncement,
}

_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool,
                          "url": Annotated[str, AfterValidator(_check_link)],
                          "list": list[str], "text": str}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[Record]
    description: str = ""
    source: str = "built-in"

    @property
    def required(self) -> list[str]:
        return [n for n, f in self.model.model_fields.items() if f.is_required()]


class Kinds:
    """The kinds known for one templates folder: built-ins plus every ``<kind>/kind.yaml``."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.kinds: dict[str, Kind] = {
            name: Kind(name, model, (model.__doc__ or "").strip()) for name, model in BUILT_IN.items()
        }
        for declaration in sorted(templates_dir.glob(f"*/{KIND_FILE}")):
            kind = load_kind(declaration)
            if kind.name in BUILT_IN:
                raise ConfigError(f"{declaration}: {kind.name} is a built-in kind; "
                                  "choose another folder name")
            self.kinds[kind.name] = kind

    def __contains__(self, name: object) -> bool:
        return name in self.kinds

    def names(self) -> list[str]:
        return sorted(self.kinds)

    def validate(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The fields cleaned and typed by the kind's model; FieldProblem names the first bad one."""
        try:
            record = self.kinds[kind].model.model_validate(dict(fields))
        except ValidationError as exc:
            raise _field_problem(exc) from None
        return record.model_dump(mode="json")


def _field_problem(exc: ValidationError) -> FieldProblem:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "fields"
    if error["type"] == "missing":
        return FieldProblem(field, "is required")
    message = str(error["msg"]).removeprefix("Value error, ")
    return FieldProblem(field, f"{message} (got {error.get('input')!r})")


def load_kind(path: Path) -> Kind:
    """A custom kind from its ``kind.yaml``; ConfigError names the file on any mistake."""
    name = path.parent.name
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: expected a mapping with required: [...] and fields: {{...}}")
    definitions: dict[str, Any] = {}
    for field in body.get("required", []) or []:
        definitions[str(field)] = (str, ...)
    for field, spec in (body.get("fields") or {}).items():
        definitions[str(field)] = _field_definition(path, str(field), spec)
    unknown = set(body) - {"description", "required", "fields"}
    if unknown:
        raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} "
                          "(allowed: description, required, fields)")
    model = create_model(f"Kind_{name}", __base__=Record, **definitions)
    return Kind(name, model, str(body.get("description", "")), str(path))


def _field_definition(path: Path, field: str, spec: Any) -> tuple[Any, Any]:
    spec = {"type": spec} if isinstance(spec, str) else (spec or {})
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: fields.{field}: expected {{type: str, required: true}}")
    type_name = str(spec.get("type", "str"))
    if type_name not in _TYPES:
        raise ConfigError(f"{path}: fields.{field}: unknown type {type_name!r} "
                          f"(known: {', '.join(sorted(_TYPES))})")
    python_type = _TYPES[type_name]
    if spec.get("required", True) and "default" not in spec:
        return (python_type, ...)
    return (python_type | None, spec.get("default"))
