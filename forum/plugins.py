"""The plugin manager: discovery, loading, and calling hooks of the enabled plugins.

Plugins are found through the entry-point group ``forum.plugins`` (the bundled ones are
declared there too, in ``setup.cfg``); ``EXTRA_PLUGINS`` in the configuration adds more by
module name (tests, local development). Every installed plugin is *loaded* when the app is
created: imported, registered with pluggy, its setup hooks called (blueprints, permissions,
settings, thread kinds …) and checked. A plugin that fails any of that is *broken*: listed
with the reason in ``/admin/plugins`` and ``forum plugins list``, and otherwise ignored; the
forum starts anyway.

Whether a loaded plugin is *enabled* lives in the database (:mod:`forum.services.plugin_state`)
and is read through the per-worker cache that the site-state stamp keeps fresh, so switching
a plugin on or off in one worker takes effect in every worker on its next request, without a
restart. Only enabled plugins' before, after and render hooks are called; a disabled
plugin's routes answer 404, its slots render nothing, and its data stays where it is.

Hooks are called one implementation at a time (not through one pluggy call), so that a
failing after- or render-hook of one plugin is logged with its name and skipped while the
other plugins and the page go on.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint, Flask, abort, current_app, request
from markupsafe import Markup

from forum import __version__, hookspecs
from forum.plugin_api import (
    AdminPage,
    BoardFilter,
    NotificationKind,
    Permission,
    PluginMeta,
    Setting,
    ThreadKind,
    TrustFact,
)
from forum.services.errors import ServiceError

log = logging.getLogger("forum.plugins")

ENTRY_POINT_GROUP = "forum.plugins"
#: A plugin's name: its entry point, table prefix (``<name>_``), Alembic branch label and
#: settings namespace. At most 24 characters, so ``<name>_0001`` fits Alembic's version column.
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


@dataclass
class PluginInfo:
    """One installed plugin: where it came from, what it declared, and whether it loaded."""

    name: str
    target: str
    distribution: str = ""
    meta: PluginMeta = field(default_factory=PluginMeta)
    module: Any = None
    error: str = ""
    permissions: list[Permission] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)
    thread_kinds: list[ThreadKind] = field(default_factory=list)
    notification_kinds: list[NotificationKind] = field(default_factory=list)
    blueprints: list[Blueprint] = field(default_factory=list)
    admin_pages: list[AdminPage] = field(default_factory=list)
    migrations: Path | None = None

    @property
    def broken(self) -> bool:
        """True when the plugin could not be loaded (``error`` says why)."""
        return bool(self.error)

    @property
    def label(self) -> str:
        return str(self.meta.label or self.name)

    @property
    def package_dir(self) -> Path | None:
        """The folder of the plugin's package (templates/, translations/, migrations/)."""
        path = getattr(self.module, "__file__", None)
        return Path(path).parent if path else None

    @property
    def table_prefix(self) -> str:
        return f"{self.name}_"


