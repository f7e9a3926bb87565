"""Fake LinkedIn Posts API: /rest/posts, /rest/images?action=initializeUpload, upload PUT, comments.

``commentary`` and a comment's ``message.text`` are read as the docs describe "little text": a
backslash escapes a reserved character, ``{hashtag|\\#|tag}`` is a hashtag, and the first reserved
character that is neither cuts the text there, silently, as LinkedIn does. ``shown`` keeps what a
reader would see, and ``hashtags`` the hashtags LinkedIn would link.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

LINKEDIN_TOKEN = "linkedin-token-abcdef"
AUTHOR = "urn:li:organization:777"
_REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
_RESERVED = set("|{}@[]()<>#\\*_~")
_HASHTAG = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^|{}@\[\]()<>#\\*_~])+)\}")


def read_little_text(text: str) -> tuple[str, list[str]]:
    """What LinkedIn shows for ``text``, and its hashtags: cut at the first unescaped reserved character."""
    shown, tags, at = [], [], 0
    while at < len(text):
        char = text[at]
        template = _HASHTAG.match(text, at)
        if template:
            tag = re.sub(r"\\(.)", r"\1", template.group(1))
            tags.append(tag)
            shown.append("#" + tag)
            at = template.end()
        elif char == "\\" and at + 1 < len(text) and text[at + 1] in _RESERVED:
            shown.append(text[at + 1])
            at += 2
        elif char in _RESERVED:
            break  # LinkedIn silently cuts the post here
        else:
            shown.append(char)
            at += 1
    return "".join(shown), tags


class FakeLinkedIn(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}
        self.comments: list[dict[str, Any]] = []
        self.shown: dict[str, str] = {}  # urn -> the text a reader sees
        self.hashtags: dict[str, list[str]] = {}

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {LINKEDIN_TOKEN}":
            return self.json(
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
                401,
            )
        if request.path == "/v2/userinfo":
            return self.json({"sub": "abc", "name": "Jessica Jones"})
        if request.path.startswith("/upload/"):
            self.images[request.path.rsplit("/", 1)[-1]] = request.get_data()
            return Response(status=201)
        if (
            not request.headers.get("LinkedIn-Version")
            or request.headers.get("X-Restli-Protocol-Version") != "2.0.0"
        ):
            return self.json({"status": 426, "message": "LinkedIn-Version header is required"}, 426)
        if request.path == "/rest/images" and request.args.get("action") == "initializeUpload":
            image = f"urn:li:image:{self.new_id()}"
            return self.json({"value": {"uploadUrl": f"{self.url}/upload/{image}", "image": image}})
        if request.path == "/rest/posts" and request.method == "GET":
            items = [{"id": urn, "commentary": p["commentary"]} for urn, p in self.posts.items()]
            return self.json({"elements": list(reversed(items))})
        if request.path == "/rest/posts":
            return self._create(request.get_json())
        if request.path.startswith("/rest/socialActions/") and request.path.endswith("/comments"):
            return self._comments(request)
        return self.json({"status": 404, "message": "Not found"}, 404)

    def _create(self, body: dict[str, Any]) -> Response:
        missing = [name for name in _REQUIRED if name not in body]
        if missing:
            return self.json({"status": 422, "message": f"/{missing[0]} :: field is required"}, 422)
        if len(body["commentary"]) > 3000:
            return self.json({"status": 422, "message": "/commentary :: length exceeds 3000"}, 422)
        for urn, post in self.posts.items():
            if post["commentary"] == body["commentary"]:
                return self.json(
                    {"status": 422, "code": "DUPLICATE_POST", "message": f"Content is a duplicate of {urn}"},
                    422,
                )
        urn = f"urn:li:share:{self.new_id()}"
        self.posts[urn] = body
        self.shown[urn], self.hashtags[urn] = read_little_text(body["commentary"])
        return Response(status=201, headers={"x-restli-id": urn})

    def _comments(self, request: Request) -> Response:
        target = request.path.removeprefix("/rest/socialActions/").removesuffix("/comments")
        if request.method == "GET":
            on_post = [c for c in self.comments if c["object"] == target]
            return self.json({"elements": list(reversed(on_post))[: int(request.args.get("count", "10"))]})
        body = request.get_json()
        if target not in self.posts or body.get("object") != target:
            return self.json({"status": 404, "message": f"Not found: {target}"}, 404)
        urn = f"urn:li:comment:({target},{self.new_id()})"
        self.comments.append({**body, "commentUrn": urn, "id": urn.rsplit(",", 1)[-1].rstrip(")")})
        self.shown[urn], self.hashtags[urn] = read_little_text(body["message"]["text"])
        return Response(status=201, headers={"x-restli-id": urn})
