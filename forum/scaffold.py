"""``forum plugins new NAME``: write a new plugin distribution, ready to ``pip install -e``.

:func:`create_plugin` writes the folder ``shequn-NAME/``:

- ``pyproject.toml``: the distribution ``shequn-NAME`` with its entry point in the group
  ``forum.plugins`` (that is how the forum finds it) and its package data;
- ``shequn_NAME/``: the package, with hooks (a page, a permission, a setting, a profile
  slot, an after-hook), a model, a service, templates, a zh_Hans translation (``.po`` and
  compiled ``.mo``) and its first migration, an Alembic branch labelled ``NAME`` that
  depends on the core's newest revision (read from ``forum/migrations/versions`` now, so it
  stays right as the core grows);
- ``tests/``: tests on the core's fixtures (:mod:`forum.testing`) that pass as generated;
- ``README.md``, ``babel.cfg`` and ``.gitignore``.

The generated plugin counts the posts each member writes (where they have the plugin's
permission), shows the count on their profile card and lists the most active members on
``/NAME/``: small, but every part a real plugin needs, working and tested. The plugin guide
(``docs/plugins.md``) starts from it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import pkgutil
from datetime import UTC, datetime
from pathlib import Path
from string import Template

from forum import __version__

#: The entry-point group the forum discovers plugins in (as in :mod:`forum.plugins`).
ENTRY_POINT_GROUP = "forum.plugins"
#: Alembic's ``alembic_version.version_num`` column holds at most this many characters.
#: Names a plugin may not take: the core's own, and words the platform uses.
_RESERVED = frozenset({"forum", "shequn", "plugins", "static", "core", "test", "tests"})


class ScaffoldError(Exception):
    """The plugin cannot be written (the message says why, for the command line)."""


# -- checks -------------------------------------------------------------------------------------


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can be a new plugin's name here.

    The name must follow the platform's rule (:data:`forum.plugins.PLUGIN_NAME`), must not
    be taken by an installed plugin, a part of the core (a blueprint, the first part of a
    URL, a table that would look like the plugin's) or a word the platform reserves, and its
    package ``shequn_NAME`` must not shadow a module that is already importable.
    """
    from forum.plugins import PLUGIN_NAME

    if not PLUGIN_NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: use 2 to 24 characters, lower case "
            "letters, digits and _, starting with a letter (for example: checkin, trade_rating)"
        )
    if name in _RESERVED:
        raise ScaffoldError(f"{name!r} is reserved by Shequn; choose another name")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = ep.dist.name if ep.dist is not None else ep.value
        if ep.name == name:
            raise ScaffoldError(
                f"a plugin called {name!r} is already installed (from {where}); choose another name"
            )
        if name.startswith(f"{ep.name}_") or ep.name.startswith(f"{name}_"):
            raise ScaffoldError(
                f"the installed plugin {ep.name!r} (from {where}) and {name!r} would share "
                f"table names (a plugin owns the tables named after it and _); choose "
                "another name"
            )
    blueprints, url_parts = _core_routes()
    if name in blueprints:
        raise ScaffoldError(
            f"{name!r} is the name of one of the core's blueprints; choose another name"
        )
    if name in url_parts:
        raise ScaffoldError(
            f"the core already answers URLs under /{name}; the plugin's page could not live "
            "there: choose another name"
        )
    from forum.models import core_tables

    clash = sorted(t for t in core_tables() if t == name or t.startswith(f"{name}_"))
    if clash:
        raise ScaffoldError(
            f"the core's table {clash[0]!r} would look like a table of a plugin called "
            f"{name!r} (a plugin owns the tables named {name}_...); choose another name"
        )
    package = package_name(name)
    spec = importlib.util.find_spec(package)
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or []) or "?"
        raise ScaffoldError(
            f"a module called {package!r} can already be imported (from {where}); a new "
            "package of that name would shadow it, or be shadowed by it: choose another name "
            "(or uninstall the old one)"
        )


