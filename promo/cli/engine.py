"""The engine's commands: ``promo run``, ``worker`` and ``beat``.

Each prints a start line, then one line per post event (``promo.cli.events``); Celery's banner
and its per-task chatter only with ``--verbose``. Celery loads inside the commands, so that
``promo run --help`` stays quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import App, pass_app

if TYPE_CHECKING:
    from celery import Celery

    from promo.settings import Settings

F = Callable[..., Any]


def verbose_option(func: F) -> F:
    return click.option("--verbose", "-v", is_flag=True,
                        help="Also show Celery's banner and a line per task.")(func)


def loglevel_option(func: F) -> F:
    return click.option("--loglevel", default=None,
                        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
                        help="Celery's log level with --verbose (default INFO; without it, WARNING).")(func)


def _celery_args(app: App, concurrency: int | None, loglevel: str) -> list[str]:
    from workers.app import QUEUE

    return ["-Q", QUEUE, "-c", str(concurrency or app.settings.worker_concurrency), "--loglevel", loglevel,
            "-n", f"promo-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]


def _prepare(app: App, verbose: bool, loglevel: str | None) -> tuple[list[str], str]:
    """Set up the output (event lines; Celery's logging replaced unless verbose); Celery's global
    options and log level."""
    from promo.cli.events import configure_quiet, show_events

    show_events(app.zone)
    if verbose:
        return [], (loglevel or "INFO").upper()
    configure_quiet(app.zone)
    return ["--quiet"], (loglevel or "WARNING").upper()


def _on_ready(app: App, what: str) -> None:
    """A line when the worker is ready to take posts."""
    import logging

    from celery import signals

    def ready(**_: Any) -> None:
        logging.getLogger("promo.events").info("ready: %s", what)

    signals.worker_ready.connect(ready, weak=False)


def _run_celery(command: str, celery: Celery, argv: list[str]) -> None:
    """Run a Celery command and exit with its status, for supervisors (``Restart=on-failure``).

    The worker's status is 1 after "Unrecoverable error", a broker given up on or a pool that cannot
    start, and 0 after a warm stop. ``worker_main`` and ``Celery.start`` both drop it: Celery's click
    command, run with ``standalone_mode=False``, returns it instead of raising. Beat raises instead;
    it ends the same way, with its error on one line.
    """
    from celery.bin.celery import celery as celery_command

    celery_command.params[0].default = celery  # what Celery.start does: --app is this app
    try:
        code = celery_command.main(args=argv, standalone_mode=False)
    except Exception as exc:  # beat: Celery has already logged it with its traceback
        click.echo(f"error: promo {command} stopped: {type(exc).__name__}: {exc}", err=True)
        code = 1
    finally:
        celery_command.params[0].default = None
    if isinstance(code, int) and code:
        sys.exit(code)  # not click's Exit: promo's click, not standalone either, would drop it too


def _broker(settings: Settings) -> str:
    from promo.settings import mask_url

    if settings.broker.startswith("sqla+sqlite"):
        return "the embedded broker"
    return f"the broker {mask_url(settings.broker)}"


def _start_line(command: str, settings: Settings, concurrency: int | None) -> str:
    from promo.settings import mask_url

    processes = concurrency or settings.worker_concurrency
    return (f"promo {command}: store {mask_url(settings.database)}, {_broker(settings)}, {processes} worker "
            f"process{'es' if processes != 1 else ''}; times in {settings.timezone}. Ctrl-C stops.")


def _next_post(app: App) -> str:
    """``the next post: 12 (outbox) at 17:36:00 -08:00``, or that none is waiting."""
    from promo.cli.events import clock
    from promo.manage.posts import list_posts

    upcoming = list_posts(app.engine, status="scheduled", limit=1)
    if not upcoming:
        return "no post is scheduled yet ('promo apply FILE' queues a campaign); waiting for due posts"
    first = upcoming[0]
    return f"waiting for due posts; the next: post {first.id} ({first.account}) at {clock(first.due_at, app.zone)}"


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Rehearse on a copy of the ledger: check and log, send nothing."
)
@click.option("--concurrency", "-c", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: setting).")
@verbose_option
@loglevel_option
@pass_app
def run(app: App, dry_run: bool, concurrency: int | None, verbose: bool, loglevel: str | None) -> None:
    """Run a worker and the dispatcher in one process, for one machine.

    Prints a line per post as it goes out (time, post, account, outcome, URL). With no
    PROMO_BROKER_URL this needs no Redis: the broker is a SQLite file in PROMO_HOME.
    With --dry-run the ledger is copied to PROMO_HOME/rehearsal/ and the engine runs on the copy:
    every would-be payload is checked and logged as a JSON line, nothing is sent, and the real
    ledger is untouched.

    \b
    Example:
        promo run
        promo run --dry-run
        promo run --verbose
    """
    from workers.app import BEAT_SCHEDULER, create_app

    settings = app.settings
    if dry_run:
        from promo.engine.rehearsal import rehearsal_settings

        settings = rehearsal_settings(settings, app.engine)
        click.echo(f"rehearsal: ledger copied to {settings.home}; payloads logged to "
                   f"{settings.home / 'rehearsal.jsonl'}")
    click.echo(_start_line("run", settings, concurrency))
    _on_ready(app, _next_post(app))  # also migrates the store before the first task
    app.engine.dispose()  # no SQLite connection may cross the fork into the pool and the beat (issue 12)
    options, level = _prepare(app, verbose, loglevel)
    argv = [*options, "worker", "-B", "--scheduler", BEAT_SCHEDULER, *_celery_args(app, concurrency, level)]
    _run_celery("run", create_app(settings), argv)


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: setting).")
@verbose_option
@loglevel_option
@pass_app
def worker(app: App, concurrency: int | None, verbose: bool, loglevel: str | None) -> None:
    """Run a Celery worker that publishes posts (start as many as you like, on any machine).

    Prints a line per post as it goes out; --verbose adds Celery's own output.

    \b
    Example:
        PROMO_BROKER_URL=redis://redis:6379/0 promo worker --concurrency 4
    """
    from workers.app import create_app

    click.echo(_start_line("worker", app.settings, concurrency))
    _on_ready(app, "waiting for posts from the broker")
    options, level = _prepare(app, verbose, loglevel)
    _run_celery("worker", create_app(app.settings), [*options, "worker", *_celery_args(app, concurrency, level)])


@click.command()
@verbose_option
@loglevel_option
@pass_app
def beat(app: App, verbose: bool, loglevel: str | None) -> None:
    """Run the schedule: dispatch due posts, sweep stale claims, reconcile unknown posts.

    The beat does this work itself, on its own threads, and sends the claimed posts to the
    workers, which publish them. Safe to run twice: claims are atomic in the database. Prints
    each batch it queues; the workers print the post events.

    \b
    Example:
        PROMO_BROKER_URL=redis://redis:6379/0 promo beat
    """
    from workers.app import BEAT_SCHEDULER, create_app

    settings = app.settings
    click.echo(f"promo beat: dispatching due posts every {settings.dispatch_interval:g} s and sweeping every "
               f"{settings.sweep_interval:g} s, through {_broker(settings)}. Ctrl-C stops.")
    options, level = _prepare(app, verbose, loglevel)
    argv = [*options, "beat", "--scheduler", BEAT_SCHEDULER, "--loglevel", level]
    _run_celery("beat", create_app(settings), argv)
