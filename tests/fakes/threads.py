"""Fake Threads Graph API: containers, threads_publish, container status, permalink, 500 characters."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.graph import GraphFake

USER_ID = "5555"
THREADS_TOKEN = "threads-token-abcdef"


class FakeThreads(GraphFake):
    token = THREADS_TOKEN
    version = "v1.0"

    def __init__(self) -> None:
        super().__init__()
        self.containers: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET":
            return self._get(parts[0])
        if parts == [USER_ID, "threads"]:
            return self._container(fields)
        if parts == [USER_ID, "threads_publish"]:
            return self._publish(fields.get("creation_id", ""))
        return self.graph_error(400, 100, "Unsupported post request.")

    def _get(self, node: str) -> Response:
        if node == "me":
            return self.json({"id": USER_ID, "username": "jessicajones"})
        if node in self.containers:
            found = {"id": node, "status": self.containers[node]["status"]}
            if node in self.published:
                found["permalink"] = f"https://www.threads.net/@jessicajones/post/P{node}"
            return self.json(found)
        return self.graph_error(400, 100, "Object does not exist")

    def _container(self, fields: dict[str, str]) -> Response:
        kind = fields.get("media_type")
        if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return self.graph_error(400, 100, "The parameter media_type is required.")
        if len(fields.get("text", "")) > 500:
            return self.graph_error(400, 100, "Param text must be at most 500 characters long.")
        if kind == "IMAGE" and not fields.get("image_url", "").startswith("https://"):
            return self.graph_error(400, 100, "Param image_url must be a public URL.")
        reply_to = fields.get("reply_to_id")
        if reply_to is not None and reply_to not in self.published:
            return self.graph_error(400, 100, "Invalid reply_to_id")
        container = self.new_id()
        self.containers[container] = {"status": "FINISHED", **fields}
        return self.json({"id": container})

    def _publish(self, container: str) -> Response:
        found = self.containers.get(container)
        if found is None:
            return self.graph_error(400, 24, "The media was not found", 4279009)
        if found["status"] == "PUBLISHED":
            return self.graph_error(400, 10, "The media has already been published", 2207006)
        found["status"] = "PUBLISHED"
        self.published[container] = found  # Threads gives the post the container's id (unverified)
        return self.json({"id": container})
