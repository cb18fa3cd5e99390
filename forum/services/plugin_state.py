"""Switching plugins on and off, their settings, and removing a plugin's data.

The state lives in the database (``plugin_state``, ``plugin_setting``) and is read through
the per-worker cache of :mod:`forum.services.site`: every change calls ``bump_version``, so
all workers (and every machine sharing the stamps) see it on their next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, inspect, select

from forum import plugins
from forum.extensions import db
from forum.models import BoardPermission, Group, PluginSetting, PluginState
from forum.models.base import utcnow
from forum.services.errors import NotFound, ServiceError
from forum.services.setup import BUILTIN_GROUPS
from forum.services.site import bump_version, cached


def enabled_names() -> frozenset[str]:
    """Names of the plugins that are loaded and switched on (cached per worker)."""

    def load() -> frozenset[str]:
        loaded = {p.name for p in plugins.manager().loaded()}
        if not loaded:
            return frozenset()
        rows = db.session.execute(
            select(PluginState.name).where(PluginState.enabled.is_(True))
        ).scalars()
        return frozenset(loaded.intersection(rows))

    return cached("plugins_enabled", load)


def _plugin(name: str) -> plugins.PluginInfo:
    info = plugins.manager().get(name)
    if info is None:
        raise NotFound(_("There is no plugin called %(name)s.", name=name))
    return info


def pending_migrations(name: str) -> bool:
    """True when the plugin's tables or migrations are not all in the database yet."""
    return name in plugins_with_pending_migrations([_plugin(name)])


def plugins_with_pending_migrations(infos: Iterable[plugins.PluginInfo]) -> frozenset[str]:
    """The names among ``infos`` whose tables or migrations are not all in the database yet.

    One look at the database's tables and one at ``alembic_version`` for all of them (the
    admin dashboard checks every installed plugin at once). Broken plugins are left out:
    what their tables should be is not known.
    """
    infos = [info for info in infos if not info.broken]
    if not infos:
        return frozenset()
    existing = set(inspect(db.engine).get_table_names())
    pending: set[str] = set()
    migrated = []
    for info in infos:
        tables = [t for t in db.metadata.tables if t.startswith(info.table_prefix)]
        if any(t not in existing for t in tables):
            pending.add(info.name)
        elif info.migrations is not None and "alembic_version" in existing:
            migrated.append(info)
    if migrated:
        script = _script()
        applied = set(db.session.execute(select_alembic_versions()).scalars())
        known = {rev.revision for rev in script.iterate_revisions(tuple(applied), "base")}
        for info in migrated:
            heads = _branch_heads(script, info.name)  # none: its files label no such branch
            if any(h.revision not in known for h in heads):
                pending.add(info.name)
    return frozenset(pending)


def _branch_heads(script, name: str) -> tuple:
    """The head revisions of the Alembic branch labelled ``name`` (empty when there is none)."""
    try:
        heads = script.get_revisions(f"{name}@head")
    except Exception:  # alembic: no branch with that label
        return ()
    return tuple(h for h in heads if h is not None)


def _script():
    """The Alembic script directory of the core and every loaded plugin."""
    from alembic.script import ScriptDirectory

    migrate = current_app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))


def select_alembic_versions():
    """``SELECT version_num FROM alembic_version``."""
    from sqlalchemy import column, table

    return select(column("version_num")).select_from(table("alembic_version"))


def enable(name: str) -> None:
    """Switch plugin ``name`` on in every worker. Commits.

    Refused (``ServiceError``) when it is broken or its tables are not migrated yet; the
    first time, its permissions' defaults are written for the built-in groups.
    """
    info = _plugin(name)
    if info.broken:
        raise ServiceError(
            _("The plugin %(name)s cannot be enabled: %(error)s", name=name, error=info.error)
        )
    if pending_migrations(name):
        raise ServiceError(
            _(
                "The plugin %(name)s needs database changes first: run `forum db upgrade`, "
                "then enable it again.",
                name=name,
            )
        )
    _set_state(name, True)
    _write_permission_defaults(info)
    bump_version()
    db.session.commit()


