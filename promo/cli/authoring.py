"""``promo init``, ``promo preview`` and ``promo check``: write and try out campaigns; no DB written
(preview reads TikTok's and Reddit's cached facts from a store that is there: ``planning.preview_facts``)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from promo.cli.common import App, console, emit_json, json_option, pass_app

if TYPE_CHECKING:
    from promo.campaigns.preview import RenderedPost
    from promo.campaigns.review import Review
    from promo.campaigns.snapshots import Drift
    from promo.planning.preview_facts import PreviewFacts
    from promo.planning.preview_late import PreviewLate
    from promo.posts import Post, Problem


def _start_in(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from promo.times import parse_duration

    try:
        found = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not timedelta(0) <= found <= timedelta(days=365):
        raise click.BadParameter(f"{value!r}: give a time from 0s to 365d ahead")
    return found


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--start-in", default="2m", show_default=True, callback=_start_in,
              help="When the sample's first post goes out, counted from now (e.g. 30s, 10m, 1h).")
def init(directory: Path, start_in: timedelta) -> None:
    """Scaffold a working project: promo.toml (an outbox account), templates and a sample campaign.

    The sample's premiere is written a few minutes ahead of now, so 'promo apply' then 'promo run'
    publish it to the local outbox on the first try. Existing files are never overwritten.

    \b
    Example:
        promo init my-campaign
        cd my-campaign && promo preview campaign.yaml
    """
    from promo.manage.scaffold import scaffold

    made = scaffold(directory, start_in=start_in)
    first = made.first_post_at.isoformat(sep=" ")
    click.echo(f"Created {len(made.written)} files in {directory}; the sample's first post goes out at "
               f"{first[:19]} {first[19:]}.")
    click.echo("Next steps:")
    if directory != Path("."):
        click.echo(f"  cd {directory}")
    click.echo("  promo preview campaign.yaml         # every post, its length and any problem")
    click.echo("  promo apply campaign.yaml           # queue it")
    click.echo("  promo run                           # publish it to .promo/outbox.jsonl (Ctrl-C stops)")


@click.command()
@click.argument("campaign", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option("--platform", "platforms", multiple=True, help="Only this platform (repeatable).")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Templates folder (default: the templates_dir setting).")
@click.option("--compact/--full", default=False,
              help="One line per post (announcement, account, length, problems), or every post's text (the default).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default=None,
              help="text (the default); markdown: a review document for a pull request; json: as --json.")
@click.option("--snapshot", "snapshot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a lock of every rendered post (payload, time, digest) to this YAML file.")
@click.option("--check-snapshot", "check_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Compare with the lock in this file: show a diff and exit 1 if a post drifted from it.")
@json_option
@pass_app
def preview(app: App, campaign: Path, accounts: tuple[str, ...], platforms: tuple[str, ...],
            templates: Path | None, compact: bool, output_format: str | None, snapshot_file: Path | None,
            check_file: Path | None, as_json: bool) -> None:
    """Render every post of CAMPAIGN for every account and check it against the platform's rules.

    Shows each post's text, its length against the limit and any problem; --compact shows one line
    per post instead, --format markdown a document to review in a pull request. --snapshot writes a
    lock of every rendered post; --check-snapshot exits 1 with a diff when the posts drift from it
    (2 if the lock cannot be read). Writes nothing else and needs no credentials. TikTok and Reddit
    posts are also checked against what 'promo accounts check' cached, if the store is there to read
    (never created; one note per account on stderr). A post whose time has passed gets a note saying
    what 'promo apply' would do with it ("late" with --json). Exits 1 if any post breaks a rule.

    \b
    Example:
        promo preview campaign.yaml
        promo preview campaign.yaml --compact
        promo preview campaign.yaml --platform x --json
        promo preview campaign.yaml --snapshot campaign.snapshot.yaml
        promo preview campaign.yaml --format markdown --check-snapshot campaign.snapshot.yaml > review.md
    """
    if as_json and output_format not in (None, "json"):
        raise click.UsageError(f"--json and --format {output_format}: give one of them")
    if snapshot_file and check_file:
        raise click.UsageError("--snapshot and --check-snapshot: give one of them")
    from promo.campaigns.review import review_file  # here: jinja2 loads with it

    review = review_file(campaign, app.accounts, templates or app.settings.templates_dir,
                         only_accounts=accounts, only_platforms=platforms)
    drift = _snapshot(review, campaign, snapshot_file, check_file)  # before the cached facts: a lock never holds them
    from promo.planning.preview_facts import preview_facts
    from promo.planning.preview_late import preview_late

    facts = preview_facts(app.settings.database, review, app.accounts)  # the store, read-only, if there
    late = preview_late(review, app.accounts, app.settings)  # the clock: shown, never in the lock or the exit code
    _show_preview("json" if as_json else output_format or "text", compact, facts, late, drift)
    if (drift is not None and not drift.equal) or not all(item.ok for item in facts.review.posts):
        sys.exit(1)


def _snapshot(review: Review, campaign: Path, snapshot_file: Path | None, check_file: Path | None) -> Drift | None:
    """Write the lock (``--snapshot``), or hold the posts against it (``--check-snapshot``)."""
    from promo.campaigns.snapshots import compare, read_snapshot, write_snapshot

    if snapshot_file is not None:
        write_snapshot(snapshot_file, review.posts)
        click.echo(f"wrote the snapshot of {len(review.posts)} posts to {snapshot_file}", err=True)
    if check_file is None:
        return None
    return compare(read_snapshot(check_file), review.posts, file=str(check_file), campaign_file=str(campaign))


def _show_preview(output_format: str, compact: bool, facts: PreviewFacts, late: PreviewLate,
                  drift: Drift | None) -> None:
    from promo.campaigns.preview import summary

    review = facts.review
    rendered = list(review.posts)
    if output_format == "json":
        posts = late.entries(facts.entries())
        emit_json(posts if drift is None else {"posts": posts, "snapshot": drift.to_dict()})
    elif output_format == "markdown":
        from promo.campaigns.review import markdown

        click.echo(markdown(review, drift) + facts.markdown() + late.markdown(), nl=False)
    else:
        (_print_compact if compact else _print_full)(rendered)
        click.echo(summary(rendered))
        if drift is not None:
            from promo.campaigns.snapshots import drift_lines

            for line in drift_lines(drift):
                click.echo(line)
        for line in facts.notes() + late.notes():  # on stderr: stdout is the same with or without a store, any day
            click.echo("\n  ".join(wrap_text(f"note: {line}", 98)), err=True)


def _by_announcement(rendered: Iterable[RenderedPost]) -> dict[str, list[RenderedPost]]:
    grouped: dict[str, list[RenderedPost]] = {}
    for item in rendered:
        grouped.setdefault(str(item.scheduled.announcement), []).append(item)
    return grouped


def wrap_text(text: str, width: int) -> list[str]:
    """``text`` wrapped at spaces to ``width`` columns; a word or URL longer than that stays whole."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, max(width, 20), break_long_words=False, break_on_hyphens=False) or [""]
    return lines


