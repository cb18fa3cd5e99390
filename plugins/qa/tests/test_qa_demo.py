"""The Q&A plugin's sample content in ``forum demo``."""

from __future__ import annotations

from forum_plugins.qa import demo
from forum_plugins.qa.models import Question
from sqlalchemy import select

from forum.demo import seed_demo
from forum.models import Board, Thread
from forum.services import points


def test_the_demo_has_questions_answered_voted_solved_and_a_bounty(app, db, enable_plugin):
    enable_plugin("qa")
    messages: list[str] = []
    seed_demo(progress=messages.append, scale=0.02)
    assert f"  plugin qa: {len(demo.QUESTIONS)} questions on 装备交流 · 团购" in messages
    gear = db.session.execute(select(Board).where(Board.slug == "gear")).scalar_one()
    assert "question" in gear.kinds
    questions = db.session.execute(select(Question)).scalars().all()
    assert len(questions) == len(demo.QUESTIONS)
    solved = [q for q in questions if q.accepted_post_id is not None]
    assert len(solved) == sum(1 for q in demo.QUESTIONS if q[5] is not None)
    held = [q for q in questions if q.bounty_status == "held"]
    assert [q.bounty for q in held] == [30]
    threads = db.session.execute(select(Thread).where(Thread.kind == "question")).scalars()
    assert all(t.reply_count >= 1 for t in threads)
    assert points.verify() == []
