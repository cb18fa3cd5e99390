"""The check-ins plugin's sample content in ``forum demo``."""

from __future__ import annotations

from forum_plugins.checkin import demo, services
from forum_plugins.checkin.models import Camp, Checkin, Participant
from sqlalchemy import func, select

from forum.demo import seed_demo
from forum.services import points


def test_the_demo_has_a_running_camp_with_check_ins(app, db, enable_plugin):
    enable_plugin("checkin")
    messages: list[str] = []
    seed_demo(progress=messages.append, scale=0.02)
    line = next(m for m in messages if m.startswith("  plugin checkin: "))
    camp = db.session.execute(select(Camp)).scalar_one()
    assert camp.status == "open" and camp.deposit == 20
    joined = db.session.scalar(select(func.count()).select_from(Participant))
    made = db.session.scalar(select(func.count()).select_from(Checkin))
    assert joined == len(demo.RUNNERS)
    assert line == f"  plugin checkin: 1 camp, {joined} members, {made} check-ins"
    assert joined * 5 < made <= joined * 11  # most days, not every day
    assert services.feed(camp, page=1).total == made
    assert points.verify() == []
