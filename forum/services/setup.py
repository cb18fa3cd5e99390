"""First-run data: the built-in groups, their default permissions and the site state row."""

from __future__ import annotations

from sqlalchemy import select

from forum.extensions import db
from forum.models import BoardPermission, Group, SiteState
from forum.services.permissions import BOARD_PERMISSIONS, DEFAULT_GRANTS

BUILTIN_GROUPS = (
    # key, Chinese name (the site's language), is_admin, position
    ("guest", "游客", False, 0),
    ("member", "会员", False, 1),
    ("moderator", "版主", False, 2),
    ("admin", "管理员", True, 3),
)


def ensure_defaults() -> None:
    """Create whatever of the built-in data is missing. Safe to run again. Commits."""
    if db.session.get(SiteState, 1) is None:
        db.session.add(SiteState(id=1, version=1))
    existing = {g.key: g for g in db.session.execute(select(Group)).scalars()}
    for key, name, admin, position in BUILTIN_GROUPS:
        if key in existing:
            continue
        group = Group(key=key, name=name, is_admin=admin, is_system=True, position=position)
        db.session.add(group)
        db.session.flush()
        for perm in BOARD_PERMISSIONS:
            db.session.add(
                BoardPermission(
                    board_id=None,
                    group_id=group.id,
                    permission=perm,
                    allowed=perm in DEFAULT_GRANTS[key],
                )
            )
    db.session.commit()
