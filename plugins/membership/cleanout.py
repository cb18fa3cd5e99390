"""Clearing out (清理): members of gated groups who no longer qualify.

The owner's :class:`~.models.Rule` rows say who no longer qualifies for which groups:
``inactive_days`` (no post or check-in for ``threshold`` days, counted from the latest of
their last post, last check-in, joining the group or a restore) or ``warnings_over``
(more than ``threshold`` moderation warnings). The periodic job (:func:`run_cleanup`)
warns such members first (a notification and a :class:`~.models.Warning` due
``notice_days`` later); when the warning falls due and they still do not qualify, it takes
them out of the rule's groups and logs a :class:`~.models.Removal`, which an admin may
:func:`restore`. Whoever qualifies again meanwhile (a post) has the warning cancelled.
:func:`cleanup_report` is the dry run: the same decisions, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Group, GroupMembership, Member, Post
from forum.models.base import utcnow
from forum.plugin_api import is_enabled, notify
from forum.services import members
from forum.services.errors import ServiceError
from forum.services.writes import begin_write

from .common import found, paginate, require_admin, url
from .models import RULE_KINDS, Removal, Rule, Warning

NOTE_WARNING = "membership.warning"
NOTE_REMOVED = "membership.removed"
NOTE_RESTORED = "membership.restored"


@dataclass(frozen=True)
class Candidate:
    """A member a rule would clear out: why, and when (``due_at``; ``warned``: a warning
    is pending already)."""

    member: Member
    rule: Rule
    reason: str
    due_at: datetime
    warned: bool = False


# -- rules ------------------------------------------------------------------------------------


def rules() -> list[Rule]:
    """The clean-out rules, in the order they were made."""
    return list(db.session.execute(select(Rule).order_by(Rule.id)).scalars())


def get_rule(rule_id: int) -> Rule:
    """The rule with this id, or NotFound."""
    return found(Rule, rule_id, _("No such rule."))


def save_rule(
    actor: Member,
    rule: Rule | None = None,
    *,
    kind: str | None = None,
    threshold: int | None = None,
    notice_days: int | None = None,
    enabled: bool | None = None,
    group_ids: list[int] | tuple[int, ...] | None = None,
) -> Rule:
    """Add (``rule`` None) or change a clean-out rule (admins): ``kind`` ``inactive_days``
    or ``warnings_over``, its ``threshold`` (days, or warnings), the ``notice_days``
    between the warning and the removal, the gated ``group_ids`` it clears out of. Fields
    left None keep the rule's values (a new rule: 30 days' notice 7, enabled). Commits."""
    require_admin(actor)
    if kind is None:
        kind = rule.kind if rule else "inactive_days"
    if threshold is None:
        threshold = rule.threshold if rule else 30
    if notice_days is None:
        notice_days = rule.notice_days if rule else 7
    if enabled is None:
        enabled = rule.enabled if rule else True
    if group_ids is None:
        group_ids = list(rule.group_ids or []) if rule else []
    if kind not in RULE_KINDS:
        raise ServiceError(_("Please choose one of the options."), "kind")
    numbers = {}
    for field, value, low in (("threshold", threshold, 1 if kind == "inactive_days" else 0),
                              ("notice_days", notice_days, 0)):  # fmt: skip
        try:
            numbers[field] = int(value)
        except (TypeError, ValueError):
            raise ServiceError(_("Enter a whole number."), field) from None
        if not low <= numbers[field] <= 3650:
            raise ServiceError(
                _("Enter a number from %(low)d to %(high)d.", low=low, high=3650), field
            )
    ids = sorted({int(g) for g in group_ids})
    groups = list(db.session.execute(select(Group).where(Group.id.in_(ids))).scalars())
    if not ids or len(groups) != len(ids):
        raise ServiceError(_("Choose the groups the rule clears out of."), "group_ids")
    if any(g.key in ("guest", "member") or g.is_admin for g in groups):
        raise ServiceError(_("A rule cannot clear members out of this group."), "group_ids")
    if rule is None:
        rule = Rule()
        db.session.add(rule)
    rule.kind, rule.enabled, rule.group_ids = kind, bool(enabled), ids
    rule.threshold, rule.notice_days = numbers["threshold"], numbers["notice_days"]
    db.session.commit()
    return rule


def delete_rule(actor: Member, rule: Rule) -> None:
    """Remove a rule (its pending warnings go with it; the removals log stays). Commits."""
    require_admin(actor)
    db.session.delete(rule)
    db.session.commit()


# -- who fails a rule -------------------------------------------------------------------------


def _members_of(rule: Rule, now: datetime) -> dict[int, datetime]:
    """Members in force in any of the rule's groups (admins left out): id → when they
    joined the first of them."""
    admin_group_ids = select(Group.id).where(Group.is_admin.is_(True))
    admins = select(GroupMembership.member_id).where(GroupMembership.group_id.in_(admin_group_ids))
    rows = db.session.execute(
        select(GroupMembership.member_id, func.min(GroupMembership.created_at))
        .join(Member, Member.id == GroupMembership.member_id)
        .where(
            GroupMembership.group_id.in_(list(rule.group_ids or [])),
            (GroupMembership.expires_at.is_(None)) | (GroupMembership.expires_at > now),
            GroupMembership.member_id.not_in(admins),
            Member.status == "active",
        )
        .group_by(GroupMembership.member_id)
    ).all()
    return dict(rows)


def _last_checkins(member_ids: list[int]) -> dict[int, datetime]:
    """The members' latest check-ins, while the check-ins plugin is on."""
    if not member_ids or not is_enabled("checkin"):
        return {}
    try:
        from forum_plugins.checkin import services as checkin
    except ImportError:  # pragma: no cover (not installed)
        return {}
    return checkin.last_checkins(member_ids)


