"""Reading and writing: board index, boards, threads, the composer and post actions."""

from __future__ import annotations

import re
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
from sqlalchemy import and_, select
from sqlalchemy.orm.attributes import set_committed_value

from forum import plugins
from forum.extensions import db, limiter
from forum.markup import quote_source
from forum.models import Board, Group, Member, Post, Thread
from forum.plugin_api import ThreadKind
from forum.search.text import html_text
from forum.services import (
    likes,
    notifications,
    permissions,
    posting,
    reading,
    safeguards,
    uploads,
    versions,
    view_counts,
    watches,
)
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web import page_cache
from forum.web.forms import (
    KIND_FIELD_PREFIX,
    ActionForm,
    ComposerForm,
    MoveForm,
    thread_composer_form,
)
from forum.web.likes import trust_cards_html
from forum.web.util import draft_posted, form_error, member_key, page_arg, viewer

bp = Blueprint("main", __name__)


def _posting_limit() -> str:
    """The signed-in member's posting rate: their groups' most generous, else the config's."""
    return safeguards.posting_rate(viewer())


def _posting_exempt() -> bool:
    """Administrators and moderators are never rate-limited when posting."""
    return safeguards.exempt(viewer())


@bp.route("/")
def index():
    member = viewer()
    key, html = page_cache.lookup(member, "index", versions.slot("content"))
    if html is not None:
        return html
    html = render_template("index.html", categories=reading.board_index(member))
    return page_cache.store(key, html)


_ARG_WORD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _word_arg(name: str) -> str:
    """A short lower-case word from the query string (``?order=``, ``?filter=``), or ""."""
    value = request.args.get(name, "")
    return value if _ARG_WORD.match(value) else ""


@bp.route("/b/<slug>")
def board(slug: str):
    member = viewer()
    page = page_arg()
    chosen = _word_arg("filter")
    # Boards are looked up by slug; the all-content stamp covers whichever board it is.
    key, html = page_cache.lookup(member, ("board", slug, page, chosen), versions.slot("content"))
    if html is not None:
        return html
    board = posting.get_board(slug, member)
    if not permissions.can(member, "read", board.id):
        return _gated_board(board, member, page, chosen)
    moderator = permissions.is_moderator(member, board.id)
    filters = plugins.board_filters(board) if plugins.has_impls("forum_board_filters") else []
    active = next((f for f in filters if f.name == chosen), None)
    if chosen and active is None:
        abort(404)
    threads, pages = reading.board_threads(
        board, page, moderator, active.where() if active else None
    )
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
        moderator=moderator,
        filters=filters,
        active_filter=chosen,
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
    order = _word_arg("order")
    app = current_app._get_current_object()
    key, html = page_cache.lookup(
        member, ("thread", thread_id, page, order), versions.slot("thread", thread_id)
    )
    if html is not None:
        view_counts.count_view(app, thread_id)
        return html
    notifications.mark_thread_read(member, thread_id)  # no query unless some are unread
    try:
        thread = posting.get_thread(thread_id, member)
    except PermissionDenied:  # a board the viewer may see but not read: the teaser
        return _thread_teaser(thread_id, member)
    pages = reading.thread_pages(thread)
    if page > pages:
        abort(404)
    posts = reading.thread_posts(thread, page, order)
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
        liked=likes.liked_post_ids(member, [p.id for p in posts]),
        trust_cards=trust_cards_html(p.author for p in posts),
    )
    view_counts.count_view(app, thread.id)
    if member is not None and posts:
        posting.mark_read(member, thread, max(p.number for p in posts))
    return page_cache.store(key, html)


#: How much of a gated thread's first post its teaser shows, as plain text.
TEASER_CHARS = 120


def _reader_groups(board_id: int) -> tuple[list[str], bool]:
    """The names of the groups (other than the built-in ones) that may read the board, and
    whether every signed-in member may: what the teaser says about who can read it."""
    names = [
        name
        for gid, name, key, is_admin, is_system in db.session.execute(
            select(Group.id, Group.name, Group.key, Group.is_admin, Group.is_system).order_by(
                Group.position, Group.id
            )
        )
        if not is_admin
        and not is_system
        and key not in ("guest", "member", "moderator")
        and permissions.group_allows(gid, board_id, "read")
    ]
    return names, permissions.group_allows(permissions.group_id("member"), board_id, "read")


