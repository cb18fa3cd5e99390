"""Who may do what where. Every check in the forum goes through this module.

A member's groups are: ``guest`` when signed out, banned or awaiting approval; otherwise
``member`` plus every group membership that has not expired (checked against the clock on
each request, so an expired membership stops granting anything at once, before any clean-up
job runs). For each board a group's permission is its row for that board if there is one,
else its default row (``board_id`` NULL), else nothing. A member may do what any of their
groups may do; a group with ``is_admin`` may do everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select

from forum.extensions import db
from forum.models import Board, BoardPermission, Group, GroupMembership, Member
from forum.models.base import utcnow
from forum.services.errors import NotFound, PermissionDenied
from forum.services.site import bump_version, cached, request_cached

#: The core's board permissions, in matrix order. Plugins add more (see the plugin guide).
BOARD_PERMISSIONS: tuple[str, ...] = (
    "view",
    "read",
    "start_thread",
    "reply",
    "upload",
    "moderate",
)

#: What each built-in group may do on every board by default.
DEFAULT_GRANTS: dict[str, tuple[str, ...]] = {
    "guest": ("view", "read"),
    "member": ("view", "read", "start_thread", "reply", "upload"),
    "moderator": BOARD_PERMISSIONS,
    "admin": BOARD_PERMISSIONS,
}


def _groups_by_key() -> dict[str, dict[str, Any]]:
    def load() -> dict[str, dict[str, Any]]:
        rows = db.session.execute(select(Group.id, Group.key, Group.is_admin)).all()
        return {key: {"id": gid, "is_admin": is_admin} for gid, key, is_admin in rows}

    return cached("groups_by_key", load)


def group_id(key: str) -> int:
    """The id of the group with this key (``guest``, ``member`` …)."""
    return _groups_by_key()[key]["id"]


def _is_signed_in(member: Member | None) -> bool:
    return member is not None and getattr(member, "is_authenticated", False)


def group_ids(member: Member | None) -> frozenset[int]:
    """The ids of the groups that grant ``member`` permissions right now."""
    if not _is_signed_in(member) or member.status == "pending" or member.is_banned:
        return frozenset({group_id("guest")})

    def load() -> frozenset[int]:
        now = utcnow()
        rows = db.session.execute(
            select(GroupMembership.group_id).where(
                GroupMembership.member_id == member.id,
                or_(GroupMembership.expires_at.is_(None), GroupMembership.expires_at > now),
            )
        ).scalars()
        return frozenset({group_id("member"), *rows})

    return request_cached(f"group_ids:{member.id}", load)


def load_group_ids(members: Iterable[Member]) -> None:
    """Load the current group memberships of many members in one query, so that
    :func:`can` for each of them (in this request or app context) needs none of its own.
    For services that check a permission for a list of members (notification recipients)."""
    from flask import g

    store = g.setdefault("_forum_request_cache", {})
    wanted = [
        m
        for m in members
        if _is_signed_in(m)
        and m.status != "pending"
        and not m.is_banned
        and f"group_ids:{m.id}" not in store
    ]
    if not wanted:
        return
    now = utcnow()
    found: dict[int, set[int]] = {m.id: set() for m in wanted}
    rows = db.session.execute(
        select(GroupMembership.member_id, GroupMembership.group_id).where(
            GroupMembership.member_id.in_(list(found)),
            or_(GroupMembership.expires_at.is_(None), GroupMembership.expires_at > now),
        )
    )
    member_gid = group_id("member")
    for member_id, gid in rows:
        found[member_id].add(gid)
    for member_id, gids in found.items():
        store[f"group_ids:{member_id}"] = frozenset({member_gid, *gids})


def _matrix() -> dict[int, dict[int | None, dict[str, bool]]]:
    """group id → board id (None: default) → permission → allowed."""

    def load() -> dict[int, dict[int | None, dict[str, bool]]]:
        matrix: dict[int, dict[int | None, dict[str, bool]]] = {}
        rows = db.session.execute(
            select(
                BoardPermission.group_id,
                BoardPermission.board_id,
                BoardPermission.permission,
                BoardPermission.allowed,
            )
        )
        for gid, board_id, perm, allowed in rows:
            matrix.setdefault(gid, {}).setdefault(board_id, {})[perm] = allowed
        return matrix

    return cached("permission_matrix", load)


def _board_ids() -> tuple[int, ...]:
    return cached("board_ids", lambda: tuple(db.session.execute(select(Board.id)).scalars().all()))


def is_admin(member: Member | None) -> bool:
    """True if one of the member's current groups is an admin group."""
    admin_ids = {g["id"] for g in _groups_by_key().values() if g["is_admin"]}
    return bool(admin_ids & group_ids(member))


