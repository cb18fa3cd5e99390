"""Helpers the group-buy tests share (imported by name: this folder is not a package, and a
module called ``conftest`` would be whichever plugin's conftest Python imported first)."""

from __future__ import annotations

from datetime import timedelta

from forum.models.base import utcnow


def campaign_input(**overrides):
    """A valid :class:`CampaignInput` (three tiers: 2+ ¥99, 5+ ¥89, 10+ ¥79; stock 20)."""
    from forum_plugins.groupbuy import services

    values = dict(
        title="Organic rice 5kg",
        description="Fresh from the farm. 新米。",
        original_price="129",
        tiers=[("2", "99"), ("5", "89"), ("10", "79")],
        min_participants="2",
        stock="20",
        per_member_limit="3",
        deadline=utcnow() + timedelta(days=2),
        pickup=True,
        delivery=True,
        pickup_points=[("North gate", "1 North Road")],
        members_only_groups=[],
        early_access_groups=[],
        early_access_until=None,
        commission_percent="5.5",
    )
    values.update(overrides)
    return services.CampaignInput(**values)