def _gated_board(board: Board, member: Member | None, page: int, chosen: str):
    """A board the viewer may see but not read: its threads' titles, authors and dates, and
    the ``gate`` slot's call to action. Not kept in the page cache (the call to action
    depends on plugins' data)."""
    if chosen:
        abort(404)
    threads, pages = reading.board_threads(board, page)
    if page > pages:
        abort(404)
    readers, members_read = _reader_groups(board.id)
    return render_template(
        "teaser.html",
        board=board,
        thread=None,
        threads=threads,
        page=page,
        pages=pages,
        readers=readers,
        members_read=members_read,
        viewer=member,
    )


def _excerpt(html: str | None) -> str:
    """The first :data:`TEASER_CHARS` characters of a post's HTML as plain text (no images,
    no markup), with an ellipsis when there is more."""
    text = html_text(html or "")
    if len(text) <= TEASER_CHARS:
        return text
    return text[:TEASER_CHARS].rstrip() + "…"


def _thread_teaser(thread_id: int, member: Member | None):
    """The teaser of a thread on a board the viewer may see but not read (status 200): its
    title, author, date and the first lines of its first post as plain text, never the
    post's HTML or a reply, with the ``gate`` slot's call to action.

    ``posting.get_thread`` has checked that the board is visible; deleted and held threads
    stay hidden (404), as they are for readers."""
    row = db.session.execute(
        select(Thread, Board, Member, Post.html, Post.state, Post.deleted_at)
        .join(Board, Thread.board_id == Board.id)
        .join(Member, Thread.author_id == Member.id)
        .outerjoin(Post, and_(Post.thread_id == Thread.id, Post.number == 1))
        .where(Thread.id == thread_id)
    ).first()
    if row is None:
        raise NotFound("thread")
    thread, board, author, html, state, deleted_at = row
    if thread.deleted_at is not None or thread.held:
        raise NotFound("thread")
    set_committed_value(thread, "board", board)
    shown = state == "published" and deleted_at is None
    readers, members_read = _reader_groups(board.id)
    return render_template(
        "teaser.html",
        board=board,
        thread=thread,
        author=author,
        excerpt=_excerpt(html) if shown else "",
        readers=readers,
        members_read=members_read,
        viewer=member,
    )


def _to_teaser(thread_id: int):
    """Where links into a thread the viewer may see but not read lead: its teaser."""
    return redirect(url_for("main.thread", thread_id=thread_id))


@bp.route("/t/<int:thread_id>/last")
def thread_last(thread_id: int):
    try:
        thread = posting.get_thread(thread_id, viewer())
    except PermissionDenied:
        return _to_teaser(thread_id)
    return redirect(
        url_for(
            "main.thread",
            thread_id=thread.id,
            page=reading.thread_pages(thread) or None,
            **reading.number_order_args(thread),
        )
        + f"#p{thread.last_number}"
    )


@bp.route("/t/<int:thread_id>/unread")
def thread_unread(thread_id: int):
    member = viewer()
    try:
        thread = posting.get_thread(thread_id, member)
    except PermissionDenied:
        return _to_teaser(thread_id)
    seen = reading.read_marks(member, [thread.id]).get(thread.id, 0)
    number = min(seen + 1, thread.last_number)
    page = reading.page_of_number(number)
    return redirect(
        url_for(
            "main.thread",
            thread_id=thread.id,
            page=page if page > 1 else None,
            **reading.number_order_args(thread),
        )
        + f"#p{number}"
    )


@bp.route("/p/<int:post_id>")
def post(post_id: int):
    try:
        post = posting.get_post(post_id, viewer())
    except PermissionDenied:  # the board is visible, not readable: the thread's teaser
        return _to_teaser(db.session.get(Post, post_id).thread_id)
    page = reading.page_of_number(post.number)
    return redirect(
        url_for(
            "main.thread",
            thread_id=post.thread_id,
            page=page if page > 1 else None,
            **reading.number_order_args(post.thread),
        )
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
@limiter.limit(_posting_limit, methods=["POST"], key_func=member_key, exempt_when=_posting_exempt)
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
    if kind_error is None and spec is not None and spec.compose_url is not None:
        return redirect(spec.compose_url(board))  # the plugin's own composer
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
            if thread.held:
                flash(_("Your post is waiting for approval by a moderator."), "info")
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
@limiter.limit(_posting_limit, methods=["POST"], key_func=member_key, exempt_when=_posting_exempt)
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
            if (
                quoted is not None
                and quoted.thread_id == thread.id
                and quoted.deleted_at is None
                and quoted.state == "published"
            ):
                author = db.session.get(Member, quoted.author_id)
                form.body.data = quote_source(author.username, quoted.source)
    elif form.validate_on_submit():
        post = _submit_composer(
            form, member, thread.board_id, lambda body: posting.reply(member, thread, body)
        )
        if post is not None:
            if post.state == "held":
                flash(_("Your post is waiting for approval by a moderator."), "info")
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
