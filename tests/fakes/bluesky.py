"""Fake Bluesky PDS (XRPC): sessions with decodable JWTs, createRecord with rkeys, getRecord, blobs;
and ``FakeVideoService``, the video service (video.bsky.app) beside it.

The video service follows Bluesky's "Uploading Video" tutorial and the ``app.bsky.video`` lexicons,
stricter where they are unclear: ``uploadVideo`` takes a service token the PDS signed for the PDS's
``did:web`` with lxm ``com.atproto.repo.uploadBlob`` (unexpired), ``did`` and ``name`` parameters,
``Content-Type: video/mp4`` and at most 100 MB (read in chunks, never held whole); the job walks
``JOB_STATE_CREATED -> JOB_STATE_ENCODING -> JOB_STATE_COMPLETED`` (with the blob, stored on the
PDS) or ``JOB_STATE_FAILED`` with an error (a video over 3 minutes, or an unreadable one). The PDS
refuses a post whose video embed names a blob it does not hold or has a bad aspect ratio.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import regex
from werkzeug.wrappers import Request, Response

from tests.fakes.harness import FakeServer

HANDLE = "jessicajones.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:jessicajones123"
KNOWN_HANDLES = {HANDLE: DID, "netflix.com": "did:plc:netflix456"}
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def jwt(subject: str, kind: str, **extra: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {
        "scope": kind,
        "sub": subject,
        "iat": int(time.time()),
        "exp": int(time.time()) + 7200,
        "jti": hashlib.sha1(str(time.time_ns()).encode()).hexdigest(),
        **extra,
    }
    return f"{part({'alg': 'ES256K', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def claims_of(token: str) -> dict[str, Any]:
    """The claims of one of this fake's JWTs, or {} when it is not one."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


