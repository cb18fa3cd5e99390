"""Getting in: entry questions and applications (入群门槛), and invite codes.

An application is reviewed by an admin or a member of the ``reviewer_groups``. Approval
either opens the way to paying its tier (setting ``application_required``: buying waits for
an approved application) or, for an application without a tier, grants the groups of the
setting ``application_groups`` (source ``application``, no end).

An invite code gives one period of its tier to up to ``max_uses`` members, once each,
until ``expires_at``; the count is checked and raised under the invite's row lock, so
concurrent redemptions never pass the limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Group, Member
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import members, permissions
from forum.services.errors import PermissionDenied, ServiceError
from forum.services.writes import begin_write

from .common import found, locked, paginate, require_admin, settings, url
from .models import Application, Invite, InviteUse, Question, Subscription, Tier
from .tiers import extend, sync_groups

NOTE_APPROVED = "membership.approved"
NOTE_REJECTED = "membership.rejected"
NOTE_APPLIED = "membership.applied"
ANSWER_MAX = 2000
#: Invite codes: upper-case letters and digits without the look-alikes (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _keys(value: str) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def _groups_named(setting: str) -> list[Group]:
    keys = _keys(settings()[setting])
    if not keys:
        return []
    return list(db.session.execute(select(Group).where(Group.key.in_(keys))).scalars())


# -- questions --------------------------------------------------------------------------------


def questions() -> list[Question]:
    """The entry questions, in order."""
    return list(
        db.session.execute(select(Question).order_by(Question.position, Question.id)).scalars()
    )


def save_question(
    actor: Member,
    question: Question | None = None,
    *,
    text: str,
    position: int = 0,
    required: bool = True,
) -> Question:
    """Add (``question`` None) or change an entry question (admins). Commits."""
    require_admin(actor)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Please write the question."), "text")
    if len(text) > 500:
        raise ServiceError(_("At most %(n)d characters.", n=500), "text")
    if question is None:
        question = Question()
        db.session.add(question)
    question.text, question.position, question.required = text, int(position), bool(required)
    db.session.commit()
    return question


def get_question(question_id: int) -> Question:
    """The entry question with this id, or NotFound."""
    return found(Question, question_id, _("No such question."))


def delete_question(actor: Member, question: Question) -> None:
    """Remove an entry question (answers already given keep its text). Commits."""
    require_admin(actor)
    db.session.delete(question)
    db.session.commit()


# -- applications -----------------------------------------------------------------------------


def latest_application(member: Member | None) -> Application | None:
    """The member's most recent application, if any."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.execute(
        select(Application)
        .where(Application.member_id == member.id)
        .order_by(Application.created_at.desc(), Application.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def my_application(member: Member | None) -> Application | None:
    """The member's latest application (what /membership/apply and /mine show)."""
    return latest_application(member)


def application_needed(member: Member | None, tier: Tier) -> bool:
    """True when buying ``tier`` waits for an approved application (setting
    ``application_required``) that ``member`` does not have; members who hold the tier
    already renew without one."""
    if not settings()["application_required"]:
        return False
    if member is None:
        return True
    approved = db.session.execute(
        select(Application.id).where(
            Application.member_id == member.id,
            Application.status == "approved",
            (Application.tier_id.is_(None)) | (Application.tier_id == tier.id),
        )
    ).first()
    if approved:
        return False
    held = db.session.execute(
        select(Subscription.id).where(
            Subscription.member_id == member.id, Subscription.tier_id == tier.id
        )
    ).first()
    return held is None


def apply(member: Member, answers: Mapping[Any, str], tier: Tier | None = None) -> Application:
    """Apply to join: ``answers`` maps question ids to the member's answers (every required
    question answered, each at most 2,000 characters). Refused while an application of
    theirs is pending (also when two arrive at once: a partial unique index) or after
    approval. Reviewers are told. Commits."""
    previous = latest_application(member)
    if previous is not None and previous.status == "pending":
        raise ServiceError(_("Your application is waiting for review already."))
    if (
        previous is not None
        and previous.status == "approved"
        and (previous.tier_id is None or tier is None or previous.tier_id == tier.id)
    ):
        raise ServiceError(_("Your application has been approved already."))
    given = {str(k): (v or "").strip() for k, v in answers.items()}
    rows = []
    for q in questions():
        answer = given.get(str(q.id), "")
        if q.required and not answer:
            raise ServiceError(_("Please answer this question."), f"q{q.id}")
        if len(answer) > ANSWER_MAX:
            raise ServiceError(_("At most %(n)d characters.", n=ANSWER_MAX), f"q{q.id}")
        rows.append({"question_id": q.id, "question": q.text, "answer": answer})
    application = Application(
        member_id=member.id, answers=rows, tier_id=tier.id if tier else None, status="pending"
    )
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("Your application is waiting for review already.")) from None
    for reviewer_id in _reviewer_ids():
        notify(
            reviewer_id,
            NOTE_APPLIED,
            actor_id=member.id,
            title=member.username,
            url=url("membership.admin_applications", "/membership/admin/applications"),
        )
    db.session.commit()
    return application