def _core_routes() -> tuple[set[str], set[str]]:
    """The core's blueprint names and the first parts of its URLs (``admin``, ``t`` …)."""
    from flask import Blueprint, Flask

    import forum.web

    probe = Flask("forum_scaffold_probe")
    for module_info in pkgutil.iter_modules(forum.web.__path__):
        module = importlib.import_module(f"forum.web.{module_info.name}")
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint) and bp.name not in probe.blueprints:
            probe.register_blueprint(bp)
    parts = {rule.rule.strip("/").split("/")[0] for rule in probe.url_map.iter_rules()}
    parts.discard("")
    return set(probe.blueprints), parts


# -- names -------------------------------------------------------------------------------------


def package_name(name: str) -> str:
    """The import name of plugin ``name``'s package: ``shequn_NAME``."""
    return f"shequn_{name}"


def distribution_name(name: str) -> str:
    """The distribution (PyPI) name of plugin ``name``: ``shequn-NAME``."""
    return f"shequn-{name}"


def revision_id(name: str) -> str:
    """The revision id of the plugin's first migration: ``NAME_0001`` (plugin names have at
    most 24 characters, so it fits Alembic's 32-character version column)."""
    return f"{name}_0001"


def core_heads() -> tuple[str, ...]:
    """The head revision(s) of the core's migrations (``forum/migrations/versions``)."""
    from alembic.script import ScriptDirectory

    directory = Path(__file__).resolve().parent / "migrations"
    heads = ScriptDirectory(str(directory)).get_heads()
    if not heads:
        raise ScaffoldError(f"no migrations found in {directory / 'versions'}")
    return tuple(sorted(heads))


def _label(name: str) -> str:
    return name.replace("_", " ").title()


# -- writing -----------------------------------------------------------------------------------


def plugin_files(name: str, *, now: datetime | None = None) -> dict[str, str | bytes]:
    """The files of a new plugin called ``name``: relative path → text (or bytes).

    Does not check the name (see :func:`check_name`).
    """
    heads = core_heads()
    quoted = [json.dumps(h) for h in heads]
    depends_on = quoted[0] if len(quoted) == 1 else f"({', '.join(quoted)})"
    now = now or datetime.now(UTC)
    values = {
        "name": name,
        "package": package_name(name),
        "dist": distribution_name(name),
        "label": _label(name),
        "table": f"{name}_tally",
        "revision": revision_id(name),
        "depends_on": depends_on,
        "core_version": __version__,
        "date": now.strftime("%Y-%m-%d %H:%M:%S"),
        "po_date": now.strftime("%Y-%m-%d %H:%M"),
        "year": now.strftime("%Y"),
    }
    files: dict[str, str | bytes] = {}
    for path, text in _FILES.items():
        files[Template(path).substitute(values)] = Template(text).substitute(values)
    po_path = f"{values['package']}/translations/zh_Hans/LC_MESSAGES/messages.po"
    files[po_path.removesuffix(".po") + ".mo"] = compile_po(str(files[po_path]))
    return files


def compile_po(text: str) -> bytes:
    """A ``.po`` catalog's text compiled to ``.mo`` bytes (with babel's ``write_mo``)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.StringIO(text), locale="zh_Hans")
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def create_plugin(name: str, directory: Path | str = ".") -> Path:
    """Write the plugin ``shequn-NAME/`` into ``directory``; the new folder.

    Raises :class:`ScaffoldError` when the name is not usable or the folder exists (nothing
    is ever overwritten).
    """
    check_name(name)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is not a folder")
    target = directory / distribution_name(name)
    if target.exists():
        raise ScaffoldError(f"{target} already exists; not overwriting it")
    files = plugin_files(name)
    directory.mkdir(parents=True, exist_ok=True)
    target.mkdir()
    for relative, content in sorted(files.items()):
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return target


# -- the files (string.Template: $name, $package, $label …) ------------------------------------

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$label: a Shequn plugin that counts members' posts and lists the most active ones."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["shequn>=$core_version"]
classifiers = [
    "Framework :: Flask",
    "Programming Language :: Python :: 3",
]

# This is how Shequn finds the plugin: the name on the left is the plugin's name.
[project.entry-points."forum.plugins"]
$name = "$package"

[tool.setuptools]
packages = ["$package"]

[tool.setuptools.package-data]
$package = ["templates/**/*", "translations/*/LC_MESSAGES/*", "migrations/versions/*.py"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM"]
ignore = ["E501"]
"""

