"""Fake Facebook Graph API for one Page: /<version>/<page>/feed, /photos, /<post>/comments."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.graph import GraphFake

PAGE_ID = "1234"
PAGE_TOKEN = "fb-page-token-abcdef"


class FakeFacebook(GraphFake):
    token = PAGE_TOKEN
    version = "v21.0"

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, dict[str, Any]] = {}

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET" and parts == [PAGE_ID]:
            return self.json({"id": PAGE_ID, "name": "Jessica Jones"})
        if request.method == "GET" and parts[-1] in ("feed", "comments"):
            items = [
                {"id": k, "message": v.get("message", "")}
                for k, v in self.posts.items()
                if v.get("parent") == (None if parts[-1] == "feed" else parts[0])
            ]
            return self.json({"data": list(reversed(items))})
        if parts == [PAGE_ID, "feed"]:
            return self._create(fields, None)
        if parts == [PAGE_ID, "photos"]:
            return self._photo(request, fields)
        if len(parts) == 2 and parts[1] == "comments" and parts[0] in self.posts:
            return self._create(fields, parts[0])
        return self.graph_error(400, 100, "Unsupported post request.")

    def _create(self, fields: dict[str, str], parent: str | None) -> Response:
        if not fields.get("message") and not fields.get("attached_media[0]"):
            return self.graph_error(400, 100, "(#100) The parameter message is required")
        if parent is None and any(
            p.get("message") == fields.get("message") and p.get("parent") is None for p in self.posts.values()
        ):
            return self.graph_error(400, 506, "Duplicate status message")
        post_id = f"{PAGE_ID}_{self.new_id()}" if parent is None else f"{parent}_{self.new_id()}"
        self.posts[post_id] = {**fields, "parent": parent}
        return self.json({"id": post_id})

    def _photo(self, request: Request, fields: dict[str, str]) -> Response:
        if "source" not in request.files:
            return self.graph_error(400, 324, "Requires upload file")
        photo_id = self.new_id()
        self.photos[photo_id] = fields
        if fields.get("published") == "false":
            return self.json({"id": photo_id})
        post_id = f"{PAGE_ID}_{photo_id}"
        self.posts[post_id] = {"message": fields.get("caption", ""), "parent": None}
        return self.json({"id": photo_id, "post_id": post_id})
