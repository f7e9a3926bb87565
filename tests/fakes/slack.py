"""Fake Slack incoming webhook: /services/T/B/<secret>, 200 ``ok`` or plain-text errors."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

WEBHOOK_PATH = "/services/T000/B000/slack-fake-secret"


class FakeSlack(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    @property
    def webhook_url(self) -> str:
        return f"https://hooks.slack.com{WEBHOOK_PATH}"

    def handle(self, request: Request) -> Response:
        if request.path != WEBHOOK_PATH:
            return Response("invalid_token", status=403)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return Response("invalid_payload", status=400)
        if not body.get("text") and not body.get("blocks"):
            return Response("no_text", status=400)
        self.messages.append(body["text"])
        return Response("ok", status=200, content_type="text/html")
