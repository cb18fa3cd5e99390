"""Private conversations under ``/messages``: inbox, conversation, new message, block list,
reporting a message. The rules live in :mod:`forum.services.conversations` and
:mod:`forum.services.blocks`; these views parse, call a service and render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.models import Member
from forum.services import blocks, conversations, members, moderation
from forum.services.errors import NotFound, ServiceError
from forum.web.forms import ActionForm
from forum.web.moderation import ReportForm
from forum.web.util import config_limit, form_error, page_arg, safe_next, viewer

bp = Blueprint("messages", __name__, url_prefix="/messages")


class ComposeForm(FlaskForm):
    """A new conversation. The service parses and checks the recipients."""

    recipients = StringField(
        _l("To"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Usernames, separated by commas, 、 or spaces."),
    )
    subject = StringField(
        _l("Subject"),
        validators=[Optional(), Length(max=conversations.SUBJECT_MAX)],
        description=_l("Optional: without one, the start of the message is used."),
    )
    body = TextAreaField(
        _l("Message"), validators=[DataRequired(), Length(max=conversations.BODY_MAX)]
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Reply"), validators=[DataRequired(), Length(max=conversations.BODY_MAX)]
    )


@bp.app_template_global("is_blocking")
def is_blocking(member: Member) -> bool:
    """Templates: has the signed-in viewer blocked ``member``? (One query; False for guests
    and for the viewer themselves.)"""
    me = viewer()
    if me is None or me.id == member.id:
        return False
    return blocks.is_blocked(me, member)


@bp.route("")
@login_required
def inbox():
    member = viewer()
    page = page_arg()
    rows, pages = conversations.inbox(member, page)
    if page > pages:
        abort(404)
    return render_template("messages/inbox.html", rows=rows, page=page, pages=pages)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@config_limit("RATELIMIT_MESSAGES")
def new():
    member = viewer()
    form = ComposeForm()
    if request.method == "GET" and request.args.get("to"):
        form.recipients.data = request.args["to"][:500]
    if form.validate_on_submit():
        try:
            conversation = conversations.start(
                member, form.recipients.data, form.subject.data or "", form.body.data
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return redirect(url_for("messages.conversation", conversation_id=conversation.id))
    status = 400 if request.method == "POST" else 200
    return render_template("messages/new.html", form=form), status


def _conversation_page(conversation_id: int, form: ReplyForm, status: int = 200):
    member = viewer()
    try:
        conversation, membership = conversations.get(conversation_id, member)
    except NotFound:
        abort(404)
    pages = conversations.message_pages(conversation)
    page = page_arg() if "page" in request.args else pages
    if page > pages:
        abort(404)
    last_read = membership.last_read_message_id
    # Mark read first: its commit expires what was loaded, so load the page after it.
    conversations.mark_read(member, conversation)
    info = conversations.page_info(conversation, membership, last_read)
    items = conversations.messages(conversation, member, page, last_read_message_id=last_read)
    html = render_template(
        "messages/conversation.html",
        info=info,
        conversation=conversation,
        items=items,
        page=page,
        pages=pages,
        form=form,
    )
    return html, status


@bp.route("/<int:conversation_id>")
@login_required
def conversation(conversation_id: int):
    return _conversation_page(conversation_id, ReplyForm())


@bp.route("/<int:conversation_id>/reply", methods=["POST"])
@login_required
@config_limit("RATELIMIT_MESSAGES")
def reply(conversation_id: int):
    member = viewer()
    try:
        conversation, _membership = conversations.get(conversation_id, member)
    except NotFound:
        abort(404)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            message = conversations.reply(member, conversation, form.body.data)
        except NotFound:
            abort(404)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return redirect(
                url_for(
                    "messages.conversation",
                    conversation_id=conversation_id,
                    _anchor=f"m{message.id}",
                )
            )
    return _conversation_page(conversation_id, form, 400)


@bp.route("/<int:conversation_id>/leave", methods=["POST"])
@login_required
def leave(conversation_id: int):
    member = viewer()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        conversation, _membership = conversations.get(conversation_id, member)
        conversations.leave(member, conversation)
    except NotFound:
        abort(404)
    flash(_("You left the conversation."), "success")
    return redirect(url_for("messages.inbox"))


@bp.route("/m/<int:message_id>/report", methods=["GET", "POST"])
@login_required
@config_limit("RATELIMIT_REPORTS")
def report(message_id: int):
    member = viewer()
    try:
        message = conversations.get_message(message_id, member)
    except NotFound:
        abort(404)
    form = ReportForm()
    back = url_for(
        "messages.conversation",
        conversation_id=message.conversation_id,
        _anchor=f"m{message.id}",
    )
    if form.validate_on_submit():
        try:
            moderation.report(member, "message", message.id, form.reason.data, form.note.data)
        except NotFound:
            abort(404)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Thank you. The moderators will look at your report."), "success")
            return redirect(back)
    status = 400 if request.method == "POST" else 200
    return render_template("messages/report.html", form=form, message=message, back=back), status


@bp.route("/blocked")
@login_required
def blocked():
    member = viewer()
    page = page_arg()
    rows, pages = blocks.blocked_members(member, page)
    if page > pages:
        abort(404)
    return render_template("messages/blocked.html", rows=rows, page=page, pages=pages)


def _block_action(username: str, action) -> str | None:
    if not ActionForm().validate_on_submit():
        abort(400)
    other = members.get_by_username(username)
    if other is None:
        abort(404)
    try:
        action(viewer(), other)
    except ServiceError as exc:
        flash(exc.message, "error")
        return None
    return other.name


@bp.route("/block/<username>", methods=["POST"])
@login_required
def block(username: str):
    name = _block_action(username, blocks.block)
    if name:
        flash(_("You blocked %(name)s: they cannot send you messages.", name=name), "success")
    return redirect(safe_next(url_for("members.profile", username=username)))


@bp.route("/unblock/<username>", methods=["POST"])
@login_required
def unblock(username: str):
    name = _block_action(username, blocks.unblock)
    if name:
        flash(_("You unblocked %(name)s.", name=name), "success")
    return redirect(safe_next(url_for("messages.blocked")))