class PluginManager:
    """The plugins of one app (``app.extensions["forum_plugins"]``)."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("forum")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.refused: list[PluginInfo] = []  # name clashes: a second plugin with a taken name
        self.blueprint_owner: dict[str, str] = {}
        self._impl_cache: dict[tuple[str, frozenset[str]], list[tuple[str, Any]]] = {}

    # -- loading ------------------------------------------------------------------------

    def discover(self, extra: dict[str, Any] | None = None) -> list[tuple[str, Any, str]]:
        """(name, target, distribution) of every installed plugin, entry points first."""
        found: list[tuple[str, Any, str]] = []
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else ""
            found.append((ep.name, ep, dist))
        for name, target in (extra or {}).items():
            found.append((name, target, ""))
        return found

    def load_all(self, extra: dict[str, Any] | None = None) -> None:
        """Discover, import, register and check every plugin (broken ones are recorded)."""
        for name, target, dist in self.discover(extra):
            info = PluginInfo(name=name, target=_describe(target), distribution=dist)
            if name in self.plugins:
                other = self.plugins[name]
                info.error = (
                    f"plugin name {name!r} is already taken by "
                    f"{other.distribution or other.target}; "
                    f"{dist or info.target} was not loaded"
                )
                log.error("plugin %s refused: %s", name, info.error)
                self.refused.append(info)
                continue
            self.plugins[name] = info
            try:
                self._load(info, target)
            except Exception as exc:  # any failure makes the plugin broken, never the forum
                info.error = f"{type(exc).__name__}: {exc}"
                log.exception("plugin %s could not be loaded", name)
                if self.pm.has_plugin(name):
                    self.pm.unregister(name=name)
        self._impl_cache.clear()

    def _load(self, info: PluginInfo, target: Any) -> None:
        if not PLUGIN_NAME.match(info.name):
            raise PluginError(
                f"plugin name {info.name!r} must be 2-24 lower case letters, digits or _"
            )
        self._check_prefix(info.name)
        if isinstance(target, importlib.metadata.EntryPoint):
            module = target.load()
        elif isinstance(target, str):
            module = importlib.import_module(target)
        else:
            module = target
        info.module = module
        info.meta = _meta(module, info.distribution)
        if info.meta.min_core_version and _version_tuple(__version__) < _version_tuple(
            info.meta.min_core_version
        ):
            raise PluginError(
                f"needs Shequn {info.meta.min_core_version} or newer (this is {__version__})"
            )
        self.pm.register(module, name=info.name)
        for caller in self.pm.get_hookcallers(module) or []:
            if caller.spec is None:
                raise PluginError(f"implements {caller.name}, which is not a Shequn hook")
            for impl in caller.get_hookimpls():
                if impl.plugin_name == info.name and (impl.wrapper or impl.hookwrapper):
                    raise PluginError(
                        f"{caller.name} is a wrapper; Shequn calls each plugin's hooks one "
                        "at a time and does not support wrappers"
                    )
        info.permissions = self._setup_list(info, "forum_permissions", Permission)
        info.settings = self._setup_list(info, "forum_settings", Setting)
        info.thread_kinds = self._setup_list(info, "forum_thread_kinds", ThreadKind)
        info.notification_kinds = self._setup_list(
            info, "forum_notification_kinds", NotificationKind
        )
        info.blueprints = self._setup_list(info, "forum_blueprints", Blueprint)
        info.admin_pages = self._setup_list(info, "forum_admin_pages", AdminPage)
        self._check_clashes(info)
        directory = info.package_dir
        if directory is not None and (directory / "migrations" / "versions").is_dir():
            info.migrations = directory / "migrations" / "versions"

    def _check_prefix(self, name: str) -> None:
        """Refuse a name whose table prefix would claim another's tables (``post`` would
        own ``post_revision``; ``hello`` would own ``hello_world_…``)."""
        from forum.models import core_tables

        prefix = f"{name}_"
        for table in sorted(core_tables()):
            if table.startswith(prefix):
                raise PluginError(
                    f"plugin name {name!r} would claim the core's table {table!r}; rename it"
                )
        for other in self.plugins.values():
            if other.name == name or other.broken and not other.module:
                continue
            theirs = f"{other.name}_"
            if theirs.startswith(prefix) or prefix.startswith(theirs):
                raise PluginError(
                    f"the table prefixes of plugins {other.name!r} and {name!r} overlap; "
                    "rename one of them"
                )

    def _setup_list(self, info: PluginInfo, hook: str, kind: type) -> list:
        items: list = []
        for plugin_name, impl in self._impls_of(hook):
            if plugin_name != info.name:
                continue
            result = _call(impl, {})
            for item in _as_list(result):
                if not isinstance(item, kind):
                    raise PluginError(f"{hook} returned {item!r}, not a {kind.__name__}")
                items.append(item)
        return items

    def _check_clashes(self, info: PluginInfo) -> None:
        from forum.services.permissions import BOARD_PERMISSIONS

        core_perms = {p: "the core" for p in BOARD_PERMISSIONS}
        seen_settings: set[str] = set()
        for setting in info.settings:
            setting.check()
            if setting.name in seen_settings:
                raise PluginError(f"declares the setting {setting.name!r} twice")
            seen_settings.add(setting.name)
        for other in self.loaded():
            if other.name == info.name:
                continue
            for perm in other.permissions:
                core_perms.setdefault(perm.name, f"plugin {other.name!r}")
        seen_perms: set[str] = set()
        for perm in info.permissions:
            if perm.name in core_perms:
                raise PluginError(
                    f"permission {perm.name!r} of plugin {info.name!r} clashes with "
                    f"{core_perms[perm.name]}"
                )
            if perm.name in seen_perms:
                raise PluginError(f"declares the permission {perm.name!r} twice")
            seen_perms.add(perm.name)
        kinds = {"discussion": "the core"}
        for other in self.loaded():
            if other.name != info.name:
                kinds.update({k.name: f"plugin {other.name!r}" for k in other.thread_kinds})
        for kind in info.thread_kinds:
            if kind.name in kinds:
                raise PluginError(
                    f"thread kind {kind.name!r} of plugin {info.name!r} clashes with "
                    f"{kinds[kind.name]}"
                )
            for f in kind.fields:
                f.check()
        seen_kinds: set[str] = set()
        for note in info.notification_kinds:
            if not note.name.startswith(f"{info.name}.") or len(note.name) > 40:
                raise PluginError(
                    f"notification kind {note.name!r} must be named '{info.name}.<event>' "
                    "(at most 40 characters)"
                )
            if note.name in seen_kinds:
                raise PluginError(f"declares the notification kind {note.name!r} twice")
            seen_kinds.add(note.name)

    def loaded(self) -> list[PluginInfo]:
        """Plugins that loaded (enabled or not), by name."""
        return [p for name, p in sorted(self.plugins.items()) if not p.broken]

    def all(self) -> list[PluginInfo]:
        """Every plugin found, broken and refused ones included, by name."""
        return sorted([*self.plugins.values(), *self.refused], key=lambda p: p.name)

    def get(self, name: str) -> PluginInfo | None:
        """The plugin called ``name`` (loaded or broken), or None."""
        return self.plugins.get(name)

    def is_enabled(self, name: str) -> bool:
        """True while plugin ``name`` is loaded and switched on (inside this app's context)."""
        return name in enabled_names()

    # -- wiring into the app --------------------------------------------------------------

    def install(self, app: Flask) -> None:
        """Register blueprints, templates, translations, CLI commands and periodic jobs."""
        from jinja2 import ChoiceLoader, FileSystemLoader

        loaders = []
        for info in self.loaded():
            try:
                self._install_one(app, info)
            except Exception as exc:
                info.error = f"{type(exc).__name__}: {exc}"
                log.exception("plugin %s could not be installed", info.name)
                self.pm.unregister(name=info.name)
                continue
            directory = info.package_dir
            if directory is not None and (directory / "templates").is_dir():
                loaders.append(FileSystemLoader(str(directory / "templates")))
            if directory is not None and (directory / "translations").is_dir():
                babel = app.extensions.get("babel")
                if babel is not None:
                    babel.translation_directories.append(str(directory / "translations"))
        if loaders and isinstance(app.jinja_loader, ChoiceLoader):
            app.jinja_loader.loaders = [*app.jinja_loader.loaders, *loaders]
        self._impl_cache.clear()

    def _install_one(self, app: Flask, info: PluginInfo) -> None:
        for bp in info.blueprints:
            if bp.name in app.blueprints:
                raise PluginError(f"blueprint name {bp.name!r} is already used")
        for bp in info.blueprints:
            app.register_blueprint(bp)
            self.blueprint_owner[bp.name] = info.name
        for _name, impl in self._impls_of("forum_cli", only=info.name):
            for command in _as_list(_call(impl, {})):
                app.cli.add_command(command)
        jobs = [
            job
            for _n, impl in self._impls_of("forum_periodic_jobs", only=info.name)
            for job in _as_list(_call(impl, {}))
        ]
        if jobs:
            from forum import jobs as job_queue

            for job in jobs:
                job_queue.register_periodic(job, plugin=info.name)

    # -- calling hooks --------------------------------------------------------------------

    def _impls_of(self, hook: str, only: str | None = None) -> list[tuple[str, Any]]:
        caller = getattr(self.pm.hook, hook)
        impls = [
            (impl.plugin_name, impl)
            for impl in reversed(caller.get_hookimpls())  # pluggy's call order
            if not (impl.wrapper or impl.hookwrapper)
        ]
        return [i for i in impls if only is None or i[0] == only]

    def impls(self, hook: str, enabled: frozenset[str]) -> list[tuple[str, Any]]:
        """The (plugin name, implementation) pairs of ``hook`` among ``enabled`` plugins."""
        key = (hook, enabled)
        cached = self._impl_cache.get(key)
        if cached is None:
            cached = [(n, impl) for n, impl in self._impls_of(hook) if n in enabled]
            if len(self._impl_cache) > 512:
                self._impl_cache.clear()
            self._impl_cache[key] = cached
        return cached


class PluginError(Exception):
    """A plugin declared something the forum cannot accept (the message says what)."""


def _describe(target: Any) -> str:
    if isinstance(target, importlib.metadata.EntryPoint):
        return target.value
    if isinstance(target, ModuleType):
        return target.__name__
    return str(target)


def _meta(module: Any, distribution: str) -> PluginMeta:
    declared = getattr(module, "META", None)
    if declared is not None and not isinstance(declared, PluginMeta):
        raise PluginError("META must be a forum.plugin_api.PluginMeta")
    declared = declared or PluginMeta()
    if not distribution:
        return declared
    try:
        md = importlib.metadata.metadata(distribution)
    except importlib.metadata.PackageNotFoundError:
        return declared
    urls = md.get_all("Project-URL") or []
    homepage = md.get("Home-page") or (urls[0].split(",", 1)[-1].strip() if urls else "")
    return PluginMeta(
        label=declared.label,
        description=declared.description or md.get("Summary") or "",
        version=declared.version or md.get("Version") or "",
        author=declared.author or md.get("Author") or md.get("Author-email") or "",
        homepage=declared.homepage or homepage or "",
        min_core_version=declared.min_core_version,
    )


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def _as_list(result: Any) -> list:
    if result is None:
        return []
    if isinstance(result, list | tuple):
        return list(result)
    return [result]


def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
    """Call one hook implementation with the arguments it asks for (as pluggy would)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


# -- the app-facing API (inside an app context) ------------------------------------------------


def init_app(app: Flask) -> PluginManager:
    """Load every installed plugin into ``app`` and install the per-request 404 guard."""
    manager = PluginManager()
    manager.load_all(app.config.get("EXTRA_PLUGINS") or {})
    app.extensions["forum_plugins"] = manager
    manager.install(app)

    if manager.blueprint_owner:

        @app.before_request
        def disabled_plugin_routes_are_404() -> None:
            blueprint = request.blueprint
            if blueprint is None:
                return
            owner = manager.blueprint_owner.get(blueprint.split(".", 1)[0])
            if owner is not None and owner not in enabled_names():
                abort(404)

    return manager


def manager(app: Flask | None = None) -> PluginManager:
    """The plugin manager of ``app`` (default: the current app)."""
    return (app or current_app).extensions["forum_plugins"]


def enabled_names() -> frozenset[str]:
    """Names of the plugins that are loaded and enabled right now (cached per worker)."""
    from forum.services import plugin_state

    return plugin_state.enabled_names()


def is_enabled(name: str) -> bool:
    """True while plugin ``name`` is loaded and enabled."""
    return name in enabled_names()


def enabled_plugins() -> list[PluginInfo]:
    """The enabled plugins' records, by name (cached per worker with the enabled set)."""
    from forum.services.site import cached

    def load() -> list[PluginInfo]:
        names = enabled_names()
        return [p for p in manager().loaded() if p.name in names]

    return cached("plugins_enabled_records", load)


def _enabled_impls(hook: str) -> list[tuple[str, Any]]:
    return manager().impls(hook, enabled_names())


def has_impls(hook: str) -> bool:
    """True when an enabled plugin implements ``hook`` (a cheap check before building args)."""
    return bool(_enabled_impls(hook))


def collect(hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a render or after hook of every enabled plugin; return (plugin, result) pairs.

    An exception in one plugin is logged with its name and that plugin is skipped. None
    results are left out.
    """
    return _collect(hook, _enabled_impls(hook), kwargs)


def _collect(hook: str, impls: list[tuple[str, Any]], kwargs: dict[str, Any]) -> list:
    out: list[tuple[str, Any]] = []
    for name, impl in impls:
        try:
            result = _call(impl, kwargs)
        except Exception:
            log.exception("plugin %s: %s failed", name, hook)
            continue
        if result is not None:
            out.append((name, result))
    return out


def fire(hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call an after hook (after commit) of every enabled plugin, exception-safe; return
    the (plugin, result) pairs of those that returned something.

    A plugin that raises is logged and its half-done database work rolled back; the others
    still run.
    """
    from forum.extensions import db

    results: list[tuple[str, Any]] = []
    for name, impl in _enabled_impls(hook):
        try:
            result = _call(impl, kwargs)
        except Exception:
            log.exception("plugin %s: %s failed", name, hook)
            db.session.rollback()
            continue
        if result is not None:
            results.append((name, result))
    return results


def check_before(hook: str, **kwargs: Any) -> None:
    """Call a before hook of every enabled plugin; raise :class:`ServiceError` on refusal.

    A plugin refuses by returning a message or raising ``ServiceError``. Any other
    exception is logged and the plugin's check skipped (a broken plugin must not stop the
    whole forum from posting).
    """
    for name, impl in _enabled_impls(hook):
        try:
            result = _call(impl, kwargs)
        except ServiceError:
            raise
        except Exception:
            log.exception("plugin %s: %s failed", name, hook)
            continue
        if result:
            raise ServiceError(str(result))


def render_slot(slot: str, **context: Any) -> Markup:
    """The HTML enabled plugins put into the theme's slot ``slot``.

    Plugins get ``context`` (board, thread, post, member …) and the viewer. A plugin that
    raises is logged and left out.
    """
    hook = "forum_template_slot"
    impls = _enabled_impls(hook)
    if not impls:
        return Markup("")
    if "viewer" not in context:
        from forum.web.util import viewer  # noqa: PLC0415 (render hooks run in a request)

        context["viewer"] = viewer()
    results = _collect(hook, impls, {"slot": slot, "context": context})
    return Markup("").join(Markup(html) for _name, html in results)


def _flattened(hook: str, **kwargs: Any) -> list:
    """The items of every enabled plugin's list result of ``hook``, in call order."""
    return [item for _n, items in collect(hook, **kwargs) for item in _as_list(items)]


def nav_items(member: Any) -> list:
    """The links enabled plugins add to the top navigation."""
    return _flattened("forum_nav_items", member=member)


def board_filters(board: Any) -> list[BoardFilter]:
    """The thread-list filters enabled plugins offer on ``board`` (``forum_board_filters``);
    items that are not :class:`BoardFilter` are logged and left out."""
    found: list[BoardFilter] = []
    for name, items in collect("forum_board_filters", board=board):
        for item in _as_list(items):
            if isinstance(item, BoardFilter):
                found.append(item)
            else:
                log.error("plugin %s: forum_board_filters returned %r", name, item)
    return found


def post_order(thread: Any, page: int, per_page: int, order: str) -> list[int] | None:
    """The post ids the enabled plugin of ``thread``'s kind shows on ``page`` in ``order``
    (its ``ThreadKind.post_order``), or None for the core's order by number (no such
    function, the plugin is disabled, it returned None, or it raised: logged)."""
    found = thread_kinds().get(thread.kind) if thread.kind != "discussion" else None
    if found is None or found[1].post_order is None:
        return None
    from forum.extensions import db

    try:
        # In a SAVEPOINT, as trust facts: a failed query leaves the page's transaction (and
        # its loaded thread) usable for the order by number.
        with db.session.begin_nested():
            ids = found[1].post_order(thread, page, per_page, order)
    except Exception:
        log.exception("plugin %s: post_order of kind %s failed", found[0], thread.kind)
        return None
    return None if ids is None else [int(i) for i in ids]


def reorders_posts(thread: Any) -> bool:
    """True when an enabled plugin orders the posts of ``thread``'s kind itself."""
    found = thread_kinds().get(thread.kind) if thread.kind != "discussion" else None
    return found is not None and found[1].post_order is not None


def trust_facts(members: Iterable[Any]) -> dict[int, list[TrustFact]]:
    """member id → the trust-card facts enabled plugins supply, for all ``members`` at once.

    Each plugin's ``forum_trust_facts(members)`` is called once; its dicts are merged in
    plugin order and each member's facts sorted by ``order`` (stable, so plugin order breaks
    ties). A plugin that raises or returns something other than a dict of lists of
    :class:`TrustFact` is logged with its name and left out (the page goes on: each plugin's
    call runs in a SAVEPOINT, so a failed query leaves the page's transaction usable); ids that are
    not among ``members`` are dropped. No call at all when no enabled plugin implements it.
    """
    hook = "forum_trust_facts"
    impls = _enabled_impls(hook)
    members = list(members)
    if not impls or not members:
        return {}
    wanted = {m.id for m in members}
    merged: dict[int, list[TrustFact]] = {}
    from forum.extensions import db

    for name, impl in impls:
        try:
            # In a SAVEPOINT: a failed query of the plugin rolls back only its own work, so
            # the page (whose loaded thread and posts stay as they are) can still query.
            with db.session.begin_nested():
                result = _call(impl, {"members": members})
        except Exception:
            log.exception("plugin %s: %s failed", name, hook)
            continue
        if result is None:
            continue
        try:
            facts = _trust_result(result, wanted)
        except TypeError as exc:
            log.error("plugin %s: %s failed: %s", name, hook, exc)
            continue
        for member_id, items in facts.items():
            merged.setdefault(member_id, []).extend(items)
    for items in merged.values():
        items.sort(key=lambda f: f.order)
    return merged


def _trust_result(result: Any, wanted: set[int]) -> dict[int, list[TrustFact]]:
    """One plugin's ``forum_trust_facts`` result, checked (TypeError says what is wrong)."""
    if not isinstance(result, Mapping):
        raise TypeError(f"returned {type(result).__name__}, not a dict of member id → facts")
    checked: dict[int, list[TrustFact]] = {}
    for member_id, items in result.items():
        items = _as_list(items)
        for item in items:
            if not isinstance(item, TrustFact):
                raise TypeError(f"returned {item!r} for member {member_id!r}, not a TrustFact")
        if member_id in wanted and items:
            checked[member_id] = items
    return checked


def permissions() -> list[tuple[str, Permission]]:
    """(plugin, permission) for every permission of the enabled plugins."""
    return [(p.name, perm) for p in enabled_plugins() for perm in p.permissions]


def thread_kinds() -> dict[str, tuple[str, ThreadKind]]:
    """kind name → (plugin, kind) for the enabled plugins' thread kinds (cached per worker
    with the enabled set; do not change the dict)."""
    from forum.services.site import cached

    return cached(
        "plugins_thread_kinds",
        lambda: {k.name: (p.name, k) for p in enabled_plugins() for k in p.thread_kinds},
    )


def notification_kinds() -> dict[str, tuple[str, NotificationKind]]:
    """kind name → (plugin, kind) for every *loaded* plugin's notification kinds, enabled or
    not (a disabled plugin's notifications are still listed, with a plain text)."""
    return {k.name: (p.name, k) for p in manager().loaded() for k in p.notification_kinds}


def admin_pages() -> list[tuple[str, AdminPage]]:
    """(plugin, page) for the enabled plugins' admin links."""
    return [(p.name, page) for p in enabled_plugins() for page in p.admin_pages]


def migration_dirs(app: Flask | None = None) -> list[Path]:
    """The ``migrations/versions`` folders of every loaded plugin (enabled or not)."""
    return [p.migrations for p in manager(app).loaded() if p.migrations is not None]


def owns_table(table: str, app: Flask | None = None) -> bool:
    """True when ``table`` belongs to the core or to a plugin loaded in ``app``."""
    from forum.models import core_tables

    if table in core_tables():
        return True
    return any(table.startswith(p.table_prefix) for p in manager(app).loaded())


def alembic_include_object(
    obj, name, type_, reflected, compare_to, only: str | None = None
) -> bool:
    """Alembic's ``include_object``: only the core's tables and those of the plugins loaded
    here, with their indexes and constraints (other plugins' tables are none of ours).

    With ``only``, just the tables of that plugin (``<only>_…``).
    """
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if not table:
        return True
    if only is not None and not table.startswith(f"{only}_"):
        return False
    return owns_table(table)
