"""Tiers, buying, delivery of paid orders, refunds, reminders and expiry.

A member's access is their :class:`~.models.Subscription` per tier: ``paid_until`` (NULL:
for life) plus the grace period (setting ``grace_days``) is when the groups the tier grants
stop granting anything: each group membership's ``expires_at`` is set to that moment
(:func:`sync_groups`), and :mod:`forum.services.permissions` checks it on every request.

Every delivery (an order paid, points spent, an invite redeemed) writes one
:class:`~.models.Purchase`, unique per order (or per points key), under a row lock on the
subscription: the same order delivered twice extends the period once.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from forum import markup
from forum.extensions import db
from forum.models import Group, GroupMembership, Member
from forum.models.base import utcnow
from forum.services import members, permissions
from forum.services.errors import NotFound, ServiceError
from forum.services.writes import begin_write, upsert_insert

from . import periods
from .common import locked, require_admin, settings, url
from .models import PERIOD_UNITS, Purchase, Subscription, Tier, TierGroup

log = logging.getLogger("forum_plugins.membership")

#: Group-membership sources this plugin writes (and so may take back).
OWN_SOURCES = ("payment", "invite")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def grace() -> timedelta:
    """The grace period after ``paid_until`` during which access goes on."""
    return timedelta(days=int(settings()["grace_days"] or 0))


def access_ends(subscription: Subscription) -> datetime | None:
    """When the subscription's groups stop granting access (None: never)."""
    if subscription.paid_until is None:
        return None
    return subscription.paid_until + grace()


def format_money(cents: int, currency: str = "CNY") -> str:
    """``¥99.00``: the payments core's formatting."""
    from forum.services import payments

    return payments.format_money(cents, currency)


# -- tiers ----------------------------------------------------------------------------------


def tiers(active_only: bool = True) -> list[Tier]:
    """The tiers by position (only those on sale unless ``active_only`` is False)."""
    query = select(Tier).order_by(Tier.position, Tier.id)
    if active_only:
        query = query.where(Tier.active.is_(True))
    return list(db.session.execute(query).scalars())


