"""Every command is documented, has help with an example, and `promo --help` stays light and fast."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from promo.cli import COMMANDS, SUMMARIES, cli


def test_every_command_has_a_summary() -> None:
    assert set(COMMANDS) == set(SUMMARIES)


def _subcommands(name: str, command: click.Command) -> list[tuple[str, click.Command]]:
    found = [(name, command)]
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            found += _subcommands(f"{name} {sub_name}", sub)
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_has_an_example(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    for full_name, _sub in _subcommands(name, command):
        result = CliRunner().invoke(cli, [*full_name.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, f"promo {full_name} --help has no example"


def test_top_level_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom promo.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('celery', 'tweepy', 'atproto', 'mastodon', 'sqlalchemy', 'jinja2', 'pydantic')"
        " if m in sys.modules]\nprint('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
