"""Reading and writing: board index, boards, threads, the composer and post actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm.attributes import set_committed_value

from forum import plugins
from forum.extensions import db, limiter
from forum.markup import quote_source
from forum.models import Board, Member
from forum.plugin_api import ThreadKind
from forum.services import (
    notifications,
    permissions,
    posting,
    reading,
    uploads,
    versions,
    view_counts,
    watches,
)
from forum.services.errors import NotFound, ServiceError
from forum.web import page_cache
from forum.web.forms import (
    KIND_FIELD_PREFIX,
    ActionForm,
    ComposerForm,
    MoveForm,
    thread_composer_form,
)
from forum.web.util import draft_posted, form_error, page_arg, viewer

bp = Blueprint("main", __name__)


def _posting_limit() -> str:
    return current_app.config["RATELIMIT_POSTING"]


def _member_key() -> str:
    member = viewer()
    return f"member:{member.id}" if member else request.remote_addr or "?"


@bp.route("/")
def index():
    member = viewer()
    key, html = page_cache.lookup(member, "index", versions.slot("content"))
    if html is not None:
        return html
    html = render_template("index.html", categories=reading.board_index(member))
    return page_cache.store(key, html)


@bp.route("/b/<slug>")
def board(slug: str):
    member = viewer()
    page = page_arg()
    # Boards are looked up by slug; the all-content stamp covers whichever board it is.
    key, html = page_cache.lookup(member, ("board", slug, page), versions.slot("content"))
    if html is not None:
        return html
    board = posting.get_board(slug, member)
    permissions.require(member, "read", board.id)
    moderator = permissions.is_moderator(member, board.id)
    threads, pages = reading.board_threads(board, page, moderator)
    if page > pages:
        abort(404)
    html = render_template(
        "board.html",
        board=board,
        threads=threads,
        page=page,
        pages=pages,
        kind_badges=_kind_badges(threads),
        marks=reading.read_marks(member, [t.id for t in threads]),
        can_start=permissions.can(member, "start_thread", board.id),
        watch_level=watches.level(member, "board", board.id),
    )
    return page_cache.store(key, html)


def _kind_badges(threads: list[reading.ThreadView]) -> dict[int, Any]:
    """thread id → kind label, for the listed threads of an enabled plugin's kind."""
    kinds = plugins.thread_kinds()
    if not kinds:
        return {}
    return {t.id: kinds[t.kind][1].label for t in threads if t.kind in kinds}


@bp.route("/t/<int:thread_id>")
def thread(thread_id: int):
    member = viewer()
    page = page_arg()
    app = current_app._get_current_object()
    key, html = page_cache.lookup(
        member, ("thread", thread_id, page), versions.slot("thread", thread_id)
    )
    if html is not None:
        view_counts.count_view(app, thread_id)
        return html
    notifications.mark_thread_read(member, thread_id)  # no query unless some are unread
    thread = posting.get_thread(thread_id, member)
    pages = reading.thread_pages(thread)
    if page > pages:
        abort(404)
    posts = reading.thread_posts(thread, page)
    moderator = permissions.is_moderator(member, thread.board_id)
    can_reply = permissions.can(member, "reply", thread.board_id) and (
        not thread.is_locked or moderator
    )
    html = render_template(
        "thread.html",
        thread=thread,
        board=thread.board,
        posts=posts,
        page=page,
        pages=pages,
        moderator=moderator,
        can_reply=can_reply,
        can_edit=lambda post: posting.can_edit(member, post, thread),
        form=ComposerForm(formdata=None) if can_reply else None,
        watch_level=watches.level(member, "thread", thread.id),
    )
    view_counts.count_view(app, thread.id)
    if member is not None and posts:
        posting.mark_read(member, thread, posts[-1].number)
    return page_cache.store(key, html)


@bp.route("/t/<int:thread_id>/last")
def thread_last(thread_id: int):
    thread = posting.get_thread(thread_id, viewer())
    return redirect(
        url_for("main.thread", thread_id=thread.id, page=reading.thread_pages(thread) or None)
        + f"#p{thread.last_number}"
    )


@bp.route("/t/<int:thread_id>/unread")
def thread_unread(thread_id: int):
    member = viewer()
    thread = posting.get_thread(thread_id, member)
    seen = reading.read_marks(member, [thread.id]).get(thread.id, 0)
    number = min(seen + 1, thread.last_number)
    page = reading.page_of_number(number)
    return redirect(
        url_for("main.thread", thread_id=thread.id, page=page if page > 1 else None) + f"#p{number}"
    )


@bp.route("/p/<int:post_id>")
def post(post_id: int):
    post = posting.get_post(post_id, viewer())
    page = reading.page_of_number(post.number)
    return redirect(
        url_for("main.thread", thread_id=post.thread_id, page=page if page > 1 else None)
        + f"#p{post.number}"
    )


