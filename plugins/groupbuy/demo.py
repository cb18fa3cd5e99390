"""The group-buy plugin's sample content for ``forum demo``: a board 跑团团购 (kind
``groupbuy``) in the category of the gear board, a group 团长 whose member 夜跑团长 may lead
group-buys there, and three open campaigns with photos drawn by Pillow:

- 五常有机大米 5kg, three tiers (2+ ¥99, 5+ ¥89, 10+ ¥79), pickup or delivery, six members
  joined and paid (the second tier reached, four more for ¥79);
- 丹东冬季草莓 3 斤, three pickup points, two paid of the three it needs (one more to go);
- 跑步能量胶 24 支装, nearly sold out (two boxes left).

Members join through :func:`services.join` and pay with the payments sandbox, so the
progress bars, receipts and the leader's dashboard show real orders."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask import current_app
from PIL import Image, ImageDraw

from forum.extensions import db
from forum.models import Category as BoardCategory
from forum.models import PaymentOrder
from forum.models.base import utcnow
from forum.services import boards as board_service
from forum.services import groups, members, payments, permissions

from . import services

BOARD_SLUG = "tuangou"
BOARD_NAME = "跑团团购"
LEADER = "夜跑团长"
LEADER_GROUP = "groupbuy_leader"
MEMBER_GRANTS = ("view", "read", "start_thread", "reply", "upload")

#: One campaign: its form's fields, its photos' colour and shape, and who joins:
#: (username, quantity, pickup point index or None for delivery).
CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {
        "title": "五常有机大米 5kg 新米",
        "description": (
            "今年的五常稻花香新米，产地直发，真空包装。\n\n"
            "- **2 人成团** ¥99，5 人 ¥89，10 人 ¥79\n"
            "- 可自提，也可快递到家（江浙沪包邮）\n"
            "- 截团后 3 天内发货，团长负责售后"
        ),
        "original_price": "129",
        "tiers": [("2", "99"), ("5", "89"), ("10", "79")],
        "min_participants": "2",
        "stock": "60",
        "per_member_limit": "4",
        "days": 5,
        "pickup": True,
        "delivery": True,
        "pickup_points": [
            ("奥森南门", "北京市朝阳区科荟路 奥林匹克森林公园南门"),
            ("朝阳公园西门", "北京市朝阳区朝阳公园路 西门停车场"),
        ],
        "commission_percent": "5",
        "colour": (238, 214, 160),
        "shape": "bag",
        "photos": 2,
        "joins": (
            ("kiki_run", 1, 0),
            ("dawei88", 2, None),
            ("陈半马", 1, 1),
            ("lemon_tea", 1, 0),
            ("风里的兔子", 2, 0),
            ("慢跑的熊", 1, None),
        ),
    },
    {
        "title": "丹东冬季草莓 3 斤装",
        "description": (
            "丹东九九草莓，冬季头茬果，当天采摘冷链到自提点。\n\n"
            "- 3 人成团 ¥69，8 人 ¥59\n"
            "- 只能自提（草莓怕压），到货当天请取走"
        ),
        "original_price": "88",
        "tiers": [("3", "69"), ("8", "59")],
        "min_participants": "3",
        "stock": "30",
        "per_member_limit": "2",
        "days": 2,
        "pickup": True,
        "delivery": False,
        "pickup_points": [
            ("世纪公园 3 号门", "上海市浦东新区锦绣路 1001 号"),
            ("滨江大道跑友驿站", "上海市浦东新区滨江大道 2727 号"),
            ("徐汇跑团仓库", "上海市徐汇区龙腾大道 2555 号"),
        ],
        "commission_percent": "3",
        "colour": (220, 50, 70),
        "shape": "berry",
        "photos": 1,
        "joins": (("sunny_zhang", 2, 0), ("li_na_runs", 1, 2)),
    },
    {
        "title": "跑步能量胶 24 支装（混合口味）",
        "description": (
            "马拉松季补给，每支 100 大卡，含电解质。团购价比旗舰店便宜三成，**库存有限**。"
        ),
        "original_price": "168",
        "tiers": [("3", "128"), ("6", "118")],
        "min_participants": "3",
        "stock": "10",
        "per_member_limit": "2",
        "days": 3,
        "pickup": True,
        "delivery": True,
        "pickup_points": [("深圳湾公园 日出剧场", "深圳市南山区滨海大道 深圳湾公园")],
        "commission_percent": "0",
        "colour": (60, 130, 210),
        "shape": "gel",
        "photos": 1,
        "joins": (
            ("铁腿阿强", 2, 0),
            ("pacer_liu", 2, None),
            ("ironman_he", 2, 0),
            ("小鹿乱跑", 1, 0),
            ("jason_w", 1, None),
        ),
    },
)
ADDRESS = "上海市浦东新区张杨路 500 号 12 楼（请放前台）"


def _photo(colour: tuple[int, int, int], shape: str, n: int) -> io.BytesIO:
    """A 800×600 JPEG: a rice bag, a strawberry or an energy gel on a light background."""
    image = Image.new("RGB", (800, 600), tuple(min(255, c + 90) for c in colour))
    draw = ImageDraw.Draw(image)
    dx = n * 40
    if shape == "bag":
        draw.rounded_rectangle((250 + dx, 120, 550 + dx, 520), radius=40, fill=colour)
        draw.rectangle((250 + dx, 260, 550 + dx, 330), fill=(120, 160, 80))
    elif shape == "berry":
        draw.polygon([(400, 520), (240, 260), (560, 260)], fill=colour)
        draw.ellipse((240, 170, 560, 360), fill=colour)
        draw.polygon([(330, 190), (400, 120), (470, 190)], fill=(60, 150, 60))
    else:
        for i in range(3):
            x = 200 + i * 150 + dx
            draw.rounded_rectangle((x, 140, x + 110, 480), radius=20, fill=colour)
            draw.rectangle((x + 30, 100, x + 80, 140), fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    out.seek(0)
    return out


def _board(boards: dict[str, Any]) -> Any:
    """The 跑团团购 board, next to the gear board."""
    gear = boards["gear"]
    return board_service.create_board(
        db.session.get(BoardCategory, gear.category_id),
        BOARD_SLUG,
        BOARD_NAME,
        description="跑团团长发起的拼团：大米、水果、补给品。人越多越便宜，不成团全额退款。",
        thread_kinds=services.KIND,
    )


def _leader(board: Any, admin: Any, leader: Any) -> None:
    """A group 团长 that may lead group-buys on ``board``, with ``leader`` in it."""
    group = groups.create_group("团长", LEADER_GROUP, "可以在跑团团购版发起拼团")
    permissions.set_board_permissions(board.id, {group.id: (*MEMBER_GRANTS, services.PERMISSION)})
    db.session.commit()
    members.bulk_set_membership([leader.id], group.id, actor=admin)


def _pay(member: Any, order: Any) -> bool:
    """Pay the order's payment order with pretend money (the demo's sandbox)."""
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    return payments.sandbox_pay(member, payment)


def seed(boards: dict[str, Any], members_by_name: dict[str, Any]) -> str | None:
    """Write the sample board, leader and campaigns (see the module docstring); the line
    for the progress."""
    admin = members_by_name["laozhou"]
    board = _board(boards)
    leader = members_by_name.get(LEADER) or members_by_name.get("ayu_pace") or admin
    if leader is not admin and not permissions.is_moderator(leader, board.id):
        _leader(board, admin, leader)
    sandbox = bool(current_app.config.get("PAYMENTS_SANDBOX"))
    if sandbox and not payments.provider_enabled("sandbox"):
        payments.enable_provider("sandbox")
    now = utcnow().replace(second=0, microsecond=0)
    made = paid = 0
    for spec in CAMPAIGNS:
        photos = [_photo(spec["colour"], spec["shape"], n) for n in range(spec["photos"])]
        data = services.CampaignInput(
            title=spec["title"],
            description=spec["description"],
            original_price=spec["original_price"],
            tiers=list(spec["tiers"]),
            min_participants=spec["min_participants"],
            stock=spec["stock"],
            per_member_limit=spec["per_member_limit"],
            deadline=now + timedelta(days=spec["days"], hours=2),
            pickup=spec["pickup"],
            delivery=spec["delivery"],
            pickup_points=list(spec["pickup_points"]),
            commission_percent=spec["commission_percent"],
            photos=photos,
        )
        campaign = services.create_campaign(leader, board, data)
        campaign = services.open_campaign(leader, campaign)
        made += 1
        points = services.pickup_points_of(campaign)
        for username, quantity, point in spec["joins"]:
            member = members_by_name.get(username)
            if member is None:
                continue
            order = services.join(
                member,
                campaign,
                quantity=quantity,
                pickup_point_id=points[point].id if point is not None else None,
                delivery_address="" if point is not None else ADDRESS,
            )
            if sandbox and _pay(member, order):
                paid += 1
    return f"1 group-buy board, {made} open campaigns, {paid} paid orders (sandbox)"
