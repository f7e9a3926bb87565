"""The media host against a local S3-compatible server (moto's server mode, tests/fakes/s3.py): uploads
once by content, presigned URLs a client can fetch and that expire, multipart uploads resumed after a
kill, errors in plain words, the static backend, and the settings that build it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promo.errors import Permanent, Retryable
from promo.platforms.mediahost import StaticHost, host_from_settings, hosted
from promo.platforms.mediahost.s3 import MiB, S3Config, S3Host
from promo.posts import Media
from promo.settings import Settings
from tests.fakes.harness import closed_port_url
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY, FakeS3

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "promo-media-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[FakeS3]:
    server = FakeS3().start()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


def s3_host(url: str, **fields: object) -> S3Host:
    config = S3Config(BUCKET, endpoint_url=url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
                      timeout=5.0, **fields)  # type: ignore[arg-type]
    return S3Host(config)


def write(path: Path, size: int, seed: bytes = b"jj") -> Path:
    block = hashlib.sha256(seed).digest() * (MiB // 32)
    with path.open("wb") as out:
        while size > 0:
            out.write(block[:size])
            size -= len(block)
    return path


def test_a_presigned_url_serves_the_file_and_the_bucket_stays_private(s3: FakeS3, tmp_path: Path) -> None:
    clip = write(tmp_path / "Featurette.MP4", 200_000)
    url = s3_host(s3.url).url_for("instagram", Media(str(clip), mime="video/mp4"))
    key = f"promo-media/{hashlib.sha256(clip.read_bytes()).hexdigest()}.mp4"
    assert f"/{BUCKET}/{key}?" in url and "X-Amz-Signature=" in url
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == clip.read_bytes()
    assert fetched.headers["content-type"] == "video/mp4"
    assert httpx.get(url.split("?")[0]).status_code == 403  # unsigned: private


def test_the_same_bytes_are_uploaded_once_for_every_network(s3: FakeS3, tmp_path: Path) -> None:
    host = s3_host(s3.url)
    first = write(tmp_path / "a.mp4", 50_000, b"once")
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    second = write(copy / "a.mp4", 50_000, b"once")
    before = len(s3.writes)
    urls = [host.url_for_file(platform, path) for platform, path in
            (("instagram", first), ("threads", second), ("tiktok", first))]
    assert len(s3.writes) - before == 1
    assert len({url.split("?")[0] for url in urls}) == 1
    fresh = s3_host(s3.url)  # another worker process: HEAD finds it, no PUT
    fresh.url_for_file("instagram", first)
    assert len(s3.writes) - before == 1


def test_an_expired_url_is_refused(s3: FakeS3, tmp_path: Path) -> None:
    url = s3_host(s3.url).url_for_file("instagram", write(tmp_path / "e.jpg", 1000, b"expire"), expires_s=2)
    assert httpx.get(url).status_code == 200
    time.sleep(3.1)
    refused = httpx.get(url)
    assert refused.status_code == 403 and "Request has expired" in refused.text


def test_the_url_lasts_the_configured_time(s3: FakeS3, tmp_path: Path) -> None:
    url = s3_host(s3.url, url_ttl=7200.0).url_for_file("instagram", write(tmp_path / "t.jpg", 100, b"ttl"))
    assert "X-Amz-Expires=7200" in url
    week = s3_host(s3.url).url_for_file("instagram", tmp_path / "t.jpg", expires_s=30 * 86400)
    assert "X-Amz-Expires=604800" in week  # S3's longest


def test_a_big_file_goes_up_in_parts_streamed(s3: FakeS3, tmp_path: Path) -> None:
    big = write(tmp_path / "big.mp4", 11 * MiB + 17, b"big")
    host = s3_host(s3.url, part_size=5 * MiB, multipart_threshold=6 * MiB)
    before = len(s3.writes)
    url = host.url_for_file("instagram", big)
    parts = [w for w in s3.writes[before:] if w.startswith("PART")]
    assert len(parts) == 3 and len(s3.writes) - before == 3
    assert hashlib.sha256(httpx.get(url).content).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_a_multipart_upload_killed_midway_resumes_with_the_missing_parts(s3: FakeS3, tmp_path: Path) -> None:
    big = write(tmp_path / "resume.mp4", 16 * MiB, b"resume")
    key = s3_host(s3.url).key_for(big)
    spec = {"url": s3.url, "path": str(big)}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(spec)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not any(w.startswith(f"PART /{BUCKET}/{key} ") for w in s3.writes):
            assert time.monotonic() < deadline and child.poll() is None, "the child never started its upload"
            time.sleep(0.005)
        time.sleep(0.5)  # the part is stored; the child sleeps 2 s before its next one
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    sent = [w for w in s3.writes if w.startswith(f"PART /{BUCKET}/{key} ")]
    assert len(sent) == 1  # killed after its first part
    url = s3_host(s3.url, part_size=5 * MiB, multipart_threshold=6 * MiB).url_for_file("instagram", big)
    again = [w for w in s3.writes if w.startswith(f"PART /{BUCKET}/{key} ")][len(sent):]
    assert [w.rsplit(" ", 1)[1] for w in again] == ["2", "3", "4"]  # part 1 is never sent again
    assert httpx.get(url).content == big.read_bytes()


_CHILD = """
import json, sys
from pathlib import Path
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY
from promo.platforms.mediahost.s3 import MiB, S3Config, S3Host
spec = json.loads(sys.argv[1])
config = S3Config(BUCKET, endpoint_url=spec["url"], access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
                  part_size=5 * MiB, multipart_threshold=6 * MiB)
