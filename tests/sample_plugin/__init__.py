"""A small but complete plugin the core's tests load (``EXTRA_PLUGINS={"sample": ...}``).

It uses every kind of hook once, so the tests can check each path through the platform:
a table with its own migration branch, a permission, settings, a blueprint, a thread kind,
a before-hook that refuses, after-hooks that record what they saw, slots and trust facts.
``SAMPLE_RAISE`` makes its render hooks fail on purpose.
"""

from __future__ import annotations

import click
from flask import Blueprint, render_template
from flask.cli import with_appcontext
from markupsafe import Markup
from sqlalchemy import ForeignKey, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models import Post, Thread
from forum.plugin_api import (
    AdminPage,
    BoardFilter,
    KindField,
    NavItem,
    NotificationKind,
    Permission,
    PluginMeta,
    Setting,
    ThreadKind,
    TrustFact,
    hookimpl,
    notify,
    plugin_settings,
)
from forum.services.errors import ServiceError

META = PluginMeta(
    label="Sample",
    description="A plugin for the core's tests.",
    version="1.0",
    author="Shequn",
    homepage="https://example.com/sample",
    min_core_version="0.1",
)

#: What the after-hooks saw, in order: (hook, detail).
EVENTS: list[tuple[str, object]] = []
#: ``on``: the render hooks raise; ``after``: ``forum_post_created`` raises; ``trust``:
#: ``"list"`` makes ``forum_trust_facts`` return a list instead of a dict, ``"sql"`` run a
#: query that fails.
SAMPLE_RAISE = {"on": False, "after": False, "trust": ""}
#: The member ids ``forum_trust_facts`` was called with, one tuple per call.
TRUST_CALLS: list[tuple[int, ...]] = []


class SampleNote(db.Model):
    """A note stored with a thread of kind ``note`` (the plugin's own table)."""

    __tablename__ = "sample_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    colour: Mapped[str] = mapped_column(String(20))
    price_cents: Mapped[int | None]


bp = Blueprint("sample", __name__, url_prefix="/sample")


@bp.route("/")
def index():
    return render_template("sample/hello.html", greeting=plugin_settings("sample")["greeting"])


def _validate(values, member, board):
    if values.get("colour") == "black":
        raise ServiceError("No black notes.", "colour")
    return values


def _save(thread, post, values):
    db.session.add(
        SampleNote(thread_id=thread.id, colour=values["colour"], price_cents=values.get("price"))
    )


def _load(thread):
    return db.session.execute(
        db.select(SampleNote).where(SampleNote.thread_id == thread.id)
    ).scalar_one_or_none()


@hookimpl
def forum_blueprints():
    return [bp]


@hookimpl
def forum_permissions():
    return [Permission("sample_stamp", "Stamp notes", grants=("member", "moderator"))]


@hookimpl
def forum_settings():
    return [
        Setting("greeting", "str", "你好", "Greeting", help="Shown on /sample/"),
        Setting("limit", "int", 5, "Limit", min=1, max=100),
        Setting("fee", "money", 1250, "Fee"),
        Setting("mode", "choice", "a", "Mode", choices=[("a", "A"), ("b", "B")]),
        Setting("loud", "bool", False, "Loud"),
    ]


@hookimpl
def forum_thread_kinds():
    return [
        ThreadKind(
            "note",
            "Note",
            fields=[
                KindField(
                    "colour",
                    "choice",
                    label="Colour",
                    required=True,
                    choices=[("red", "Red"), ("blue", "Blue"), ("black", "Black")],
                ),
                KindField("price", "money", label="Price", min=0),
            ],
            validate=_validate,
            on_create=_save,
            template="sample/note_head.html",
            load=_load,
            post_order=_order,
        ),
        # A kind with its own composer page: the core's sends members there.
        ThreadKind("memo", "Memo", compose_url=lambda board: f"/sample/memo?board={board.slug}"),
    ]