def _reviewer_ids() -> list[int]:
    from forum.models import GroupMembership

    groups = _groups_named("reviewer_groups")
    admin_ids = [g.id for g in db.session.execute(select(Group).where(Group.is_admin)).scalars()]
    now = utcnow()
    return list(
        db.session.execute(
            select(func.distinct(GroupMembership.member_id)).where(
                GroupMembership.group_id.in_([g.id for g in groups] + admin_ids),
                (GroupMembership.expires_at.is_(None)) | (GroupMembership.expires_at > now),
            )
        ).scalars()
    )


def may_review(actor: Member | None) -> bool:
    """Admins and members of the ``reviewer_groups`` review applications."""
    if permissions.is_admin(actor):
        return True
    mine = permissions.group_ids(actor)
    return any(g.id in mine for g in _groups_named("reviewer_groups"))


def get_application(application_id: int) -> Application:
    """The application with this id, or NotFound."""
    return found(Application, application_id, _("No such application."))


def applications(status: str | None = "pending", page: int = 1) -> tuple[list[Application], int]:
    """One page of applications and the number of pages: the oldest pending first (any
    ``status`` None: newest first). The reviewers' queue (the view checks
    :func:`may_review`)."""
    query = select(Application)
    if status:
        query = query.where(Application.status == status).order_by(
            Application.created_at, Application.id
        )
    else:
        query = query.order_by(Application.created_at.desc(), Application.id.desc())
    found = paginate(query, page, 30)
    return found.items, found.pages


