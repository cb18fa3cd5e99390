"""The membership plugin's sample content for ``forum demo``: a group 核心会员 that alone
reads the demo's ``core`` board (everyone else sees its teasers), two tiers granting it
(核心会员 ¥99/year, also for 990 points, and a ¥12.9 monthly one with 50 seats), an
invite code (RUN2026, for the monthly tier), two entry questions, and two members who
joined with the code weeks ago (one of them due for the renewal reminder)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from forum.extensions import db
from forum.models import Group
from forum.models.base import utcnow
from forum.services import groups, permissions

from . import services

CORE_GROUP = "core_member"
PAYING = ("kiki_run", "dawei88")


def _core_group() -> Group:
    group = db.session.execute(select(Group).where(Group.key == CORE_GROUP)).scalar_one_or_none()
    return group or groups.create_group("核心会员", CORE_GROUP, "付费会员：可阅读核心会员区")


def seed(boards: dict[str, Any], members: dict[str, Any]) -> str | None:
    """Write the sample tiers and members (see the module docstring); the progress line."""
    owner = members["laozhou"]
    group = _core_group()
    core = boards.get("core")
    if core is not None:
        permissions.set_board_permissions(
            core.id,
            {
                permissions.group_id("guest"): ("view",),
                permissions.group_id("member"): ("view",),
                group.id: ("view", "read", "start_thread", "reply", "upload"),
            },
        )
        db.session.commit()
    yearly = services.save_tier(
        owner,
        name="核心会员",
        slug="core",
        perks="- 阅读并参与**核心会员区**：活动预算、团购对接\n- 线下活动优先报名\n- 会员专属徽章",
        price_cents=9900,
        points_price=990,
        period_unit="year",
        period_count=1,
        position=1,
        group_ids=[group.id],
    )
    monthly = services.save_tier(
        owner,
        name="月度会员",
        slug="monthly",
        perks="先体验一个月核心会员区。",
        price_cents=1290,
        period_unit="month",
        period_count=1,
        seats=50,
        position=2,
        group_ids=[group.id],
    )
    invite = services.create_invite(
        owner, monthly, max_uses=20, expires_at=utcnow() + timedelta(days=30),
        note="跑团新人", code="RUN2026",
    )  # fmt: skip
    services.save_question(owner, text="你平时跑步多久了？每周跑几次？", position=1)
    services.save_question(owner, text="想在核心会员区获得什么？", position=2, required=False)
    paying = 0
    now = utcnow()
    for i, name in enumerate(PAYING):
        member = members.get(name)
        if member is None:
            continue
        # Joined weeks ago: one month ends within the reminder's week.
        services.redeem(member, invite.code, now=now - timedelta(days=20 + 5 * i))
        paying += 1
    return f"2 tiers ({yearly.name}, {monthly.name}), invite {invite.code}, {paying} members"
