"""Templates: a sandboxed Jinja2 environment over ``templates/``, with a marketer's filters.

Lookup is ``templates/<kind>/<platform>.j2``, falling back to ``templates/<kind>/default.j2``.
Rendered text is tidied: spaces at line ends dropped, runs of empty lines cut to one, trimmed.
Undefined names are errors (StrictUndefined), and every error is a ``TemplateError`` naming the
template file, its line and the missing name. Compiled templates are cached per ``Renderer``.

Filters: ``hashtags`` (``#JessicaJones #Netflix``), ``day`` / ``date`` (``June 14`` in the
campaign's zone; ``date`` takes an optional strftime format), ``clock`` (``12:01 AM``), ``utm``
(adds utm_source=<platform>, utm_medium=social, utm_campaign=<campaign id>) and ``join_names``
(``Krysten Ritter, Rachael Taylor and Carrie-Anne Moss``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import date as date_type
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from promo.campaigns.render_budget import Budget, BudgetedEnvironment, RenderBudget, budgeted_range, stream
from promo.errors import TemplateError
from promo.times import as_aware

INLINE = "<template>"
_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")
_TRAILING_BLANKS = re.compile(r"[ \t]+\n")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Rendered copy as posted: no blanks at line ends, at most one empty line in a row, trimmed."""
    text = _TRAILING_BLANKS.sub("\n", text)
    return _EXTRA_BLANK_LINES.sub("\n\n", text).strip()


def hashtags(value: str | Iterable[str]) -> str:
    """``["JessicaJones", "#Netflix"]`` -> ``#JessicaJones #Netflix`` (spaces and punctuation dropped)."""
    tags = [value] if isinstance(value, str) else list(value)
    cleaned = (re.sub(r"[^\w]", "", str(tag)) for tag in tags)
    return " ".join(f"#{tag}" for tag in cleaned if tag)


def join_names(value: str | Iterable[str], last: str = " and ") -> str:
    """``["A", "B", "C"]`` -> ``A, B and C``."""
    names = [value] if isinstance(value, str) else [str(n) for n in value]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + last + names[-1]


def undecided_time(key: str) -> jinja2.Undefined:
    """The time of an ``at: next-slot`` announcement, as templates see it: taken at apply, so not printable.

    Printing it, or a date filter on it, is one ``TemplateError`` naming the template's line, rather
    than the stand-in time in the post's text."""
    return jinja2.StrictUndefined(hint=f"the time of {key!r} is its next free slot, taken when the campaign is "
                                       "applied: a template cannot print it (give the announcement a time)")


def _local(context: jinja2.runtime.Context, value: datetime | str) -> datetime:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # the usual "undefined name" error, with its template line
    if not isinstance(value, (str, date_type)):
        raise ValueError(f"a date filter needs a date or time, got {value!r}")
    tz = ZoneInfo(str(context.get("timezone", "UTC")))
    return as_aware(value, tz).astimezone(tz)


@jinja2.pass_context
def day(context: jinja2.runtime.Context, value: datetime | str) -> str:
    """``June 14``, in the campaign's zone."""
    moment = _local(context, value)
    return f"{moment:%B} {moment.day}"


@jinja2.pass_context
def date(context: jinja2.runtime.Context, value: datetime | str, format: str | None = None) -> str:
    """``June 14`` (or any strftime ``format``), in the campaign's zone."""
    moment = _local(context, value)
    return moment.strftime(format) if format else f"{moment:%B} {moment.day}"


@jinja2.pass_context
def clock(context: jinja2.runtime.Context, value: datetime | str) -> str:
    """``12:01 AM``, in the campaign's zone."""
    moment = _local(context, value)
    return moment.strftime("%I:%M %p").lstrip("0")


@jinja2.pass_context
def utm(context: jinja2.runtime.Context, url: str, content: str | None = None) -> str:
    """The link with utm_source=<platform>, utm_medium=social, utm_campaign=<campaign id>."""
    campaign = context.get("campaign") or {}
    tags = {"utm_source": str(context.get("platform", "")), "utm_medium": "social",
            "utm_campaign": str(campaign.get("id", "")) if isinstance(campaign, Mapping) else ""}
    if content:
        tags["utm_content"] = content
    parts = urlsplit(str(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in tags]
    query += [(k, v) for k, v in tags.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


FILTERS = {"hashtags": hashtags, "join_names": join_names, "day": day, "date": date, "clock": clock,
           "utm": utm}


def make_environment(templates_dir: Path) -> SandboxedEnvironment:
    env = BudgetedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir)), undefined=jinja2.StrictUndefined,
        autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
        auto_reload=False, cache_size=-1,
    )
    env.filters.update(FILTERS)
    env.globals["range"] = budgeted_range
    return env