host = S3Host(config)
import time
real = host.client.upload_part
def slow(**kwargs):
    answer = real(**kwargs)
    time.sleep(2)
    return answer
host.client.upload_part = slow
host.upload(Path(spec["path"]))
""".replace("BUCKET", repr(BUCKET))


def test_errors_say_what_to_fix(s3: FakeS3, tmp_path: Path) -> None:
    clip = write(tmp_path / "x.mp4", 100, b"errors")
    with pytest.raises(Permanent, match=r"no such bucket.*media_host"):
        S3Host(S3Config("missing-bucket", endpoint_url=s3.url, access_key_id=ACCESS_KEY,
                        secret_access_key=SECRET_KEY)).url_for_file("instagram", clip)
    with pytest.raises(Retryable, match="unreachable"):
        s3_host(closed_port_url()).url_for_file("instagram", clip)
    s3.fail_next(503, count=3)  # boto3 tries twice; then it is the worker's retry
    with pytest.raises(Retryable, match="media host error 503"):
        s3_host(s3.url).url_for_file("instagram", write(tmp_path / "y.mp4", 100, b"slow"))
    with pytest.raises(Permanent, match="cannot read media file"):
        s3_host(s3.url).url_for("instagram", Media(str(tmp_path / "gone.mp4")))


def test_check_proves_write_and_presign(s3: FakeS3) -> None:
    assert "reachable, writable, a presigned URL serves" in s3_host(s3.url).check()
    with pytest.raises(Permanent, match="no such bucket"):
        S3Host(S3Config("nope", endpoint_url=s3.url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)).check()


def test_static_backend_and_the_choice_of_host(tmp_path: Path) -> None:
    static = StaticHost("https://cdn.example.com/jj/")
    assert static.url_for("threads", Media("media/Key Art.png")) == "https://cdn.example.com/jj/Key%20Art.png"
    configured = S3Host(S3Config(BUCKET))
    assert hosted("instagram", configured, "https://cdn.example.com/jj") is not configured  # the account's own first
    assert hosted("instagram", configured, None) is configured
    with pytest.raises(Permanent, match="media_host_bucket"):
        hosted("instagram", None, None)


def test_settings_build_the_host_and_never_show_the_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert host_from_settings(Settings(_env_file=None)) is None
    monkeypatch.setenv("PROMO_MEDIA_HOST_BASE_URL", "https://cdn.example.com/jj")
    assert isinstance(host_from_settings(Settings(_env_file=None)), StaticHost)
    monkeypatch.setenv("PROMO_MEDIA_HOST_BUCKET", "films")
    monkeypatch.setenv("PROMO_MEDIA_HOST_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("PROMO_MEDIA_HOST_SECRET_ACCESS_KEY", "s3cr3t-value")
    settings = Settings(_env_file=None)
    host = host_from_settings(settings)
    assert isinstance(host, S3Host) and host.config.bucket == "films"
    assert host.config.secret_access_key == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(host.config) and "s3cr3t-value" not in json.dumps(settings.display())


def test_accounts_check_checks_the_host(s3: FakeS3, tmp_path: Path) -> None:
    (tmp_path / "promo.toml").write_text('[accounts.jj-instagram]\nplatform = "instagram"\nuser_id = "1784"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMO_", "AWS_"))}
    env.update({"PROMO_HOME": str(tmp_path / "home"), "PROMO_ACCOUNT_JJ_INSTAGRAM_ACCESS_TOKEN": "t0ken-ig"})

    def check(**more: str) -> tuple[int, dict[str, dict[str, object]]]:
        done = subprocess.run([sys.executable, "-m", "promo", "accounts", "check", "--json"], cwd=tmp_path,
                              env={**env, **more}, capture_output=True, text=True, timeout=60, check=False)
        assert SECRET_KEY not in done.stdout + done.stderr
        return done.returncode, {row["name"]: row for row in json.loads(done.stdout)}

    code, rows = check()
    assert code == 1 and "not configured, and jj-instagram fetch media by URL" in str(rows["media-host"]["detail"])
    code, rows = check(PROMO_MEDIA_HOST_BUCKET=BUCKET, PROMO_MEDIA_HOST_ENDPOINT_URL=s3.url,
                       PROMO_MEDIA_HOST_ACCESS_KEY_ID=ACCESS_KEY, PROMO_MEDIA_HOST_SECRET_ACCESS_KEY=SECRET_KEY)
    assert rows["media-host"]["ok"] is True and "writable" in str(rows["media-host"]["detail"])
    code, rows = check(PROMO_MEDIA_HOST_BUCKET="no-such-bucket", PROMO_MEDIA_HOST_ENDPOINT_URL=s3.url,
                       PROMO_MEDIA_HOST_ACCESS_KEY_ID=ACCESS_KEY, PROMO_MEDIA_HOST_SECRET_ACCESS_KEY=SECRET_KEY)
    assert code == 1 and "no such bucket" in str(rows["media-host"]["detail"])