_README = """\
# $dist

$label: a plugin for [Shequn](https://pypi.org/project/shequn/) (社群), the community forum.
It counts the posts each member writes on the boards where they have the `${name}_use`
permission, shows the count on their profile, and lists the most active members at
`/$name/`.

## Install

In the Python environment where Shequn is installed:

```sh
pip install -e .          # from this folder (for development), or: pip install $dist
forum db upgrade          # creates the plugin's table ($table)
forum plugins enable $name
forum plugins list        # $name should now say "enabled"
```

An installed plugin is off until it is enabled. `forum plugins disable $name` switches it
off again (its data is kept); `forum plugins purge $name` deletes its table and settings.

## Develop

```sh
pytest                    # the tests in tests/, on SQLite
FORUM_TEST_DATABASE_URL=postgresql://user@localhost/test pytest   # and on PostgreSQL
ruff check . && ruff format .
```

| Path | What it holds |
| --- | --- |
| `$package/__init__.py` | `META` and the hook implementations |
| `$package/models.py` | the plugin's table (`$table`) |
| `$package/services.py` | the plugin's rules, callable without HTTP |
| `$package/views.py` | the page at `/$name/` |
| `$package/templates/$name/` | the page and the profile card |
| `$package/migrations/versions/` | the plugin's Alembic branch (`$name`) |
| `$package/translations/` | the zh_Hans catalog (`.po`, and the compiled `.mo`) |
| `tests/` | tests on Shequn's fixtures (`forum.testing`) |

A new migration, after you change `models.py` (run it where an instance's database is at
the newest revision):

```sh
forum db migrate -m "what changed" --head $name@head --rev-id ${name}_0002
```

Translations, after you change a message:

```sh
pybabel extract -F babel.cfg -k _l -o messages.pot .
pybabel update -i messages.pot -d $package/translations -l zh_Hans
# translate the new entries in messages.po, then:
pybabel compile -d $package/translations
```

The plugin guide, with every hook: `docs/plugins.md` in Shequn's source.

## Publish

```sh
pip install build twine
python -m build           # dist/$dist-0.1.0.tar.gz and a wheel
twine upload dist/*
```
"""

_GITIGNORE = """\
__pycache__/
*.egg-info/
build/
dist/
instance/
messages.pot
"""

_BABEL_CFG = """\
[python: $package/**.py]
[jinja2: $package/templates/**.html]
"""