class Renderer:
    """Renders announcements for one templates folder; keeps every compiled template."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = Path(templates_dir)
        self.env = make_environment(self.templates_dir)
        self._by_kind: dict[tuple[str, str], jinja2.Template] = {}
        self._inline: dict[str, jinja2.Template] = {}

    def template_for(self, kind: str, platform: str) -> jinja2.Template:
        """``<kind>/<platform>.j2`` or ``<kind>/default.j2``; TemplateError if neither exists."""
        found = self._by_kind.get((kind, platform))
        if found is None:
            found = self._by_kind[(kind, platform)] = self._find(kind, platform)
        return found

    def _find(self, kind: str, platform: str) -> jinja2.Template:
        names = [f"{kind}/{platform}.j2", f"{kind}/default.j2"]
        try:
            return self.env.select_template(names)
        except jinja2.TemplatesNotFound:
            tried = " or ".join(_shown(self.templates_dir / n) for n in names)
            raise TemplateError(f"no template for kind {kind!r}: add {tried}",
                                file=_shown(self.templates_dir / names[-1])) from None
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc, None, 0) from None
        except UnicodeDecodeError:
            raise TemplateError("not UTF-8 text: save the template as UTF-8",
                                file=_shown(self.templates_dir / names[0])) from None

    def render(self, kind: str, platform: str, context: Mapping[str, Any]) -> str:
        """The kind's template for ``platform`` rendered with ``context``, surrounding blanks stripped."""
        template = self.template_for(kind, platform)
        try:
            return _render(template, context)
        except (jinja2.TemplateError, RenderBudget, UnicodeDecodeError) as exc:
            raise self._runtime_error(exc, None, 0, template.filename) from None
        except (TypeError, ValueError) as exc:  # a filter given the wrong kind of value
            raise self._runtime_error(exc, None, 0, template.filename) from None

    def render_inline(self, source: str, context: Mapping[str, Any], *, file: str, line: int) -> str:
        """A template written in the campaign file (``text:``, a thread entry) at ``file:line``."""
        template = self._inline.get(source)
        try:
            if template is None:
                template = self._inline[source] = self.env.from_string(source)
            return _render(template, context)
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc, file, line) from None
        except (jinja2.TemplateError, RenderBudget, UnicodeDecodeError, TypeError, ValueError) as exc:
            raise self._runtime_error(exc, file, line) from None

    def _syntax_error(self, exc: jinja2.TemplateSyntaxError, file: str | None, line: int) -> TemplateError:
        where, at = _place(exc.filename, exc.lineno, file, line)
        return TemplateError(f"syntax error: {exc.message}", file=where, line=at)

    def _runtime_error(self, exc: Exception, file: str | None, line: int,
                       template_file: str | None = None) -> TemplateError:
        filename, lineno = _template_frame(exc.__traceback__, self.templates_dir)
        filename = filename or template_file
        where, at = _place(filename, lineno, file, line)
        match = _UNDEFINED_NAME.search(str(exc))
        name = (match.group(1) or match.group(2)) if match else None
        if isinstance(exc, jinja2.UndefinedError) and name:
            return TemplateError(f"undefined name {name!r}", file=where, line=at, name=name)
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateError(f"no template {exc.name!r} in {_shown(self.templates_dir)}/ (include and extends "
                                 "name files inside the templates folder; '..' and absolute paths are refused)",
                                 file=where, line=at)
        if isinstance(exc, RenderBudget):
            return TemplateError(f"render budget exceeded: {exc}", file=where, line=at)
        if isinstance(exc, UnicodeDecodeError):
            return TemplateError("a template it uses is not UTF-8 text", file=where, line=at)
        message = getattr(exc, "message", None) or str(exc)
        return TemplateError(str(message), file=where, line=at, name=name)


def _render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    with Budget.running():
        return tidy(stream(template.generate(context)))


_RENDERERS: dict[Path, tuple[tuple[tuple[str, int, int], ...], Renderer]] = {}


def renderer_for(templates_dir: Path) -> Renderer:
    """A shared Renderer for ``templates_dir``, rebuilt when any file in it changes."""
    root = Path(templates_dir).resolve()
    signature = tuple(sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size)
                             for p in root.rglob("*") if p.is_file()))
    cached = _RENDERERS.get(root)
    if cached is None or cached[0] != signature:
        cached = _RENDERERS[root] = (signature, Renderer(templates_dir))
    return cached[1]


def _place(filename: str | None, lineno: int | None, file: str | None, line: int) -> tuple[str, int | None]:
    """Where to point: the template file and line, or the campaign line of an inline template."""
    if filename in (None, INLINE) and file is not None:
        return file, line + max((lineno or 1) - 1, 0) if line else None
    return _shown(Path(filename)) if filename else INLINE, lineno


def _template_frame(tb: TracebackType | None, templates_dir: Path) -> tuple[str | None, int | None]:
    """The innermost traceback frame that is template code (Jinja rewrites them to template lines)."""
    root = str(templates_dir.resolve())
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name == INLINE or os.path.abspath(name).startswith(root):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    try:
        shown = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if shown.startswith("..") else shown