def _last_active(member_ids: list[int], joined: dict[int, datetime]) -> dict[int, datetime]:
    """Each member's latest sign of activity: a post (not deleted), a check-in, joining the
    group, being restored by an admin."""
    found = dict(joined)

    def later(rows: Any) -> None:
        for member_id, at in rows:
            if at is not None and (found.get(member_id) is None or at > found[member_id]):
                found[member_id] = at

    later(
        db.session.execute(
            select(Post.author_id, func.max(Post.created_at))
            .where(Post.author_id.in_(member_ids), Post.deleted_at.is_(None))
            .group_by(Post.author_id)
        ).all()
    )
    later(_last_checkins(member_ids).items())
    later(
        db.session.execute(
            select(Removal.member_id, func.max(Removal.restored_at))
            .where(Removal.member_id.in_(member_ids))
            .group_by(Removal.member_id)
        ).all()
    )
    return found


def _failing(rule: Rule, now: datetime, only: list[int] | None = None) -> dict[int, str]:
    """Members of the rule's groups who fail it now: id → the reason, worded."""
    joined = _members_of(rule, now)
    if only is not None:
        joined = {k: v for k, v in joined.items() if k in only}
    ids = list(joined)
    if not ids:
        return {}
    if rule.kind == "inactive_days":
        cutoff = now - timedelta(days=rule.threshold)
        last = _last_active(ids, joined)
        return {
            mid: _("No post or check-in for %(n)d days", n=rule.threshold)
            for mid in ids
            if last.get(mid) is None or last[mid] <= cutoff
        }
    counts = dict(
        db.session.execute(select(Member.id, Member.warning_count).where(Member.id.in_(ids))).all()
    )
    return {
        mid: _("More than %(n)d warnings", n=rule.threshold)
        for mid in ids
        if counts.get(mid, 0) > rule.threshold
    }


def _pending_warnings(rule: Rule) -> dict[int, Warning]:
    return {
        w.member_id: w
        for w in db.session.execute(
            select(Warning).where(Warning.rule_id == rule.id, Warning.status == "pending")
        ).scalars()
    }


