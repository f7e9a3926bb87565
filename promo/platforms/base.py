"""What a platform is to promo: its ``PlatformSpec`` (data) and its adapter (the ``Adapter`` interface).

Each platform module (``promo/platforms/<name>.py``) ends with ``SPEC = PlatformSpec(...)``: its
name, its rules class (``promo/rules/<name>.py``, the one source of its limits), its adapter class,
the credentials an account needs (read from the environment, never from files), the options it may
set in promo.toml, and the default ``base_url``. Platform modules import their client library only
when an adapter first calls it, so reading a spec or checking text loads none.

An adapter is built for one account with its credentials, an HTTP client and a login cache
injected, so tests hand it a client pointed at a local fake server. It never reads the environment.

- ``check(post)``: the platform's rules, pure (no I/O, no credentials): preview uses it.
- ``publish(post, journal)``: one API call sequence; returns ``Published`` or raises a
  ``PublishError`` subclass. Notes that must survive a crash mid-sequence (a container id, the ids
  of thread parts already posted) go in ``journal`` before the next call.
- ``lookup(post, journal)``: was it already published? ``Published`` (the platform's id and URL),
  ``NotPublished`` (certainly not: sending it again cannot double it) or ``CannotTell`` (the reason a
  person must look). A look-up that fails on the way (a timeout, a 500) raises a ``PublishError``,
  which the reconciler also reads as "cannot tell".
- ``verify()``: a read-only call proving the credentials work; returns who we are, e.g. ``@promo``.

Every library call runs inside ``self.boundary()``: the library's ``error_map`` applied by
``promo.platforms.boundary.boundary``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from promo.platforms.boundary import ErrorMap, boundary
from promo.posts import Journal, Lookup, Post, Published, Report

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    import requests

    from promo.platforms.mediahost import MediaHost
    from promo.rules.base import TextRules

HttpClient = TypeVar("HttpClient")


class Adapter(Protocol):
    platform: ClassVar[str]

    def check(self, post: Post) -> Report: ...

    def publish(self, post: Post, journal: Journal) -> Published: ...

    def lookup(self, post: Post, journal: Journal) -> Lookup: ...

    def verify(self) -> str: ...


class Account(Protocol):
    """What an adapter knows of the account it posts as (``promo.accounts.Account`` is one).

    Platforms depend on this shape, not on ``promo.accounts``: accounts are read from promo.toml
    against the platform specs, so the dependency runs one way, accounts -> platforms.
    """

    @property
    def name(self) -> str: ...

    @property
    def base_url(self) -> str | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    @property
    def adapter(self) -> str | None: ...

    @property
    def spec(self) -> PlatformSpec: ...

    @property
    def api_base(self) -> str: ...

    def secret(self, name: str) -> str: ...


class LoginCache(Protocol):
    """Small key/value store for platform logins (Bluesky's 300 logins/day), shared by workers."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryLoginCache(dict[str, str]):
    """A LoginCache for one process: the default, and for tests."""

    def set(self, key: str, value: str) -> None:
        self[key] = value


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    title: str
    adapter: type[BaseAdapter[Any]]
    rules: type[TextRules]
    credentials: tuple[str, ...] = ()  # secrets, from PROMO_ACCOUNT_<NAME>_<CREDENTIAL>
    required_options: tuple[str, ...] = ()
    options: tuple[str, ...] = ()      # optional, non-secret
    default_base_url: str | None = None  # scheme://host[:port]; the adapter adds every path
    optional_credentials: tuple[str, ...] = ()  # read like credentials, never reported missing (Slack's bot_token)


class BaseAdapter(Generic[HttpClient]):
    """Shared constructor, ``check`` and ``boundary``; subclasses add publish, lookup and verify.

    ``HttpClient`` is the client the platform's library speaks through (``httpx.Client``,
    ``requests.Session``); ``given_http`` is the one a caller handed in, or None to make one.
    """

    platform: ClassVar[str] = ""

    def __init__(self, account: Account, *, timeout: float = 10.0, http: HttpClient | None = None,
                 login_cache: LoginCache | None = None, home: Path | None = None,
                 media_host: MediaHost | None = None) -> None:
        self.account = account
        self.media_host = media_host  # where networks that fetch by URL get media (promo.platforms.mediahost)
        self.timeout = timeout
        self.home = home  # promo's state folder (the ``home`` setting): where a relative file option points
        self.given_http = http
        self.login_cache: LoginCache = login_cache if login_cache is not None else MemoryLoginCache()
        self.rules = account.spec.rules(account.options)

    @property
    def error_map(self) -> ErrorMap:
        """What the client library's exceptions mean; adapters without a library map nothing."""
        return ErrorMap(())

    @contextmanager
    def boundary(self) -> Iterator[None]:
        with boundary(self.platform, self.error_map):
            yield

    def check(self, post: Post) -> Report:
        return self.rules.check(post)

    def publish(self, post: Post, journal: Journal) -> Published:
        raise NotImplementedError

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        raise NotImplementedError

    def verify(self) -> str:
        raise NotImplementedError


def build_adapter(account: Account, *, timeout: float = 10.0, http: httpx.Client | requests.Session | None = None,
                  login_cache: LoginCache | None = None, home: Path | None = None,
                  media_host: MediaHost | None = None) -> Adapter:
    """The adapter for ``account``: its platform's, or the class its ``adapter = "module:Class"`` names.

    ``home`` (the ``home`` setting) and ``media_host`` are passed only when given, so a team's own
    class need not take them.
    """
    cls: type[BaseAdapter[Any]] = account.spec.adapter
    if account.adapter:
        module_name, _, class_name = account.adapter.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
    extra: dict[str, Any] = {"home": home} if home is not None else {}
    if media_host is not None:
        extra["media_host"] = media_host
    adapter: Adapter = cls(account, timeout=timeout, http=http, login_cache=login_cache, **extra)
    return adapter
