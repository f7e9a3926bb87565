"""Fake LinkedIn Posts API: /rest/posts, /rest/images?action=initializeUpload, upload PUT, comments."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

LINKEDIN_TOKEN = "linkedin-token-abcdef"
AUTHOR = "urn:li:organization:777"
_REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")


class FakeLinkedIn(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}
        self.comments: list[dict[str, Any]] = []

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
            self.comments.append(request.get_json())
            return Response(status=201, headers={"x-restli-id": f"urn:li:comment:{self.new_id()}"})
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
        return Response(status=201, headers={"x-restli-id": urn})