_INIT = '''\
"""$label: a Shequn plugin.

It counts the posts each member writes on the boards where they have the ``${name}_use``
permission, shows the count on their profile card and lists the most active members at
``/$name/``. Made with ``forum plugins new $name``; Shequn's plugin guide
(``docs/plugins.md``) explains every hook used here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from forum.plugin_api import Permission, PluginMeta, Setting, hookimpl
from markupsafe import Markup

from $package import services
from $package.views import bp

#: Shown in ``forum plugins list`` and the admin area. Version, summary and author come
#: from the distribution's metadata (pyproject.toml) when they are left empty here.
META = PluginMeta(
    label="$label",
    description="Counts members' posts and lists the most active ones.",
    min_core_version="$core_version",
)


@hookimpl
def forum_blueprints() -> list[Blueprint]:
    """The page at /$name/ (it answers 404 while the plugin is disabled)."""
    return [bp]


@hookimpl
def forum_permissions() -> list[Permission]:
    """Posts are counted on the boards where their author has this permission."""
    return [
        Permission(
            services.USE,
            _l("Posts count for $label"),
            grants=("member", "moderator"),
            description=_l("Posts on this board are counted on the /$name/ page."),
        )
    ]


@hookimpl
def forum_settings() -> list[Setting]:
    """The owner edits these on the plugin's admin page."""
    return [
        Setting(
            "top",
            "int",
            10,
            _l("Members listed"),
            help=_l("How many members the /$name/ page lists."),
            min=1,
            max=100,
        )
    ]


@hookimpl
def forum_post_created(post: Any, thread: Any, member: Any) -> None:
    """Count the new post (after the commit; an exception here is logged, not shown)."""
    services.record_post(member, thread.board_id)


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The member's count on their profile card."""
    if slot != "profile_card" or context.get("member") is None:
        return None
    member = context["member"]
    html = render_template(
        "$name/profile_card.html", member=member, posts=services.posts_of(member.id)
    )
    return Markup(html)
'''

_MODELS = '''\
"""The plugin's table. Every table of a plugin is named after it: ``${name}_...``."""

from __future__ import annotations

from datetime import datetime

from forum.extensions import db
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


class PostTally(db.Model):
    """How many posts a member wrote where the ``${name}_use`` permission counts them."""

    __tablename__ = "$table"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    posts: Mapped[int] = mapped_column(default=0)
    last_post_at: Mapped[datetime]
'''

_SERVICES = '''\
"""The plugin's rules, callable without HTTP (views and hooks only call these)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forum.extensions import db
from forum.models import Member
from forum.services import permissions
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from $package.models import PostTally

#: The plugin's name (its entry point in pyproject.toml).
PLUGIN = "$name"
#: The board permission that makes a member's posts count.
USE = f"{PLUGIN}_use"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # the forum stores naive UTC


def record_post(member: Any, board_id: int) -> bool:
    """Count one post of ``member`` on board ``board_id``; True when it counted. Commits.

    Only posts on boards where the member has the ``USE`` permission count.
    """
    if not permissions.can(member, USE, board_id):
        return False
    now = _now()
    counted = (
        update(PostTally)
        .where(PostTally.member_id == member.id)
        .values(posts=PostTally.posts + 1, last_post_at=now)
    )
    if db.session.execute(counted).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(PostTally(member_id=member.id, posts=1, last_post_at=now))
        except IntegrityError:  # another worker counted this member's first post just now
            db.session.execute(counted)
    db.session.commit()
    return True


def posts_of(member_id: int) -> int:
    """How many of the member's posts were counted."""
    tally = db.session.get(PostTally, member_id)
    return tally.posts if tally is not None else 0


def most_active(limit: int) -> list[tuple[str, str, int]]:
    """(username, name shown, posts) of the ``limit`` members with the most counted posts."""
    rows = db.session.execute(
        select(Member.username, Member.display_name, PostTally.posts)
        .join(PostTally, PostTally.member_id == Member.id)
        .order_by(PostTally.posts.desc(), Member.id)
        .limit(limit)
    )
    return [(username, display or username, posts) for username, display, posts in rows]
'''

_VIEWS = '''\
"""The plugin's page. Views parse the request, call a service and render a template."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from forum.plugin_api import plugin_settings

from $package import services

bp = Blueprint(services.PLUGIN, __name__, url_prefix="/$name")


@bp.get("/")
def index() -> str:
    """The most active members (as many as the ``top`` setting says)."""
    top = plugin_settings(services.PLUGIN)["top"]
    mine = services.posts_of(current_user.id) if current_user.is_authenticated else None
    return render_template("$name/index.html", rows=services.most_active(top), mine=mine)
'''