def _order(thread, page, per_page, order):
    """Notes can be read newest first (``?order=reverse``); anything else: by number."""
    if SAMPLE_RAISE.get("order"):
        raise RuntimeError("sample post_order failed on purpose")
    if order != "reverse":
        return None
    return db.session.execute(
        select(Post.id)
        .where(Post.thread_id == thread.id)
        .order_by(Post.number.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).scalars()


@hookimpl
def forum_board_filters(board):
    if "note" not in board.kinds:
        return None
    return [
        BoardFilter("sample_notes", "Notes only", lambda: Thread.kind == "note"),
        "not a filter",  # logged and left out
    ]


def _render_poke(notification) -> str:
    return f"{notification.actor_name} poked you {notification.data['times']} times"


def poke(member_id: int, actor_id: int, times: int = 1):
    """Send the sample's notification kind (the caller commits)."""
    return notify(
        member_id, "sample.poke", actor_id=actor_id, title="A poke", data={"times": times}
    )


@hookimpl
def forum_notification_kinds():
    return [NotificationKind("sample.poke", "Poke", _render_poke)]


@click.command("sample-count")
@with_appcontext
def count_notes() -> None:
    """Print how many notes there are."""
    click.echo(f"{db.session.query(SampleNote).count()} notes")


@hookimpl
def forum_cli():
    return [count_notes]


@hookimpl
def forum_admin_pages():
    return [AdminPage("sample.index", "Sample page")]


@hookimpl
def forum_nav_items(member):
    return [NavItem("Sample", "/sample/")]


@hookimpl
def forum_before_post(body):
    if "forbidden-word" in body:
        return "The sample plugin refuses this word."
    return None


@hookimpl
def forum_before_register(username):
    if username.startswith("blocked"):
        return "The sample plugin refuses this name."
    return None


@hookimpl
def forum_thread_created(thread):
    EVENTS.append(("thread_created", thread.id))


@hookimpl
def forum_post_created(post, thread):
    if SAMPLE_RAISE["after"]:
        raise RuntimeError("sample after-hook failed on purpose")
    EVENTS.append(("post_created", post.number))


@hookimpl
def forum_post_edited(post):
    EVENTS.append(("post_edited", post.id))


@hookimpl
def forum_post_deleted(post):
    EVENTS.append(("post_deleted", post.number))


@hookimpl
def forum_member_registered(member):
    EVENTS.append(("member_registered", member.username))


@hookimpl
def forum_member_groups_changed(member, group, action):
    EVENTS.append(("groups_changed", (member.username, group.key, action)))


@hookimpl
def forum_template_slot(slot, context):
    if SAMPLE_RAISE["on"]:
        raise RuntimeError("sample slot failed on purpose")
    if slot == "post_footer":
        return Markup('<span class="sample-footer">sample #{}</span>').format(
            context["post"].number
        )
    if slot == "thread_header":
        return Markup('<p class="sample-thread-header">sample header</p>')
    return None


@hookimpl
def forum_trust_facts(members):
    if SAMPLE_RAISE["on"]:
        raise RuntimeError("sample facts failed on purpose")
    TRUST_CALLS.append(tuple(m.id for m in members))
    if SAMPLE_RAISE["trust"] == "list":  # the shape of the old per-member hook: refused
        return [TrustFact("Sample fact", 0)]
    if SAMPLE_RAISE["trust"] == "sql":  # a failing query (aborts the transaction on PostgreSQL)
        db.session.execute(text("SELECT no_such_column FROM sample_note"))
    # Batched as the hook asks: one query for every member on the page.
    notes = dict(
        db.session.execute(
            select(Thread.author_id, func.count(SampleNote.id))
            .join(Thread, SampleNote.thread_id == Thread.id)
            .where(Thread.author_id.in_([m.id for m in members]))
            .group_by(Thread.author_id)
        ).all()
    )
    facts = {m.id: [TrustFact("Sample fact", m.post_count)] for m in members}
    for member_id, count in notes.items():
        facts[member_id].append(TrustFact("Sample notes", count, "Notes written", order=110))
    facts[-1] = [TrustFact("Nobody's fact", 1)]  # not a member on the page: dropped
    return facts


@hookimpl
def forum_search_document(thread):
    return {"sample_kind": thread.kind}
