"""The Q&A pages: vote, accept, put up a bounty (POST forms; the core's CSRFProtect checks
their ``csrf_token`` like every POST), and the small JSON
list of similar questions the composer asks for while a title is typed. Views parse the
request and call a service; the rules live in :mod:`forum_plugins.qa.services`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forum.services.errors import NotFound, PermissionDenied, ServiceError

from . import services

bp = Blueprint(
    services.PLUGIN,
    __name__,
    url_prefix="/qa",
    static_folder="static",
    static_url_path="/static",
)


def _back(thread_id: int, anchor: str = "") -> object:
    order = request.form.get("order", "")
    query = "?order=number" if order == services.ORDER_TIME else ""
    return redirect(f"/t/{thread_id}{query}{anchor}")


def _run(action, thread_id: int, anchor: str = "") -> object:
    """Run a service call; a refusal is flashed (nothing changed); 403 and 404 are pages."""
    try:
        message = action()
    except (NotFound, PermissionDenied):
        raise  # the core's 404 and 403 pages (a 403 says why)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _back(thread_id, anchor)
    if message:
        flash(message, "success")
    return _back(thread_id, anchor)


def _thread_of(post_id: int) -> int:
    thread_id = services.thread_id_of_post(post_id)
    if thread_id is None:
        abort(404)
    return thread_id


@bp.post("/vote/<int:post_id>")
@login_required
def vote(post_id: int):
    """Up (``value=1``), down (``-1``) or withdraw (``0``) a vote on an answer."""
    thread_id = _thread_of(post_id)
    raw = request.form.get("value", "")
    if raw not in ("1", "-1", "0"):
        flash(_("A vote is up or down."), "error")
        return _back(thread_id)
    number = services.number_of_post(post_id)
    return _run(
        lambda: services.vote(current_user, post_id, int(raw)) and None,
        thread_id,
        f"#p{number}",
    )


@bp.post("/accept/<int:post_id>")
@login_required
def accept(post_id: int):
    """Accept an answer (the asker or a moderator)."""
    thread_id = _thread_of(post_id)

    def do() -> str:
        question = services.accept(current_user, post_id)
        if question.bounty_status == "paid" and question.bounty_post_id == post_id:
            return _("Answer accepted; the bounty of %(n)d points was paid.", n=question.bounty)
        return _("Answer accepted.")

    return _run(do, thread_id, "#p1")


@bp.post("/bounty/<int:thread_id>")
@login_required
def bounty(thread_id: int):
    """Put up a bounty on one's own open question."""
    raw = (request.form.get("amount") or "").strip()
    if not raw.isdigit() or len(raw) > 9:
        flash(_("Enter the bounty as a whole number of points."), "error")
        return _back(thread_id)

    def do() -> str:
        question = services.add_bounty(current_user, thread_id, int(raw))
        return _("A bounty of %(n)d points is held until you accept an answer.", n=question.bounty)

    return _run(do, thread_id)


@bp.get("/similar")
def similar():
    """``{"results": [{"title", "url"}]}``: questions with titles like ``?q=``."""
    viewer = current_user if current_user.is_authenticated else None
    results = services.similar_questions(viewer, request.args.get("q", ""))
    response = jsonify({"results": results})
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
