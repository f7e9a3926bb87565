"""The ``promo`` command line: thin commands over the library.

Each command lives in the module named for what it is about (``COMMANDS`` maps name to module):
``authoring`` (init, preview, check), ``planning`` (apply), ``posts`` (queue, show, cancel,
reschedule, post), ``calendar`` (calendar), ``approvals`` (review, approve, reject), ``store``
(migrate), ``engine`` (run, worker, beat), ``operations`` (status, pause, resume, retry, resolve),
``monitoring`` (metrics), ``notify`` (notify list and retry), ``demo``, ``accounts`` (accounts and its
check, connect, refresh and rotate-key) and ``config``.
``common`` holds what they share, ``display`` the drawing several of them use, ``events`` the lines
the engine's commands print. A module is imported only when one of its commands runs, so
``promo --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute", grouped as ``promo --help`` shows them
COMMANDS: dict[str, str] = {
    # authoring
    "init": "promo.cli.authoring:init",
    "preview": "promo.cli.authoring:preview",
    "check": "promo.cli.authoring:check",
    # planning
    "apply": "promo.cli.planning:apply",
    # the queue
    "queue": "promo.cli.posts:queue",
    "show": "promo.cli.posts:show",
    "cancel": "promo.cli.posts:cancel",
    "reschedule": "promo.cli.posts:reschedule",
    "post": "promo.cli.posts:post",
    "calendar": "promo.cli.calendar:calendar",
    "slots": "promo.cli.slots:slots",
    # approvals
    "review": "promo.cli.approvals:review",
    "approve": "promo.cli.approvals:approve",
    "reject": "promo.cli.approvals:reject",
    # the store
    "migrate": "promo.cli.store:migrate",
    # the engine
    "run": "promo.cli.engine:run",
    "worker": "promo.cli.engine:worker",
    "beat": "promo.cli.engine:beat",
    # operations
    "status": "promo.cli.operations:status",
    "pause": "promo.cli.operations:pause",
    "resume": "promo.cli.operations:resume",
    "retry": "promo.cli.operations:retry",
    "resolve": "promo.cli.operations:resolve",
    "metrics": "promo.cli.monitoring:metrics",
    "notify": "promo.cli.notify:notify",
    "demo": "promo.cli.demo:demo",
    # accounts and settings
    "accounts": "promo.cli.accounts:accounts",
    "config": "promo.cli.config:config",
}

SUMMARIES: dict[str, str] = {
    "init": "Scaffold a working project folder.",
    "preview": "Render every post and check it against each platform's rules.",
    "check": "Will this text fit on a platform?",
    "apply": "Plan and queue a campaign's posts (idempotent).",
    "queue": "List posts in the ledger.",
    "show": "Show one post and its history.",
    "cancel": "Cancel a post that has not been sent.",
    "reschedule": "Move a post that has not been sent.",
    "post": "Queue an ad hoc post for one account.",
    "calendar": "Posts by day in the terminal, or an iCalendar feed (--ics) for Outlook and Google.",
    "slots": "Each account's time slots: the next free and taken ones.",
    "review": "Posts waiting for approval, and what changed since their last approval.",
    "approve": "Approve the waiting posts of a campaign, an announcement or one post.",
    "reject": "Reject posts: they wait for approval, the rejection as their reason.",
    "migrate": "Create or upgrade the database tables.",
    "run": "Run worker and dispatcher in one process (one machine).",
    "worker": "Run a Celery worker that publishes posts.",
    "beat": "Run the dispatcher and sweeper schedule.",
    "status": "Broker, database, live workers, counts by state, posts needing attention.",
    "pause": "Hold posts (all, a campaign or an account) without failing them.",
    "resume": "Release paused posts.",
    "retry": "Send a failed post again.",
    "resolve": "Settle an unknown post: published (with its URL) or not.",
    "metrics": "Serve Prometheus metrics read from the store.",
    "notify": "Signed webhook notifications of post and campaign events: list, retry.",
    "demo": "Publish the Jessica Jones seed campaign to a local outbox.",
    "accounts": "List the configured accounts; 'accounts check' verifies them.",
    "config": "Show the effective settings, secrets masked.",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """A misspelt command names the nearest one (``promo reschedul`` -> ``reschedule``)."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES[name]) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="promo")
def cli() -> None:
    """promo: schedule promotional announcements across social networks, exactly once.

    \b
    Example:
        promo preview examples/jessica-jones-s3.yaml
        promo apply examples/jessica-jones-s3.yaml
        promo run
    """


def main(argv: list[str] | None = None) -> Any:
    from promo.cli.common import run_cli

    return run_cli(cli, argv)