def review(actor: Member, application: Application, approve: bool, reason: str = "") -> Application:
    """Approve or reject a pending application (a rejection needs a reason). Approval of an
    application without a tier grants the ``application_groups``; with a tier, the member
    may now pay for it. The applicant is told. Commits."""
    if not may_review(actor):
        raise PermissionDenied(_("You may not review applications."))
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ServiceError(_("At most %(n)d characters.", n=500), "reason")
    if not approve and not reason:
        raise ServiceError(_("Please give the applicant a reason."), "reason")
    begin_write()
    done = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == "pending")
        .values(
            status="approved" if approve else "rejected",
            reviewer_id=actor.id,
            reason=reason,
            reviewed_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        db.session.rollback()
        raise ServiceError(_("This application has been reviewed already."))
    link = (
        url("membership.index", "/membership")
        if approve
        else url("membership.apply", "/membership/apply")
    )
    notify(
        application.member_id,
        NOTE_APPROVED if approve else NOTE_REJECTED,
        actor_id=actor.id,
        title=application.tier.name if application.tier else "",
        url=link,
        data={"reason": reason},
    )
    db.session.commit()
    db.session.refresh(application)
    if approve and application.tier_id is None:
        member = db.session.get(Member, application.member_id)
        for group in _groups_named("application_groups"):
            if group.key not in ("guest", "member") and not group.is_admin:
                members.set_membership(member, group, expires_at=None, source="application")
    return application


# -- invites ----------------------------------------------------------------------------------


def normalise_code(code: str) -> str:
    """An invite code as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def create_invite(
    actor: Member,
    tier: Tier,
    *,
    max_uses: int = 1,
    expires_at: datetime | None = None,
    note: str = "",
    code: str = "",
) -> Invite:
    """A new invite code for ``tier`` (admins): ``code`` or 10 random characters, usable by
    ``max_uses`` members until ``expires_at`` (naive UTC; None: no end). Commits."""
    require_admin(actor)
    try:
        max_uses = int(max_uses)
    except (TypeError, ValueError):
        raise ServiceError(_("Enter a whole number."), "max_uses") from None
    if not 1 <= max_uses <= 100_000:
        raise ServiceError(
            _("Enter a number from %(low)d to %(high)d.", low=1, high=100_000), "max_uses"
        )
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError(_("At most %(n)d characters.", n=200), "note")
    code = normalise_code(code) or "".join(secrets.choice(CODE_ALPHABET) for _i in range(10))
    if not 4 <= len(code) <= 32:
        raise ServiceError(_("A code has 4 to 32 letters and digits."), "code")
    if db.session.execute(select(Invite.id).where(Invite.code == code)).first():
        raise ServiceError(_("This code exists already."), "code")
    invite = Invite(
        code=code,
        tier_id=tier.id,
        max_uses=max_uses,
        expires_at=expires_at,
        created_by_id=actor.id,
        note=note,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def get_invite(invite_id: int) -> Invite:
    """The invite code with this id, or NotFound."""
    return found(Invite, invite_id, _("No such invite code."))


def invites() -> list[Invite]:
    """Every invite code, newest first (for the admin page)."""
    return list(
        db.session.execute(
            select(Invite).order_by(Invite.created_at.desc(), Invite.id.desc())
        ).scalars()
    )


def redeem(member: Member, code: str, now: datetime | None = None) -> Subscription:
    """Use an invite code: one period of its tier (from the later of now and the current
    end). Refused when the code is unknown, expired, used up, or used by this member
    before; the count is raised under the invite's row lock, so it never passes
    ``max_uses``. Commits."""
    now = now or utcnow()
    code = normalise_code(code)
    if not code:
        raise ServiceError(_("Please enter the invite code."), "code")
    try:
        begin_write()
        invite = locked(Invite, Invite.code == code)
        if invite is None:
            raise ServiceError(_("This invite code does not exist."), "code")
        if invite.expires_at is not None and invite.expires_at <= now:
            raise ServiceError(_("This invite code has expired."), "code")
        used = db.session.execute(
            select(InviteUse.id).where(
                InviteUse.invite_id == invite.id, InviteUse.member_id == member.id
            )
        ).first()
        if used:
            raise ServiceError(_("You have used this invite code already."), "code")
        if invite.uses >= invite.max_uses:
            raise ServiceError(_("This invite code has been used up."), "code")
        tier = invite.tier
        if not tier.active:
            raise ServiceError(_("This tier is not on sale."), "code")
        invite.uses += 1
        db.session.add(InviteUse(invite_id=invite.id, member_id=member.id, created_at=now))
        sub, _fresh = extend(
            member,
            tier,
            source="invite",
            now=now,
            key=f"invite:{invite.id}:{member.id}",
            currency=tier.currency,
        )
        db.session.commit()
    except (ServiceError, IntegrityError) as exc:
        db.session.rollback()
        if isinstance(exc, IntegrityError):
            raise ServiceError(_("You have used this invite code already."), "code") from None
        raise
    sync_groups(member, tier.group_ids, now)
    return sub
