"""The house rules that keep the package easy to enter, checked from the source itself.

The import layers themselves are import-linter contracts (pyproject.toml, `make lint`); these are the
size and shape rules that no linter checks: few top-level modules, small modules, short functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("promo", "workers")
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _functions(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        (node.name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_promo_has_few_top_level_modules() -> None:
    modules = sorted(path.name for path in (ROOT / "promo").glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it is about"


def test_functions_stay_short() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in _sources()
        for name, line, length in _functions(path)
        if length > MAX_FUNCTION_LINES
    ]
    assert long == [], "functions over 40 lines:\n" + "\n".join(long)


def test_every_package_says_what_lives_in_it() -> None:
    silent = [
        str(init.relative_to(ROOT))
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) is None
        and "migrations" not in init.parts
    ]
    assert silent == []


def test_the_library_face_resolves_every_name_it_exports() -> None:
    import promo

    exported = [name for name in promo.__all__ if name != "__version__"]
    assert exported == sorted(exported) and len(set(exported)) == len(exported)
    for name in exported:
        value = getattr(promo, name)
        assert value.__name__ == name, name
    with pytest.raises(AttributeError):
        promo.nothing_of_the_sort  # noqa: B018


def test_importing_promo_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    probe = "import sys, promo; print(sorted({'sqlalchemy', 'jinja2', 'celery', 'httpx'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