def get_tier(key: int | str) -> Tier:
    """The tier with this id (an int or digits) or slug; NotFound otherwise."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        tier = db.session.get(Tier, int(key))
    else:
        tier = db.session.execute(select(Tier).where(Tier.slug == key)).scalar_one_or_none()
    if tier is None:
        raise NotFound(_("No such membership tier."))
    return tier


def _clean_int(value: Any, field: str, low: int, high: int, optional: bool = False) -> int | None:
    if value in (None, "") and optional:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServiceError(_("Enter a whole number."), field) from None
    if not low <= number <= high:
        raise ServiceError(_("Enter a number from %(low)d to %(high)d.", low=low, high=high), field)
    return number


def _clean_slug(slug: str, name: str, tier: Tier | None) -> str:
    slug = (slug or "").strip().lower()
    if not slug:
        ascii_name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30]
        slug = ascii_name or f"tier-{secrets.token_hex(3)}"
    if not _SLUG.match(slug):
        raise ServiceError(_("Use lower-case letters, digits and hyphens."), "slug")
    taken = db.session.execute(
        select(Tier.id).where(Tier.slug == slug, Tier.id != (tier.id if tier else -1))
    ).first()
    if taken:
        raise ServiceError(_("Another tier has this address."), "slug")
    return slug


def _clean_tier(fields: dict[str, Any], tier: Tier | None) -> dict[str, Any]:
    """Check every field of a tier; the cleaned values (ServiceError on the first wrong one)."""
    current = {
        "name": tier.name if tier else "",
        "slug": tier.slug if tier else "",
        "perks": tier.perks if tier else "",
        "price_cents": tier.price_cents if tier else 0,
        "currency": tier.currency if tier else "CNY",
        "points_price": tier.points_price if tier else None,
        "period_unit": tier.period_unit if tier else "year",
        "period_count": tier.period_count if tier else 1,
        "seats": tier.seats if tier else None,
        "active": tier.active if tier else True,
        "position": tier.position if tier else 0,
        "group_ids": tier.group_ids if tier else [],
    }
    unknown = set(fields) - set(current)
    if unknown:
        raise TypeError(f"unknown tier fields: {', '.join(sorted(unknown))}")
    values = {**current, **fields}
    name = (values["name"] or "").strip()
    if not name:
        raise ServiceError(_("Please give the tier a name."), "name")
    if len(name) > 40:
        raise ServiceError(_("At most %(n)d characters.", n=40), "name")
    cleaned: dict[str, Any] = {"name": name, "slug": _clean_slug(values["slug"], name, tier)}
    perks = (values["perks"] or "").strip()
    if len(perks) > 5000:
        raise ServiceError(_("At most %(n)d characters.", n=5000), "perks")
    cleaned["perks"] = perks
    cleaned["price_cents"] = _clean_int(values["price_cents"], "price_cents", 0, 10**9)
    currency = (values["currency"] or "CNY").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ServiceError(_("Use a three-letter currency code such as CNY."), "currency")
    cleaned["currency"] = currency
    cleaned["points_price"] = _clean_int(
        values["points_price"], "points_price", 1, 10**9, optional=True
    )
    if values["period_unit"] not in PERIOD_UNITS:
        raise ServiceError(_("Please choose one of the options."), "period_unit")
    cleaned["period_unit"] = values["period_unit"]
    cleaned["period_count"] = _clean_int(values["period_count"], "period_count", 1, 1000)
    cleaned["seats"] = _clean_int(values["seats"], "seats", 0, 10**7, optional=True)
    if tier is not None and cleaned["seats"] is not None and cleaned["seats"] < tier.seats_taken:
        raise ServiceError(
            _("%(n)d seats are taken already.", n=tier.seats_taken),
            "seats",
        )
    cleaned["active"] = bool(values["active"])
    cleaned["position"] = _clean_int(values["position"], "position", -(10**6), 10**6)
    if cleaned["active"] and not cleaned["price_cents"] and not cleaned["points_price"]:
        raise ServiceError(_("A tier on sale needs a price in money or points."), "price_cents")
    group_ids = [int(g) for g in values["group_ids"] or ()]
    groups = list(db.session.execute(select(Group).where(Group.id.in_(group_ids))).scalars())
    if len(groups) != len(set(group_ids)):
        raise ServiceError(_("Please choose existing groups."), "group_ids")
    if any(g.key in ("guest", "member") or g.is_admin for g in groups):
        raise ServiceError(_("A tier cannot grant this group."), "group_ids")
    if not groups:
        raise ServiceError(_("Choose the groups the tier grants."), "group_ids")
    cleaned["groups"] = groups
    return cleaned


def save_tier(actor: Member, tier: Tier | None = None, **fields: Any) -> Tier:
    """Create a tier (``tier`` None) or change one (admins). Fields: name, slug, perks
    (Markdown), price_cents, currency, points_price, period_unit, period_count, seats,
    active, position, group_ids (the groups granted). A price change leaves pending orders
    at their price. Commits."""
    require_admin(actor)
    cleaned = _clean_tier(fields, tier)
    groups = cleaned.pop("groups")
    if tier is None:
        tier = Tier()
        db.session.add(tier)
    for key, value in cleaned.items():
        setattr(tier, key, value)
    tier.perks_html = markup.render(tier.perks) if tier.perks else ""
    tier.groups = groups
    db.session.commit()
    return tier


# -- subscriptions ----------------------------------------------------------------------------


def subscription(member: Member | None, tier: Tier) -> Subscription | None:
    """The member's subscription to ``tier``, if they ever had one."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.execute(
        select(Subscription).where(
            Subscription.member_id == member.id, Subscription.tier_id == tier.id
        )
    ).scalar_one_or_none()


def subscriptions(member: Member) -> list[Subscription]:
    """All of the member's subscriptions, the active ones first."""
    return list(
        db.session.execute(
            select(Subscription)
            .where(Subscription.member_id == member.id)
            .order_by(Subscription.status, Subscription.id)
        ).scalars()
    )


def purchases(member: Member) -> list[Purchase]:
    """The member's purchases of tiers, the latest first."""
    return list(
        db.session.execute(
            select(Purchase)
            .where(Purchase.member_id == member.id)
            .order_by(Purchase.created_at.desc(), Purchase.id.desc())
        ).scalars()
    )


def _in_force(sub: Subscription, now: datetime) -> bool:
    """The subscription grants access at ``now`` (paid, or within the grace period)."""
    if sub.status != "active":
        return False
    ends = access_ends(sub)
    return ends is None or ends > now