def _attach_image(form: ComposerForm, member: Member, board_id: int, body: str) -> str | None:
    """Store the form's image (if any) and return the body with the image appended."""
    file = form.image.data
    if not file or not getattr(file, "filename", ""):
        return body
    if not permissions.can(member, "upload", board_id):
        form.image.errors = [_("You may not upload images here.")]
        return None
    try:
        upload = uploads.save_image(member, file.stream)
    except ServiceError as exc:
        form.image.errors = [exc.message]
        return None
    return f"{body.rstrip()}\n\n![{_('image')}]({uploads.url_of(upload)})\n"


def _show_error(form: ComposerForm, exc: ServiceError, kind_fields: Mapping[str, Any]) -> None:
    """Put a service's refusal beside the input it names: a kind's field, or the composer's."""
    if exc.field and exc.field in kind_fields:
        exc.field = KIND_FIELD_PREFIX + exc.field
    form_error(form, exc)


def _submit_composer(
    form: ComposerForm,
    member: Member,
    board_id: int,
    write: Callable[[str], Any],
    with_title: bool = False,
    kind: str = "discussion",
    kind_fields: Mapping[str, str | None] | None = None,
):
    """Check the composer's text (and a new thread's kind fields), store its image, then
    ``write(body)``.

    Returns what ``write`` returned, or None when the form now shows an error (the text the
    member typed stays in the form). The title, the text and the kind fields are checked
    together, so each of them that is wrong shows its error at once.
    """
    kind_fields = kind_fields or {}
    checks: dict[str, Callable[[], Any]] = {"body": lambda: posting.validate_body(form.body.data)}
    if with_title:
        checks["title"] = lambda: posting.validate_title(form.title.data)
    if kind_fields:
        checks["kind"] = lambda: posting.kind_values(kind, kind_fields)
    checked: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            checked[name] = check()
        except ServiceError as exc:
            _show_error(form, exc, kind_fields)
    if len(checked) < len(checks):
        return None
    body = _attach_image(form, member, board_id, checked["body"])
    if body is None:
        return None
    try:
        result = write(body)
    except ServiceError as exc:
        _show_error(form, exc, kind_fields)
        return None
    draft_posted()
    return result


@bp.route("/new")
@login_required
def choose_board():
    boards = reading.boards_for_composer(viewer())
    if len(boards) == 1:
        return redirect(url_for("main.new_thread", slug=boards[0].slug))
    kinds = {
        board.id: [(name, label) for name, label, _spec in _kind_choices(board)] for board in boards
    }
    return render_template(
        "choose_board.html",
        boards=boards,
        kinds={board_id: choices for board_id, choices in kinds.items() if len(choices) > 1},
    )


def _kind_choices(board: Board) -> list[tuple[str, Any, ThreadKind | None]]:
    """(name, label, kind) of the thread kinds members may start on ``board`` now
    (``kind`` is None for the core's discussion)."""
    available = plugins.thread_kinds()
    return [
        (name, _("Discussion"), None)
        if name == "discussion"
        else (name, available[name][1].label, available[name][1])
        for name in posting.allowed_kinds(board)
    ]


@bp.route("/b/<slug>/new", methods=["GET", "POST"])
@login_required
@limiter.limit(_posting_limit, methods=["POST"], key_func=_member_key)
def new_thread(slug: str):
    # The kind comes from ?kind= (the chooser's links) or, on POST, the form's hidden field.
    member = viewer()
    board = posting.get_board(slug, member)
    permissions.require(member, "start_thread", board.id)
    choices = _kind_choices(board)
    kinds = {name: spec for name, _label, spec in choices}
    asked = request.form.get("kind") if request.method == "POST" else request.args.get("kind")
    kind = asked or (choices[0][0] if choices else "discussion")
    kind_error = None
    if kind not in kinds:  # unknown, not allowed here, or its plugin switched off
        kind_error = _("This board does not allow this kind of thread.")
        kind = choices[0][0] if choices else "discussion"
    spec = kinds.get(kind)
    form = thread_composer_form(kind, spec.fields if spec else ())
    if kind_error is None and form.validate_on_submit():
        raw = (
            {f.name: request.form.get(KIND_FIELD_PREFIX + f.name) for f in spec.fields}
            if spec
            else {}
        )
        thread = _submit_composer(
            form,
            member,
            board.id,
            lambda body: posting.create_thread(
                member, board, form.title.data, body, kind=kind, fields=raw
            ),
            with_title=True,
            kind=kind,
            kind_fields=raw,
        )
        if thread is not None:
            return redirect(url_for("main.thread", thread_id=thread.id))
    html = render_template(
        "composer.html",
        form=form,
        board=board,
        mode="thread",
        kinds=[(name, label) for name, label, _spec in choices],
        kind=kind,
        kind_spec=spec,
        kind_inputs=[form[KIND_FIELD_PREFIX + f.name] for f in spec.fields] if spec else [],
        kind_error=kind_error,
    )
    return html, 400 if kind_error else 200


