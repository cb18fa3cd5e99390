"""Categories and boards: create, change, order, delete (admin)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import func, select

from forum import plugins
from forum.extensions import db
from forum.models import Board, Category, Thread
from forum.services.errors import ServiceError
from forum.services.site import bump_version

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def create_category(name: str, position: int | None = None) -> Category:
    """Add a category (at the end unless ``position`` is given). Commits."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ServiceError(_("A category name has 1 to 80 characters."), "name")
    if position is None:
        position = (db.session.execute(select(func.max(Category.position))).scalar() or 0) + 1
    category = Category(name=name, position=position)
    db.session.add(category)
    bump_version()
    db.session.commit()
    return category


def validate_slug(slug: str, board_id: int | None = None) -> str:
    """A board slug: lower-case letters, digits and '-', unique."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise ServiceError(
            _("The address name uses lower-case letters, digits and '-' (up to 60)."), "slug"
        )
    clash = db.session.execute(select(Board.id).where(Board.slug == slug)).scalar()
    if clash is not None and clash != board_id:
        raise ServiceError(_("Another board uses this address name."), "slug")
    return slug


def validate_thread_kinds(kinds: str | Iterable[str], board: Board | None = None) -> str:
    """The thread kinds a board allows, checked, as stored (comma-separated, in order).

    Known kinds only: ``discussion`` (the core's), the enabled plugins' kinds, and kinds the
    board already allows (a disabled plugin's kind stays stored until it is taken away, but
    cannot be added). No kind twice, and at least one that members can start now.
    """
    names = [k.strip() for k in (kinds.split(",") if isinstance(kinds, str) else kinds)]
    names = [k for k in names if k]
    available = {"discussion", *plugins.thread_kinds()}
    kept = set(board.kinds) if board is not None else set()
    for kind in names:
        if kind not in available and kind not in kept:
            raise ServiceError(_("Unknown kind of thread: %(kind)s.", kind=kind), "thread_kinds")
    if len(set(names)) != len(names):
        raise ServiceError(_("Each kind of thread can be allowed only once."), "thread_kinds")
    if not names:
        raise ServiceError(_("Allow at least one kind of thread."), "thread_kinds")
    if not any(kind in available for kind in names):
        raise ServiceError(
            _("Allow at least one kind of thread that members can start now."), "thread_kinds"
        )
    stored = ",".join(names)
    if len(stored) > 200:
        raise ServiceError(_("Too many kinds of thread."), "thread_kinds")
    return stored


def create_board(
    category: Category,
    slug: str,
    name: str,
    description: str = "",
    position: int | None = None,
    thread_kinds: str | Iterable[str] = "discussion",
) -> Board:
    """Add a board to a category. Commits."""
    slug = validate_slug(slug)
    thread_kinds = validate_thread_kinds(thread_kinds)
    name = name.strip()
    if not name or len(name) > 80:
        raise ServiceError(_("A board name has 1 to 80 characters."), "name")
    if position is None:
        position = (
            db.session.execute(
                select(func.max(Board.position)).where(Board.category_id == category.id)
            ).scalar()
            or 0
        ) + 1
    board = Board(
        category_id=category.id,
        slug=slug,
        name=name,
        description=description.strip(),
        position=position,
        thread_kinds=thread_kinds,
    )
    db.session.add(board)
    bump_version()
    db.session.commit()
    return board


def update_board(board: Board, **fields) -> Board:
    """Change a board's name, slug, description, category, position or thread kinds. Commits."""
    if "slug" in fields:
        fields["slug"] = validate_slug(fields["slug"], board.id)
    if "name" in fields:
        name = fields["name"].strip()
        if not name or len(name) > 80:
            raise ServiceError(_("A board name has 1 to 80 characters."), "name")
        fields["name"] = name
    if "thread_kinds" in fields:
        fields["thread_kinds"] = validate_thread_kinds(fields["thread_kinds"], board)
    for key, value in fields.items():
        if key not in {"slug", "name", "description", "category_id", "position", "thread_kinds"}:
            raise ValueError(f"not a board field: {key}")
        setattr(board, key, value)
    bump_version()
    db.session.commit()
    return board


def delete_board(board: Board) -> None:
    """Delete an empty board (move or delete its threads first). Commits."""
    if db.session.execute(select(Thread.id).where(Thread.board_id == board.id).limit(1)).first():
        raise ServiceError(_("Only an empty board can be deleted. Move its threads first."))
    db.session.delete(board)
    bump_version()
    db.session.commit()


def delete_category(category: Category) -> None:
    """Delete a category without boards. Commits."""
    if db.session.execute(
        select(Board.id).where(Board.category_id == category.id).limit(1)
    ).first():
        raise ServiceError(_("Only a category without boards can be deleted."))
    db.session.delete(category)
    bump_version()
    db.session.commit()


def update_category(category: Category, name: str, position: int | None = None) -> Category:
    """Rename a category (and move it to ``position`` unless ``None``). Commits."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ServiceError(_("A category name has 1 to 80 characters."), "name")
    category.name = name
    if position is not None:
        category.position = position
    bump_version()
    db.session.commit()
    return category


def set_positions(categories: dict[int, int], boards: dict[int, int]) -> None:
    """Reorder: category id → position and board id → position (unknown ids ignored). Commits."""
    for category in db.session.execute(
        select(Category).where(Category.id.in_(categories))
    ).scalars():
        category.position = categories[category.id]
    for board in db.session.execute(select(Board).where(Board.id.in_(boards))).scalars():
        board.position = boards[board.id]
    bump_version()
    db.session.commit()


def category_tree() -> list[tuple[Category, list[Board]]]:
    """Every category (empty ones too) with all its boards, in order, for the admin area."""
    categories = list(
        db.session.execute(select(Category).order_by(Category.position, Category.id)).scalars()
    )
    by_category: dict[int, list[Board]] = {c.id: [] for c in categories}
    for board in db.session.execute(select(Board).order_by(Board.position, Board.id)).scalars():
        by_category.setdefault(board.category_id, []).append(board)
    return [(c, by_category[c.id]) for c in categories]
