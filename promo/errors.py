"""promo's whole error tree.

::

    PromoError
    +-- ConfigError          settings, accounts file, unknown account or platform
    +-- CampaignError        a campaign file is invalid (.file, .line, .field)
    +-- TemplateError        missing template, undefined name, syntax error (.file, .line, .name)
    +-- PostInvalid          a post breaks a platform rule (.problems)
    +-- NotFound             no post / campaign with that id
    +-- TransitionRefused    a post is not in a state that allows the action (.post_id, .status)
    +-- IllegalTransition    the ledger's state machine has no such move: a bug, nothing is written
    +-- PublishError         .platform; __cause__ is the client library's error
        +-- Retryable        refused before acceptance: 5xx, connection refused, timeout before sending
        |   +-- RateLimited  .retry_at (aware datetime) from the platform's reset header
        +-- Ambiguous        timeout after the request was sent: outcome unknown, never blindly retried
        +-- Permanent        4xx the platform will never accept as is (.reason)
            +-- Duplicate    the platform says this content is already posted (.existing_id, may be None)
            +-- AuthError    401 / revoked token: a person must re-authorise

Library errors are caught only inside adapters and translated there. The CLI turns any
PromoError into one line and exit code 1 (a refused input; 2 is click's, for usage; 70 only for a
bug); the worker turns each PublishError class into a ledger transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promo.posts import Problem


class PromoError(Exception):
    """Base of every error promo raises on purpose."""

    exit_code = 1


class ConfigError(PromoError):
    """Settings or the accounts file are wrong, or name something unknown."""


class NotFound(PromoError):
    """No record with that id."""


class CampaignError(PromoError):
    """A campaign file is invalid. The message names the file, line and field."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field, self.reason = file, line, field, message
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.file or "<campaign>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.reason}"


class TemplateError(PromoError):
    """A template is missing, does not parse, or uses a name it was not given."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 name: str | None = None) -> None:
        self.file, self.line, self.name, self.reason = file, line, name, message
        where = file or "<template>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}")


class PostInvalid(PromoError):
    """A post breaks one or more platform rules."""

    def __init__(self, problems: Sequence[Problem], context: str = "") -> None:
        self.problems = list(problems)
        text = "; ".join(p.message for p in self.problems)
        super().__init__(f"{context}: {text}" if context else text)


class TransitionRefused(PromoError):
    """The post is not in a state that allows this action."""

    def __init__(self, post_id: int, status: str, action: str) -> None:
        self.post_id, self.status, self.action = post_id, status, action
        super().__init__(f"post {post_id} is {status}; cannot {action}")


class IllegalTransition(PromoError):
    """A move the ledger's state machine (``promo.store.states``) does not have: the caller is wrong."""

    def __init__(self, current: str, target: str, *, action: str = "", post_id: int | None = None) -> None:
        self.current, self.target, self.action, self.post_id = current, target, action, post_id
        post = f"post {post_id}: " if post_id is not None else ""
        doing = f" ({action})" if action else ""
        super().__init__(f"{post}no move from {current} to {target}{doing} in the ledger's state machine; "
                         "nothing was written")


class PublishError(PromoError):
    """Publishing failed. Subclasses say what the engine should do next."""

    def __init__(self, message: str, *, platform: str = "") -> None:
        self.platform = platform
        super().__init__(f"{platform}: {message}" if platform else message)


class Retryable(PublishError):
    """Refused before the platform accepted anything: safe to try again later."""


class RateLimited(Retryable):
    """The platform asked us to wait until .retry_at."""

    def __init__(self, message: str, *, platform: str = "", retry_at: datetime | None = None) -> None:
        self.retry_at = retry_at
        super().__init__(message, platform=platform)


class Ambiguous(PublishError):
    """The request was sent but no answer came back: the post may exist."""


class Permanent(PublishError):
    """The platform will never accept this post as it is."""


class Duplicate(Permanent):
    """The platform says this exact content already exists."""

    def __init__(self, message: str, *, platform: str = "", existing_id: str | None = None) -> None:
        self.existing_id = existing_id
        super().__init__(message, platform=platform)


class AuthError(Permanent):
    """Credentials were refused or revoked: a person must re-authorise the account."""


__all__ = [
    "Ambiguous",
    "AuthError",
    "CampaignError",
    "ConfigError",
    "Duplicate",
    "IllegalTransition",
    "NotFound",
    "Permanent",
    "PostInvalid",
    "PromoError",
    "PublishError",
    "RateLimited",
    "Retryable",
    "TemplateError",
    "TransitionRefused",
]
