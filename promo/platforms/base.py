"""The adapter interface every platform module implements, and the factory that builds one.

An adapter is built for one account with its credentials and an HTTP session injected, so tests
hand it a session pointed at a local fake server. It never reads the environment.

- ``check(post)``: the platform's rules, pure (no I/O, no credentials): preview uses it.
- ``publish(post, journal)``: one API call sequence; returns ``Published`` or raises a
  ``PublishError`` subclass. Notes that must survive a crash mid-sequence (a container id, the ids
  of thread parts already posted) go in ``journal`` before the next call.
- ``lookup(post, journal)``: was it already published? ``Published``, ``None`` (certainly not),
  or raises ``Ambiguous`` when the platform cannot tell.
- ``verify()``: a read-only call proving the credentials work; returns who we are, e.g. ``@promo``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from promo.posts import Journal, Post, Published, Report
from promo.rules import rules_for

if TYPE_CHECKING:
    from promo.accounts import Account


class Adapter(Protocol):
    platform: ClassVar[str]

    def check(self, post: Post) -> Report: ...

    def publish(self, post: Post, journal: Journal) -> Published: ...

    def lookup(self, post: Post, journal: Journal) -> Published | None: ...

    def verify(self) -> str: ...


class SessionCache(Protocol):
    """Small shared key/value store for login sessions (Bluesky's 300 logins/day), shared by workers."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryCache(dict[str, str]):
    """A SessionCache for one process: the default, and for tests."""

    def set(self, key: str, value: str) -> None:
        self[key] = value


class BaseAdapter:
    """Shared constructor and ``check``; subclasses add publish, lookup and verify."""

    platform: ClassVar[str] = ""

    def __init__(self, account: Account, *, timeout: float = 10.0, session: Any = None,
                 cache: SessionCache | None = None) -> None:
        self.account = account
        self.timeout = timeout
        self.session = session
        self.cache: SessionCache = cache if cache is not None else MemoryCache()
        self.rules = rules_for(self.platform, account.options)

    def check(self, post: Post) -> Report:
        return self.rules.check(post)


def build_adapter(account: Account, *, timeout: float = 10.0, session: Any = None,
                  cache: SessionCache | None = None) -> Adapter:
    """The adapter for ``account``; its client library is imported only now."""
    module_name, _, class_name = (account.adapter or account.spec.adapter).partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    adapter: Adapter = cls(account, timeout=timeout, session=session, cache=cache)
    return adapter
