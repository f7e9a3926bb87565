"""A small real HTTP server for fake platforms: start on a free port, read ``.received``, inject faults.

Each platform fake subclasses ``FakeServer`` and implements ``handle(request) -> Response``: it
checks what the real API checks (auth, required fields, length) and keeps state (posts by id), so
a look-up after a timeout finds what was created. Faults are queued per path fragment::

    fake.fail_next("/statuses", status=429, headers={"X-RateLimit-Reset": "..."})
    fake.fail_next("/statuses", delay=1.0)         # process the request, then answer too late
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log would show tokens in paths


@dataclass
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def auth(self) -> str:
        return self.headers.get("authorization", "")


@dataclass
class Fault:
    path: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # with status None: handle normally, then answer after ``delay``
    skip: int = 0  # let this many matching requests through first


class FakeServer:
    """A threaded werkzeug server on 127.0.0.1 that records every request.

    Bodies of requests to ``streamed_paths`` (path fragments) are not recorded: the handler reads
    them in chunks, so a large upload is never held in memory by the fake (memory tests).
    """

    streamed_paths: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.next_id = 1000

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeServer:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- test controls -----------------------------------------------------------------------
    def fail_next(
        self,
        path: str,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        skip: int = 0,
    ) -> None:
        self.faults.append(Fault(path, status, body, headers or {}, delay, skip))

    def requests_to(self, fragment: str) -> list[Received]:
        return [r for r in self.received if fragment in r.path]

    def new_id(self) -> str:
        with self._lock:
            self.next_id += 1
            return str(self.next_id)

    # -- serving -----------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self._record(request)
        fault = self._take_fault(request.path)
        if fault is not None and fault.status is not None:
            time.sleep(fault.delay)
            return self.json(
                fault.body if fault.body is not None else {"error": "injected"}, fault.status, fault.headers
            )(environ, start_response)
        response = self.handle(request)
        if fault is not None:
            time.sleep(fault.delay)
        return response(environ, start_response)

    def _record(self, request: Request) -> None:
        files: dict[str, bytes] = {}
        form: dict[str, str] = {}
        if any(fragment in request.path for fragment in self.streamed_paths):
            body = b""  # left unread: the handler streams it (an upload memory test)
        elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            files = {name: f.read() for name, f in request.files.items()}
            for upload in request.files.values():
                upload.stream.seek(0)  # the platform handler reads it again
            form = _flat(request.form)
            body = b""
        else:
            body = request.get_data(cache=True)
        with self._lock:
            self.received.append(
                Received(
                    request.method,
                    request.path,
                    _flat(request.args),
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    form,
                    files,
                )
            )

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path in path:
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    self.faults.remove(fault)
                    return fault
        return None

    def handle(self, request: Request) -> Response:
        return self.json({"error": "not found"}, 404)

    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body), status=status, headers=headers or {}, content_type="application/json"
        )


def _flat(values: MultiDict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items(multi=False)}


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class MediaHost(FakeServer):
    """A public media folder, as a CDN serves one: ``GET /<name>`` streams ``folder/<name>`` from disk.

    Point an account's ``media_base_url`` at ``.url`` for platforms that fetch media by URL (Threads).
    """

    def __init__(self, folder: Any) -> None:
        super().__init__()
        from pathlib import Path

        self.folder = Path(folder)

    def handle(self, request: Request) -> Response:
        from urllib.parse import unquote

        from werkzeug.wsgi import FileWrapper

        name = unquote(request.path.lstrip("/"))
        path = self.folder / name
        if request.method != "GET" or "/" in name or name.startswith(".") or not path.is_file():
            return Response("not found", status=404)
        size = path.stat().st_size
        return Response(FileWrapper(path.open("rb"), 64 * 1024), headers={"Content-Length": str(size)},
                        content_type="video/mp4" if name.endswith((".mp4", ".mov")) else "application/octet-stream",
                        direct_passthrough=True)
