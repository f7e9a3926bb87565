"""Where a SQLite store's file is, from its URL: ``sqlite_file`` reads a plain URL without SQLAlchemy (the fast
reads and the start-up check), ``sqlite_database_file`` any SQLite URL, options too (``promo preview``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.store.migrate import sqlite_database_file, sqlite_file


@pytest.mark.parametrize(("url", "file"), [
    ("sqlite:///promo.db", "promo.db"),
    ("sqlite:////var/lib/promo/promo.db", "/var/lib/promo/promo.db"),
    ("sqlite+pysqlite:///promo.db", "promo.db"),
    ("sqlite:////var/lib/promo/promo.db?mode=ro", "/var/lib/promo/promo.db"),
    ("sqlite:///promo.db?timeout=5&check_same_thread=false", "promo.db"),
    ("sqlite+pysqlite:///data/promo.db?mode=ro", "data/promo.db"),
    ("sqlite:///my%20store.db", "my store.db"),
])
def test_the_file_of_a_sqlite_url_with_or_without_options(url: str, file: str) -> None:
    assert sqlite_database_file(url) == Path(file)


@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///:memory:", "sqlite:///:memory:?cache=shared", "sqlite:///file:promo.db?mode=ro&uri=true",
    "postgresql://promo@localhost/promo", "postgresql+psycopg://promo@localhost/promo?connect_timeout=3",
])
def test_no_file_for_memory_uris_or_another_database(url: str) -> None:
    assert sqlite_database_file(url) is None


def test_the_plain_reader_leaves_options_to_sqlalchemy() -> None:
    assert sqlite_file("sqlite:///promo.db") == Path("promo.db")
    assert sqlite_file("sqlite:///promo.db?mode=ro") is None  # the fast reads then take the slow path