_INDEX_HTML = """\
{% extends "base.html" %}
{% block title %}{{ _('Most active members') }} · {{ super() }}{% endblock %}
{% block content %}
<section class="card">
  <h1>{{ _('Most active members') }}</h1>
  {% if mine is not none %}
  <p class="meta ${name}-mine">{{ ngettext('You wrote %(num)d counted post.', 'You wrote %(num)d counted posts.', mine) }}</p>
  {% endif %}
  <ol class="plain-list">
    {% for username, shown, posts in rows %}
    <li><a href="{{ url_for('members.profile', username=username) }}">{{ shown }}</a> <span class="meta">{{ ngettext('%(num)d post', '%(num)d posts', posts) }}</span></li>
    {% else %}
    <li class="empty">{{ _('No posts counted yet.') }}</li>
    {% endfor %}
  </ol>
</section>
{% endblock %}
"""

_PROFILE_CARD_HTML = """\
<p class="${name}-card meta">{{ ngettext('%(num)d post counted by $label', '%(num)d posts counted by $label', posts) }}</p>
"""

_MESSAGES_PO = """\
# Chinese (Simplified) translations for $dist.
# Copyright (C) $year
# This file is distributed under the same license as the $dist project.
#
msgid ""
msgstr ""
"Project-Id-Version: $dist 0.1.0\\n"
"Report-Msgid-Bugs-To: \\n"
"POT-Creation-Date: $po_date+0000\\n"
"PO-Revision-Date: $po_date+0000\\n"
"Last-Translator: \\n"
"Language: zh_Hans\\n"
"Language-Team: zh_Hans\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Content-Transfer-Encoding: 8bit\\n"

msgid "Posts count for $label"
msgstr "帖子计入 $label"

msgid "Posts on this board are counted on the /$name/ page."
msgstr "本版块的帖子计入 /$name/ 页面。"

msgid "Members listed"
msgstr "列出的成员数"

msgid "How many members the /$name/ page lists."
msgstr "/$name/ 页面列出多少位成员。"

msgid "Most active members"
msgstr "最活跃的成员"

#, python-format
msgid "You wrote %(num)d counted post."
msgid_plural "You wrote %(num)d counted posts."
msgstr[0] "你有 %(num)d 篇帖子被计入。"

#, python-format
msgid "%(num)d post"
msgid_plural "%(num)d posts"
msgstr[0] "%(num)d 篇帖子"

msgid "No posts counted yet."
msgstr "还没有计入的帖子。"

#, python-format
msgid "%(num)d post counted by $label"
msgid_plural "%(num)d posts counted by $label"
msgstr[0] "$label 计入了 %(num)d 篇帖子"
"""

_MIGRATION = '''\
"""$name plugin: the post tally

Revision ID: $revision
Revises:
Create Date: $date

The first revision of the plugin's own Alembic branch (label ``$name``). It depends on the
core's newest revision when the plugin was made, so the core's tables exist first. Add the
next one with ``forum db migrate -m "..." --head $name@head``.
"""

import sqlalchemy as sa
from alembic import op

revision = "$revision"
down_revision = None
branch_labels = ("$name",)
depends_on = $depends_on


def upgrade():
    op.create_table(
        "$table",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("last_post_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_${table}_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_$table")),
    )


def downgrade():
    op.drop_table("$table")
'''

_CONFTEST = '''\
"""Shequn's test fixtures (``app``, ``client``, ``make_member``, ``enable_plugin`` …)."""

pytest_plugins = ["forum.testing"]
'''

