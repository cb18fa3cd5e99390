"""Invites (credited when the invited member's order is paid, never to oneself), buyers
of a campaign, and the trust-card facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from forum.extensions import db
from forum.models import Member

from .models import Campaign, GroupOrder

SETTLED_OK = ("succeeded", "fulfilled")


def _credited():
    return (GroupOrder.status == "paid", GroupOrder.invited_by_id.is_not(None),
            GroupOrder.invited_by_id != GroupOrder.member_id)  # fmt: skip


def _with_members(rows: list) -> list[tuple[Member, int]]:
    ids = [r[0] for r in rows]
    members = {
        m.id: m for m in db.session.execute(select(Member).where(Member.id.in_(ids))).scalars()
    }
    return [(members[i], int(n)) for i, n in rows if i in members]


def inviters(campaign: Campaign, limit: int = 10) -> list[tuple[Member, int]]:
    """The members whose invites brought paid orders to the campaign, most first."""
    count = func.count(GroupOrder.id)
    rows = db.session.execute(
        select(GroupOrder.invited_by_id, count)
        .where(GroupOrder.campaign_id == campaign.id, *_credited())
        .group_by(GroupOrder.invited_by_id)
        .order_by(count.desc(), GroupOrder.invited_by_id)
        .limit(limit)
    ).all()
    return _with_members(rows)


def inviter_leaderboard(limit: int = 20, since: datetime | None = None) -> list[tuple[Member, int]]:
    """Inviters across all campaigns by paid orders they brought (since ``since``)."""
    count = func.count(GroupOrder.id)
    query = select(GroupOrder.invited_by_id, count).where(*_credited())
    if since is not None:
        query = query.where(GroupOrder.paid_at >= since)
    rows = db.session.execute(
        query.group_by(GroupOrder.invited_by_id)
        .order_by(count.desc(), GroupOrder.invited_by_id)
        .limit(limit)
    ).all()
    return _with_members(rows)


def buyer_ids(campaign: Campaign) -> list[int]:
    """The members with a paid order of the campaign (for Q&A product questions)."""
    return list(
        db.session.execute(
            select(GroupOrder.member_id)
            .where(GroupOrder.campaign_id == campaign.id, GroupOrder.status == "paid")
            .distinct()
            .order_by(GroupOrder.member_id)
        ).scalars()
    )


def trust_facts(member_ids: list[int]) -> dict[int, dict]:
    """Per member (only those with something): ``joined`` (paid group-buy orders),
    ``completed`` (of those, in campaigns that succeeded), ``led`` (campaigns opened as
    leader), ``settled`` and ``success_rate`` (percent of settled led campaigns that
    succeeded; None before any settled). Two queries."""
    ids = [int(i) for i in member_ids]
    if not ids:
        return {}
    facts: dict[int, dict] = {}

    def entry(member_id: int) -> dict:
        return facts.setdefault(
            member_id, {"joined": 0, "completed": 0, "led": 0, "settled": 0, "success_rate": None}
        )

    ok = func.sum(case((Campaign.status.in_(SETTLED_OK), 1), else_=0))
    for member_id, joined, completed in db.session.execute(
        select(GroupOrder.member_id, func.count(GroupOrder.id), ok)
        .join(Campaign, Campaign.id == GroupOrder.campaign_id)
        .where(GroupOrder.member_id.in_(ids), GroupOrder.status == "paid")
        .group_by(GroupOrder.member_id)
    ).all():
        e = entry(member_id)
        e["joined"], e["completed"] = int(joined), int(completed or 0)
    settled = func.sum(
        case((Campaign.status.in_(("succeeded", "fulfilled", "failed", "cancelled")), 1), else_=0)
    )
    for member_id, led, won, ended in db.session.execute(
        select(Campaign.leader_id, func.count(Campaign.id), ok, settled)
        .where(Campaign.leader_id.in_(ids), Campaign.opened_at.is_not(None))
        .group_by(Campaign.leader_id)
    ).all():
        e = entry(member_id)
        e["led"], e["settled"] = int(led), int(ended or 0)
        e["success_rate"] = round(100 * int(won or 0) / int(ended)) if ended else None
    return facts
