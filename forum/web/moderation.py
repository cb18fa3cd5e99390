"""Reports and moderation: the report forms (post, member), the moderation queue
(``/admin/queue`` and each board's ``/b/<slug>/queue``), actions on cases, moderator actions
on held and hidden posts, the moderation log (``/admin/log``) and the word filter
(``/admin/word-filters``).

The rules (who may act on what, handled cases, notifications, the log) live in
:mod:`forum.services.moderation` and :mod:`forum.services.safeguards`; these views parse,
call a service and render. Messages are reported from :mod:`forum.web.messages`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.models import Member
from forum.models.moderation import REPORT_REASONS, WORD_FILTER_ACTIONS
from forum.services import members, moderation, permissions, posting, safeguards
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web import admin
from forum.web.forms import SelectChoice
from forum.web.util import config_limit, form_error, page_arg, safe_next, viewer

bp = Blueprint("moderation", __name__)
bp.context_processor(admin.admin_helpers)

#: How the queue and the log word the reasons a post was held.
HOLD_LABELS = {"new_member": _l("New member")}

#: Suspension lengths in the queue's form ("" is permanent).
SUSPEND_DAYS = frozenset({"1", "3", "7", "30", ""})
SUSPEND_CHOICES = [
    SelectChoice("1", _l("1 day")),
    SelectChoice("3", _l("3 days")),
    SelectChoice("7", _l("7 days")),
    SelectChoice("30", _l("30 days")),
    SelectChoice("", _l("Permanently")),
]

#: How the log words its actions.
LOG_LABELS = {
    "hold": _l("Held for approval"),
    "approve": _l("Approved"),
    "dismiss": _l("Dismissed"),
    "hide": _l("Hidden"),
    "unhide": _l("Shown again"),
    "delete": _l("Deleted"),
    "warn": _l("Warned"),
    "suspend": _l("Suspended"),
    "lock": _l("Locked"),
    "unlock": _l("Unlocked"),
    "pin": _l("Pinned"),
    "unpin": _l("Unpinned"),
    "move": _l("Moved"),
    "delete_thread": _l("Thread deleted"),
    "restore_thread": _l("Thread restored"),
    "delete_post": _l("Post deleted"),
    "restore_post": _l("Post restored"),
    "ban": _l("Banned"),
    "unban": _l("Ban lifted"),
    "group_add": _l("Added to a group"),
    "group_remove": _l("Removed from a group"),
}

WORD_ACTION_LABELS = {
    "replace": _l("Replace"),
    "hold": _l("Hold for approval"),
    "block": _l("Block"),
}


class ReportForm(FlaskForm):
    """A report: one of the reasons and an optional note for the moderators."""

    reason = RadioField(
        _l("Why are you reporting this?"),
        choices=[SelectChoice(r, moderation.REASON_LABELS[r]) for r in REPORT_REASONS],
        validators=[DataRequired(_l("Please choose a reason."))],
    )
    note = TextAreaField(
        _l("Anything the moderators should know? (optional)"),
        validators=[Optional(), Length(max=moderation.NOTE_MAX)],
    )


class CaseActionForm(FlaskForm):
    """The action buttons of one case (the pressed button names the action)."""

    action = StringField(validators=[DataRequired(), Length(max=20)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=moderation.REASON_MAX)])
    # checked in the view, so a wrong value says what is wrong
    days = SelectField(
        _l("Suspend for"), choices=SUSPEND_CHOICES, default="7", validate_choice=False
    )


class PostModerationForm(FlaskForm):
    """Approve a held post or show a hidden one again, from the thread page."""

    action = StringField(validators=[DataRequired(), Length(max=20)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=moderation.REASON_MAX)])


class WordFilterForm(FlaskForm):
    """One word filter row."""

    phrase = StringField(
        _l("Word or phrase"), validators=[DataRequired(), Length(max=safeguards.PHRASE_MAX)]
    )
    action = SelectField(
        _l("What happens"),
        choices=[SelectChoice(a, WORD_ACTION_LABELS[a]) for a in WORD_FILTER_ACTIONS],
        default="block",
    )
    replacement = StringField(
        _l("Replacement"),
        validators=[Optional(), Length(max=safeguards.PHRASE_MAX)],
        description=_l("Only for “Replace”: the text written instead, for example ***."),
    )


# -- rate limit for reports ----------------------------------------------------------------


# -- template helpers ------------------------------------------------------------------------


@bp.app_template_global("moderation_queue_size")
def moderation_queue_size() -> int:
    """Templates: open cases the signed-in viewer may act on (0 for everybody else, without
    a query)."""
    member = viewer()
    if member is None or not moderation.can_moderate(member):
        return 0
    return moderation.queue_size(member)


def hold_label(reason: str) -> str:
    """How a hold reason (``new_member``, ``word:<phrase>``) reads in the queue."""
    if reason.startswith("word:"):
        return _("Filtered word “%(phrase)s”", phrase=reason[5:])
    return str(HOLD_LABELS.get(reason, reason))


def _helpers() -> dict:
    return {
        "reason_labels": moderation.REASON_LABELS,
        "action_labels": moderation.ACTION_LABELS,
        "hold_label": hold_label,
        "word_action_labels": WORD_ACTION_LABELS,
        "log_action_label": lambda action: str(LOG_LABELS.get(action, action)),
    }


bp.context_processor(_helpers)


# -- reporting --------------------------------------------------------------------------------


def _report_page(target_type: str, target_id: int, back: str, template_args: dict):
    member = viewer()
    form = ReportForm()
    if form.validate_on_submit():
        try:
            moderation.report(member, target_type, target_id, form.reason.data, form.note.data)
        except NotFound:
            abort(404)
        except PermissionDenied as exc:
            flash(exc.message, "error")
            return redirect(back)
        except ServiceError as exc:
            if exc.field:
                form_error(form, exc)
            else:  # already reported, own post …: nothing to fix in the form
                flash(exc.message, "error")
                return redirect(back)
        else:
            flash(_("Thank you. The moderators will look at your report."), "success")
            return redirect(back)
    status = 400 if request.method == "POST" else 200
    return (
        render_template("moderation/report.html", form=form, back=back, **template_args),
        status,
    )


@bp.route("/p/<int:post_id>/report", methods=["GET", "POST"])
@login_required
@config_limit("RATELIMIT_REPORTS")
def report_post(post_id: int):
    """Report a post to its board's moderators."""
    member = viewer()
    try:
        post = posting.get_post(post_id, member)
    except NotFound:
        abort(404)
    if post.deleted_at is not None:
        abort(404)
    back = f"/p/{post.id}"
    if post.author_id == member.id:
        flash(_("You cannot report your own post."), "error")
        return redirect(back)
    author = members.get_member(post.author_id)
    return _report_page(
        "post", post.id, back, {"post": post, "thread": post.thread, "author": author}
    )


