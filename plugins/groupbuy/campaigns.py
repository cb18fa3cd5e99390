"""Campaigns: the composer's input checked (every field's error at once), drafts, editing
(prices, tiers, minimum, stock and limit frozen after the first reservation), opening (the
thread of kind ``groupbuy`` and the campaign in one commit), prices and progress."""

from __future__ import annotations

import io
import math
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import Board, Member, Thread
from forum.models.base import utcnow
from forum.services import permissions, posting, uploads
from forum.services.errors import NotFound, PermissionDenied, ServiceError

from .common import (
    KIND,
    MAX_PHOTOS,
    MAX_PICKUP_POINTS,
    MAX_TIERS,
    PERMISSION,
    STOCK_MAX,
    CampaignInvalid,
    locked,
    paged,
    parse_int,
    parse_money,
    touch,
)
from .models import Campaign, GroupOrder, Photo, PickupPoint, PriceTier

#: The campaign being opened, for the thread kind's ``validate``/``on_create``.
_opening: ContextVar[int | None] = ContextVar("groupbuy_opening", default=None)

FROZEN_FIELDS = ("original_price", "tiers", "min_participants", "stock", "per_member_limit")


@dataclass
class CampaignInput:
    """What the composer form gives (strings as typed)."""

    title: str = ""
    description: str = ""
    original_price: str = ""
    tiers: list[tuple[str, str]] = field(default_factory=list)
    min_participants: str = "1"
    stock: str = ""
    per_member_limit: str = "1"
    deadline: datetime | None = None
    pickup: bool = True
    delivery: bool = False
    pickup_points: list[tuple[str, str]] = field(default_factory=list)
    members_only_groups: list[str] = field(default_factory=list)
    early_access_groups: list[str] = field(default_factory=list)
    early_access_until: datetime | None = None
    commission_percent: str = "0"
    photos: Any = ()
    remove_photos: Any = ()


@dataclass
class Clean:
    """A checked :class:`CampaignInput`: cents, integers, naive UTC times."""

    title: str
    description: str
    original_price_cents: int
    tiers: list[tuple[int, int]]
    min_participants: int
    stock: int
    per_member_limit: int
    deadline: datetime
    pickup: bool
    delivery: bool
    pickup_points: list[tuple[str, str]]
    members_only_groups: list[str]
    early_access_groups: list[str]
    early_access_until: datetime | None
    commission_bp: int
    photos: list[bytes]
    remove_photos: list[int]


@dataclass
class Progress:
    """How a campaign stands, for its page."""

    participants: int
    min_participants: int
    reached: bool
    current_price_cents: int
    join_price_cents: int
    next_tier: PriceTier | None
    people_to_next: int
    stock_left: int
    stock_total: int
    deadline: datetime
    seconds_left: int
    status: str


# -- permissions -------------------------------------------------------------------------------


def can_lead(member: Member | None, board: Board) -> bool:
    """True when ``member`` may start a group-buy on ``board`` (the board allows the kind
    and the member has ``groupbuy_lead`` there)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if KIND not in board.kinds:
        return False
    return permissions.is_admin(member) or permissions.can(member, PERMISSION, board.id)


def leader_boards(member: Member | None) -> list[Board]:
    """The boards where ``member`` may start a group-buy."""
    if member is None:
        return []
    boards = db.session.execute(
        select(Board).where(Board.thread_kinds.contains(KIND)).order_by(Board.id)
    ).scalars()
    return [b for b in boards if can_lead(member, b)]


def may_manage(actor: Member | None, campaign: Campaign) -> bool:
    """The campaign's leader or an administrator."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return actor.id == campaign.leader_id or permissions.is_admin(actor)


def require_manager(actor: Member | None, campaign: Campaign) -> None:
    """PermissionDenied unless ``actor`` leads the campaign or is an administrator."""
    if not may_manage(actor, campaign):
        raise PermissionDenied(_("Only the group-buy's leader may do this."))


# -- reading -----------------------------------------------------------------------------------


