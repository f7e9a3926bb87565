"""Reddit through PRAW: link, text, image and video submissions to one subreddit, with flair, spoiler and NSFW.

The post's first line is its title, the rest its body (``promo.rules.reddit``): an attached video or
image makes a video or image post, a body that is one URL a link post, else a text post. The
account's ``subreddit`` is where it goes; ``flair_id`` / ``flair_text``, ``spoiler`` and ``nsfw``
(account options) go with every submission.

Before submitting, the subreddit's own rules are read live (``GET /api/v1/{subreddit}/post_requirements``
and ``/r/{subreddit}/about`` for the kinds of post it takes) and checked
(``promo.rules.reddit.requirement_problems``): a post they refuse is ``Permanent`` with the reason,
and nothing is submitted. Preview checks only Reddit's fixed limits (it reads no network);
``promo accounts check`` shows the subreddit's rules and caches them (``verify`` leaves them in
``facts``), and ``promo apply`` checks posts against that copy.

Media go up first, as PRAW does it (an upload lease from ``/api/media/asset.json``, the file POSTed
to the S3 URL it names, streamed from disk), each URL journaled (``media:0:0``; a video's poster,
its cover or first frame, ``media:0:1``), so a crash mid-upload leaves nothing posted and a retry
reuses what is up. Then Reddit makes the post from the upload and says so on a websocket, whose
redirect names the post. The journal notes ``sending:0`` (with the time) just before the
submission and ``part:0`` (the post's id) after it. A publish that finds ``sending:0`` without an id (a crash, a
timeout, a 5xx) looks first: the account's newest submissions in the subreddit with the same title
since the attempt. Found: that is the post; a link or text post not found: not published (Reddit
makes them at once); a media post not found within ``MEDIA_GRACE``: cannot tell (Reddit may still
be making it). ``base_url`` is the OAuth API (default ``https://oauth.reddit.com``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from promo.errors import Ambiguous, Permanent
from promo.platforms.base import BaseAdapter, PlatformSpec
from promo.platforms.boundary import ErrorMap
from promo.platforms.media import local_path
from promo.platforms.progress import attempted_at, media_key, part_key, upload_once, was_attempted
from promo.posts import CannotTell, Journal, Lookup, Media, NotPublished, Part, Post, Published
from promo.rules.reddit import RedditRules, requirement_problems, requirements_summary, split, submission_kind
from promo.times import iso, utcnow

if TYPE_CHECKING:
    import praw
    import requests  # noqa: F401  (the quoted generic argument below)

WEBSITE = "https://www.reddit.com"
MEDIA_GRACE = timedelta(minutes=15)  # how long Reddit may take to make a media post from its upload
CLOCK_SLACK = timedelta(minutes=2)   # Reddit's clock against ours, when matching a post to an attempt
RECENT = 25                          # submissions read by a look-up
POSTER_SIDE, POSTER_BYTES = 1280, 1_000_000  # the poster made from a video's cover or first frame


class RedditAdapter(BaseAdapter["requests.Session"]):
    platform = "reddit"
    facts: dict[str, Any] | None = None  # what ``verify`` read of the subreddit's rules (no secret)

    @cached_property
    def error_map(self) -> ErrorMap:
        from promo.platforms.client_praw import PRAW_ERRORS

        return PRAW_ERRORS

    @cached_property
    def reddit(self) -> praw.Reddit:
        from promo.platforms.client_praw import make_reddit

        options = self.account.options
        return make_reddit(self.account.api_base, str(options.get("reddit_url") or WEBSITE),
                           self.account.secret("access_token"), self.timeout,
                           options.get("media_upload_url"), self.given_http)

    @property
    def subreddit_name(self) -> str:
        return str(self.account.options["subreddit"]).removeprefix("r/").removeprefix("/r/")

    # -- the adapter interface ------------------------------------------------------------------
    def publish(self, post: Post, journal: Journal) -> Published:
        done = journal.get(part_key(0))
        if done:
            return self._published(done)
        part = post.parts[0]
        if was_attempted(journal, 0):
            found = self._find(part, journal)
            if isinstance(found, Published):
                journal.record(part_key(0), found.platform_id)
                return found
            if isinstance(found, CannotTell):
                raise Ambiguous(found.reason, platform=self.platform)
        self._check_subreddit(part)
        media = self._media_files(part, journal)
        journal.record("sending:0", iso(utcnow()))
        post_id = self._submit(part, media)
        journal.record(part_key(0), post_id)
        return self._published(post_id)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        done = journal.get(part_key(0))
        if done:
            return self._published(done)
        if not was_attempted(journal, 0):
            return NotPublished("never sent")
        return self._find(post.parts[0], journal)

    def verify(self) -> str:
        """Who posts where, and the subreddit's rules; ``facts`` keeps them for ``promo accounts check``'s cache."""
        with self.boundary():
            me = self.reddit.user.me()
        rules, allowed = self.subreddit_rules()
        self.facts = {"subreddit": self.subreddit_name, "requirements": rules, "allowed": allowed}
        return f"u/{me} posting to r/{self.subreddit_name} ({requirements_summary(rules, allowed)})"

    def subreddit_rules(self) -> tuple[dict[str, Any], dict[str, bool]]:
        """The subreddit's ``post_requirements`` and the kinds of post it takes, read now."""
        with self.boundary():
            subreddit = self.reddit.subreddit(self.subreddit_name)
            rules = dict(subreddit.post_requirements())
            kinds = str(getattr(subreddit, "submission_type", "any") or "any")
            allowed = {"link": kinds in ("any", "link"), "self": kinds in ("any", "self"),
                       "image": bool(getattr(subreddit, "allow_images", True)),
                       "video": bool(getattr(subreddit, "allow_videos", True))}
        return rules, allowed

    # -- submitting -----------------------------------------------------------------------------
    def _media_files(self, part: Part, journal: Journal) -> dict[str, str]:
        """The media's URLs on Reddit's upload host, each uploaded once (journaled before it is used),
        and resolved first: a missing file is Permanent before anything is sent."""
        from promo.platforms.client_praw import upload

        if len(part.media) > 1:
            raise Permanent("Reddit takes one image or one video per post here", platform=self.platform)
        if not part.media:
            return {}
        item = part.media[0]
        path, mime = local_path(self.platform, item), item.mime or "application/octet-stream"
        poster = poster_of(self.platform, item) if item.kind == "video" else None
        with self.boundary():
            urls = {"media": upload_once(journal, media_key(0, 0), lambda: upload(self.reddit, path, mime))}
            if poster is not None:
                urls["poster"] = upload_once(journal, media_key(0, 1),
                                             lambda: upload(self.reddit, None, "image/jpeg", poster))
        return urls

    def _check_subreddit(self, part: Part) -> None:
        """The subreddit's own rules, read now; a post they refuse is Permanent and never sent."""
        rules, allowed = self.subreddit_rules()
        problems = requirement_problems(rules, part, flair_id=self.account.options.get("flair_id"), allowed=allowed)
        if problems:
            raise Permanent(f"r/{self.subreddit_name}'s rules refuse the post: {'; '.join(problems)}",
                            platform=self.platform)

    def _submit(self, part: Part, media: dict[str, str]) -> str:
        from promo.platforms.client_praw import Uploaded

        title, body = split(part.text)
        kind = submission_kind(part)
        options = self.account.options
        common: dict[str, Any] = {"nsfw": bool(options.get("nsfw", False)),
                                  "spoiler": bool(options.get("spoiler", False)),
                                  "flair_id": options.get("flair_id"), "flair_text": options.get("flair_text")}
        wait = int(float(options.get("media_wait_s", 60)))
        with self.boundary():
            subreddit = self.reddit.subreddit(self.subreddit_name)
            if kind == "video":
                video: dict[str, Any] = {"media": Uploaded(media["media"]), "thumbnail": Uploaded(media["poster"])}
                made = subreddit.submit(title, video=video, selftext=body or None, timeout=wait, **common)
            elif kind == "image":
                made = subreddit.submit(title, image=Uploaded(media["media"]),
                                        selftext=body or None, timeout=wait, **common)
            elif kind == "link":
                made = subreddit.submit(title, url=body, **common)
            else:
                made = subreddit.submit(title, selftext=body, **common)
        if made is None or not getattr(made, "id", None):
            raise Ambiguous("Reddit took the submission without naming the post", platform=self.platform)
        return str(made.id)

    def _published(self, post_id: str) -> Published:
        return Published(post_id, f"{WEBSITE}/r/{self.subreddit_name}/comments/{post_id}/")

    # -- looking -------------------------------------------------------------------------------
    def _find(self, part: Part, journal: Journal) -> Lookup:
        """The account's newest submissions in the subreddit with this title since the attempt."""
        title, _ = split(part.text)
        since = attempted_at(journal, 0)
        with self.boundary():
            me = self.reddit.user.me()
            assert me is not None
            for item in me.submissions.new(limit=RECENT):
                here = str(item.subreddit).lower() == self.subreddit_name.lower()
                recent = since is None or float(item.created_utc) >= (since - CLOCK_SLACK).timestamp()
                if here and recent and item.title == title:
                    return self._published(str(item.id))
        if submission_kind(part) in ("image", "video") and (since is None or utcnow() - since < MEDIA_GRACE):
            return CannotTell("the media post is not among the account's submissions yet; Reddit may still be "
                              "making it from the upload")
        return NotPublished(f"not among the account's {RECENT} newest submissions in r/{self.subreddit_name}")


def describe_requirements(rules: dict[str, Any]) -> str:
    """The subreddit's rules in a few words (``promo.rules.reddit.requirements_summary``)."""
    return requirements_summary(rules)


def poster_of(platform: str, media: Media) -> bytes:
    """The video's poster image (Reddit requires one) as JPEG: its cover (an image or a frame time),
    else its first frame."""
    from promo.platforms.covers import cover_jpeg

    chosen = media if media.cover else replace(media, cover="0")
    poster = cover_jpeg(platform, chosen, POSTER_SIDE, POSTER_BYTES)
    assert poster is not None
    return poster


SPEC = PlatformSpec(
    "reddit", "Reddit", RedditAdapter, RedditRules,
    credentials=("access_token",), required_options=("subreddit",),
    options=("flair_id", "flair_text", "spoiler", "nsfw", "reddit_url", "media_upload_url", "media_wait_s"),
    default_base_url="https://oauth.reddit.com",
)
