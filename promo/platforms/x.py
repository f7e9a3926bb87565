"""X (Twitter) through tweepy's v2 ``Client``: posts, threads as replies, images, duplicate detection.

tweepy hard-codes ``https://api.twitter.com`` and passes no timeout, so the client gets a
``RoutedSession``: it rewrites the X hosts to the account's ``base_url`` (and ``upload_base_url``)
and adds the timeout to every request. ``wait_on_rate_limit`` is off: the worker owns retries.
Images go through the v2 upload (``POST /2/media/upload``), falling back to v1.1
``media/upload.json`` when v2 answers 404. X has no idempotency key: a look-up reads the account's
recent posts for the same text, and a 403 "duplicate content" is resolved the same way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import requests
import tweepy

from promo.errors import AuthError, Duplicate, Permanent, PublishError, RateLimited, Retryable
from promo.platforms.base import BaseAdapter
from promo.platforms.http import USER_AGENT, media_file, transport_error
from promo.platforms.progress import send_parts, settle_parts, was_attempted
from promo.posts import Journal, Media, Part, Post, Published

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
UPLOAD_HOSTS = ("https://upload.twitter.com", "https://upload.x.com")
_DUPLICATE = "duplicate content"
_URL = re.compile(r"https?://\S+")


class RoutedSession(requests.Session):
    """A requests Session that sends the X hosts to configured base URLs, always with a timeout."""

    def __init__(self, routes: dict[str, str], timeout: float) -> None:
        super().__init__()
        self.routes, self.timeout = routes, timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        for prefix, target in self.routes.items():
            if text.startswith(prefix):
                text = target + text[len(prefix) :]
                break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, text, *args, **kwargs)


@contextmanager
def boundary() -> Iterator[None]:
    """tweepy's and requests' errors -> promo's error tree, in one place."""
    try:
        yield
    except PublishError:
        raise
    except tweepy.TooManyRequests as exc:
        raise RateLimited(f"rate limited: {_reason(exc)}", platform="x", retry_at=_reset(exc)) from exc
    except tweepy.Unauthorized as exc:
        raise AuthError(f"credentials refused: {_reason(exc)}", platform="x") from exc
    except tweepy.TwitterServerError as exc:
        raise Retryable(f"server error {exc.response.status_code}: {_reason(exc)}", platform="x") from exc
    except tweepy.Forbidden as exc:
        if _DUPLICATE in _reason(exc).lower():
            raise Duplicate(f"X says: {_reason(exc)}", platform="x") from exc
        raise Permanent(f"forbidden: {_reason(exc)}", platform="x") from exc
    except tweepy.HTTPException as exc:
        raise Permanent(f"refused ({exc.response.status_code}): {_reason(exc)}", platform="x") from exc
    except requests.RequestException as exc:
        raise transport_error("x", exc) from exc


def _reason(exc: tweepy.HTTPException) -> str:
    messages = [str(m) for m in exc.api_messages if m]
    details = [str(e.get("detail")) for e in exc.api_errors if isinstance(e, dict) and e.get("detail")]
    return "; ".join(messages + details) or f"{exc.response.status_code} {exc.response.reason}"


def _reset(exc: Any) -> Any:
    from datetime import UTC, datetime

    reset = getattr(exc, "reset_time", None)
    return datetime.fromtimestamp(reset, UTC) if reset else None


def _normalized(text: str) -> str:
    """X shortens links to t.co and escapes HTML: compare texts without either."""
    return " ".join(_URL.sub("<url>", html.unescape(text)).split())


