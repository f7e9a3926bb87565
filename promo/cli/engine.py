"""The engine's commands: run, worker, beat, status, pause, resume, retry, resolve, demo.

Each opens the library and calls one function; Celery, SQLAlchemy and rich load inside them.
"""

from __future__ import annotations

from typing import Any

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app


def _celery_args(app: App, concurrency: int | None, loglevel: str) -> list[str]:
    import os

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


@click.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Broker and database health, last dispatch, counts by state, posts needing attention.

    Exit code 0 when healthy and nothing needs a person, 1 when something needs attention,
    4 when the broker or database cannot be reached.

    \b
    Example:
        promo status
        promo status --json | jq '.attention[] | .id'
    """
    from promo.manage.status import engine_status
    from promo.store.db import make_engine

    report = engine_status(app.settings, make_engine(app.settings.database))
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_status(report)
    if not report.healthy:
        raise SystemExit(4)
    if report.attention or report.accounts:
        raise SystemExit(1)


def _print_status(report: Any) -> None:
    from rich.table import Table

    out = console()
    mark = {True: "[green]ok[/]", False: "[red]unreachable[/]"}
    out.print(f"broker    {mark[report.broker_ok]}  {report.broker}  {report.broker_error or ''}")
    out.print(f"database  {mark[report.database_ok]}  {report.database_error or ''}")
    out.print(f"last dispatch {report.last_dispatch or 'never'}, last sweep {report.last_sweep or 'never'}")
    out.print("  ".join(f"{state} {count}" for state, count in report.counts.items() if count) or "no posts")
    for hold in report.holds:
        out.print(f"[yellow]paused:[/] {hold} ('promo resume' releases it)")
    for account in report.accounts:
        until = f" blocked until {account['blocked_until']}" if account["blocked_until"] else ""
        out.print(f"[yellow]account {account['account']}:[/]{until} {account['reason']}")
    if report.attention:
        table = Table("id", "state", "account", "scheduled", "reason", "next step", title="Needs attention")
        for post in report.attention:
            table.add_row(
                str(post["id"]),
                post["status"],
                post["account"],
                post["scheduled_at"],
                post["reason"],
                post["next_step"],
            )
        out.print(table)


def _scope_options(func: Any) -> Any:
    func = click.option("--account", help="Only this account's posts.")(func)
    return click.option("--campaign", help="Only this campaign's posts.")(func)


@click.command()
@_scope_options
@click.option("--reason", default="", help="Why, for the event log.")
@pass_app
def pause(app: App, campaign: str | None, account: str | None, reason: str) -> None:
    """Hold posts (all, one campaign or one account) without failing them.

    \b
    Example:
        promo pause --campaign jessica-jones-s3 --reason "breaking news"
        promo pause
    """
    from promo.manage.pauses import Scope
    from promo.manage.pauses import pause as pause_posts
    from promo.store.db import transaction

    scope = Scope.of(campaign, account)
    with transaction(app.engine) as session:
        count = pause_posts(session, scope, reason=reason)
    click.echo(f"paused {scope.describe()}: {count} post(s) held; 'promo resume' releases them")


@click.command()
@_scope_options
@pass_app
def resume(app: App, campaign: str | None, account: str | None) -> None:
    """Release paused posts. Without options, every pause is lifted.

    Posts too late for their message by now are held for a person instead of being sent.

    \b
    Example:
        promo resume --campaign jessica-jones-s3
        promo resume
    """
    from promo.manage.pauses import Scope
    from promo.manage.pauses import resume as resume_posts
    from promo.store.db import transaction

    scope = Scope.of(campaign, account) if (campaign or account) else None
    with transaction(app.engine) as session:
        count = resume_posts(session, scope)
    click.echo(f"resumed {scope.describe() if scope else 'every pause'}: {count} post(s) released")


@click.command()
@click.argument("post_id", type=int)
@pass_app
def retry(app: App, post_id: int) -> None:
    """Send a failed (or held) post again, now.

    \b
    Example:
        promo retry 42
    """
    from promo.manage.attention import retry as retry_post
    from promo.store.db import transaction

    with transaction(app.engine) as session:
        retry_post(session, post_id)
    click.echo(f"post {post_id} scheduled to go out now")


@click.command()
@click.argument("post_id", type=int)
@click.option("--published", "url", metavar="URL", help="It is on the platform, here.")
@click.option("--not-published", "not_published", is_flag=True, help="It is not there: send it again.")
@pass_app
def resolve(app: App, post_id: int, url: str | None, not_published: bool) -> None:
    """Settle an unknown post after checking the platform: published (with its URL) or not.

    \b
    Example:
        promo resolve 42 --published https://mastodon.social/@studio/1131
        promo resolve 42 --not-published
    """
    from promo.errors import ConfigError
    from promo.manage.attention import resolve as resolve_post
    from promo.store.db import transaction

    if bool(url) == not_published:
        raise ConfigError("give exactly one of --published URL or --not-published")
    with transaction(app.engine) as session:
        target = resolve_post(session, post_id, published_url=url)
    click.echo(f"post {post_id} is now {target}")


@click.command()
@click.option(
    "--campaign",
    "campaign_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Campaign file (default: examples/jessica-jones-s3.yaml).",
)
@click.option("--timeout", default=60.0, show_default=True, help="Give up after this many seconds.")
@pass_app
def demo(app: App, campaign_file: str | None, timeout: float) -> None:
    """Publish the Jessica Jones seed campaign to a local outbox, on the embedded engine.

    Loads the campaign, shifts it to start a few seconds from now, runs the real engine (no Redis
    needed) and shows each post arriving in PROMO_HOME/demo/outbox.jsonl, then a summary.

    \b
    Example:
        promo demo
    """
    from promo.manage.demo import run_demo

    if not run_demo(app.settings, campaign_file=campaign_file, timeout=timeout):
        raise SystemExit(1)
