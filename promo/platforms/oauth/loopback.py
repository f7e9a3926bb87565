"""Where the browser comes back to: a loopback redirect (RFC 8252), or what a person pastes.

``Loopback`` listens on ``127.0.0.1`` (a free port unless one is given, as platforms that match the
redirect URI exactly need) for one ``GET /callback``; it answers the browser with a short page and
hands the query to whoever waits. ``read_pasted`` reads what a person copied from the browser's
address bar on another machine: the whole redirected URL, its query, or just the code.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from promo.errors import PromoError

CALLBACK_PATH = "/callback"
_DONE = (b"<!doctype html><title>promo</title><p>promo has the authorisation. You can close this window "
         b"and go back to the terminal.</p>")


class AuthorizationFailed(PromoError):
    """The authorisation did not complete: refused, timed out, or the answer did not match."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # http.server's name
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(_DONE)
        self.server.answer(dict(parse_qsl(parts.query)))

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never logged
        return


class _Server(HTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.params: dict[str, str] | None = None
        self.arrived = threading.Event()

    def answer(self, params: dict[str, str]) -> None:
        if not self.arrived.is_set():
            self.params = params
            self.arrived.set()


class Loopback:
    """One redirect on ``http://127.0.0.1:PORT/callback``, served from a thread until it arrives."""

    def __init__(self, port: int = 0) -> None:
        try:
            self._server = _Server(port)
        except OSError as exc:
            raise AuthorizationFailed(f"cannot listen on 127.0.0.1:{port} for the redirect ({exc.strerror}); "
                                      "free the port or choose another with --port") from None
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> dict[str, str]:
        """The redirect's query parameters; AuthorizationFailed after ``timeout`` seconds."""
        if not self._server.arrived.wait(timeout):
            raise AuthorizationFailed(f"no answer from the browser within {timeout:.0f} s; run the command again "
                                      "(or use --no-browser to paste the redirected URL)")
        return dict(self._server.params or {})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_pasted(text: str) -> dict[str, str]:
    """The redirect's parameters from a pasted URL, query string, or bare code."""
    text = text.strip()
    if not text:
        raise AuthorizationFailed("nothing was pasted: paste the whole address the browser was sent to")
    if "://" in text or text.startswith(("?", "/")):
        query = urlsplit(text).query
    elif "=" in text:
        query = text
    else:
        return {"code": text}
    params = dict(parse_qsl(query))
    if not params.get("code") and not params.get("error"):
        raise AuthorizationFailed("the pasted address has no code: paste the whole address the browser "
                                  "was sent to after you allowed access")
    return params