class XAdapter(BaseAdapter):
    platform = "x"

    @cached_property
    def http(self) -> requests.Session:
        if self.session is not None:
            return self.session  # type: ignore[no-any-return]
        api = self.account.api_base
        upload = str(self.account.options.get("upload_base_url") or api).rstrip("/")
        routes = {host: api for host in X_HOSTS} | {host: upload for host in UPLOAD_HOSTS}
        return RoutedSession(routes, self.timeout)

    @cached_property
    def client(self) -> tweepy.Client:
        client = tweepy.Client(
            consumer_key=self.account.secret("api_key"),
            consumer_secret=self.account.secret("api_secret"),
            access_token=self.account.secret("access_token"),
            access_token_secret=self.account.secret("access_token_secret"),
            return_type=dict,
            wait_on_rate_limit=False,
        )
        client.session = self.http
        return client

    @property
    def handle(self) -> str:
        return str(self.account.options["handle"]).lstrip("@")

    def publish(self, post: Post, journal: Journal) -> Published:
        ids = send_parts(
            post, journal, lambda index, part, previous: self._send(journal, index, part, previous)
        )
        return self._published(ids)

    def lookup(self, post: Post, journal: Journal) -> Published | None:
        ids = settle_parts(post, journal, lambda index, part, previous: self._find(journal, index, part))
        return self._published(ids) if ids else None

    def verify(self) -> str:
        with boundary():
            me = self.client.get_me(user_auth=True)
        return f"@{me['data']['username']}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://x.com/{self.handle}/status/{ids[0]}", tuple(ids[1:]))

    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        media_ids = [self._upload(m) for m in part.media] or None
        try:
            with boundary():
                answer = self.client.create_tweet(
                    text=part.text, in_reply_to_tweet_id=previous, media_ids=media_ids, user_auth=True
                )
        except Duplicate:
            found = self._find(journal, index, part)  # X gives no id: find our earlier post
            if found is None:
                raise
            return found
        return str(answer["data"]["id"])

    def _upload(self, media: Media) -> str:
        name, data, mime = media_file(self.platform, media)
        auth = self._oauth()
        with boundary():
            response = self.http.post(
                "https://api.x.com/2/media/upload",
                files={"media": (name, data, mime)},
                data={"media_category": _category(media)},
                auth=auth,
            )
            if response.status_code == 404:
                return self._upload_v1(name, data)
            self.client_error(response)
            media_id = str(response.json()["data"]["id"])
            if media.alt:
                meta = {"id": media_id, "metadata": {"alt_text": {"text": media.alt[:1000]}}}
                self.client_error(self.http.post("https://api.x.com/2/media/metadata", json=meta, auth=auth))
        return media_id

    def _upload_v1(self, name: str, data: bytes) -> str:
        import io

        api = tweepy.API(self._oauth_handler(), retry_count=0, timeout=self.timeout)
        api.session = self.http
        uploaded = api.simple_upload(name, file=io.BytesIO(data))
        return str(uploaded.media_id_string)

    def client_error(self, response: requests.Response) -> None:
        """Raise tweepy's exception for an error response, so ``boundary`` classifies it."""
        if response.status_code < 400:
            return
        errors = {
            400: tweepy.BadRequest,
            401: tweepy.Unauthorized,
            403: tweepy.Forbidden,
            404: tweepy.NotFound,
        }
        if response.status_code == 429:
            reset = response.headers.get("x-rate-limit-reset")
            raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
        if response.status_code >= 500:
            raise tweepy.TwitterServerError(response)
        raise errors.get(response.status_code, tweepy.HTTPException)(response)

    def _oauth_handler(self) -> tweepy.OAuth1UserHandler:
        return tweepy.OAuth1UserHandler(
            self.account.secret("api_key"),
            self.account.secret("api_secret"),
            self.account.secret("access_token"),
            self.account.secret("access_token_secret"),
        )

    def _oauth(self) -> Any:
        return self._oauth_handler().apply_auth()

    def _find(self, journal: Journal, index: int, part: Part) -> str | None:
        if not was_attempted(journal, index):
            return None
        with boundary():
            recent = self.client.get_users_tweets(
                self._user_id(), max_results=20, user_auth=True, start_time=None
            )
        wanted = _normalized(part.text)
        for tweet in recent.get("data") or []:
            if _normalized(tweet.get("text", "")) == wanted:
                return str(tweet["id"])
        return None

    def _user_id(self) -> str:
        if self.account.options.get("user_id"):
            return str(self.account.options["user_id"])
        with boundary():
            return str(self.client.get_me(user_auth=True)["data"]["id"])


def _category(media: Media) -> str:
    return {"gif": "tweet_gif", "video": "tweet_video"}.get(media.kind, "tweet_image")
