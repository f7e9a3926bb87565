"""The throwaway PostgreSQL kit crashes like a power cut: an async commit still in the WAL buffers is lost."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pg_server import PostgresServer, running_postgres


@pytest.fixture
def slow_wal_server(tmp_path: Path) -> Iterator[PostgresServer]:
    """The WAL writer flushes at start, then every 10 s: an async commit made within seconds stays in the buffers."""
    with running_postgres(tmp_path, wal_writer_delay="10s", fsync="on", synchronous_commit="on") as server:
        yield server


def notes(server: PostgresServer) -> list[str]:
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        return [body for (body,) in connection.execute("SELECT body FROM notes ORDER BY body")]


def port_refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_a_crash_loses_an_async_commit_and_keeps_a_synchronous_one(slow_wal_server: PostgresServer) -> None:
    with psycopg.connect(slow_wal_server.dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE notes (body text)")
        connection.execute("INSERT INTO notes VALUES ('synchronous')")
        assert notes(slow_wal_server) == ["synchronous"]  # the synchronous commit is flushed before it returns
        with connection.transaction():
            connection.execute("SET LOCAL synchronous_commit = off")
            connection.execute("INSERT INTO notes VALUES ('asynchronous')")
        assert notes(slow_wal_server) == ["asynchronous", "synchronous"]  # committed and visible...
        slow_wal_server.crash()  # ...but only in the WAL buffers, with the connection still open
    slow_wal_server.restart()
    assert notes(slow_wal_server) == ["synchronous"]


def test_a_crashed_server_refuses_connections_until_it_restarts(postgres_server: PostgresServer) -> None:
    postgres_server.crash()
    assert port_refuses(postgres_server.port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_server.dsn, connect_timeout=2)
    postgres_server.restart()
    with psycopg.connect(postgres_server.dsn) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_kill_ends_the_postmaster_and_its_backends_and_no_other_server(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    with (
        running_postgres(tmp_path) as bystander,
        psycopg.connect(postgres_server.dsn, autocommit=True) as connection,
    ):
        backend = connection.info.backend_pid
        postmaster = postgres_server.postmaster_pid()
        assert postmaster is not None and is_alive(backend)
        postgres_server.kill()
        assert not is_alive(postmaster) and not is_alive(backend)
        assert port_refuses(postgres_server.port)
        with psycopg.connect(bystander.dsn) as other:
            assert other.execute("SELECT 1").fetchone() == (1,)


def test_leaving_the_kit_stops_the_server_even_when_the_test_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), running_postgres(tmp_path) as server:
        data_dir = server.data_dir
        raise RuntimeError("the test failed mid-way")
    assert port_refuses(server.port)
    assert server.postmaster_pid() is None
    assert not data_dir.exists()
    assert "database system is ready" in (tmp_path / f"postgres-{server.port}.log").read_text()
