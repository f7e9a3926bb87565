"""Shared pieces of the Meta Graph fakes (Facebook Page, Threads): version, token check and error bodies."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer


class GraphFake(FakeServer):
    token = ""
    version = ""  # every path starts with it, as on graph.facebook.com / graph.threads.net

    def path_parts(self, request: Request) -> list[str] | None:
        """The path after the version, or None when the version is missing or another."""
        version, _, rest = request.path.strip("/").partition("/")
        return rest.split("/") if version == self.version else None

    def wrong_version(self) -> Response:
        return self.graph_error(400, 2500, f"Unknown path components: the API version must be {self.version}")

    def fields(self, request: Request) -> dict[str, str]:
        return {**request.args, **request.form}

    def authorized(self, request: Request) -> bool:
        bearer = request.headers.get("Authorization", "")
        return self.fields(request).get("access_token") == self.token or bearer == f"Bearer {self.token}"

    def graph_error(self, status: int, code: int, message: str, subcode: int | None = None) -> Response:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC123"}
        if subcode is not None:
            error["error_subcode"] = subcode
        return self.json({"error": error}, status)

    def invalid_token(self) -> Response:
        return self.graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
