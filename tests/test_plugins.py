"""The plugin platform: discovery, enable/disable across workers, fault isolation, clashes,
settings, permissions, before/after hooks and per-plugin migrations."""

from __future__ import annotations

import logging
import sys
import textwrap
import uuid

import pytest
from flask_babel import force_locale
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

import tests.sample_plugin as sample
from forum import plugins
from forum.extensions import db as _db
from forum.services import permissions, plugin_state, posting
from forum.services.errors import ServiceError
from forum.testing import fresh_database, make_test_app, migrating_app, schema_diff

SAMPLE = {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}


@pytest.fixture
def app_config():
    return dict(SAMPLE)


@pytest.fixture(autouse=True)
def _clean_sample():
    sample.EVENTS.clear()
    sample.SAMPLE_RAISE.update(on=False, after=False)
    yield
    sample.SAMPLE_RAISE.update(on=False, after=False)


def _write_module(folder, source: str) -> str:
    """A uniquely named plugin module in ``folder`` (so tests never share module state)."""
    name = "plug_" + uuid.uuid4().hex[:10]
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


# -- discovery ------------------------------------------------------------------------------


def test_entry_point_discovery_reads_distribution_metadata(app, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    module = _write_module(
        site,
        """
        from forum.plugin_api import hookimpl

        @hookimpl
        def forum_member_registered(member):
            pass
        """,
    )
    dist = site / "shequn_hello-2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: shequn-hello\nVersion: 2.3\n"
        "Summary: Says hello\nAuthor: Ada\nHome-page: https://example.com/hello\n",
        encoding="utf-8",
    )
    (dist / "entry_points.txt").write_text(f"[forum.plugins]\nhello = {module}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    other = make_test_app(tmp_path / "other", f"sqlite:///{tmp_path / 'other.db'}")
    with other.app_context():
        info = plugins.manager().get("hello")
        assert info is not None and not info.broken, info and info.error
        assert (info.meta.version, info.meta.description, info.meta.author) == (
            "2.3",
            "Says hello",
            "Ada",
        )
        assert info.meta.homepage == "https://example.com/hello"
        assert info.distribution == "shequn-hello"
        assert not plugins.is_enabled("hello")  # installed plugins start disabled
        plugin_state.enable("hello")
        assert plugins.is_enabled("hello")
        _db.session.remove()
        _db.engine.dispose()


def test_two_app_instances_share_the_switch(tmp_path, database_kind):
    """Enable/disable/re-enable in one worker; the other sees it on its next request."""
    with fresh_database(tmp_path, database_kind) as url:
        first = make_test_app(tmp_path, url, **SAMPLE)
        second = make_test_app(tmp_path, url, **SAMPLE)
        one, two = first.test_client(), second.test_client()
        assert two.get("/sample/").status_code == 404  # warm worker two's cache
        for enabled in (True, False, True):
            with first.app_context():
                if enabled:
                    plugin_state.enable("sample")
                else:
                    plugin_state.disable("sample")
            expected = 200 if enabled else 404
            assert two.get("/sample/").status_code == expected
            assert one.get("/sample/").status_code == expected
        for application in (first, second):
            with application.app_context():
                _db.session.remove()
                _db.engine.dispose()


def test_disabled_plugin_keeps_its_data_and_is_not_called(
    app, make_member, make_board, enable_plugin
):
    board = make_board("notes")
    board.thread_kinds = "discussion,note"
    _db.session.commit()
    author = make_member("writer")
    enable_plugin("sample")
    thread = posting.create_thread(
        author, board, "便签", "正文", kind="note", fields={"colour": "red", "price": "3.50"}
    )
    assert ("thread_created", thread.id) in sample.EVENTS
    note = sample._load(thread)
    assert (note.colour, note.price_cents) == ("red", 350)
    enable_plugin("sample", disable=True)
    sample.EVENTS.clear()
    posting.reply(author, thread, "回复")
    assert sample.EVENTS == []  # a disabled plugin's hooks are not called
    assert sample._load(thread) is not None  # its data is kept
    assert posting.allowed_kinds(board) == ["discussion"]
    with pytest.raises(ServiceError):
        posting.create_thread(author, board, "再来", "正文", kind="note", fields={"colour": "red"})


# -- broken plugins -----------------------------------------------------------------------


BROKEN_SOURCES = {
    "import": "raise RuntimeError('cannot import this')\n",
    "unknown hook": """
        from forum.plugin_api import hookimpl

        @hookimpl
        def forum_post_creatd(post):
            pass
        """,
    "setup raises": """
        from forum.plugin_api import hookimpl

        @hookimpl
        def forum_settings():
            raise ValueError('settings exploded')
        """,
    "wrong type": """
        from forum.plugin_api import hookimpl

        @hookimpl
        def forum_permissions():
            return ["not a Permission"]
        """,
    "core too old": """
        from forum.plugin_api import PluginMeta

        META = PluginMeta(min_core_version="99.0")
        """,
    "wrapper": """
        from forum.plugin_api import hookimpl

        @hookimpl(wrapper=True)
        def forum_post_created(post):
            return (yield)
        """,
    "bad setting default": """
        from forum.plugin_api import Setting, hookimpl

        @hookimpl
        def forum_settings():
            return [Setting("limit", "int", "many", "Limit")]
        """,
}


@pytest.mark.parametrize("case", sorted(BROKEN_SOURCES))
def test_broken_plugin_is_listed_and_the_forum_starts(tmp_path, monkeypatch, case):
    folder = tmp_path / "mods"
    folder.mkdir()
    module = _write_module(folder, BROKEN_SOURCES[case])
    monkeypatch.syspath_prepend(str(folder))
    app = make_test_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'f.db'}",
        EXTRA_PLUGINS={"broken": module, **SAMPLE["EXTRA_PLUGINS"]},
    )
    with app.app_context(), force_locale("en"):
        info = plugins.manager().get("broken")
        assert info.broken
        expected = {
            "import": "cannot import this",
            "unknown hook": "forum_post_creatd",
            "setup raises": "settings exploded",
            "wrong type": "not a Permission",
            "core too old": "99.0",
            "bad setting default": "limit",
            "wrapper": "does not support wrappers",
        }[case]
        assert expected in info.error
        assert not plugins.manager().get("sample").broken  # the others still load
        with pytest.raises(ServiceError, match="cannot be enabled"):
            plugin_state.enable("broken")
        _db.session.remove()
    assert app.test_client().get("/").status_code == 200
    with app.app_context():
        _db.engine.dispose()
    sys.modules.pop(module, None)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            """
            from forum.plugin_api import Permission, hookimpl

            @hookimpl
            def forum_permissions():
                return [Permission("sample_stamp", "Mine too")]
            """,
            "permission 'sample_stamp' of plugin 'zclash' clashes with plugin 'sample'",
        ),
        (
            """
            from forum.plugin_api import Permission, hookimpl

            @hookimpl
            def forum_permissions():
                return [Permission("reply", "Reply")]
            """,
            "permission 'reply' of plugin 'zclash' clashes with the core",
        ),
        (
            """
            from forum.plugin_api import Setting, hookimpl

            @hookimpl
            def forum_settings():
                return [Setting("a", "bool", True, "A"), Setting("a", "int", 1, "A")]
            """,
            "declares the setting 'a' twice",
        ),
        (
            """
            from forum.plugin_api import ThreadKind, hookimpl

            @hookimpl
            def forum_thread_kinds():
                return [ThreadKind("note", "Another note")]
            """,
            "thread kind 'note' of plugin 'zclash' clashes with plugin 'sample'",
        ),
    ],
    ids=["permission-vs-plugin", "permission-vs-core", "setting-twice", "kind-vs-plugin"],
)
def test_clashing_declarations_are_refused_naming_both(tmp_path, monkeypatch, source, message):
    folder = tmp_path / "mods"
    folder.mkdir()
    module = _write_module(folder, source)
    monkeypatch.syspath_prepend(str(folder))
    app = make_test_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'c.db'}",
        EXTRA_PLUGINS={**SAMPLE["EXTRA_PLUGINS"], "zclash": module},
    )
    with app.app_context():
        assert message in plugins.manager().get("zclash").error
        assert not plugins.manager().get("sample").broken
        _db.session.remove()
        _db.engine.dispose()
    sys.modules.pop(module, None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("post", "would claim the core's table 'post_like'"),
        ("sample_extra", "table prefixes of plugins 'sample' and 'sample_extra' overlap"),
        ("a" * 25, "must be 2-24 lower case letters"),
        ("Bad-Name", "must be 2-24 lower case letters"),
    ],
)
def test_plugin_names_that_would_claim_others_tables_are_refused(tmp_path, name, message):
    app = make_test_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'p.db'}",
        EXTRA_PLUGINS={**SAMPLE["EXTRA_PLUGINS"], name: "forum.plugin_api"},
    )
    with app.app_context():
        assert message in plugins.manager().get(name).error
        assert not plugins.manager().get("sample").broken
        _db.session.remove()
        _db.engine.dispose()


