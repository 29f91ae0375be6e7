"""The command reference (docs/configuration.md) rendered from the CLI itself, so it cannot drift.

``python -m cenflow.cli.reference > docs/configuration.md`` regenerates it; a test fails when the
committed page differs from what the code says.
"""

from __future__ import annotations

import inspect

import click

from cenflow.cli.main import cli

HEADER = """# Configuration and commands

Every option of every command, generated from the code (`python -m cenflow.cli.reference`).
Options shown with an environment variable can be set either way; the flag wins.

One setting is an environment variable only: `CENFLOW_PURE_PYTHON=1` makes every command run the
collector's Python code instead of its C extension (`cenflow.flow._speedups`), for comparison or
to rule the extension out when chasing a bug.  Without the extension built (no C compiler at
install time) cenflow runs the Python code anyway.
"""


def _option_row(param: click.Parameter) -> str:
    assert isinstance(param, click.Option)
    names = ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
    envvar = f"`{param.envvar}`" if isinstance(param.envvar, str) else ""
    default = ""
    if param.show_default and param.default is not None and not callable(param.default):
        default = f"`{param.default}`"
    help_text = " ".join((param.help or "").split()).replace("|", "\\|")
    if isinstance(param.type, click.Choice):
        help_text += " One of: " + ", ".join(f"`{c}`" for c in param.type.choices) + "."
    return f"| {names} | {envvar} | {default} | {help_text} |"


def _command(name: str, command: click.Command) -> list[str]:
    lines = [f"## `cenflow {name}`", ""]
    paragraphs = inspect.cleandoc(command.help or "").split("\n\n")
    lines.append(" ".join(paragraphs[0].split()))
    for paragraph in paragraphs[1:]:
        lines += ["", paragraph.strip()]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines += ["", "Arguments: " + ", ".join(f"`{a.name.upper()}`" for a in arguments if a.name) + "."]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if options:
        lines += ["", "| Option | Environment | Default | Meaning |", "|---|---|---|---|"]
        lines += [_option_row(p) for p in options]
    lines.append("")
    if isinstance(command, click.Group):
        for sub_name in sorted(command.commands):
            lines += _command(f"{name} {sub_name}", command.commands[sub_name])
    return lines


def render() -> str:
    lines = [HEADER]
    for name in sorted(cli.commands):
        lines += _command(name, cli.commands[name])
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(render(), nl=False)