@bp.route("/u/<username>/report", methods=["GET", "POST"])
@login_required
@config_limit("RATELIMIT_REPORTS")
def report_member(username: str):
    """Report a member (their profile, name or behaviour) to the site moderators."""
    member = viewer()
    target = members.get_by_username(username)
    if target is None or target.status != "active":
        abort(404)
    back = url_for("members.profile", username=target.username)
    if target.id == member.id:
        flash(_("You cannot report yourself."), "error")
        return redirect(back)
    return _report_page("member", target.id, back, {"target": target})


# -- the queue ---------------------------------------------------------------------------------


def _render_queue(cases, page: int, pages: int, board=None):
    me = viewer()
    return render_template(
        "moderation/queue.html",
        cases=cases,
        page=page,
        pages=pages,
        board=board,
        form=CaseActionForm(formdata=None),
        may_suspend=moderation.is_site_moderator(me),
        viewer_is_admin=permissions.is_admin(me),
        next_url=request.full_path.rstrip("?"),
    )


@bp.route("/admin/queue")
@login_required
def queue():
    """Every open case the viewer may act on: reports and posts waiting for approval."""
    member = viewer()
    if not moderation.can_moderate(member):
        abort(403)
    page = page_arg()
    cases, pages = moderation.queue(member, page)
    if page > pages:  # acting on the last case of the last page shrinks the queue
        return redirect(url_for("moderation.queue", page=pages if pages > 1 else None))
    return _render_queue(cases, page, pages)


@bp.route("/b/<slug>/queue")
@login_required
def board_queue(slug: str):
    """One board's open cases, for its moderators."""
    member = viewer()
    try:
        board = posting.get_board(slug, member)
    except NotFound:
        abort(404)
    if not (permissions.is_admin(member) or permissions.is_moderator(member, board.id)):
        abort(403)
    page = page_arg()
    cases, pages = moderation.queue(member, page, board_id=board.id)
    if page > pages:
        return redirect(
            url_for("moderation.board_queue", slug=board.slug, page=pages if pages > 1 else None)
        )
    return _render_queue(cases, page, pages, board)


