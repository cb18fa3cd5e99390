"""Notifications: the ``/notifications`` page, mark read, watch and unwatch threads and
boards."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from forum.extensions import limiter
from forum.services import notifications, posting, watches
from forum.services.errors import ServiceError
from forum.web.forms import ActionForm
from forum.web.util import member_key, page_arg, safe_next, viewer

bp = Blueprint("notifications", __name__)

#: Marking read and watching are cheap, but still writes: a bound per member.
WRITE_LIMIT = "60 per minute"

#: The form's ``level`` values: watch, mute, or neither ("").
LEVELS = {"watching": "watching", "muted": "muted", "": None}


def _check_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.route("/notifications")
@login_required
def index():
    member = viewer()
    page = page_arg()
    items, pages = notifications.list_page(member, page)
    if page > pages:
        abort(404)
    return render_template("notifications/index.html", items=items, page=page, pages=pages)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=member_key)
def mark_read(notification_id: int):
    _check_form()
    notifications.mark_read(viewer(), notification_id)
    return redirect(safe_next(url_for("notifications.index")))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=member_key)
def mark_all_read():
    _check_form()
    notifications.mark_all_read(viewer())
    flash(_("All notifications are marked read."), "success")
    return redirect(url_for("notifications.index"))


def _level() -> str | None:
    raw = request.form.get("level", "")
    if raw not in LEVELS:
        abort(400)
    return LEVELS[raw]


_SAVED = {
    "watching": lambda: _("You are watching this now."),
    "muted": lambda: _("Muted: you will not be notified about this."),
    None: lambda: _("You stopped watching this."),
}


def _save_watch(save: Callable[[str | None], object], back: str):
    """Save the posted watch level with ``save``, say so (or why not), go back."""
    level = _level()
    try:
        save(level)
        flash(_SAVED[level](), "success")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(safe_next(back))


@bp.route("/t/<int:thread_id>/watch", methods=["POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=member_key)
def watch_thread(thread_id: int):
    _check_form()
    member = viewer()
    thread = posting.get_thread(thread_id, member)
    return _save_watch(
        lambda level: watches.watch_thread(member, thread, level),
        url_for("main.thread", thread_id=thread.id),
    )


@bp.route("/b/<slug>/watch", methods=["POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=member_key)
def watch_board(slug: str):
    _check_form()
    member = viewer()
    board = posting.get_board(slug, member)
    return _save_watch(
        lambda level: watches.watch_board(member, board, level),
        url_for("main.board", slug=board.slug),
    )
