"""Fake Bluesky PDS (XRPC): sessions with decodable JWTs, createRecord with rkeys, getRecord, blobs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

import regex
from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

HANDLE = "jessicajones.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:jessicajones123"
KNOWN_HANDLES = {HANDLE: DID, "netflix.com": "did:plc:netflix456"}
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def jwt(subject: str, kind: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {
        "scope": kind,
        "sub": subject,
        "iat": int(time.time()),
        "exp": int(time.time()) + 7200,
        "jti": hashlib.sha1(str(time.time_ns()).encode()).hexdigest(),
    }
    return f"{part({'alg': 'ES256K', 'typ': 'JWT'})}.{part(claims)}.c2ln"


class FakeBluesky(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.tokens: set[str] = set()
        self.logins = 0

    def handle(self, request: Request) -> Response:
        method = request.path.removeprefix("/xrpc/")
        if method == "com.atproto.server.createSession":
            return self._login(request.get_json(silent=True) or {})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return self.xrpc_error(401, "InvalidToken", "Token could not be verified")
        if method == "com.atproto.server.getSession":
            return self.json({"handle": HANDLE, "did": DID, "active": True})
        if method == "com.atproto.identity.resolveHandle":
            did = KNOWN_HANDLES.get(request.args.get("handle", ""))
            return (
                self.json({"did": did})
                if did
                else self.xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
            )
        if method == "com.atproto.repo.uploadBlob":
            return self._blob(request)
        if method == "com.atproto.repo.createRecord":
            return self._create(request.get_json(silent=True) or {})
        if method == "com.atproto.repo.getRecord":
            return self._get(request.args.get("rkey", ""))
        return self.xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def _login(self, body: dict[str, Any]) -> Response:
        self.logins += 1
        if body.get("identifier") != HANDLE or body.get("password") != APP_PASSWORD:
            return self.xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        access = jwt(DID, "com.atproto.appPass")
        self.tokens.add(access)
        return self.json(
            {
                "accessJwt": access,
                "refreshJwt": jwt(DID, "com.atproto.refresh"),
                "handle": HANDLE,
                "did": DID,
                "active": True,
            }
        )

    def _blob(self, request: Request) -> Response:
        data = request.get_data()
        if len(data) > 1_000_000:
            return self.xrpc_error(400, "BlobTooLarge", "This file is too large")
        link = "bafkrei" + hashlib.sha256(data).hexdigest()[:40]
        self.blobs[link] = data
        return self.json(
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": link},
                    "mimeType": request.headers.get("Content-Type", "image/png"),
                    "size": len(data),
                }
            }
        )

    def _create(self, body: dict[str, Any]) -> Response:
        record, rkey = body.get("record") or {}, str(body.get("rkey", ""))
        if body.get("repo") != DID or body.get("collection") != "app.bsky.feed.post":
            return self.xrpc_error(400, "InvalidRequest", "repo and collection are required")
        if not _TID.match(rkey):
            return self.xrpc_error(400, "InvalidRequest", "Invalid record key: must be a TID")
        text = str(record.get("text", ""))
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return self.xrpc_error(
                400,
                "InvalidRecord",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
            )
        for image in (record.get("embed") or {}).get("images", []):
            if "alt" not in image or image["image"]["ref"]["$link"] not in self.blobs:
                return self.xrpc_error(400, "InvalidRecord", "Invalid app.bsky.embed.images: alt is required")
        reply = record.get("reply")
        if reply and (reply["parent"]["uri"].rsplit("/", 1)[-1] not in self.records):
            return self.xrpc_error(400, "InvalidRecord", "reply parent not found")
        if rkey in self.records:
            return self.xrpc_error(
                500, "InternalServerError", "Internal Server Error"
            )  # as the real PDS does
        self.records[rkey] = record
        return self.json(self._ref(rkey))

    def _get(self, rkey: str) -> Response:
        if rkey not in self.records:
            return self.xrpc_error(
                400, "RecordNotFound", f"Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"
            )
        return self.json({**self._ref(rkey), "value": self.records[rkey]})

    def _ref(self, rkey: str) -> dict[str, str]:
        cid = "bafyrei" + hashlib.sha256(rkey.encode()).hexdigest()[:40]
        return {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": cid}

    def xrpc_error(self, status: int, error: str, message: str) -> Response:
        return self.json({"error": error, "message": message}, status)
