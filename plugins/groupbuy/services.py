"""The group-buy plugin's services: everything the pages (views.py) use, re-exported from
:mod:`.campaigns`, :mod:`.joining`, :mod:`.settlement`, :mod:`.leader` and :mod:`.invites`.
Every refusal raises :class:`~forum.services.errors.ServiceError` (``CampaignInvalid`` for
the campaign form, ``PermissionDenied``, ``NotFound``) and writes nothing."""

from __future__ import annotations

from forum.services.errors import NotFound, PermissionDenied, ServiceError

from .campaigns import (
    CampaignInput,
    Clean,
    Head,
    Progress,
    campaign_for_thread,
    can_lead,
    check_campaign,
    create_campaign,
    get_campaign,
    leader_boards,
    load,
    may_manage,
    on_create,
    open_campaign,
    open_campaigns,
    photos_of,
    pickup_points_of,
    price_for,
    progress,
    search_document,
    tiers_of,
    update_campaign,
    validate,
)
from .common import (
    KIND,
    NOTE_CANCELLED,
    NOTE_EXPIRED,
    NOTE_FAILED,
    NOTE_FULFILLED,
    NOTE_MESSAGE,
    NOTE_SUCCEEDED,
    PERMISSION,
    PLUGIN,
    CampaignInvalid,
)
from .invites import buyer_ids, inviter_leaderboard, inviters, trust_facts
from .joining import (
    cancel_reservation,
    check_before_payment,
    deliver_payment,
    join,
    join_refusal,
    member_order,
    my_orders,
    on_refunded,
    order_of_payment,
    release_expired,
)
from .leader import (
    Statement,
    StatementLine,
    commission_statement,
    leader_orders,
    mark_fulfilled,
    message_participants,
    orders_csv,
)
from .models import Campaign, GroupOrder, Photo, PickupPoint, PriceTier
from .settlement import cancel_campaign, run_refunds, settle, settle_due


def get_order(order_id: int) -> GroupOrder:
    """The group-buy order with this id; NotFound otherwise."""
    from flask_babel import gettext as _

    from forum.extensions import db

    try:
        row = db.session.get(GroupOrder, int(order_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound(_("There is no such order."))
    return row


def periodic() -> dict[str, int]:
    """The every-minute job: release expired reservations, settle due campaigns, retry
    refunds that are still owed."""
    return {
        "released": release_expired(),
        "settled": settle_due(),
        "refunds": run_refunds(),
    }


__all__ = [
    "KIND",
    "NOTE_CANCELLED",
    "NOTE_EXPIRED",
    "NOTE_FAILED",
    "NOTE_FULFILLED",
    "NOTE_MESSAGE",
    "NOTE_SUCCEEDED",
    "PERMISSION",
    "PLUGIN",
    "Campaign",
    "CampaignInput",
    "CampaignInvalid",
    "Clean",
    "GroupOrder",
    "Head",
    "NotFound",
    "PermissionDenied",
    "Photo",
    "PickupPoint",
    "PriceTier",
    "Progress",
    "ServiceError",
    "Statement",
    "StatementLine",
    "buyer_ids",
    "campaign_for_thread",
    "can_lead",
    "cancel_campaign",
    "cancel_reservation",
    "check_before_payment",
    "check_campaign",
    "commission_statement",
    "create_campaign",
    "deliver_payment",
    "get_campaign",
    "get_order",
    "inviter_leaderboard",
    "inviters",
    "join",
    "join_refusal",
    "leader_boards",
    "leader_orders",
    "load",
    "mark_fulfilled",
    "may_manage",
    "member_order",
    "message_participants",
    "my_orders",
    "on_create",
    "on_refunded",
    "open_campaign",
    "open_campaigns",
    "order_of_payment",
    "orders_csv",
    "periodic",
    "photos_of",
    "pickup_points_of",
    "price_for",
    "progress",
    "release_expired",
    "run_refunds",
    "search_document",
    "settle",
    "settle_due",
    "tiers_of",
    "trust_facts",
    "update_campaign",
    "validate",
]