def cleanup_report(now: datetime | None = None) -> list[Candidate]:
    """The dry run: every member the enabled rules would warn or remove, with the reason
    and the day it falls due. Writes nothing."""
    now = now or utcnow()
    found: list[Candidate] = []
    for rule in rules():
        if not rule.enabled:
            continue
        pending = _pending_warnings(rule)
        failing = _failing(rule, now)
        people = {
            m.id: m
            for m in db.session.execute(
                select(Member).where(Member.id.in_(list(failing)))
            ).scalars()
        }
        for member_id, reason in sorted(failing.items()):
            warning = pending.get(member_id)
            due = warning.due_at if warning else now + timedelta(days=rule.notice_days)
            found.append(Candidate(people[member_id], rule, reason, due, warning is not None))
    return found


# -- the job ----------------------------------------------------------------------------------


def _remove(member: Member, rule: Rule, reason: str, now: datetime) -> int:
    """Take ``member`` out of the rule's groups, logging each removal; how many."""
    rows = list(
        db.session.execute(
            select(GroupMembership).where(
                GroupMembership.member_id == member.id,
                GroupMembership.group_id.in_(list(rule.group_ids or [])),
            )
        ).scalars()
    )
    for row in rows:
        db.session.add(
            Removal(
                member_id=member.id,
                group_id=row.group_id,
                rule_id=rule.id,
                reason=reason[:200],
                expires_at=row.expires_at,
                source=row.source,
                removed_at=now,
            )
        )
    db.session.commit()
    for row in rows:
        members.remove_membership(member, db.session.get(Group, row.group_id))
    return len(rows)


def run_cleanup(now: datetime | None = None) -> tuple[int, int]:
    """The periodic clean-out: cancel the warnings of members who qualify again, remove
    those whose warning fell due (logged as :class:`Removal`), warn the newly failing
    (a notification; due ``notice_days`` later). Returns (warned, removed). Commits."""
    now = now or utcnow()
    warned = removed = 0
    for rule in rules():
        if not rule.enabled:
            continue
        begin_write()
        pending = _pending_warnings(rule)
        failing = _failing(rule, now)
        due: list[tuple[Warning, str]] = []
        for member_id, warning in pending.items():
            if member_id not in failing:
                warning.status = "cancelled"
            elif warning.due_at <= now:
                warning.status = "removed"
                due.append((warning, failing[member_id]))
        for member_id, reason in failing.items():
            if member_id in pending:
                continue
            due_at = now + timedelta(days=rule.notice_days)
            db.session.add(
                Warning(member_id=member_id, rule_id=rule.id, warned_at=now, due_at=due_at)
            )
            notify(
                member_id,
                NOTE_WARNING,
                title=reason,
                url=url("membership.mine", "/membership/mine"),
                data={"due": due_at.isoformat(), "reason": reason},
            )
            warned += 1
        db.session.commit()
        for warning, reason in due:
            member = db.session.get(Member, warning.member_id)
            if _remove(member, rule, reason, now):
                removed += 1
                notify(member.id, NOTE_REMOVED, title=reason, data={"reason": reason})
                db.session.commit()
    return warned, removed


# -- the log ----------------------------------------------------------------------------------


def removals(page: int = 1) -> tuple[list[Removal], int]:
    """One page of the removals log (newest first) and the number of pages."""
    query = select(Removal).order_by(Removal.removed_at.desc(), Removal.id.desc())
    found = paginate(query, page, 50)
    return found.items, found.pages


def get_removal(removal_id: int) -> Removal:
    """The removal with this id, or NotFound."""
    return found(Removal, removal_id, _("No such removal."))


def restore(actor: Member, removal: Removal, now: datetime | None = None) -> Removal:
    """Put a cleared-out member back in the group as they were (same expiry and source);
    the restore counts as activity, so the rule starts counting again. Commits."""
    require_admin(actor)
    if removal.restored_at is not None:
        raise ServiceError(_("This member has been restored already."))
    removal.restored_at = now or utcnow()
    removal.restored_by_id = actor.id
    db.session.commit()
    member = db.session.get(Member, removal.member_id)
    group = db.session.get(Group, removal.group_id)
    members.set_membership(
        member, group, expires_at=removal.expires_at, source=removal.source or "admin", actor=actor
    )
    notify(member.id, NOTE_RESTORED, actor_id=actor.id, title=group.name)
    db.session.commit()
    return removal
