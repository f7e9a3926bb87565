"""``promo init``, ``promo preview`` and ``promo check``: write and try out campaigns; no DB."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app

if TYPE_CHECKING:
    from promo.campaigns.preview import RenderedPost


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def init(directory: Path) -> None:
    """Scaffold a working project: promo.toml (an outbox account), templates and a sample campaign.

    Existing files are never overwritten.

    \b
    Example:
        promo init my-campaign
        cd my-campaign && promo preview campaign.yaml
    """
    from promo.manage.scaffold import scaffold

    written = scaffold(directory)
    click.echo(f"Created {len(written)} files in {directory}.")
    click.echo("Next steps:")
    if directory != Path("."):
        click.echo(f"  cd {directory}")
    click.echo("  promo preview campaign.yaml     # every post, its length and any problem")
    click.echo("  promo apply campaign.yaml       # queue it")
    click.echo("  promo run                       # publish (the outbox account writes .promo/outbox.jsonl)")


@click.command()
@click.argument("campaign", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option("--platform", "platforms", multiple=True, help="Only this platform (repeatable).")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Templates folder (default: the templates_dir setting).")
@json_option
@pass_app
def preview(app: App, campaign: Path, accounts: tuple[str, ...], platforms: tuple[str, ...],
            templates: Path | None, as_json: bool) -> None:
    """Render every post of CAMPAIGN for every account and check it against the platform's rules.

    Shows each post's text, its length against the limit and any problem. Writes nothing and needs no
    credentials. Exits 1 if any post breaks a rule.

    \b
    Example:
        promo preview examples/jessica-jones-s3.yaml
        promo preview campaign.yaml --platform x --json
    """
    from promo.campaigns.preview import preview_file, summary  # here: jinja2 loads with it

    rendered = preview_file(campaign, app.accounts, templates or app.settings.templates_dir,
                            only_accounts=accounts, only_platforms=platforms)
    if as_json:
        emit_json([item.to_dict() for item in rendered])
    else:
        _print_preview(rendered)
        click.echo(summary(rendered))
    if not all(item.ok for item in rendered):
        sys.exit(1)


def _print_preview(rendered: Iterable[RenderedPost]) -> None:
    """A table per announcement: account, length against limit, problems in plain words, the text."""
    from rich.table import Table
    from rich.text import Text

    by_announcement: dict[str, list[RenderedPost]] = {}
    for item in rendered:
        by_announcement.setdefault(str(item.scheduled.announcement), []).append(item)
    out = console()
    for key, items in by_announcement.items():
        first = items[0].scheduled
        when = first.scheduled_at.strftime("%a %b %d %Y %H:%M %Z")
        table = Table(title=f"{key} ({first.kind}) at {when}", title_justify="left", show_lines=True)
        table.add_column("account")
        table.add_column("length", justify="right")
        table.add_column("check")
        table.add_column("text", overflow="fold")
        for item in items:
            post, report = item.scheduled.post, item.report
            verdict = Text("ok", style="green") if report.ok else Text(
                "\n".join(p.message for p in report.problems), style="bold red")
            body = "\n".join([post.text, *(f"↳ {part.text}" for part in post.thread)])
            if post.media:
                body += "\n" + " ".join(f"[{Path(m.path).name}]" for m in post.media)
            table.add_row(f"{post.account}\n({post.platform})", f"{report.length}/{report.limit}",
                          verdict, Text(body))
        out.print(table)


@click.command()
@click.option("--platform", required=True, help="x, mastodon, bluesky, threads, linkedin, ...")
@click.option("--media", "media_count", type=click.IntRange(min=0), default=0,
              help="Count N images as attached.")
@click.option("--account", default=None, help="Use this account's options (e.g. Mastodon max_characters).")
@click.argument("text")
@json_option
@pass_app
def check(app: App, platform: str, media_count: int, account: str | None, text: str, as_json: bool) -> None:
    """Will TEXT fit on PLATFORM? Counts it the platform's way; exits 1 if it does not fit.

    TEXT "-" reads the text from standard input.

    \b
    Example:
        promo check --platform x "Jessica Jones season 3 is now streaming https://netflix.com"
        promo check --platform bluesky --media 2 --json "$(cat post.txt)"
    """
    from promo.manage.checking import check_text

    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    options = app.account(account).options if account else {}
    result = check_text(platform, text, media_count, options)
    if as_json:
        emit_json(result)
    else:
        verdict = "fits" if result["ok"] else "does not fit"
        click.echo(f"{platform}: {result['length']}/{result['limit']} {verdict}")
        for problem in result["problems"]:
            click.echo(f"  {problem['message']}")
    if not result["ok"]:
        sys.exit(1)
