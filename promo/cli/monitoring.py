"""Watching the engine: ``promo metrics``, a Prometheus endpoint that reads the store.

The command opens the store, reads the event log's history once (``StoreCollector.catch_up``), then
serves ``/metrics`` until stopped; each scrape is one library call (``promo.manage.metrics``).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from promo.cli.common import App, emit_json, json_option, pass_app


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=9464, show_default=True,
              help="Port to serve /metrics on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface, e.g. in a container).")
@click.option("--once", is_flag=True, help="Print one scrape as Prometheus text and exit.")
@json_option
@pass_app
def metrics(app: App, port: int, host: str, once: bool, as_json: bool) -> None:
    """Serve Prometheus metrics read from the store: posts, publish latency, lateness, re-sends, live workers.

    One server sees every worker and beat, since it reads the ledger, its events and the heartbeats;
    run one per store. docs/monitoring.md lists the metrics, with a scrape config and alert rules.
    With --once (or --json) it prints one scrape and exits.

    \b
    Example:
        promo metrics --port 9464
        promo metrics --once | grep '^promo_posts'
        promo metrics --json | jq '.[] | select(.name == "promo_overdue_seconds")'
    """
    from promo.manage.metrics import StoreCollector, exposition, samples, serve

    collector = StoreCollector(app.engine)
    collector.catch_up()
    if as_json:
        emit_json(samples(collector))
        return
    if once:
        click.echo(exposition(collector), nl=False)
        return
    try:
        server, _ = serve(collector, host, port)
    except OSError as exc:
        raise click.BadParameter(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                                 "(choose another with --port, or --host)", param_hint="--port") from None
    click.echo(f"promo metrics: serving http://{host}:{port}/metrics from the store ({collector.read} events "
               f"read). Ctrl-C stops.")
    _wait_for_stop()
    server.shutdown()


def _wait_for_stop() -> None:
    """Until SIGTERM (a supervisor's stop) or Ctrl-C; both end with status 0."""
    stopped = threading.Event()

    def stop(*_: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopped.wait(3600):
            continue
    except KeyboardInterrupt:
        pass
