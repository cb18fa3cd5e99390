"""``forum plugins list|enable|disable|purge``, ``new`` (the scaffold) and ``docs``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from forum.services.errors import ServiceError


@click.group("plugins")
def plugins_group() -> None:
    """List, enable, disable or purge plugins; scaffold a new one; update the guide."""


@plugins_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every installed plugin with its state (enabled, disabled, broken)."""
    from forum import plugins
    from forum.services import plugin_state

    manager = plugins.manager(current_app)
    found = manager.all()
    if not found:
        click.echo("no plugins installed")
        return
    enabled = plugin_state.enabled_names()
    for info in found:
        state = "broken" if info.broken else "enabled" if info.name in enabled else "disabled"
        version = f" {info.meta.version}" if info.meta.version else ""
        click.echo(f"{info.name:<16} {state:<9}{version}  {info.meta.description}")
        if info.broken:
            click.echo(f"{'':<16} ! {info.error}")


def _switch(name: str, action) -> None:
    try:
        action(name)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None


@plugins_group.command("enable")
@click.argument("name")
@with_appcontext
def enable_command(name: str) -> None:
    """Switch plugin NAME on (in every worker, without a restart)."""
    from forum.services import plugin_state

    _switch(name, plugin_state.enable)
    click.echo(f"plugin {name} enabled")


@plugins_group.command("disable")
@click.argument("name")
@with_appcontext
def disable_command(name: str) -> None:
    """Switch plugin NAME off; its data is kept."""
    from forum.services import plugin_state

    _switch(name, plugin_state.disable)
    click.echo(f"plugin {name} disabled (its data is kept)")


@plugins_group.command("purge")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def purge_command(name: str, yes: bool) -> None:
    """Delete plugin NAME's tables, settings and permissions (after a confirmation)."""
    from forum.services import plugin_state

    if not yes:
        click.confirm(
            f"This drops every table of the plugin {name} and deletes its settings. "
            "It cannot be undone. Go ahead?",
            abort=True,
        )
    _switch(name, plugin_state.purge)
    click.echo(f"plugin {name} purged")


@plugins_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Where to create the folder shequn-NAME/.",
)
def new_command(name: str, directory: Path) -> None:
    """Scaffold the plugin NAME: a folder shequn-NAME/ to install with `pip install -e`."""
    from forum.scaffold import ScaffoldError, create_plugin, package_name

    try:
        target = create_plugin(name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"plugin {name} created in {target}/ (package {package_name(name)})")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo("  pip install -e .")
    click.echo("  forum db upgrade")
    click.echo(f"  forum plugins enable {name}")
    click.echo("  pytest")


@plugins_group.command("docs")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The guide to update  [default: docs/plugins.md of the source tree]",
)
@click.option("--check", is_flag=True, help="Change nothing; fail if the guide is out of date.")
def docs_command(path: Path | None, check: bool) -> None:
    """Rewrite the hook and API reference in the plugin guide from the code."""
    from forum.plugin_docs import GuideError, guide_path, write_guide

    path = path or guide_path()
    try:
        changed = write_guide(path, check=check)
    except GuideError as exc:
        raise click.ClickException(str(exc)) from None
    if check and changed:
        raise click.ClickException(f"{path} is out of date: run `forum plugins docs`")
    click.echo(f"{path} {'updated' if changed else 'is up to date'}")
