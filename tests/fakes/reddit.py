"""Fake Reddit API (oauth.reddit.com), its S3 media upload host and the media websocket, read strictly.

- Every API call needs ``Authorization: bearer <token>``; a wrong one is a 401 with
  ``WWW-Authenticate: Bearer realm="reddit", error="invalid_token"`` (what prawcore reads).
- Every answer carries ``X-Ratelimit-Used/Remaining/Reset`` (``remaining`` settable).
- ``GET /api/v1/me``; ``GET /r/{sr}/about`` (``submission_type``, ``allow_images``, ``allow_videos``);
  ``GET /api/v1/{sr}/post_requirements`` (``requirements``).
- ``POST /api/media/asset.json`` (``filepath``, ``mimetype``): an upload lease, whose ``action`` is
  Reddit's S3 host (``//reddit-uploaded-media.s3-accelerate.amazonaws.com``: the client routes it to
  ``.url``) and whose ``fields`` must all come back in the S3 form POST, before the ``file`` (S3
  answers 201 with XML; a form without the lease's fields is a 403 AccessDenied).
- ``POST /api/submit``: form fields as Reddit reads them (``sr``, ``kind`` link/self/image/video,
  ``title`` 1-300, ``url``, ``text``, ``flair_id``, ``nsfw``, ``spoiler``, ``api_type=json``);
  errors as ``{"json": {"errors": [[CODE, message, field]]}}`` with status 200. ``ratelimit_next``
  answers the next submission with RATELIMIT "try again in N minutes". Link and text posts are made
  at once; an image or video post answers ``websocket_url`` and is made from the upload, then the
  websocket says ``success`` with the post's ``redirect`` (``fail_media``: ``failed``;
  ``hang_websocket``: the post is made but the websocket never answers).
- ``GET /user/{name}/submitted``: the account's submissions, newest first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

REDDIT_TOKEN = "reddit-token-7f3a9c"
USERNAME = "promo_bot"
SUBREDDIT = "television"
UPLOAD_ACTION = "//reddit-uploaded-media.s3-accelerate.amazonaws.com"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocketHost:
    """A bare RFC 6455 server: one text message per connection, as Reddit's media websocket sends."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer  # path -> dict to send, or None to hang
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            lines = data.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            message = self.answer(lines[0].split()[1])
            if message is None:
                time.sleep(5)
                return
            conn.sendall(_frame(0x1, json.dumps(message).encode()) + _frame(0x8, b""))
            time.sleep(0.2)


def _frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return head + payload