def group_allows(gid: int, board_id: int | None, permission: str) -> bool:
    """Does group ``gid`` have ``permission`` on ``board_id`` (its row, else its default)?"""
    cells = _matrix().get(gid, {})
    board_cells = cells.get(board_id, {}) if board_id is not None else {}
    if permission in board_cells:
        return board_cells[permission]
    return cells.get(None, {}).get(permission, False)


def board_permissions(member: Member | None) -> dict[int, frozenset[str]]:
    """board id → the permissions ``member`` has there. Cached per worker per group set."""
    gids = group_ids(member)
    admin = is_admin(member)

    def load() -> dict[int, frozenset[str]]:
        result: dict[int, frozenset[str]] = {}
        names = all_permission_names()
        for board_id in _board_ids():
            if admin:
                result[board_id] = frozenset(names)
                continue
            result[board_id] = frozenset(
                p for p in names if any(group_allows(g, board_id, p) for g in gids)
            )
        return result

    return cached(f"board_permissions:{sorted(gids)}:{admin}", load)


def all_permission_names() -> tuple[str, ...]:
    """Every board permission in force: the core's, then the enabled plugins' (in order)."""
    from forum import plugins

    return cached(
        "permission_names",
        lambda: BOARD_PERMISSIONS + tuple(perm.name for _plugin, perm in plugins.permissions()),
    )


def can(member: Member | None, permission: str, board_id: int) -> bool:
    """May ``member`` do ``permission`` on the board ``board_id``?"""
    return permission in board_permissions(member).get(board_id, frozenset())


def require(member: Member | None, permission: str, board_id: int) -> None:
    """Raise :class:`NotFound` if the member may not see the board at all, else
    :class:`PermissionDenied` if they lack ``permission``."""
    perms = board_permissions(member).get(board_id, frozenset())
    if "view" not in perms:
        raise NotFound("not found")
    if permission not in perms:
        raise PermissionDenied(permission)


def visible_board_ids(member: Member | None, permission: str = "read") -> frozenset[int]:
    """The boards where ``member`` has ``permission`` (and ``view``)."""
    return frozenset(
        bid
        for bid, perms in board_permissions(member).items()
        if "view" in perms and permission in perms
    )


def is_moderator(member: Member | None, board_id: int) -> bool:
    """May ``member`` moderate the board?"""
    return can(member, "moderate", board_id)


def set_board_permissions(
    board_id: int | None, grants: dict[int, Iterable[str]], replace: bool = True
) -> None:
    """Set the matrix column for one board (or the defaults with ``board_id`` None).

    ``grants`` maps group id → the permissions it gets; permissions not named are stored as
    denied, so a board can take away what the group's defaults give. Does not commit.
    """
    names = all_permission_names()
    for gid, allowed in grants.items():
        allowed = set(allowed)
        unknown = allowed - set(names)
        if unknown:
            raise ValueError(f"unknown permissions: {', '.join(sorted(unknown))}")
        existing = {
            row.permission: row
            for row in db.session.execute(
                select(BoardPermission).where(
                    BoardPermission.group_id == gid,
                    BoardPermission.board_id.is_(None)
                    if board_id is None
                    else BoardPermission.board_id == board_id,
                )
            ).scalars()
        }
        for perm in names:
            row = existing.get(perm)
            if row is None:
                db.session.add(
                    BoardPermission(
                        board_id=board_id, group_id=gid, permission=perm, allowed=perm in allowed
                    )
                )
            elif replace:
                row.allowed = perm in allowed
    bump_version()


def clear_board_permissions(board_id: int) -> None:
    """Drop a board's own rows so it follows every group's defaults again. Does not commit."""
    db.session.execute(
        BoardPermission.__table__.delete().where(BoardPermission.board_id == board_id)
    )
    bump_version()
