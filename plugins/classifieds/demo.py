"""The classifieds plugin's sample content for ``forum demo``: a market board 跑友闲置 in
the category of the gear board, two categories with typed fields (running shoes, sports
watches), listings with photos drawn by Pillow, one reserved listing, and one trade the
buyer confirmed and both sides rated (with the seller's reply)."""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image, ImageDraw

from forum.extensions import db
from forum.models import Category as BoardCategory
from forum.services import boards as board_service

from . import services

BOARD_SLUG = "xianzhi"
BOARD_NAME = "跑友闲置"
SHOES = "跑鞋"
WATCHES = "运动手表"
#: (seller, title, price, category, typed values, condition, city, post too, photos, colour)
LISTINGS: tuple[tuple[Any, ...], ...] = (
    ("kiki_run", "Nike Vaporfly 3 42 码 只跑过一次半马", "1099", SHOES,
     {"brand": "Nike", "size": "42", "mileage": "21"}, "like_new", "上海", True, 3, (230, 90, 40)),
    ("跑者小林", "亚瑟士 Kayano 30 稳定支撑 41 码", "560", SHOES,
     {"brand": "Asics", "size": "41", "mileage": "180"}, "good", "杭州", True, 2, (40, 110, 200)),
    ("dawei88", "李宁 飞电 3 Challenger 43 码 全新未上脚", "499", SHOES,
     {"brand": "李宁", "size": "43", "mileage": "0"}, "new", "北京", False, 2, (200, 40, 60)),
    ("陈半马", "Hoka Clifton 9 44 码 日常慢跑", "320", SHOES,
     {"brand": "Hoka", "size": "44", "mileage": "420"}, "fair", "深圳", True, 1, (60, 170, 120)),
    ("lemon_tea", "佳明 Forerunner 265 音乐版 带原盒", "1650", WATCHES,
     {"brand": "佳明 Garmin", "features": ["GPS", "心率", "血氧", "音乐"], "boxed": "1"},
     "like_new", "上海", True, 3, (30, 30, 30)),
    ("sunny_zhang", "高驰 PACE 3 黑色 续航很顶", "980", WATCHES,
     {"brand": "高驰 COROS", "features": ["GPS", "心率"], "boxed": "0"},
     "good", "广州", True, 2, (90, 90, 110)),
    ("铁腿阿强", "华为 Watch GT 4 46mm 换新出", "899", WATCHES,
     {"brand": "华为", "features": ["GPS", "心率", "血氧"], "boxed": "1"},
     "good", "成都", False, 1, (150, 110, 60)),
    ("老猫不跑", "闲置跑步腰包 两个 送能量胶", "35", None, {}, "good", "杭州", True, 0, None),
)  # fmt: skip
SELLER_NOTE = "成色见图，诚心出。可当面验货，同城优先自提。"


def _photo(colour: tuple[int, int, int], kind: str | None, n: int, rng: random.Random) -> Any:
    """A 800×600 JPEG of a shoe or a watch shape on a plain background."""
    image = Image.new("RGB", (800, 600), tuple(min(255, c + 150) for c in colour))
    draw = ImageDraw.Draw(image)
    dx = rng.randint(-40, 40) + n * 25
    if kind == WATCHES:
        draw.rectangle((360 + dx, 60, 440 + dx, 540), fill=(60, 60, 60))
        draw.ellipse((270 + dx, 170, 530 + dx, 430), fill=colour, outline=(20, 20, 20), width=12)
        draw.ellipse((330 + dx, 230, 470 + dx, 370), fill=(240, 240, 240))
    elif kind == SHOES:
        draw.ellipse((120 + dx, 300, 680 + dx, 470), fill=colour)
        draw.polygon(
            [(180 + dx, 360), (300 + dx, 200), (460 + dx, 210), (520 + dx, 330)], fill=colour
        )
        draw.rectangle((140 + dx, 430, 690 + dx, 470), fill=(250, 250, 250))
    else:
        draw.rounded_rectangle((220, 220, 580, 400), radius=40, fill=(70, 70, 70))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    out.seek(0)
    return out


#: (name, description, its fields: save_field's keyword arguments)
CATEGORIES: tuple[tuple[str, str, tuple[dict[str, Any], ...]], ...] = (
    (SHOES, "竞速鞋、训练鞋、越野鞋", (
        {"key": "brand", "label": "品牌", "type": "select", "required": True, "in_list": True,
         "options_text": "Nike\nAdidas\nAsics\n李宁\n特步\nHoka"},
        {"key": "size", "label": "尺码", "type": "select", "required": True, "in_list": True,
         "options_text": "\n".join(str(n) for n in range(38, 47)), "unit": "码"},
        {"key": "mileage", "label": "已跑里程", "type": "number", "unit": "km"},
    )),
    (WATCHES, "GPS 手表、心率带", (
        {"key": "brand", "label": "品牌", "type": "select", "required": True, "in_list": True,
         "options_text": "佳明 Garmin\n高驰 COROS\n华为\nApple"},
        {"key": "features", "label": "功能", "type": "multi",
         "options_text": "GPS\n心率\n血氧\n音乐"},
        {"key": "boxed", "label": "原盒", "type": "bool"},
    )),
)  # fmt: skip


def _categories(admin: Any) -> dict[str, Any]:
    made = {}
    for name, description, fields in CATEGORIES:
        category = services.save_category(admin, name=name, description=description)
        for position, spec in enumerate(fields):
            services.save_field(admin, category, position=position, **spec)
        made[name] = category
    return made


def seed(boards: dict[str, Any], members: dict[str, Any]) -> str | None:
    """Write the sample market (see the module docstring); the line for the progress."""
    admin = members["laozhou"]
    gear = boards["gear"]
    board = board_service.create_board(
        db.session.get(BoardCategory, gear.category_id),
        BOARD_SLUG,
        BOARD_NAME,
        description="跑鞋、手表、装备转让。先看卖家的交易评价，当面交易更放心。",
        thread_kinds=services.KIND,
    )
    categories = _categories(admin)
    rng = random.Random(9)
    made: dict[str, Any] = {}
    for seller, title, price, kind, values, condition, city, post, photos, colour in LISTINGS:
        member = members.get(seller)
        if member is None:
            continue
        pictures = [_photo(colour, kind, n, rng) for n in range(photos)]
        uploads = services.save_images(member, pictures) if pictures else []
        category = categories.get(kind) if kind else None
        data = services.ListingInput(
            title=title,
            body=SELLER_NOTE,
            category_id=category.id if category is not None else None,
            price=price,
            condition=condition,
            city=city,
            pickup=True,
            shipping=post,
            values=values,
            image_ids=[u.id for u in uploads],
        )
        made[seller] = services.get_listing(services.create_listing(member, board, data).id, member)
    trades = 0
    buyer, seller = members.get("ayu_pace"), members.get("lemon_tea")
    if buyer is not None and "lemon_tea" in made:
        trade = services.mark_sold(seller, made["lemon_tea"], buyer.username)
        services.confirm_trade(buyer, trade)
        rating = services.rate(buyer, trade, 1, "表和描述一致，卖家很耐心，当面验货很顺利。")
        services.rate(seller, trade, 1, "爽快的买家，准时到，推荐！")
        services.reply_to_rating(seller, rating, "谢谢！祝跑得开心 PB 不断～")
        trades = 1
    reserved = members.get("kiki_run")
    if reserved is not None and buyer is not None and "kiki_run" in made:
        services.reserve(reserved, made["kiki_run"], buyer.username)
    return (
        f"1 market board, {len(categories)} categories, {len(made)} listings, "
        f"{trades} trade rated both ways"
    )
