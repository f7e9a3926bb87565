"""A local S3-compatible server for the media host: moto's server mode, with S3's presigned-URL rules.

moto serves the S3 API (buckets, HEAD, PUT, multipart uploads, presigned GETs) on a free port, in a
thread. It does not check a presigned URL's expiry nor that an object GET is signed at all, which a
bucket of promo's media must (it is private; the platform gets a presigned URL), so a small WSGI
layer in front adds the stricter reading of S3's documentation:

- a GET or HEAD of an object without a signature (no ``Authorization`` header, no ``X-Amz-Signature``
  query) is 403 ``AccessDenied``;
- a presigned URL past ``X-Amz-Date + X-Amz-Expires`` is 403 ``AccessDenied``, "Request has expired";
- ``fail_next(status, count)`` answers the next requests with an S3 error (503 SlowDown...).

``.writes`` counts object PUTs and part uploads, so a test can see a file uploaded once; ``.received``
lists every S3 request (``"PUT /bucket"``; moto's own ``/moto-api`` is left out), as the other fakes do. moto keeps
its buckets per process, not per server: ``start()`` empties them, so each fake starts with none.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, make_server

logging.getLogger("werkzeug").setLevel(logging.ERROR)
ACCESS_KEY, SECRET_KEY = "AKIAPROMOTEST", "promo-test-secret"
_ERROR = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeS3:
    """moto's S3 on 127.0.0.1:<free port>, private objects and expiring presigned URLs enforced."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto = DomainDispatcherApplication(create_backend_app)
        self.writes: list[str] = []      # "PUT <key>" / "PART <key> <n>"
        self.gets: list[str] = []        # object paths fetched through a valid presigned URL
        self.received: list[str] = []    # "<METHOD> <path>" of every S3 request, bucket creation included
        self.faults: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> FakeS3:
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        import httpx

        httpx.post(f"{self.url}/moto-api/reset", timeout=10.0).raise_for_status()  # moto's state is per process
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fail_next(self, status: int = 503, count: int = 1, code: str = "SlowDown") -> None:
        with self.lock:
            self.faults.extend([(status, code)] * count)

    def make_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        client.create_bucket(Bucket=name)

    # -- the WSGI layer ----------------------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return _error(start_response, fault[0], fault[1], "injected fault")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if not path.startswith("/moto-api/"):
            with self.lock:
                self.received.append(f"{method} {path}")
        is_object = path.strip("/").count("/") >= 1
        signed = "HTTP_AUTHORIZATION" in environ or "X-Amz-Signature" in query
        if is_object and method in ("GET", "HEAD") and not signed:
            return _error(start_response, 403, "AccessDenied", "Access Denied")
        if "X-Amz-Signature" in query:
            if _expired(query):
                return _error(start_response, 403, "AccessDenied", "Request has expired")
            self.gets.append(path)
        if method == "PUT" and is_object:
            with self.lock:
                self.writes.append(f"PART {path} {query['partNumber']}" if "partNumber" in query else f"PUT {path}")
        return self.moto(environ, start_response)  # type: ignore[no-any-return]


def _expired(query: dict[str, str]) -> bool:
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        lasts = timedelta(seconds=int(query["X-Amz-Expires"]))
    except (KeyError, ValueError):
        return True  # a presigned URL without its date or lifetime is refused, as S3 does
    return datetime.now(UTC) > signed_at + lasts


def _error(start_response: Callable[..., Any], status: int, code: str, message: str) -> list[bytes]:
    body = _ERROR.format(code=code, message=message).encode()
    reason = {403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]
