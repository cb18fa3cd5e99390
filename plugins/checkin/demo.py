"""The check-ins plugin's sample content for ``forum demo``: a 21-day morning-run camp
with a deposit, started ten days ago, its members' check-ins with distances (some days
missed), likes and a comment."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from forum.services import points

from . import services

RUNNERS = (
    "ayu_pace", "kiki_run", "跑者小林", "dawei88", "陈半马", "lemon_tea", "老猫不跑",
    "sunny_zhang", "铁腿阿强", "风里的兔子", "慢跑的熊", "li_na_runs",
)  # fmt: skip
NOTES = ("晨跑打卡，天气不错", "今天状态一般，慢慢跑完", "和跑团一起，配速 6 分", "下雨也要跑", "")


def seed(boards: dict[str, Any], members: dict[str, Any]) -> str | None:  # noqa: ARG001
    """Write the sample camp (see the module docstring); the line for the progress."""
    owner = members["laozhou"]
    rng = random.Random(21)
    now = datetime.now(services.member_zone(owner))
    start = now.date() - timedelta(days=10)
    camp = services.create_camp(
        owner,
        title="21 天晨跑打卡营",
        description="每天早上跑一次，拍照或写一句话打卡。坚持 18 天退还押金，"
        "并平分没坚持下来的人的押金。",
        starts_on=start,
        ends_on=start + timedelta(days=20),
        window_start=5 * 60,
        window_end=23 * 60 + 59,
        metrics=[{"key": "km", "label": "距离", "unit": "km", "min": 0, "max": 100,
                  "decimals": 1, "required": True}],
        deposit=20,
        min_days=18,
    )  # fmt: skip
    checkins = 0
    joined = []
    for name in RUNNERS:
        member = members.get(name)
        if member is None:
            continue
        points.award(member, 100, "welcome", f"demo:checkin:welcome:{member.id}")
        zone = services.member_zone(member)
        services.join(member, camp, now=datetime.combine(start, time(8), zone))
        joined.append(member)
        keen = rng.uniform(0.55, 1.0)
        for offset in range(11):
            day = start + timedelta(days=offset)
            at = datetime.combine(day, time(rng.randint(6, 8), rng.randint(0, 59)), zone)
            if at > now or rng.random() > keen:
                continue
            km = f"{rng.uniform(3, 12):.1f}"
            services.check_in(member, camp, note=rng.choice(NOTES), metrics={"km": km}, now=at)
            checkins += 1
    feed = services.feed(camp, page=1).items
    for checkin, liker in zip(feed[:6], joined[1:7], strict=False):
        if liker.id != checkin.member_id:
            services.toggle_like(liker, checkin)
    if feed and joined[0].id != feed[0].member_id:
        services.comment(joined[0], feed[0], "加油！明天一起跑")
    return f"1 camp, {len(joined)} members, {checkins} check-ins"