def test_a_second_plugin_with_a_taken_name_is_refused(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    module = _write_module(site, "")
    dist = site / "shequn_copycat-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shequn-copycat\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[forum.plugins]\nsample = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'n.db'}", **SAMPLE)
    with app.app_context():
        manager = plugins.manager()
        assert manager.get("sample").distribution == "shequn-copycat"
        refused = [p for p in manager.all() if p.broken and p.name == "sample"]
        assert refused and "already taken by shequn-copycat" in refused[0].error
        assert "tests.sample_plugin" in refused[0].error
        _db.session.remove()
        _db.engine.dispose()


# -- render and after hooks are fault-isolated -----------------------------------------------


def test_a_raising_render_hook_is_logged_and_skipped(app, make_member, enable_plugin, caplog):
    enable_plugin("sample")
    member = make_member("facts")
    assert [f.label for f in plugins.trust_facts([member])[member.id]] == ["Sample fact"]
    sample.SAMPLE_RAISE["on"] = True
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        assert plugins.trust_facts([member]) == {}
        with app.test_request_context("/"):
            assert plugins.render_slot("post_footer", post=None, thread=None) == ""
    assert "plugin sample: forum_trust_facts failed" in caplog.text
    assert "plugin sample: forum_template_slot failed" in caplog.text


