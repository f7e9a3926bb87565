"""The engine's commands: ``promo run``, ``worker`` and ``beat``.

Celery loads inside the commands, so that ``promo run --help`` stays quick.
"""

from __future__ import annotations

import os

import click

from promo.cli.common import App, pass_app


def _celery_args(app: App, concurrency: int | None, loglevel: str) -> list[str]:
    from workers.app import QUEUE

    return [
        "-Q",
        QUEUE,
        "-c",
        str(concurrency or app.settings.worker_concurrency),
        "--loglevel",
        loglevel,
        "-n",
        f"promo-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Rehearse on a copy of the ledger: check and log, send nothing."
)
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: setting).")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_app
def run(app: App, dry_run: bool, concurrency: int | None, loglevel: str) -> None:
    """Run a worker and the dispatcher in one process, for one machine.

    With no PROMO_BROKER_URL this needs no Redis: the broker is a SQLite file in PROMO_HOME.
    With --dry-run the ledger is copied to PROMO_HOME/rehearsal/ and the engine runs on the copy:
    every would-be payload is checked and logged as a JSON line, nothing is sent, and the real
    ledger is untouched.

    \b
    Example:
        promo run
        promo run --dry-run
    """
    from workers.app import create_app

    settings = app.settings
    if dry_run:
        from promo.engine.rehearsal import rehearsal_settings

        settings = rehearsal_settings(settings, app.engine)
        click.echo(
            f"rehearsal: ledger copied to {settings.home}; payloads logged to "
            f"{settings.home / 'rehearsal.jsonl'}",
            err=True,
        )
    else:
        _ = app.engine  # migrate before the first task
    celery = create_app(settings)
    celery.worker_main(
        ["worker", "-B", "--scheduler", "celery.beat:Scheduler", *_celery_args(app, concurrency, loglevel)]
    )


@click.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: setting).")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_app
def worker(app: App, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker that publishes posts (start as many as you like, on any machine).

    \b
    Example:
        PROMO_BROKER_URL=redis://redis:6379/0 promo worker --concurrency 4
    """
    from workers.app import create_app

    create_app(app.settings).worker_main(["worker", *_celery_args(app, concurrency, loglevel)])


@click.command()
@click.option("--loglevel", default="INFO", show_default=True)
@pass_app
def beat(app: App, loglevel: str) -> None:
    """Run the schedule: dispatch due posts, sweep stale claims, reconcile unknown posts.

    Safe to run twice: claims are atomic in the database.

    \b
    Example:
        PROMO_BROKER_URL=redis://redis:6379/0 promo beat
    """
    from workers.app import create_app

    create_app(app.settings).start(["beat", "--scheduler", "celery.beat:Scheduler", "--loglevel", loglevel])
