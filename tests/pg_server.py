"""A throwaway PostgreSQL server that a test may crash and restart, like conftest's throwaway redis-server.

initdb takes about a second, so it runs once per test session (once per xdist worker): the cluster it makes is a
template, copied for each server. The copies live in RAM (/dev/shm) when there is room: copying the template's
thousand files takes ~0.05 s there and ~1 s on disk, so a fresh server is ready in a few tenths of a second.

PostgreSQL refuses to run as root. When the tests do, initdb and pg_ctl run as the `postgres` OS user, and the
server's files live in a temp dir that user owns (pytest's tmp tree is private to root). That dir is removed
afterwards; the server log is kept in the test's tmp_path.

Linux only: a postmaster is recognised by its working directory in /proc, so that cleanup kills this kit's servers
and nothing else.
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # the OS user the server runs as when the tests run as root, and the database superuser
START_TIMEOUT_S = 20
RAM_DISK = Path("/dev/shm")
RAM_DISK_MIN_FREE = 1 << 30  # a cluster takes ~40 MB; Docker's default /dev/shm (64 MB) is too small
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(bindir: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,), so that 15 sorts above 9.6."""
    return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())


@functools.cache
def postgres_bindir() -> Path:
    """Where initdb, pg_ctl and postgres are: pg_config's bindir, else the newest /usr/lib/postgresql/*/bin.

    Debian keeps the server tools off PATH, and pg_config alone (libpq-dev) may name a bindir without them.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if bindir:
            candidates.append(Path(bindir))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in SERVER_TOOLS):
            return bindir
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via pg_config --bindir or "
                "/usr/lib/postgresql/*/bin (make test installs PostgreSQL)", pytrace=False)


def _server_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.fail(f"tests run as root but there is no {SERVER_USER!r} OS user to run PostgreSQL as", pytrace=False)


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: when the tests do, its tools run as the postgres OS user."""
    if os.geteuid() != 0:
        return command
    _server_account()
    return ["runuser", "-u", SERVER_USER, "--", *command]


def hand_to_server_user(path: Path) -> None:
    """Give the server's OS user a tree that root made (nothing to do when the tests do not run as root)."""
    if os.geteuid() != 0:
        return
    account = _server_account()
    os.chown(path, account.pw_uid, account.pw_gid)
    for parent, directories, files in os.walk(path):
        for name in directories + files:
            os.chown(os.path.join(parent, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _scratch_root() -> str:
    """RAM when there is enough of it (clusters copy 20 times faster there), else the system temp dir."""
    usable = RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK | os.X_OK)
    if usable and shutil.disk_usage(RAM_DISK).free >= RAM_DISK_MIN_FREE:
        return str(RAM_DISK)
    return tempfile.gettempdir()


def server_user_tempdir(prefix: str) -> Path:
    """A fresh temp directory that the server's OS user owns; the caller removes it."""
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=_scratch_root()))
    hand_to_server_user(directory)
    return directory


def _run_tool(command: list[str], what: str) -> None:
    result = subprocess.run(as_server_user(command), capture_output=True, text=True, cwd="/", check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}): {result.stderr.strip()}", pytrace=False)