class FakeReddit(FakeServer):
    def __init__(self, token: str = REDDIT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.posts: list[dict[str, Any]] = []          # newest last
        self.leases: dict[str, dict[str, str]] = {}    # key -> lease (asset id, mimetype, fields)
        self.uploads: dict[str, bytes] = {}            # key -> bytes received on the upload host
        self.pending: dict[str, dict[str, Any]] = {}   # websocket path -> post made from an upload
        self.requirements: dict[str, Any] = {}
        self.about = {"submission_type": "any", "allow_images": True, "allow_videos": True}
        self.remaining = 590.0
        self.ratelimit_next: int | None = None
        self.fail_media = False
        self.hang_websocket = False
        self.websocket = WebSocketHost(self._ws_answer)

    def stop(self) -> None:
        self.websocket.close()
        super().stop()

    # -- serving --------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path == "/" and request.method == "POST":
            return self._s3(request)
        if request.headers.get("Authorization") != f"bearer {self.token}":
            return Response(json.dumps({"message": "Unauthorized", "error": 401}), 401, content_type="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        return self._limited(self._route(request))

    def _limited(self, response: Response) -> Response:
        self.remaining = max(0.0, self.remaining - 1)
        response.headers.update({"X-Ratelimit-Used": str(int(600 - self.remaining)),
                                 "X-Ratelimit-Remaining": str(self.remaining), "X-Ratelimit-Reset": "420"})
        return response

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/api/v1/me":
            return self.json({"name": USERNAME, "id": "abc12", "created_utc": 1.5e9})
        if path == f"/r/{SUBREDDIT}/about":
            return self.json({"kind": "t5", "data": {"display_name": SUBREDDIT, **self.about}})
        if path == f"/api/v1/{SUBREDDIT}/post_requirements":
            return self.json(self.requirements)
        if path == "/api/media/asset.json" and request.method == "POST":
            return self._lease(request.form)
        if path == "/api/submit" and request.method == "POST":
            return self._submit(request.form)
        if path == f"/user/{USERNAME}/submitted":
            return self._listing(int(request.args.get("limit", "25")))
        if path.startswith("/r/") or path.startswith("/api/v1/"):
            return self.json({"message": "Not Found", "error": 404}, 404)
        return self.json({"message": "Not Found", "error": 404}, 404)

    def _lease(self, form: Any) -> Response:
        if not form.get("filepath") or not form.get("mimetype"):
            return self.json({"json": {"errors": [["BAD_REQUEST", "filepath and mimetype required", "filepath"]]}})
        asset = f"asset{self.new_id()}"
        key = f"rte_images/{asset}/{form['filepath']}"
        fields = {"key": key, "Content-Type": form["mimetype"], "policy": "eyJleHBpcmF0aW9uIjoi",
                  "x-amz-signature": hashlib.sha256(key.encode()).hexdigest()}
        self.leases[key] = {"asset": asset, "mimetype": form["mimetype"], **fields}
        listed = [{"name": k, "value": v} for k, v in fields.items()]
        return self.json({"args": {"action": UPLOAD_ACTION, "fields": listed},
                          "asset": {"asset_id": asset, "processing_state": "incomplete",
                                    "websocket_url": f"{self.websocket.url}/asset/{asset}"}})

    def _s3(self, request: Request) -> Response:
        key = request.form.get("key", "")
        lease = self.leases.get(key)
        if lease is None or any(request.form.get(k) != lease[k] for k in ("Content-Type", "policy", "x-amz-signature")):
            return Response("<Error><Code>AccessDenied</Code><Message>Invalid according to Policy</Message></Error>",
                            403, content_type="application/xml")
        upload = request.files.get("file")
        if upload is None:
            return Response("<Error><Code>InvalidArgument</Code></Error>", 400, content_type="application/xml")
        self.uploads[key] = upload.read()
        where = f"https:{UPLOAD_ACTION}/{key}"
        return Response(f"<PostResponse><Location>{where}</Location><Key>{key}</Key></PostResponse>", 201,
                        content_type="application/xml")

    def _submit(self, form: Any) -> Response:
        error = self._refusal(form)
        if error is not None:
            return self.json({"json": {"errors": [error]}})
        kind = form["kind"]
        post = {"id": self._base36(), "title": form["title"], "subreddit": form["sr"], "kind": kind,
                "url": form.get("url", ""), "selftext": form.get("text", ""), "flair_id": form.get("flair_id"),
                "flair_text": form.get("flair_text"), "over_18": form.get("nsfw") == "True",
                "spoiler": form.get("spoiler") == "True", "created_utc": time.time()}
        if kind in ("image", "video"):
            post["media_key"] = form["url"].removeprefix(f"https:{UPLOAD_ACTION}/")
            self.posts.append(post)
            path = f"/submit/{post['id']}"
            self.pending[path] = post
            return self.json({"json": {"errors": [], "data": {"user_submitted_page": "https://www.reddit.com/user/x/",
                                                              "websocket_url": self.websocket.url + path}}})
        self.posts.append(post)
        url = self.permalink(post)
        return self.json({"json": {"errors": [], "data": {"url": url, "drafts_count": 0, "id": post["id"],
                                                          "name": f"t3_{post['id']}"}}})

    def _refusal(self, form: Any) -> list[str] | None:
        if self.ratelimit_next is not None:
            minutes, self.ratelimit_next = self.ratelimit_next, None
            return ["RATELIMIT", f"you are doing that too much. try again in {minutes} minutes.", "ratelimit"]
        if form.get("api_type") != "json" or form.get("sr") != SUBREDDIT:
            return ["SUBREDDIT_NOEXIST", "that community doesn't exist", "sr"]
        title, kind = form.get("title", ""), form.get("kind")
        if not title.strip():
            return ["NO_TEXT", "we need something here", "title"]
        if len(title) > 300:
            return ["TOO_LONG", "this is too long (max: 300)", "title"]
        if kind not in ("link", "self", "image", "video", "videogif"):
            return ["INVALID_OPTION", "that option is not valid", "kind"]
        if self.requirements.get("is_flair_required") and not form.get("flair_id"):
            return ["SUBMIT_VALIDATION_FLAIR_REQUIRED", "Your post must contain post flair.", "flair"]
        if kind == "link" and not form.get("url", "").startswith(("http://", "https://")):
            return ["BAD_URL", "you should check that url", "url"]
        if kind in ("image", "video") and _key(form.get("url", "")) not in self.uploads:
            return ["BAD_URL", "the media was never uploaded", "url"]
        if kind == "video" and _key(form.get("video_poster_url", "")) not in self.uploads:
            return ["NO_VIDEO_POSTER", "a video needs its poster image uploaded", "video_poster_url"]
        return None

    def _ws_answer(self, path: str) -> dict[str, Any] | None:
        post = self.pending.get(path)
        if post is None or self.hang_websocket:
            return None
        if self.fail_media:
            self.posts.remove(post)
            return {"type": "failed", "payload": {"message": "media processing failed"}}
        return {"type": "success", "payload": {"redirect": self.permalink(post)}}

    def _listing(self, limit: int) -> Response:
        children = [{"kind": "t3", "data": {
            "id": p["id"], "name": f"t3_{p['id']}", "title": p["title"], "subreddit": p["subreddit"],
            "created_utc": p["created_utc"], "author": USERNAME, "url": p["url"], "selftext": p["selftext"],
            "permalink": self.permalink(p).removeprefix("https://www.reddit.com")}}
            for p in reversed(self.posts)][:limit]
        return self.json({"kind": "Listing", "data": {"after": None, "before": None, "dist": len(children),
                                                      "children": children}})

    def _base36(self) -> str:
        number, digits = int(self.new_id()) * 7919, "0123456789abcdefghijklmnopqrstuvwxyz"
        text = ""
        while number:
            number, rest = divmod(number, 36)
            text = digits[rest] + text
        return text

    @staticmethod
    def permalink(post: dict[str, Any]) -> str:
        return f"https://www.reddit.com/r/{post['subreddit']}/comments/{post['id']}/title/"


def _key(url: str) -> str:
    """The upload key a media URL on Reddit's upload host names."""
    return url.removeprefix(f"https:{UPLOAD_ACTION}/")


class GatedReddit(FakeReddit):
    """The API gated by an ``AuthServer``'s tokens (``tests.fakes.oauth``): anything but a valid one is
    Reddit's 401; a valid one is passed on as the fake's own token."""

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if request.path != "/" and self.server.verdict(auth[7:] if auth.startswith("bearer ") else None) != "valid":
            return Response(json.dumps({"message": "Unauthorized", "error": 401}), 401, content_type="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        if request.path != "/":
            request.environ["HTTP_AUTHORIZATION"] = f"bearer {self.token}"
        return super().handle(request)