def test_a_raising_after_hook_does_not_undo_the_action(
    app, make_member, make_board, enable_plugin, caplog
):
    enable_plugin("sample")
    board = make_board("after")
    author = make_member("after")
    sample.SAMPLE_RAISE["after"] = True
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        thread = posting.create_thread(author, board, "标题", "正文")
    assert "plugin sample: forum_post_created failed" in caplog.text
    assert posting.get_thread(thread.id, author).title == "标题"
    assert ("thread_created", thread.id) in sample.EVENTS  # the other hook still ran


# -- before hooks ------------------------------------------------------------------------------


def test_before_hooks_refuse_and_nothing_is_saved(app, make_member, make_board, enable_plugin):
    from forum.models import Member, Thread
    from forum.services import members

    enable_plugin("sample")
    board = make_board("before")
    author = make_member("poster")
    with pytest.raises(ServiceError, match="refuses this word"):
        posting.create_thread(author, board, "标题", "a forbidden-word here")
    assert _db.session.query(Thread).count() == 0
    thread = posting.create_thread(author, board, "标题", "fine")
    with pytest.raises(ServiceError, match="refuses this word"):
        posting.reply(author, thread, "forbidden-word")
    _db.session.rollback()
    assert posting.get_thread(thread.id, author).reply_count == 0
    with pytest.raises(ServiceError, match="refuses this name"):
        members.register("blocked1", "b@example.com", "correct-horse-9")
    _db.session.rollback()
    assert _db.session.query(Member).filter_by(username="blocked1").count() == 0
    members.register("welcome1", "w@example.com", "correct-horse-9")
    assert ("member_registered", "welcome1") in sample.EVENTS


def test_group_changes_are_announced(app, make_member, enable_plugin):
    from forum.models import Group
    from forum.services import members

    enable_plugin("sample")
    member = make_member("grouped")
    moderators = _db.session.query(Group).filter_by(key="moderator").one()
    members.set_membership(member, moderators)
    members.set_membership(member, moderators)
    members.remove_membership(member, moderators)
    assert [e for e in sample.EVENTS if e[0] == "groups_changed"] == [
        ("groups_changed", ("grouped", "moderator", "added")),
        ("groups_changed", ("grouped", "moderator", "changed")),
        ("groups_changed", ("grouped", "moderator", "removed")),
    ]


# -- settings and permissions -------------------------------------------------------------------


def test_settings_are_typed_validated_and_cached(app, english):
    assert dict(plugin_state.plugin_settings("sample")) == {
        "greeting": "你好",
        "limit": 5,
        "fee": 1250,
        "mode": "a",
        "loud": False,
    }
    good = {"greeting": "hi", "limit": "7", "fee": "3.5", "mode": "b", "loud": "y"}
    assert plugin_state.save_settings("sample", good) == {}
    assert dict(plugin_state.plugin_settings("sample")) == {
        "greeting": "hi",
        "limit": 7,
        "fee": 350,
        "mode": "b",
        "loud": True,
    }
    bad = {"greeting": "x" * 501, "limit": "0", "fee": "1.234", "mode": "c"}
    errors = plugin_state.save_settings("sample", bad)
    assert set(errors) == {"greeting", "limit", "fee", "mode"}
    assert errors["limit"] == "At least 1."
    assert plugin_state.plugin_settings("sample")["limit"] == 7  # nothing was saved
    assert plugin_state.save_settings("sample", {**good, "limit": "abc"}) == {
        "limit": "Enter a whole number."
    }
    # A partial save keeps the others; a blank number goes back to its default; an unticked
    # box (missing from the form) is False.
    assert plugin_state.save_settings("sample", {"limit": ""}) == {}
    assert dict(plugin_state.plugin_settings("sample")) == {
        "greeting": "hi",
        "limit": 5,
        "fee": 350,
        "mode": "b",
        "loud": False,
    }