@bp.route("/t/<int:thread_id>/reply", methods=["GET", "POST"])
@login_required
@limiter.limit(_posting_limit, methods=["POST"], key_func=_member_key)
def reply(thread_id: int):
    member = viewer()
    thread = posting.get_thread(thread_id, member)
    permissions.require(member, "reply", thread.board_id)
    form = ComposerForm()
    if request.method == "GET":
        quote_id = request.args.get("quote", type=int)
        if quote_id:
            try:
                quoted = posting.get_post(quote_id, member)
            except NotFound:
                quoted = None
            if quoted is not None and quoted.thread_id == thread.id and quoted.deleted_at is None:
                author = db.session.get(Member, quoted.author_id)
                form.body.data = quote_source(author.username, quoted.source)
    elif form.validate_on_submit():
        post = _submit_composer(
            form, member, thread.board_id, lambda body: posting.reply(member, thread, body)
        )
        if post is not None:
            return redirect(url_for("main.post", post_id=post.id))
    return render_template(
        "composer.html", form=form, board=thread.board, thread=thread, mode="reply"
    )


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):
    member = viewer()
    post = posting.get_post(post_id, member)
    thread = post.thread
    if not posting.can_edit(member, post, thread):
        abort(403)
    form = ComposerForm()
    if request.method == "GET":
        form.body.data = post.source
        form.title.data = thread.title
    elif form.validate_on_submit():
        title = form.title.data if post.number == 1 else None
        edited = _submit_composer(
            form, member, thread.board_id, lambda body: posting.edit_post(member, post, body, title)
        )
        if edited is not None:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("main.post", post_id=post.id))
    return render_template(
        "composer.html", form=form, board=thread.board, thread=thread, post=post, mode="edit"
    )


@bp.route("/p/<int:post_id>/revisions")
def revisions(post_id: int):
    member = viewer()
    post = posting.get_post(post_id, member)
    if post.deleted_at is not None and not permissions.is_moderator(member, post.thread.board_id):
        abort(404)
    revs = posting.revisions(post)
    editors = {
        m.id: m for m in db.session.query(Member).filter(Member.id.in_({r.editor_id for r in revs}))
    }
    for rev in revs:
        set_committed_value(rev, "editor", editors.get(rev.editor_id))
    return render_template("revisions.html", post=post, thread=post.thread, revisions=revs)


def _post_action(post_id: int, action) -> object:
    member = viewer()
    post = posting.get_post(post_id, member)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(member, post)
    except ServiceError as exc:
        flash(exc.message, "error")
    if (
        post.number == 1
        and post.thread.deleted_at is not None
        and not permissions.is_moderator(member, post.thread.board_id)
    ):
        return redirect(url_for("main.board", slug=post.thread.board.slug))
    return redirect(url_for("main.post", post_id=post.id))


@bp.route("/p/<int:post_id>/delete", methods=["POST"])
@login_required
def delete_post(post_id: int):
    return _post_action(post_id, posting.delete_post)


@bp.route("/p/<int:post_id>/restore", methods=["POST"])
@login_required
def restore_post(post_id: int):
    return _post_action(post_id, posting.restore_post)


@bp.route("/t/<int:thread_id>/moderate", methods=["GET", "POST"])
@login_required
def moderate_thread(thread_id: int):
    member = viewer()
    thread = posting.get_thread(thread_id, member)
    if not permissions.is_moderator(member, thread.board_id):
        abort(403)
    form = MoveForm()
    form.board.choices = [
        (b.id, b.name)
        for b in reading.boards_for_composer(member)
        if permissions.is_moderator(member, b.id)
    ]
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "lock":
                posting.set_locked(member, thread, True)
            elif action == "unlock":
                posting.set_locked(member, thread, False)
            elif action == "pin":
                posting.set_pinned(member, thread, True)
            elif action == "unpin":
                posting.set_pinned(member, thread, False)
            elif action == "move":
                target = db.session.get(Board, request.form.get("board", type=int) or 0)
                if target is None:
                    raise ServiceError(_("Please choose a board."))
                posting.move_thread(member, thread, target)
            elif action == "delete":
                posting.delete_thread(member, thread)
            elif action == "restore":
                posting.restore_thread(member, thread)
            else:
                abort(400)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Done."), "success")
        return redirect(url_for("main.thread", thread_id=thread.id))
    form.board.data = thread.board_id
    return render_template("moderate.html", thread=thread, board=thread.board, form=form)
