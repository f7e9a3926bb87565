"""``promo init``, ``promo preview`` and ``promo check``: write and try out campaigns; no DB."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from promo.cli.common import App, console, emit_json, json_option, pass_app


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
    from promo.campaigns import load_campaign
    from promo.campaigns.preview import print_preview, render_campaign, summary

    templates_dir = templates or app.settings.templates_dir
    loaded = load_campaign(campaign, app.accounts, templates_dir)
    rendered = [
        item for item in render_campaign(loaded, app.accounts, templates_dir)
        if (not accounts or item.scheduled.post.account in accounts)
        and (not platforms or item.scheduled.post.platform in platforms)
    ]
    if as_json:
        emit_json([item.to_dict() for item in rendered])
    else:
        print_preview(rendered, console())
        click.echo(summary(rendered))
    if not all(item.ok for item in rendered):
        sys.exit(1)


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