def _print_full(rendered: Iterable[RenderedPost]) -> None:
    """Per announcement a heading, then per post: account, length against limit, problems, the text."""
    out = console()
    indent = "    "
    for key, items in _by_announcement(rendered).items():
        first = items[0].scheduled
        out.print(Text(f"{key} ({first.kind}) at {_when(items)}", style="bold"))
        for item in items:
            post, report = item.scheduled.post, item.report
            verdict = Text("ok", style="green") if report.ok else Text(_problems(report.problems), style="bold red")
            out.print(Text.assemble("  ", (post.account, "bold"), f" ({post.platform})  ",
                                    f"{report.length}/{report.limit}  ", verdict))
            for problem in report.problems:
                out.print(Text(f"    {problem.message}", style="red"), soft_wrap=True)
            for line in (line for note in report.notes for line in wrap_text(f"note: {note}", out.width - 4)):
                out.print(Text(indent + line, style="yellow"), soft_wrap=True)
            for line in _body_lines(post, out.width - len(indent)):
                out.print(Text(indent + line if line else ""), soft_wrap=True)
        out.print()


def _body_lines(post: Post, width: int) -> list[str]:
    lines = wrap_text(post.text, width)
    for part in post.thread:
        lines += [("\u21b3 " if n == 0 else "  ") + line for n, line in enumerate(wrap_text(part.text, width - 2))]
    if post.media:
        from promo.campaigns.preview import media_summary

        lines += [f"[{media_summary(m)}]" for m in post.media]
    return lines


def _print_compact(rendered: Iterable[RenderedPost]) -> None:
    """One line per post: announcement, account, platform, length against limit, problems."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, justify in (("announcement", "left"), ("account", "left"), ("platform", "left"),
                          ("length", "right"), ("check", "left")):
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    for item in rendered:
        post, report = item.scheduled.post, item.report
        verdict = Text("ok", style="green") if report.ok else Text(_problems(report.problems), style="bold red")
        table.add_row(str(item.scheduled.announcement), post.account, post.platform,
                      f"{report.length}/{report.limit}", verdict)
    console().print(table)


def _problems(problems: Sequence[Problem]) -> str:
    return f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")


def _when(items: Sequence[RenderedPost]) -> str:
    from promo.times import show_time

    shown = items[0].when(lambda at: show_time(at, at.tzinfo))  # type: ignore[arg-type]
    if shown.startswith("next free slot of "):  # at: next-slot: apply picks each account's
        return "next free slot of " + ", ".join(item.scheduled.post.account for item in items)
    return shown


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
        for line in check_lines(result):
            click.echo(line)
    if not result["ok"]:
        sys.exit(1)


def check_lines(result: dict[str, Any]) -> list[str]:
    """``x: 281/280: 1 over, does not fit`` (the length said once), then each other problem."""
    counted = f"{result['length']}/{result['limit']}"
    over, detail, others = result["over"], "", []
    for problem in result["problems"]:
        message = problem["message"]
        if problem["code"] == "too_long" and problem["part"] == 0 and counted in message:
            detail = message.split(counted, 1)[1].strip(" ,;:")
        else:
            others.append(f"  {message}")
    if over:
        counted += f": {over} over" + (f" ({detail})" if detail else "")
    elif result["ok"]:
        counted += f": {result['limit'] - result['length']} to spare"
    verdict = "fits" if result["ok"] else "does not fit"
    return [f"{result['platform']}: {counted}, {verdict}", *others]