_TESTS = '''\
"""Tests of the $name plugin, on Shequn's fixtures (``forum.testing``).

``pytest`` in the plugin's folder runs them on SQLite; with ``FORUM_TEST_DATABASE_URL`` set
to a PostgreSQL database every test also runs there. The ``app`` fixture is a fresh forum
on a fresh database, with this plugin installed but disabled, as on a real site.
"""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from forum.extensions import db
from forum.plugin_api import plugin_settings
from forum.services import plugin_state, posting
from forum.testing import fresh_database, migrating_app, schema_diff
from sqlalchemy import inspect

from $package import services

PLUGIN = services.PLUGIN


def test_page_is_404_while_disabled(client):
    assert client.get("/$name/").status_code == 404


def test_page_lists_the_most_active_members(client, enable_plugin, make_member, make_board):
    enable_plugin(PLUGIN)
    board = make_board("general")
    ada = make_member("ada", display_name="Ada L.")
    posting.create_thread(ada, board, "Hello", "The first post.")
    response = client.get("/$name/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Most active members" in page
    assert "Ada L." in page and "1 post" in page


def test_page_speaks_chinese(client, enable_plugin):
    enable_plugin(PLUGIN)
    page = client.get("/$name/?lang=zh_Hans").get_data(as_text=True)
    assert "最活跃的成员" in page


def test_signed_in_member_sees_their_count(client, enable_plugin, make_member, login):
    enable_plugin(PLUGIN)
    login(client, make_member("ada"))
    assert "You wrote 0 counted posts." in client.get("/$name/").get_data(as_text=True)


def test_new_posts_are_counted(enable_plugin, make_member, make_board):
    enable_plugin(PLUGIN)
    board = make_board("general")
    ada = make_member("ada")
    thread = posting.create_thread(ada, board, "Hello", "The first post.")
    posting.reply(ada, thread, "A reply.")
    assert services.posts_of(ada.id) == 2


def test_posts_count_only_where_the_permission_allows(enable_plugin, make_member, make_board):
    enable_plugin(PLUGIN)
    quiet = make_board("quiet", grants={"member": ("view", "read", "start_thread", "reply")})
    ada = make_member("ada")
    posting.create_thread(ada, quiet, "Hello", "Not counted here.")
    assert services.posts_of(ada.id) == 0


def test_nothing_is_counted_while_disabled(app, make_member, make_board):
    ada = make_member("ada")
    posting.create_thread(ada, make_board("general"), "Hello", "The first post.")
    assert services.posts_of(ada.id) == 0


def test_profile_card_shows_the_count(client, enable_plugin, make_member, make_board):
    ada = make_member("ada")
    assert "$name-card" not in client.get("/u/ada").get_data(as_text=True)
    enable_plugin(PLUGIN)
    posting.create_thread(ada, make_board("general"), "Hello", "The first post.")
    page = client.get("/u/ada").get_data(as_text=True)
    assert "1 post counted by $label" in page


def test_setting_default_and_change(app, enable_plugin):
    enable_plugin(PLUGIN)
    assert plugin_settings(PLUGIN)["top"] == 10
    assert plugin_state.save_settings(PLUGIN, {"top": "0"})  # below the minimum: refused
    assert plugin_state.save_settings(PLUGIN, {"top": "3"}) == {}
    assert plugin_settings(PLUGIN)["top"] == 3


def test_migration_creates_what_the_models_declare(tmp_path, database_kind):
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            diff = schema_diff(only=PLUGIN)  # this plugin's tables (others may be installed)
            assert diff == [], diff
            downgrade(directory=directory, revision=f"{PLUGIN}@base")
            assert "$table" not in inspect(db.engine).get_table_names()
            db.session.remove()
            db.engine.dispose()
'''

#: Relative path → content, both string.Template text.
_FILES: dict[str, str] = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    ".gitignore": _GITIGNORE,
    "babel.cfg": _BABEL_CFG,
    "$package/__init__.py": _INIT,
    "$package/models.py": _MODELS,
    "$package/services.py": _SERVICES,
    "$package/views.py": _VIEWS,
    "$package/templates/$name/index.html": _INDEX_HTML,
    "$package/templates/$name/profile_card.html": _PROFILE_CARD_HTML,
    "$package/translations/zh_Hans/LC_MESSAGES/messages.po": _MESSAGES_PO,
    "$package/migrations/versions/${name}_0001_initial.py": _MIGRATION,
    "tests/conftest.py": _CONFTEST,
    "tests/test_$name.py": _TESTS,
}