def get_campaign(campaign_id: Any) -> Campaign:
    """The campaign with this id; NotFound otherwise."""
    try:
        row = db.session.get(Campaign, int(campaign_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound(_("There is no such group-buy."))
    return row


def campaign_for_thread(thread_id: int) -> Campaign | None:
    """The campaign whose thread this is, or None."""
    return db.session.execute(
        select(Campaign).where(Campaign.thread_id == thread_id)
    ).scalar_one_or_none()


def tiers_of(campaign: Campaign) -> list[PriceTier]:
    """The campaign's price tiers, fewest people first."""
    return list(
        db.session.execute(
            select(PriceTier)
            .where(PriceTier.campaign_id == campaign.id)
            .order_by(PriceTier.min_people)
        ).scalars()
    )


def pickup_points_of(campaign: Campaign) -> list[PickupPoint]:
    """The campaign's pickup points, in order."""
    return list(
        db.session.execute(
            select(PickupPoint)
            .where(PickupPoint.campaign_id == campaign.id)
            .order_by(PickupPoint.position, PickupPoint.id)
        ).scalars()
    )


def photos_of(campaign: Campaign) -> list[Photo]:
    """The campaign's photos, in order."""
    return list(
        db.session.execute(
            select(Photo).where(Photo.campaign_id == campaign.id).order_by(Photo.position, Photo.id)
        ).scalars()
    )


def price_for(campaign: Campaign, people: int, tiers: list[PriceTier] | None = None) -> int:
    """The price per unit with ``people`` paid participants: the highest tier whose
    ``min_people`` is reached, else the first tier's (the original price without tiers)."""
    tiers = tiers if tiers is not None else tiers_of(campaign)
    if not tiers:
        return campaign.original_price_cents
    price = tiers[0].price_cents
    for tier in tiers:
        if tier.min_people <= people:
            price = tier.price_cents
    return price


def progress(campaign: Campaign, now: datetime | None = None) -> Progress:
    """Joined / minimum / current price / next tier / stock / time left."""
    now = now or utcnow()
    tiers = tiers_of(campaign)
    people = campaign.participants
    nxt = next((t for t in tiers if t.min_people > people), None)
    return Progress(
        participants=people,
        min_participants=campaign.min_participants,
        reached=people >= campaign.min_participants,
        current_price_cents=price_for(campaign, people, tiers),
        join_price_cents=price_for(campaign, people + 1, tiers),
        next_tier=nxt,
        people_to_next=(nxt.min_people - people) if nxt is not None else 0,
        stock_left=campaign.stock_left,
        stock_total=campaign.stock_total,
        deadline=campaign.deadline,
        seconds_left=max(0, math.floor((campaign.deadline - now).total_seconds())),
        status=campaign.status,
    )


def open_campaigns(
    viewer: Member | None, page: int = 1, board: Board | None = None
) -> tuple[list[Campaign], int]:
    """The open campaigns on boards ``viewer`` may read, the nearest deadline first;
    (rows, pages). A campaign on a members-only board is not listed to others."""
    readable = permissions.visible_board_ids(viewer, "read")
    query = select(Campaign).where(
        Campaign.status == "open", Campaign.board_id.in_(sorted(readable) or [-1])
    )
    if board is not None:
        query = query.where(Campaign.board_id == board.id)
    return paged(query.order_by(Campaign.deadline, Campaign.id), page)


# -- checking ----------------------------------------------------------------------------------


def _group_keys(keys: Any) -> list[str] | None:
    """The distinct group keys, or None when one does not exist."""
    out: list[str] = []
    for key in keys or ():
        key = str(key or "").strip()
        if not key or key in out:
            continue
        try:
            permissions.group_id(key)
        except KeyError:
            return None
        out.append(key)
    return out


def _commission(raw: Any) -> int | None:
    text = str(raw if raw is not None else "").strip().rstrip("%").strip() or "0"
    cents = parse_money(text)  # a percentage with at most two decimals
    if cents is None or cents > 100_00:
        return None
    return cents  # percent × 100 = basis points


def _read_photos(files: Any) -> list[bytes]:
    blobs = []
    for f in files or ():
        if f is None:
            continue
        if hasattr(f, "filename") and not getattr(f, "filename", None):
            continue
        data = f.read() if hasattr(f, "read") else bytes(f)
        if data:
            blobs.append(data)
    return blobs


def check_campaign(
    leader: Member | None,
    board: Board,
    data: CampaignInput,
    *,
    now: datetime | None = None,
    existing_photos: int = 0,
) -> Clean:
    """Check the composer's input; CampaignInvalid with every field's error (nothing is
    saved), PermissionDenied when ``leader`` may not lead a group-buy on ``board``."""
    now = now or utcnow()
    if not can_lead(leader, board):
        raise PermissionDenied(_("You may not start a group-buy on this board."))
    errors: dict[str, str] = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = _("Please give the product a title.")
    elif len(title) > 200:
        errors["title"] = _("The title may have at most 200 characters.")
    description = (data.description or "").strip()
    if not description:
        errors["description"] = _("Please describe the product.")
    elif len(description) > 20000:
        errors["description"] = _("The description is too long.")
    original = parse_money(data.original_price, allow_zero=False)
    if original is None:
        errors["original_price"] = _("Please give the original price, like 129 or 129.50.")

    tiers: list[tuple[int, int]] = []
    rows = [(str(p or "").strip(), str(c or "").strip()) for p, c in (data.tiers or ())]
    rows = [r for r in rows if r[0] or r[1]]
    if not rows:
        errors["tiers"] = _("Please add at least one price tier.")
    elif len(rows) > MAX_TIERS:
        errors["tiers"] = _("At most %(n)d price tiers.", n=MAX_TIERS)
    else:
        for people_raw, price_raw in rows:
            people = parse_int(people_raw)
            price = parse_money(price_raw, allow_zero=False)
            if people is None or people < 1:
                errors["tiers"] = _("Each tier needs a number of people of at least 1.")
                break
            if price is None:
                errors["tiers"] = _("Each tier needs a price above zero, like 99 or 89.50.")
                break
            tiers.append((people, price))
        if "tiers" not in errors:
            tiers.sort()
            peoples = [p for p, _c in tiers]
            if len(set(peoples)) != len(peoples):
                errors["tiers"] = _("Two tiers have the same number of people.")
            elif any(b[1] >= a[1] for a, b in zip(tiers, tiers[1:], strict=False)):
                errors["tiers"] = _("Prices must fall as more people join.")
            elif original is not None and tiers[0][1] > original:
                errors["tiers"] = _("A tier's price may not be above the original price.")

    minimum = parse_int(data.min_participants)
    if minimum is None or minimum < 1:
        errors["min_participants"] = _("The minimum number of participants must be at least 1.")
    stock = parse_int(data.stock)
    if stock is None or stock < 1:
        errors["stock"] = _("The stock must be at least 1.")
    elif stock > STOCK_MAX:
        errors["stock"] = _("The stock may be at most %(n)d.", n=STOCK_MAX)
    elif minimum is not None and minimum > stock:
        errors["min_participants"] = _("The minimum number of participants is above the stock.")
    limit = parse_int(data.per_member_limit)
    if limit is None or limit < 1:
        errors["per_member_limit"] = _("The limit per member must be at least 1.")
    elif stock is not None and stock >= 1 and limit > stock:
        errors["per_member_limit"] = _("The limit per member may not be above the stock.")

    deadline = data.deadline
    if deadline is None:
        errors["deadline"] = _("Please set a deadline.")
    elif deadline <= now:
        errors["deadline"] = _("The deadline must be in the future.")

    points = [
        (" ".join(str(n or "").split()), " ".join(str(a or "").split()))
        for n, a in (data.pickup_points or ())
    ]
    points = [p for p in points if p[0] or p[1]]
    if not data.pickup and not data.delivery:
        errors["pickup"] = _("Offer pickup, delivery or both.")
    if data.pickup:
        if not points:
            errors["pickup_points"] = _("Please add at least one pickup point.")
        elif len(points) > MAX_PICKUP_POINTS:
            errors["pickup_points"] = _("At most %(n)d pickup points.", n=MAX_PICKUP_POINTS)
        elif any(not n or len(n) > 120 or len(a) > 300 for n, a in points):
            errors["pickup_points"] = _(
                "Each pickup point needs a name (at most 120 characters) and an address "
                "(at most 300)."
            )
    else:
        points = []

    members_only = _group_keys(data.members_only_groups)
    if members_only is None or len(",".join(members_only or [])) > 200:
        errors["members_only_groups"] = _("Please choose existing groups.")
    early = _group_keys(data.early_access_groups)
    if early is None or len(",".join(early or [])) > 200:
        errors["early_access_groups"] = _("Please choose existing groups.")
    early_until = data.early_access_until
    if early_until is not None and not early:
        errors["early_access_until"] = _("Early access needs the groups that have it.")
    elif early and early_until is None:
        errors["early_access_until"] = _("Please say until when early access lasts.")
    elif early_until is not None and deadline is not None and early_until >= deadline:
        errors["early_access_until"] = _("Early access must end before the deadline.")

    bp = _commission(data.commission_percent)
    if bp is None:
        errors["commission_percent"] = _("The commission is a percentage from 0 to 100.")

    photos = _read_photos(data.photos)
    removed = [int(i) for i in (data.remove_photos or ()) if str(i).isdigit()]
    if existing_photos - len(removed) + len(photos) > MAX_PHOTOS:
        errors["photos"] = _("At most %(n)d photos.", n=MAX_PHOTOS)

    if errors:
        raise CampaignInvalid(errors)
    return Clean(
        title=title,
        description=description,
        original_price_cents=original,
        tiers=tiers,
        min_participants=minimum,
        stock=stock,
        per_member_limit=limit,
        deadline=deadline,
        pickup=bool(data.pickup),
        delivery=bool(data.delivery),
        pickup_points=points,
        members_only_groups=members_only or [],
        early_access_groups=early or [],
        early_access_until=early_until if early else None,
        commission_bp=bp,
        photos=photos,
        remove_photos=removed,
    )


# -- saving ------------------------------------------------------------------------------------


def _save_photos(leader: Member, campaign: Campaign, blobs: list[bytes], start: int) -> None:
    if not blobs:
        return
    stored = uploads.save_images(leader, [io.BytesIO(b) for b in blobs])
    for i, upload in enumerate(stored):
        link = uploads.url_of(upload)
        db.session.add(Photo(campaign_id=campaign.id, position=start + i, url=link, thumb_url=link))


def _replace_children(campaign: Campaign, clean: Clean, *, prices: bool) -> None:
    if prices:
        db.session.execute(PriceTier.__table__.delete().where(PriceTier.campaign_id == campaign.id))
        for people, cents in clean.tiers:
            db.session.add(PriceTier(campaign_id=campaign.id, min_people=people, price_cents=cents))
    old = {(p.name, p.address): p for p in pickup_points_of(campaign)}
    wanted = list(clean.pickup_points)
    keep = {key for key in wanted if key in old}
    for key, point in old.items():
        if key not in keep:
            db.session.delete(point)  # orders keep their pickup point id set to NULL
    for position, key in enumerate(wanted):
        if key in old:
            old[key].position = position
        else:
            db.session.add(
                PickupPoint(campaign_id=campaign.id, position=position, name=key[0], address=key[1])
            )


def create_campaign(
    leader: Member | None, board: Board, data: CampaignInput, *, now: datetime | None = None
) -> Campaign:
    """Check the input and save a draft (no thread yet); commits and returns it."""
    now = now or utcnow()
    clean = check_campaign(leader, board, data, now=now)
    campaign = Campaign(
        board_id=board.id,
        leader_id=leader.id,
        title=clean.title,
        description=clean.description,
        original_price_cents=clean.original_price_cents,
        currency="CNY",
        min_participants=clean.min_participants,
        stock_total=clean.stock,
        stock_left=clean.stock,
        per_member_limit=clean.per_member_limit,
        deadline=clean.deadline,
        pickup=clean.pickup,
        delivery=clean.delivery,
        members_only_groups=",".join(clean.members_only_groups),
        early_access_groups=",".join(clean.early_access_groups),
        early_access_until=clean.early_access_until,
        commission_bp=clean.commission_bp,
        status="draft",
        participants=0,
        quantity_paid=0,
        joined_ever=False,
        created_at=now,
        cancel_reason="",
    )
    try:
        db.session.add(campaign)
        db.session.flush()
        _replace_children(campaign, clean, prices=True)
        _save_photos(leader, campaign, clean.photos, 0)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return campaign


def _frozen_changes(campaign: Campaign, clean: Clean) -> dict[str, str]:
    tiers = [(t.min_people, t.price_cents) for t in tiers_of(campaign)]
    changed = {
        "original_price": clean.original_price_cents != campaign.original_price_cents,
        "tiers": clean.tiers != tiers,
        "min_participants": clean.min_participants != campaign.min_participants,
        "stock": clean.stock != campaign.stock_total,
        "per_member_limit": clean.per_member_limit != campaign.per_member_limit,
    }
    message = _("This can no longer be changed: members have joined.")
    return {name: message for name, yes in changed.items() if yes}


def update_campaign(
    actor: Member | None, campaign: Campaign, data: CampaignInput, *, now: datetime | None = None
) -> Campaign:
    """Edit a draft or open campaign (its leader or an admin). After the first reservation
    the prices, tiers, minimum, stock and limit are frozen (CampaignInvalid names them)."""
    now = now or utcnow()
    require_manager(actor, campaign)
    if campaign.status not in ("draft", "open"):
        raise ServiceError(_("This group-buy can no longer be edited."))
    board = db.session.get(Board, campaign.board_id)
    leader = db.session.get(Member, campaign.leader_id)
    photos = photos_of(campaign)
    owner = leader if can_lead(leader, board) else actor
    clean = check_campaign(owner, board, data, now=now, existing_photos=len(photos))
    locked_row = locked(Campaign, Campaign.id == campaign.id)
    if locked_row.status not in ("draft", "open"):
        db.session.rollback()
        raise ServiceError(_("This group-buy can no longer be edited."))
    if locked_row.joined_ever:
        frozen = _frozen_changes(locked_row, clean)
        if frozen:
            db.session.rollback()
            raise CampaignInvalid(frozen)
    c = locked_row
    touch(c, listings=True)
    try:
        c.title = clean.title
        c.description = clean.description
        c.deadline = clean.deadline
        c.pickup = clean.pickup
        c.delivery = clean.delivery
        c.members_only_groups = ",".join(clean.members_only_groups)
        c.early_access_groups = ",".join(clean.early_access_groups)
        c.early_access_until = clean.early_access_until
        c.commission_bp = clean.commission_bp
        if not c.joined_ever:
            c.original_price_cents = clean.original_price_cents
            c.min_participants = clean.min_participants
            c.per_member_limit = clean.per_member_limit
            c.stock_total = clean.stock
            c.stock_left = clean.stock
        _replace_children(c, clean, prices=not c.joined_ever)
        for photo in photos:
            if photo.id in clean.remove_photos:
                db.session.delete(photo)
        kept = len([p for p in photos if p.id not in clean.remove_photos])
        _save_photos(owner, c, clean.photos, kept)
        if c.thread_id:
            thread = db.session.get(Thread, c.thread_id)
            if thread is not None:
                thread.title = clean.title
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return c


def open_campaign(
    actor: Member | None, campaign: Campaign, *, now: datetime | None = None
) -> Campaign:
    """Open a draft: its thread (kind ``groupbuy``, post #1 the description) and the
    campaign's ``open`` status in one commit."""
    now = now or utcnow()
    require_manager(actor, campaign)
    if campaign.status != "draft":
        raise ServiceError(_("Only a draft can be opened."))
    if campaign.deadline <= now:
        raise ServiceError(_("The deadline has passed. Please set a new one first."), "deadline")
    if not tiers_of(campaign):
        raise ServiceError(_("Please add at least one price tier."), "tiers")
    board = db.session.get(Board, campaign.board_id)
    leader = db.session.get(Member, campaign.leader_id)
    token = _opening.set(campaign.id)
    try:
        posting.create_thread(leader, board, campaign.title, campaign.description, kind=KIND)
    except Exception:
        db.session.rollback()
        raise
    finally:
        _opening.reset(token)
    db.session.refresh(campaign)
    return campaign


# -- the thread kind ---------------------------------------------------------------------------


def validate(values: Any, member: Member, board: Board) -> None:
    """The kind's ``validate``: group-buy threads start only from the group-buy's own pages."""
    if _opening.get() is None:
        raise ServiceError(_("Start a group-buy from its own form."), "kind")


def on_create(thread: Thread, post: Any, values: Any) -> None:
    """The kind's ``on_create``: the draft being opened gets the thread, status ``open``."""
    campaign_id = _opening.get()
    if campaign_id is None:
        raise ServiceError(_("Start a group-buy from its own form."), "kind")
    db.session.flush()
    done = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "draft")
        .values(status="open", thread_id=thread.id, opened_at=utcnow())
    ).rowcount
    if done != 1:
        raise ServiceError(_("Only a draft can be opened."))


