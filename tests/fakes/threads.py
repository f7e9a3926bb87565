"""Fake Threads Graph API: containers, threads_publish, container status, permalink, 500 characters.

As on the real API, publishing a container makes a new media object with its own id (answered by
``threads_publish``); the container keeps only ``id`` and ``status``. A reply must name a published
post's id (a container id is refused), and a user's threads and a post's replies can be listed.
"""

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
        self.published: dict[str, dict[str, Any]] = {}  # media id -> the container's fields

    def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.invalid_token()
        parts = self.path_parts(request)
        if parts is None:
            return self.wrong_version()
        fields = self.fields(request)
        if request.method == "GET":
            return self._get(parts)
        if parts == [USER_ID, "threads"]:
            return self._container(fields)
        if parts == [USER_ID, "threads_publish"]:
            return self._publish(fields.get("creation_id", ""))
        return self.graph_error(400, 100, "Unsupported post request.")

    def _get(self, parts: list[str]) -> Response:
        node = parts[0]
        if parts == ["me"]:
            return self.json({"id": USER_ID, "username": "jessicajones"})
        if parts == [USER_ID, "threads"]:
            return self._listed(None)
        if len(parts) == 2 and parts[1] == "replies" and node in self.published:
            return self._listed(node)
        if parts == [node] and node in self.containers:
            return self.json({"id": node, "status": self.containers[node]["status"]})
        if parts == [node] and node in self.published:
            return self.json({"id": node, "text": self.published[node].get("text", ""),
                              "permalink": f"https://www.threads.net/@jessicajones/post/P{node}"})
        return self.graph_error(400, 100, "Object does not exist")

    def _listed(self, reply_to: str | None) -> Response:
        """A user's posts (``reply_to`` None) or a post's replies, newest first."""
        found = [{"id": media, "text": fields.get("text", "")} for media, fields in reversed(self.published.items())
                 if fields.get("reply_to_id") == reply_to]
        return self.json({"data": found})

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
        media = self.new_id()  # the post's own id, not the container's
        self.published[media] = found
        return self.json({"id": media})