def is_member(member: Member | None, tier: Tier | None = None, now: datetime | None = None) -> bool:
    """True while ``member`` has a subscription in force (to ``tier``, or to any tier)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    now = now or utcnow()
    query = select(Subscription).where(
        Subscription.member_id == member.id, Subscription.status == "active"
    )
    if tier is not None:
        query = query.where(Subscription.tier_id == tier.id)
    return any(_in_force(s, now) for s in db.session.execute(query).scalars())


def _lock_subscription(member_id: int, tier_id: int, source: str, now: datetime) -> Subscription:
    """The member's subscription row of the tier, made if missing, locked for this
    transaction (call :func:`begin_write` first)."""
    insert = upsert_insert()
    db.session.execute(
        insert(Subscription)
        .values(
            member_id=member_id,
            tier_id=tier_id,
            paid_until=now,
            started_at=now,
            status="ended",
            source=source,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["member_id", "tier_id"])
    )
    return locked(
        Subscription, Subscription.member_id == member_id, Subscription.tier_id == tier_id
    )


def _delivered(order_id: int | None, key: str | None) -> Purchase | None:
    if order_id is not None:
        query = select(Purchase).where(Purchase.order_id == order_id)
    else:
        query = select(Purchase).where(Purchase.points_key == key)
    return db.session.execute(query).scalar_one_or_none()


class SoldOut(ServiceError):
    """No seat of the tier is left. Nothing was changed."""


def _take_seat(tier: Tier) -> None:
    """Take one of the tier's seats, or :class:`SoldOut` (a conditional UPDATE: two
    buyers of the last seat never both get it)."""
    taken = db.session.execute(
        update(Tier)
        .where(
            Tier.id == tier.id,
            (Tier.seats.is_(None)) | (Tier.seats_taken < Tier.seats),
        )
        .values(seats_taken=Tier.seats_taken + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise SoldOut(_("This tier is sold out."))


def _release_seat(tier_id: int) -> None:
    db.session.execute(
        update(Tier)
        .where(Tier.id == tier_id, Tier.seats_taken > 0)
        .values(seats_taken=Tier.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def extend(
    member: Member,
    tier: Tier,
    *,
    source: str,
    now: datetime,
    period: tuple[str, int] | None = None,
    order_id: int | None = None,
    key: str | None = None,
    price_cents: int | None = None,
    currency: str = "CNY",
    points_spent: int | None = None,
) -> tuple[Subscription, bool]:
    """Deliver one period of ``tier`` to ``member`` inside the caller's transaction (no
    commit): extend ``paid_until`` from the later of ``now`` and the current end, take a seat
    for a member who holds none, and write the :class:`Purchase` for ``order_id`` (or
    ``key``). Returns the subscription and False when that purchase was delivered already
    (nothing changed). :class:`SoldOut` when the tier has no seat left for them."""
    begin_write()
    sub = _lock_subscription(member.id, tier.id, source, now)
    if _delivered(order_id, key) is not None:
        return sub, False
    unit, count = period or (tier.period_unit, tier.period_count)
    holds_seat = sub.status == "active"
    if not holds_seat and tier.seats is not None:
        _take_seat(tier)
    if holds_seat and sub.paid_until is None:
        start, until = now, None  # for life already: a further purchase adds nothing
    else:
        start = sub.paid_until if holds_seat and sub.paid_until and sub.paid_until > now else now
        until = periods.add_period(start, unit, count)
    if not holds_seat:
        sub.started_at = now
    sub.paid_until = until
    sub.status = "active"
    sub.source = source
    purchase = Purchase(
        order_id=order_id,
        points_key=key,
        member_id=member.id,
        tier_id=tier.id,
        price_cents=price_cents,
        currency=currency,
        points=points_spent,
        period_from=start,
        period_to=until,
        created_at=now,
    )
    db.session.add(purchase)
    db.session.flush()
    return sub, True


def _group_target(member_id: int, group_id: int, now: datetime) -> tuple | None:
    """(expires_at, source) that the member's subscriptions in force give the group, or
    None when none grants it."""
    rows = db.session.execute(
        select(Subscription)
        .join(TierGroup, TierGroup.tier_id == Subscription.tier_id)
        .where(
            Subscription.member_id == member_id,
            Subscription.status == "active",
            TierGroup.group_id == group_id,
        )
        .execution_options(populate_existing=True)
    ).scalars()
    best: tuple[datetime | None, str] | None = None
    for sub in rows:
        if not _in_force(sub, now):
            continue
        ends = access_ends(sub)
        source = sub.source if sub.source in ("invite", "admin", "application") else "payment"
        if best is None or (best[0] is not None and (ends is None or ends > best[0])):
            best = (ends, source)
    return best


def _sync_group(member: Member, group: Group, now: datetime) -> None:
    """Bring one group membership in line (see :func:`sync_groups`). The member's
    subscription rows are locked first, so that two deliveries at once write the group one
    after the other, each from the subscriptions as they are then."""
    begin_write()
    db.session.execute(
        select(Subscription.id).where(Subscription.member_id == member.id).with_for_update()
    ).all()
    target = _group_target(member.id, group.id, now)
    row = db.session.execute(
        select(GroupMembership)
        .where(GroupMembership.member_id == member.id, GroupMembership.group_id == group.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if target is None:
        if row is not None and row.source in OWN_SOURCES:
            members.remove_membership(member, group)
            return
        db.session.commit()
        return
    expires_at, source = target
    longer_elsewhere = (
        row is not None
        and row.source not in OWN_SOURCES
        and (row.expires_at is None or (expires_at is not None and row.expires_at >= expires_at))
    )  # an admin's (or an application's) longer grant stays as it is
    if longer_elsewhere or (
        row is not None and row.expires_at == expires_at and row.source == source
    ):
        db.session.commit()
        return
    members.set_membership(member, group, expires_at=expires_at, source=source)


def sync_groups(member: Member, group_ids: Iterable[int], now: datetime | None = None) -> None:
    """Bring the member's memberships of these groups in line with their subscriptions:
    ``expires_at`` = the latest ``paid_until`` + grace among the tiers granting each group
    (None for life); memberships this plugin gave (sources payment, invite) that no
    subscription backs any more are removed. A membership given otherwise (an admin's)
    is only ever lengthened. Each group commits (:func:`members.set_membership`)."""
    now = now or utcnow()
    for gid in list(group_ids):
        group = db.session.get(Group, gid)
        if group is None:
            continue
        try:
            _sync_group(member, group, now)
        except IntegrityError:  # someone else (an admin) made the row meanwhile: again
            db.session.rollback()
            _sync_group(member, group, now)


# -- what pages show --------------------------------------------------------------------------


def price_label(tier: Tier) -> str:
    """ "¥99.00 / year" (or the points price when the tier has no money price)."""
    period = periods.describe(tier.period_unit, tier.period_count)
    if tier.price_cents:
        return f"{format_money(tier.price_cents, tier.currency)} / {period}"
    return _("%(n)d points", n=tier.points_price or 0) + f" / {period}"


#: Days in a period unit, to compare prices of different periods.
_UNIT_DAYS = {"day": 1.0, "month": 30.44, "year": 365.25}


def _cost_per_day(tier: Tier) -> tuple:
    """Sort key: periodic tiers by money (else points) per day, lifetime ones after them."""
    price = tier.price_cents or (tier.points_price or 0) * 10**6
    if tier.lifetime:
        return (1, price, tier.position)
    return (0, price / (_UNIT_DAYS[tier.period_unit] * tier.period_count), tier.position)


def tiers_reading(board_id: int, active_only: bool = True) -> list[Tier]:
    """The tiers granting a group that may read board ``board_id``, the cheapest for the
    time first (¥99 a year before ¥12.90 a month; lifetime tiers last)."""
    found = [
        t
        for t in tiers(active_only)
        if any(permissions.group_allows(g.id, board_id, "read") for g in t.groups)
    ]
    return sorted(found, key=_cost_per_day)


def teaser_offer(board: Any, viewer: Member | None) -> dict[str, Any] | None:
    """The call to action under a gated board's or thread's teaser: the active tier granting
    read on ``board`` that costs least for the time (:func:`tiers_reading`), or None when no tier does. Keys: ``tier``, ``price``
    ("¥99.00 / year"), ``tiers_url``, ``apply_url`` (an application is needed first, else
    ""), ``signed_in``, ``login_url``, ``register_url``, ``member`` (the viewer holds the
    tier already but it does not reach this board yet, say)."""
    from . import entry

    found = tiers_reading(board.id)
    if not found:
        return None
    tier = found[0]
    signed_in = viewer is not None and getattr(viewer, "is_authenticated", False)
    return {
        "tier": tier,
        "tiers": found,
        "price": price_label(tier),
        "tiers_url": url("membership.index", "/membership"),
        "apply_url": (
            url("membership.apply", "/membership/apply")
            if entry.application_needed(viewer if signed_in else None, tier)
            else ""
        ),
        "signed_in": signed_in,
        "login_url": url("auth.login", "/login"),
        "register_url": url("auth.register", "/register"),
        "member": is_member(viewer, tier) if signed_in else False,
    }


def trust_facts(member_ids: Sequence[int], now: datetime | None = None) -> dict[int, tuple]:
    """For each member with a subscription in force: (first paid start, the name of their
    dearest tier). One query."""
    now = now or utcnow()
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(Subscription, Tier.name, Tier.price_cents)
        .join(Tier, Tier.id == Subscription.tier_id)
        .where(Subscription.member_id.in_(list(member_ids)), Subscription.status == "active")
    ).all()
    found: dict[int, tuple] = {}
    for sub, name, price in rows:
        if not _in_force(sub, now):
            continue
        since, best_name, best_price = found.get(sub.member_id, (sub.started_at, name, -1))
        found[sub.member_id] = (
            min(since, sub.started_at),
            name if price > best_price else best_name,
            max(price, best_price),
        )
    return {mid: (since, name) for mid, (since, name, _price) in found.items()}