class FakeBluesky(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.tokens: set[str] = set()
        self.service_tokens: set[str] = set()
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
        if method == "com.atproto.server.getServiceAuth":
            return self._service_auth(request)
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

    def _service_auth(self, request: Request) -> Response:
        aud, lxm, exp = request.args.get("aud", ""), request.args.get("lxm", ""), request.args.get("exp", "")
        if not aud.startswith("did:"):
            return self.xrpc_error(400, "InvalidRequest", "aud must be a DID")
        if exp and int(exp) > time.time() + 3600:
            return self.xrpc_error(400, "BadExpiration", "cannot request a token that expires more than an hour ahead")
        token = jwt(DID, "com.atproto.access", iss=DID, aud=aud, lxm=lxm or None,
                    exp=int(exp) if exp else int(time.time()) + 60)
        self.service_tokens.add(token)
        return self.json({"token": token})

    def _video_embed_problem(self, embed: dict[str, Any]) -> str | None:
        if embed.get("$type") != "app.bsky.embed.video":
            return None
        video = embed.get("video") or {}
        if (video.get("ref") or {}).get("$link") not in self.blobs or video.get("mimeType") != "video/mp4":
            return "Invalid app.bsky.embed.video: video must be an mp4 blob this repository holds"
        ratio = embed.get("aspectRatio")
        if ratio is not None and not (isinstance(ratio.get("width"), int) and ratio["width"] >= 1
                                      and isinstance(ratio.get("height"), int) and ratio["height"] >= 1):
            return "Invalid app.bsky.embed.video: aspectRatio width and height must be integers of at least 1"
        for caption in embed.get("captions") or []:
            if (caption.get("file") or {}).get("ref", {}).get("$link") not in self.blobs or not caption.get("lang"):
                return "Invalid app.bsky.embed.video#caption: file and lang are required"
        return None

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
        problem = self._video_embed_problem(record.get("embed") or {})
        if problem:
            return self.xrpc_error(400, "InvalidRecord", problem)
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


class FakeVideoService(FakeServer):
    """video.bsky.app: uploadVideo with a PDS service token, then getJobStatus until the blob is on the PDS."""

    streamed_paths = ("app.bsky.video.uploadVideo",)

    def __init__(self, pds: FakeBluesky, polls: int = 2, max_bytes: int = 100 * 1024 * 1024,
                 max_seconds: float = 180.0) -> None:
        super().__init__()
        self.pds, self.polls, self.max_bytes, self.max_seconds = pds, polls, max_bytes, max_seconds
        self.jobs: dict[str, dict[str, Any]] = {}
        self.digests: dict[str, str] = {}  # job id -> sha256 of the bytes received

    def handle(self, request: Request) -> Response:
        method = request.path.removeprefix("/xrpc/")
        if method == "app.bsky.video.uploadVideo" and request.method == "POST":
            return self._upload(request)
        if method == "app.bsky.video.getJobStatus":
            return self._status(request.args.get("jobId", ""))
        return self.pds.xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def _refusal(self, request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = claims_of(token)
        if token not in self.pds.service_tokens or claims.get("exp", 0) < time.time():
            return self.pds.xrpc_error(401, "AuthMissing", "a service token from the PDS is required")
        if claims.get("aud") != "did:web:127.0.0.1" or claims.get("lxm") != "com.atproto.repo.uploadBlob":
            return self.pds.xrpc_error(401, "BadJwtAudience", "the token must be for the PDS and uploadBlob")
        if request.args.get("did") != claims.get("iss") or not request.args.get("name"):
            return self.pds.xrpc_error(400, "InvalidRequest", "did (the token's issuer) and name are required")
        if request.mimetype != "video/mp4":
            return self.pds.xrpc_error(400, "InvalidRequest", "Content-Type must be video/mp4")
        if int(request.headers.get("Content-Length") or 0) > self.max_bytes:
            return self.pds.xrpc_error(400, "file_too_large", f"the video is over {self.max_bytes} bytes")
        return None

    def _upload(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        job_id = "job" + self.new_id()
        digest, error = self._receive(request)
        self.digests[job_id] = digest
        link = "bafkreivideo" + digest[:32]
        self.jobs[job_id] = {"jobId": job_id, "did": request.args["did"], "state": "JOB_STATE_CREATED",
                             "polls": self.polls, "error": error, "link": link}
        return self.json({"jobStatus": self._public(job_id)})

    def _receive(self, request: Request) -> tuple[str, str | None]:
        """Read the body in chunks into a temporary file; its sha256, and why processing will fail (or None)."""
        digest = hashlib.sha256()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.mp4"
            with path.open("wb") as out:
                while chunk := request.stream.read(64 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
            return digest.hexdigest(), _video_problem(path, self.max_seconds)

    def _status(self, job_id: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self.pds.xrpc_error(400, "JobNotFound", f"no job {job_id}")
        if job["polls"] > 0:
            job["polls"] -= 1
            job["state"] = "JOB_STATE_ENCODING"
        elif job["error"]:
            job["state"] = "JOB_STATE_FAILED"
        else:
            job["state"] = "JOB_STATE_COMPLETED"
            self.pds.blobs[job["link"]] = b"<processed video>"
        return self.json({"jobStatus": self._public(job_id)})

    def _public(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        status: dict[str, Any] = {"jobId": job_id, "did": job["did"], "state": job["state"]}
        if job["state"] == "JOB_STATE_ENCODING":
            status["progress"] = 50
        if job["state"] == "JOB_STATE_FAILED":
            status["error"] = job["error"]
        if job["state"] == "JOB_STATE_COMPLETED":
            status["blob"] = {"$type": "blob", "ref": {"$link": job["link"]}, "mimeType": "video/mp4", "size": 1234}
        return status


def _video_problem(path: Path, max_seconds: float) -> str | None:
    import av

    try:
        with av.open(str(path)) as container:
            seconds = (container.duration or 0) / 1_000_000
    except av.error.FFmpegError:
        return "Video could not be processed: unreadable file"
    if seconds > max_seconds:
        return f"Video is too long: {seconds:.0f} seconds, the limit is {max_seconds:.0f}"
    return None
