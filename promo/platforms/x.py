"""X (Twitter) through tweepy's v2 ``Client``: posts, threads as replies, images, duplicate detection.

tweepy talks through ``client_tweepy.RoutingClient`` (a ``requests.Session``): it sends X's hosts to
the account's ``base_url`` (default ``https://api.twitter.com``; tweepy adds ``/2/...``) and
``upload_base_url``, and adds the timeout. ``wait_on_rate_limit`` is off: the worker owns retries.
Images go through the v2 upload (``POST /2/media/upload``), falling back to v1.1
``media/upload.json`` when v2 answers 404. X has no idempotency key: a look-up reads the account's
posts since the attempt for the same text (all of them read and none matches: not published), and
a 403 "duplicate content" is resolved the same way.
tweepy is imported on the first call to X, so the registry and preview never load it.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from promo.errors import Duplicate
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import media_file
from promo.platforms.progress import NEVER_SENT, PartFound, attempted_at, lookup_parts, send_parts
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.x import XRules

if TYPE_CHECKING:
    import requests
    import tweepy

_URL = re.compile(r"https?://\S+")
RECENT = 100  # posts read back per look-up (X's maximum page)
CLOCK_SLACK = timedelta(minutes=2)  # read from a little before the attempt: clocks differ


def _normalized(text: str) -> str:
    """X shortens links to t.co and escapes HTML: compare texts without either."""
    return " ".join(_URL.sub("<url>", html.unescape(text)).split())


class XAdapter(BaseAdapter["requests.Session"]):
    platform = "x"

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_tweepy import TWEEPY_ERRORS

        return TWEEPY_ERRORS

    @cached_property
    def http(self) -> requests.Session:
        if self.given_http is not None:
            return self.given_http
        from promo.platforms.client_tweepy import RoutingClient

        api = self.account.api_base
        return RoutingClient(api, str(self.account.options.get("upload_base_url") or api).rstrip("/"), self.timeout)

    @cached_property
    def api(self) -> tweepy.Client:
        import tweepy

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

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        """The account's posts since the attempt: found, or not there when X returned all of them
        (a re-send of the same text is refused as a duplicate anyway), else cannot tell."""
        return lookup_parts(post, journal, lambda index, part, previous: self._find(journal, index, part),
                            self._published)

    def verify(self) -> str:
        with self.boundary():
            me = self.api.get_me(user_auth=True)
        return f"@{me['data']['username']}"

    def _published(self, ids: list[str]) -> Published:
        return Published(ids[0], f"https://x.com/{self.handle}/status/{ids[0]}", tuple(ids[1:]))

    def _send(self, journal: Journal, index: int, part: Part, previous: str | None) -> str:
        media_ids = [self._upload(m) for m in part.media] or None
        try:
            with self.boundary():
                answer = self.api.create_tweet(
                    text=part.text, in_reply_to_tweet_id=previous, media_ids=media_ids, user_auth=True
                )
        except Duplicate:
            found = self._find(journal, index, part)  # X gives no id: find our earlier post
            if not isinstance(found, str):
                raise
            return found
        return str(answer["data"]["id"])

    def _upload(self, media: Media) -> str:
        from promo.platforms.client_tweepy import raise_for_upload

        name, data, mime = media_file(self.platform, media)
        auth = self._oauth_handler().apply_auth()
        with self.boundary():
            response = self.http.post(
                "https://api.x.com/2/media/upload",
                files={"media": (name, data, mime)},
                data={"media_category": _category(media)},
                auth=auth,
            )
            if response.status_code == 404:
                return self._upload_v1(name, data)
            raise_for_upload(response)
            media_id = str(response.json()["data"]["id"])
            if media.alt:
                meta = {"id": media_id, "metadata": {"alt_text": {"text": media.alt[:1000]}}}
                raise_for_upload(self.http.post("https://api.x.com/2/media/metadata", json=meta, auth=auth))
        return media_id

    def _upload_v1(self, name: str, data: bytes) -> str:
        import tweepy

        api = tweepy.API(self._oauth_handler(), retry_count=0, timeout=self.timeout)
        api.session = self.http
        uploaded = api.simple_upload(name, file=io.BytesIO(data))
        return str(uploaded.media_id_string)

    def _oauth_handler(self) -> tweepy.OAuth1UserHandler:
        import tweepy

        return tweepy.OAuth1UserHandler(
            self.account.secret("api_key"),
            self.account.secret("api_secret"),
            self.account.secret("access_token"),
            self.account.secret("access_token_secret"),
        )

    def _find(self, journal: Journal, index: int, part: Part) -> PartFound:
        sent = attempted_at(journal, index)
        if journal.get(f"sending:{index}") is None:
            return NEVER_SENT
        since = sent - CLOCK_SLACK if sent is not None else None
        with self.boundary():
            recent = self.api.get_users_tweets(self._user_id(), max_results=RECENT, user_auth=True, start_time=since)
        wanted = _normalized(part.text)
        for tweet in recent.get("data") or []:
            if _normalized(tweet.get("text", "")) == wanted:
                return str(tweet["id"])
        if since is not None and not (recent.get("meta") or {}).get("next_token"):
            return NotPublished("not among the account's posts since the attempt")
        return CannotTell("not among the account's latest posts, which may not reach back to the attempt")

    def _user_id(self) -> str:
        if self.account.options.get("user_id"):
            return str(self.account.options["user_id"])
        with self.boundary():
            return str(self.api.get_me(user_auth=True)["data"]["id"])


def _category(media: Media) -> str:
    return {"gif": "tweet_gif", "video": "tweet_video"}.get(media.kind, "tweet_image")


SPEC = PlatformSpec(
    "x", "X", XAdapter, XRules,
    credentials=("api_key", "api_secret", "access_token", "access_token_secret"),
    required_options=("handle",), options=("user_id", "upload_base_url"), default_base_url="https://api.twitter.com",
)