def test_permissions_join_the_matrix_with_their_defaults(
    app, make_member, make_board, enable_plugin
):
    board = make_board("perm")
    member = make_member("stamper")
    assert "sample_stamp" not in permissions.all_permission_names()
    assert not permissions.can(member, "sample_stamp", board.id)
    enable_plugin("sample")
    assert permissions.all_permission_names()[-1] == "sample_stamp"
    assert permissions.can(member, "sample_stamp", board.id)  # granted to members by default
    assert not permissions.can(None, "sample_stamp", board.id)  # not to guests
    permissions.set_board_permissions(board.id, {permissions.group_id("member"): ("view", "read")})
    _db.session.commit()
    assert not permissions.can(member, "sample_stamp", board.id)
    enable_plugin("sample", disable=True)
    enable_plugin("sample")  # re-enabling keeps the owner's choices
    assert not permissions.can(member, "sample_stamp", board.id)


def test_unknown_plugin_names_are_not_found(app):
    from forum.services.errors import NotFound

    for action in (plugin_state.enable, plugin_state.disable):
        with pytest.raises(NotFound):
            action("nope")


# -- migrations --------------------------------------------------------------------------------


def test_core_and_plugin_branches_upgrade_to_the_models(tmp_path, database_kind):
    """A fresh database upgraded to all heads (core + plugins) matches the models."""
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url, **SAMPLE)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            diff = schema_diff()
            assert diff == [], diff
            assert "sample_note" in inspect(_db.engine).get_table_names()
            downgrade(directory=directory, revision="base")
            assert "sample_note" not in inspect(_db.engine).get_table_names()
            _db.session.remove()
            _db.engine.dispose()


def test_enabling_needs_migrations_and_purge_removes_everything(tmp_path, database_kind):
    from forum.services.setup import ensure_defaults

    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url, **SAMPLE)
        with app.app_context(), force_locale("en"):
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            ensure_defaults()
            downgrade(directory=directory, revision="sample@base")
            with pytest.raises(ServiceError, match="run `forum db upgrade`"):
                plugin_state.enable("sample")
            upgrade(directory=directory, revision="heads")
            plugin_state.enable("sample")
            assert (
                plugin_state.save_settings(
                    "sample", {"greeting": "嗨", "limit": "2", "fee": "1", "mode": "a"}
                )
                == {}
            )
            with pytest.raises(ServiceError, match="Disable"):
                plugin_state.purge("sample")
            plugin_state.disable("sample")
            plugin_state.purge("sample")
            _db.session.remove()
            assert "sample_note" not in inspect(_db.engine).get_table_names()
            assert plugin_state.plugin_settings("sample")["greeting"] == "你好"
            from forum.models import BoardPermission, PluginState

            assert _db.session.query(PluginState).count() == 0
            assert (
                _db.session.query(BoardPermission).filter_by(permission="sample_stamp").count() == 0
            )
            _db.session.remove()
            _db.engine.dispose()


def test_autogenerate_can_be_narrowed_to_one_plugin(tmp_path, database_kind):
    """``forum db migrate -x plugin=NAME`` only looks at that plugin's tables."""
    from alembic import command
    from alembic.util import AutogenerateDiffsDetected
    from sqlalchemy import text

    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url, **SAMPLE)
        with app.app_context():
            migrate = app.extensions["migrate"]
            upgrade(directory=migrate.directory, revision="heads")
            _db.session.execute(text("DROP TABLE sample_note"))  # a model without its table
            _db.session.commit()

            def check(plugin: str) -> None:
                config = migrate.migrate.get_config(migrate.directory, x_arg=[f"plugin={plugin}"])
                command.check(config)

            with pytest.raises(AutogenerateDiffsDetected, match="sample_note"):
                check("sample")
            check("other")  # another plugin's revision would not pick sample_note up
            _db.session.remove()
            _db.engine.dispose()