@dataclass
class Head:
    """What the kind's head template shows above post #1."""

    campaign: Campaign
    progress: Progress
    tiers: list[PriceTier]
    pickup_points: list[PickupPoint]
    photos: list[Photo]
    leader: Member | None


def load(thread: Thread) -> Head | None:
    """The kind's ``load``: the campaign, its progress, tiers, pickup points, photos and
    leader for ``groupbuy/campaign_head.html`` (``kind_data``)."""
    campaign = campaign_for_thread(thread.id)
    if campaign is None:
        return None
    return Head(
        campaign=campaign,
        progress=progress(campaign),
        tiers=tiers_of(campaign),
        pickup_points=pickup_points_of(campaign),
        photos=photos_of(campaign),
        leader=db.session.get(Member, campaign.leader_id),
    )


def search_document(thread: Thread) -> dict[str, Any] | None:
    """A campaign's price (the current tier's, cents) and status for the search index."""
    campaign = campaign_for_thread(thread.id)
    if campaign is None:
        return None
    return {
        "price": price_for(campaign, campaign.participants),
        "status": campaign.status,
    }


def live_order_count(campaign: Campaign) -> int:
    """Reserved and paid orders of the campaign."""
    from sqlalchemy import func

    return db.session.execute(
        select(func.count())
        .select_from(GroupOrder)
        .where(GroupOrder.campaign_id == campaign.id, GroupOrder.status.in_(("reserved", "paid")))
    ).scalar_one()