@functools.cache
def template_cluster() -> Path:
    """The one initdb of the session (trust auth, superuser postgres); every server starts from a copy of it."""
    home = server_user_tempdir("promo-pg-template-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    cluster = home / "data"
    _run_tool([str(postgres_bindir() / "initdb"), "--pgdata", str(cluster), "--username", SERVER_USER,
               "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
    return cluster


def _check_reachable(directory: Path) -> None:
    """As root, fail clearly (not with a permission error in the server log) when postgres cannot reach the dir."""
    if os.geteuid() != 0:
        return
    uid = _server_account().pw_uid
    for ancestor in directory.parents:
        if not ancestor.exists():
            continue  # copytree will make it, as root with mode 0755: reachable
        status = ancestor.stat()
        if status.st_uid != uid and not status.st_mode & stat.S_IXOTH:
            pytest.fail(f"the {SERVER_USER} OS user cannot reach {directory} ({ancestor} is private): "
                        "use running_postgres(), which places the data dir where it can", pytrace=False)


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has already quit
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            children.append(int(entry.name))
    return children


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class PostgresServer:
    """A real PostgreSQL server on a free loopback port that a test may crash, as in a power cut, and restart.

    `settings` are server settings given as `-c name=value` at each start, e.g. `wal_writer_delay="10s"`.
    """

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.port = free_port()
        self.log_file = data_dir / "server.log"

    @property
    def url(self) -> str:
        """For SQLAlchemy (promo's make_engine)."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        """For psycopg or libpq directly."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (the first time from a copy of the session's template) and wait until it accepts connections."""
        if not (self.data_dir / "PG_VERSION").exists():
            _check_reachable(self.data_dir)
            shutil.copytree(template_cluster(), self.data_dir, symlinks=True)
            hand_to_server_user(self.data_dir)
        settings = {"port": str(self.port), "listen_addresses": "127.0.0.1", "unix_socket_directories": "",
                    **self.settings}  # TCP only: pg_ctl -w reads postmaster.pid, it needs no socket
        options = shlex.join(word for name, value in settings.items() for word in ("-c", f"{name}={value}"))
        result = self._pg_ctl("start", "--log", str(self.log_file), "--options", options)
        if result.returncode != 0:
            self.kill()
            pytest.fail(f"PostgreSQL did not start on port {self.port} (waited up to {START_TIMEOUT_S}s): "
                        f"{result.stderr.strip()}\n{self.log_tail()}", pytrace=False)

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: the postmaster and backends quit at once, writing nothing more.

        Commits still in the WAL buffers are lost, as in a power cut. (WAL already handed to the OS but not yet
        fsynced survives, unlike a real power cut.) Afterwards the port refuses connections.
        """
        result = self._pg_ctl("stop", "--mode", "immediate")
        if result.returncode != 0:
            pytest.fail(f"pg_ctl stop -m immediate failed: {result.stderr.strip()}\n{self.log_tail()}", pytrace=False)

    def restart(self) -> None:
        """Start again on the same port and data dir; after a crash, PostgreSQL runs crash recovery first."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Fast shutdown; if that fails, kill, so that no test leaves a server running."""
        if self.postmaster_pid() is not None and self._pg_ctl("stop", "--mode", "fast").returncode != 0:
            self.kill()

    def kill(self) -> None:
        """SIGKILL this server's postmaster (from its pid file) and its backends, and free its shared memory."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        backends = _children(pid)
        _kill(pid)
        for backend in backends:
            _kill(backend)
        deadline = time.monotonic() + 5
        while any(_is_running(each) for each in [pid, *backends]) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._remove_shared_memory()

    def postmaster_pid(self) -> int | None:
        """The running postmaster of this data dir, or None: a pid is trusted only if that process works in it."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            same_dir = os.path.samefile(f"/proc/{pid}/cwd", self.data_dir)
        except (OSError, ValueError, IndexError):
            return None
        return pid if same_dir and _is_running(pid) else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no server log at {self.log_file})"

    def _remove_shared_memory(self) -> None:
        """A killed postmaster leaves its small System V segment behind; its id is on line 7 of the pid file."""
        try:
            shmem_id = (self.data_dir / "postmaster.pid").read_text().splitlines()[6].split()[1]
        except (OSError, IndexError):
            return
        subprocess.run(["ipcrm", "-m", shmem_id], capture_output=True, check=False)

    def _pg_ctl(self, action: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        command = [str(postgres_bindir() / "pg_ctl"), action, "--pgdata", str(self.data_dir), "--wait",
                   "--timeout", str(START_TIMEOUT_S), "--silent", *arguments]
        try:
            return subprocess.run(as_server_user(command), capture_output=True, text=True, cwd="/",
                                  timeout=START_TIMEOUT_S + 10, check=False)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(command, 1, "", f"pg_ctl {action} did not return")


@contextmanager
def running_postgres(tmp_path: Path, **settings: str) -> Iterator[PostgresServer]:
    """A started server for one test, stopped (or killed) and its files removed afterwards, even if the test fails.

    Its log is kept as tmp_path/postgres-PORT.log, to read after a failure.
    """
    home = server_user_tempdir("promo-pg-")
    server = PostgresServer(home / "data", **settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if server.log_file.exists():
            shutil.copyfile(server.log_file, tmp_path / f"postgres-{server.port}.log")
        shutil.rmtree(home, ignore_errors=True)