def disable(name: str) -> None:
    """Switch plugin ``name`` off in every worker; its data is kept. Commits."""
    _plugin(name)
    _set_state(name, False)
    bump_version()
    db.session.commit()


def _set_state(name: str, enabled: bool) -> None:
    row = db.session.get(PluginState, name)
    if row is None:
        db.session.add(PluginState(name=name, enabled=enabled, changed_at=utcnow()))
    elif row.enabled != enabled:
        row.enabled = enabled
        row.changed_at = utcnow()


def _write_permission_defaults(info: plugins.PluginInfo) -> None:
    """The default rows (board NULL) of the plugin's permissions, where none exist yet."""
    if not info.permissions:
        return
    groups = {g.key: g.id for g in db.session.execute(select(Group)).scalars() if g.key}
    names = [p.name for p in info.permissions]
    existing = set(
        db.session.execute(
            select(BoardPermission.group_id, BoardPermission.permission).where(
                BoardPermission.board_id.is_(None), BoardPermission.permission.in_(names)
            )
        ).all()
    )
    for perm in info.permissions:
        for key, *_rest in BUILTIN_GROUPS:
            gid = groups.get(key)
            if gid is None or (gid, perm.name) in existing:
                continue
            db.session.add(
                BoardPermission(
                    board_id=None, group_id=gid, permission=perm.name, allowed=key in perm.grants
                )
            )


def purge(name: str) -> None:
    """Remove every trace of plugin ``name``: downgrade its migrations to base (dropping its
    tables), delete its settings, state and permission rows. Commits. Irreversible."""
    info = _plugin(name)
    if is_enabled_in_db(name):
        raise ServiceError(_("Disable the plugin %(name)s before purging it.", name=name))
    if info.migrations is not None:
        from flask_migrate import downgrade

        if not _branch_heads(_script(), name):
            raise ServiceError(
                _("The migrations of %(name)s do not label a branch %(name)s.", name=name)
            )
        db.session.commit()
        downgrade(directory=current_app.extensions["migrate"].directory, revision=f"{name}@base")
    perm_names = [p.name for p in info.permissions]
    if perm_names:
        db.session.execute(
            delete(BoardPermission).where(BoardPermission.permission.in_(perm_names))
        )
    db.session.execute(delete(PluginSetting).where(PluginSetting.plugin == name))
    db.session.execute(delete(PluginState).where(PluginState.name == name))
    bump_version()
    db.session.commit()


def is_enabled_in_db(name: str) -> bool:
    """The stored switch (without the cache): True when the row says enabled."""
    row = db.session.get(PluginState, name)
    return bool(row and row.enabled)


def plugin_settings(name: str) -> Mapping[str, Any]:
    """The settings of plugin ``name``, defaults filled in, cached per worker (read-only)."""

    def load() -> Mapping[str, Any]:
        info = _plugin(name)
        values = {s.name: s.default for s in info.settings}
        rows = db.session.execute(
            select(PluginSetting.key, PluginSetting.value).where(PluginSetting.plugin == name)
        )
        for key, value in rows:
            if key in values:
                values[key] = value
        return MappingProxyType(values)

    return cached(f"plugin_settings:{name}", load)


def save_settings(name: str, form: Mapping[str, str | None]) -> dict[str, str]:
    """Validate and store the plugin's settings from form text.

    A setting missing from ``form`` keeps its value, except a ``bool``, which an HTML form
    leaves out when its box is unticked (False). A blank number, amount or choice goes back
    to the default. Returns field errors (setting name → message); when there is any,
    nothing is saved. Commits on success.
    """
    info = _plugin(name)
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for setting in info.settings:
        if setting.name not in form and setting.type != "bool":
            continue
        try:
            value = setting.parse(form.get(setting.name))
        except ValueError as exc:
            errors[setting.name] = str(exc)
            continue
        parsed[setting.name] = setting.default if value is None else value
    if errors:
        return errors
    for key, value in parsed.items():
        row = db.session.get(PluginSetting, (name, key))
        if row is None:
            db.session.add(PluginSetting(plugin=name, key=key, value=value))
        else:
            row.value = value
    bump_version()
    db.session.commit()
    return {}