@bp.route("/admin/queue/<int:case_id>", methods=["POST"])
@login_required
def act(case_id: int):
    """Take one action on a case (the queue's buttons)."""
    member = viewer()
    back = safe_next(url_for("moderation.queue"))
    form = CaseActionForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Please choose an action."), "error")
        return redirect(back)
    action = form.action.data
    raw_days = form.days.data or ""
    if action == "suspend" and raw_days not in SUSPEND_DAYS:
        flash(_("Please choose how long the suspension lasts."), "error")
        return redirect(back)
    days = int(raw_days) if raw_days.isdigit() else None
    try:
        moderation.act(member, case_id, action, form.reason.data or "", days=days)
    except NotFound:
        abort(404)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("Done: %(action)s.", action=moderation.ACTION_LABELS.get(action, action)), "success"
        )
    return redirect(back)


@bp.route("/p/<int:post_id>/moderation", methods=["POST"])
@login_required
def post_action(post_id: int):
    """Approve a held post or show a hidden post again, from its thread page."""
    member = viewer()
    try:
        post = posting.get_post(post_id, member)
    except NotFound:
        abort(404)
    form = PostModerationForm()
    if not form.validate_on_submit():
        abort(400)
    action = form.action.data
    try:
        if action == "approve":
            moderation.approve_post(member, post, form.reason.data or "")
            flash(_("The post is published."), "success")
        elif action == "unhide":
            moderation.unhide_post(member, post, form.reason.data or "")
            flash(_("The post is visible again."), "success")
        else:
            abort(400)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(f"/p/{post.id}")


# -- the log -------------------------------------------------------------------------------------


@bp.route("/admin/log")
@login_required
def log():
    """The moderation log, newest first, filtered by action and by member."""
    member = viewer()
    if not (permissions.is_admin(member) or moderation.can_moderate(member)):
        abort(403)
    action = request.args.get("action", "")
    if action not in moderation.LOG_ACTIONS:
        action = ""
    who = " ".join(request.args.get("who", "").split())[:40]
    page = page_arg()
    entries, pages = moderation.log_entries(member, page, action=action, who=who)
    if page > pages:
        abort(404)
    return render_template(
        "moderation/log.html",
        entries=entries,
        page=page,
        pages=pages,
        action=action,
        who=who,
        actions=moderation.LOG_ACTIONS,
        viewer_is_admin=permissions.is_admin(member),
    )


# -- the word filter (administrators) ------------------------------------------------------------


def _require_admin() -> Member:
    member = viewer()
    if not permissions.is_admin(member):
        abort(403)
    return member


@bp.route("/admin/word-filters", methods=["GET", "POST"])
@login_required
def word_filters():
    """The word filter: every phrase with its action, and a form to add one."""
    _require_admin()
    form = WordFilterForm()
    if form.validate_on_submit():
        try:
            row = safeguards.add_word_filter(
                form.phrase.data, form.action.data, form.replacement.data or ""
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("“%(phrase)s” is in the word filter.", phrase=row.phrase), "success")
            return redirect(url_for("moderation.word_filters"))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "moderation/word_filters.html", form=form, rows=safeguards.word_filters(), edit=None
        ),
        status,
    )


@bp.route("/admin/word-filters/<int:filter_id>", methods=["GET", "POST"])
@login_required
def word_filter_edit(filter_id: int):
    """Change one phrase of the word filter."""
    _require_admin()
    try:
        row = safeguards.get_word_filter(filter_id)
    except NotFound:
        abort(404)
    form = WordFilterForm(obj=row if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            safeguards.update_word_filter(
                row, form.phrase.data, form.action.data, form.replacement.data or ""
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("moderation.word_filters"))
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/word_filter_edit.html", form=form, row=row), status


@bp.route("/admin/word-filters/<int:filter_id>/delete", methods=["POST"])
@login_required
def word_filter_delete(filter_id: int):
    """Remove a phrase from the word filter."""
    _require_admin()
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        row = safeguards.get_word_filter(filter_id)
    except NotFound:
        abort(404)
    phrase = row.phrase
    safeguards.delete_word_filter(row)
    flash(_("“%(phrase)s” is no longer filtered.", phrase=phrase), "success")
    return redirect(url_for("moderation.word_filters"))
