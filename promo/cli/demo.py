"""``promo demo``: the seed campaign published to a local outbox, shown as it happens.

The library (``promo.manage.demo``) queues the campaign and watches the ledger and the outbox; this
module draws its progress and summary, and gives it the way to start the engine: ``promo run`` in
a subprocess of its own (``engine_subprocess``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from promo.cli.common import App, console, pass_app
from promo.cli.display import report_broken
from promo.manage.demo import Arrived, DemoEvent, DemoResult, Queued, run_demo
from promo.planning.campaign import RulesBroken

ENGINE = [sys.executable, "-c", "from promo.cli import main; main()", "run", "-c", "2"]


@click.command()
@click.option("--campaign", "campaign_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Campaign file, with the accounts and templates of your settings "
                   "(default: the Jessica Jones seed campaign that ships with promo).")
@click.option("--timeout", type=click.FloatRange(min=1, max=3600), default=60.0, show_default=True,
              help="Give up after this many seconds.")
@pass_app
def demo(app: App, campaign_file: Path | None, timeout: float) -> None:
    """Publish the Jessica Jones seed campaign to a local outbox, on the embedded engine.

    Loads the campaign (it ships with promo: this works in any folder), shifts it to start a few
    seconds from now, runs the real engine (no Redis needed) and shows each post arriving in
    PROMO_HOME/demo/outbox.jsonl, then a summary.

    \b
    Example:
        promo demo
        promo demo --campaign campaign.yaml --timeout 120
    """
    out = console()
    try:
        with DemoProgress(out) as progress:
            result = run_demo(app.settings, engine_subprocess, campaign_file=campaign_file, timeout=timeout,
                              report=progress.show)
    except RulesBroken as broken:
        report_broken(broken)
        raise SystemExit(1) from None
    _print_summary(out, result, timeout)
    if not result.ok:
        raise SystemExit(1)


@contextmanager
def engine_subprocess(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``promo run`` in a process group of its own, with ``env``, its output in ``log``; stopped on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(ENGINE, env=dict(env), stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class DemoProgress:
    """The campaign line, then a line per post as it reaches the outbox, above a progress bar."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> DemoProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def show(self, event: DemoEvent) -> None:
        if isinstance(event, Queued):
            self._start(event)
        elif isinstance(event, Arrived) and self.bar is not None and self.task is not None:
            self.bar.console.print(f"[green]\u2713[/] {event.published_at[11:19]} "
                                   f"[bold]{event.account:<12}[/] {event.text}",
                                   no_wrap=True, overflow="ellipsis", markup=True)
            self.bar.update(self.task, completed=event.seen)

    def _start(self, event: Queued) -> None:
        self.out.print(f"[bold]{event.campaign}[/]: {event.posts} posts for {event.accounts} accounts, "
                       f"the first in {event.first_in_s:.0f} s")
        columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.bar = Progress(*columns, console=self.out, transient=True)
        self.bar.start()
        self.task = self.bar.add_task("posts", total=event.posts)


def _print_summary(out: Console, result: DemoResult, timeout: float) -> None:
    if result.timed_out:
        out.print(f"[red]gave up after {timeout:.0f} s[/]")
    table = Table("announcement", "account", "platform", "state", "detail", title="Summary")
    for outcome in result.outcomes:
        table.add_row(outcome.announcement, outcome.account, outcome.platform, outcome.status, outcome.reason)
    out.print(table)
    out.print(f"{result.published}/{len(result.outcomes)} published to {result.outbox}; "
              f"engine log {result.engine_log}")
