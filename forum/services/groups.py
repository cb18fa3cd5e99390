"""Groups (admin): create, rename and delete custom groups; edit the permission matrix.

The built-in groups (guest, member, moderator, admin) can be renamed but never deleted:
the permission checks and the first-run data depend on their keys. Every change bumps the
site state version so each worker drops its cached groups and matrix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select

from forum.extensions import db
from forum.models import BoardPermission, Group, GroupMembership
from forum.models.base import utcnow
from forum.services import permissions
from forum.services.errors import NotFound, ServiceError
from forum.services.site import bump_version

BUILTIN_KEYS = frozenset({"guest", "member", "moderator", "admin"})
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


def list_groups() -> list[Group]:
    """Every group, in display order (built-in ones first by their position)."""
    return list(db.session.execute(select(Group).order_by(Group.position, Group.id)).scalars())


def get_group(group_id: int) -> Group:
    """The group with this id, or :class:`NotFound`."""
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound("group")
    return group


def is_builtin(group: Group) -> bool:
    """True for guest, member, moderator and admin (they cannot be deleted)."""
    return group.key in BUILTIN_KEYS or group.is_system


def assignable_groups() -> list[Group]:
    """Groups an admin can put a member into (everybody is in guest and member already)."""
    return [g for g in list_groups() if g.key not in ("guest", "member")]


def member_counts() -> dict[int, int]:
    """group id → how many members are in it now (expired memberships not counted)."""
    now = utcnow()
    rows = db.session.execute(
        select(GroupMembership.group_id, func.count())
        .where(or_(GroupMembership.expires_at.is_(None), GroupMembership.expires_at > now))
        .group_by(GroupMembership.group_id)
    )
    return {gid: count for gid, count in rows}


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise ServiceError(_("A group name has 1 to 60 characters."), "name")
    return name


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 500:
        raise ServiceError(_("A description has at most 500 characters."), "description")
    return description


def _free_key() -> str:
    taken = set(db.session.execute(select(Group.key)).scalars())
    n = 1
    while f"group{n}" in taken:
        n += 1
    return f"group{n}"


def create_group(name: str, key: str = "", description: str = "") -> Group:
    """Add a custom group at the end of the list. Commits.

    ``key`` (lower-case letters, digits, ``_`` and ``-``) names the group for plugins and the
    command line; when empty, one is made up (``group1``, ``group2`` …). A new group has no
    permissions until the matrix gives it some.
    """
    name = _clean_name(name)
    description = _clean_description(description)
    key = (key or "").strip().lower()
    if key:
        if not KEY_RE.match(key):
            raise ServiceError(
                _("A key has 2 to 40 lower-case letters, digits, _ or -, starting with a letter."),
                "key",
            )
        if db.session.execute(select(Group.id).where(Group.key == key)).first():
            raise ServiceError(_("Another group uses this key."), "key")
    else:
        key = _free_key()
    position = (db.session.execute(select(func.max(Group.position))).scalar() or 0) + 1
    group = Group(key=key, name=name, description=description, position=position)
    db.session.add(group)
    bump_version()
    db.session.commit()
    return group


def rename_group(group: Group, name: str, description: str | None = None) -> Group:
    """Change a group's name (and description, unless ``None``). Commits."""
    group.name = _clean_name(name)
    if description is not None:
        group.description = _clean_description(description)
    bump_version()
    db.session.commit()
    return group


def delete_group(group: Group) -> None:
    """Delete a custom group with its memberships and permission rows. Commits.

    Raises :class:`ServiceError` for a built-in group.
    """
    if is_builtin(group):
        raise ServiceError(_("Built-in groups cannot be deleted."))
    db.session.execute(delete(GroupMembership).where(GroupMembership.group_id == group.id))
    db.session.execute(delete(BoardPermission).where(BoardPermission.group_id == group.id))
    db.session.delete(group)
    bump_version()
    db.session.commit()


# -- the permission matrix --------------------------------------------------------------------


def matrix_groups() -> list[Group]:
    """The groups whose permissions the matrix edits (admin groups may do everything)."""
    return [g for g in list_groups() if not g.is_admin]


def effective_grants(board_id: int | None) -> dict[int, frozenset[str]]:
    """group id → what the group may do on ``board_id`` (its own rows, else its defaults).

    With ``board_id`` None: the defaults themselves.
    """
    names = permissions.all_permission_names()
    return {
        g.id: frozenset(p for p in names if permissions.group_allows(g.id, board_id, p))
        for g in matrix_groups()
    }


def groups_with_own_rows(board_id: int) -> frozenset[int]:
    """The ids of the groups that have rows of their own for this board."""
    return frozenset(
        db.session.execute(
            select(BoardPermission.group_id)
            .where(
                BoardPermission.board_id == board_id,
                BoardPermission.permission.in_(permissions.all_permission_names()),
            )
            .distinct()
        ).scalars()
    )


def save_matrix(board_id: int | None, grants: Mapping[int, Iterable[str]]) -> None:
    """Store the ticks of the matrix for one board, or the defaults (``board_id`` None). Commits.

    On a board, a group whose ticks equal its defaults keeps no rows of its own, so it goes on
    following its defaults when they change later; other groups get rows that override them.
    Admin groups and unknown group ids are ignored.
    """
    editable = {g.id for g in matrix_groups()}
    grants = {gid: set(perms) for gid, perms in grants.items() if gid in editable}
    if board_id is None:
        permissions.set_board_permissions(None, grants)
    else:
        defaults = effective_grants(None)
        same = [gid for gid, perms in grants.items() if perms == defaults.get(gid)]
        if same:
            db.session.execute(
                delete(BoardPermission).where(
                    BoardPermission.board_id == board_id,
                    BoardPermission.group_id.in_(same),
                    # only the columns shown: a disabled plugin's rows stay for its return
                    BoardPermission.permission.in_(permissions.all_permission_names()),
                )
            )
        differing = {gid: perms for gid, perms in grants.items() if gid not in same}
        if differing:
            permissions.set_board_permissions(board_id, differing)
        bump_version()
    db.session.commit()


def reset_board(board_id: int) -> None:
    """Drop a board's own permission rows so every group follows its defaults. Commits."""
    permissions.clear_board_permissions(board_id)
    db.session.commit()
