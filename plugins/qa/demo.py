"""The Q&A plugin's sample content for ``forum demo``: a gear board that takes questions,
a few questions with answers and votes, one solved, one with an open bounty."""

from __future__ import annotations

from typing import Any

from forum.services import boards as board_service
from forum.services import points, posting

from . import services

#: (asker, title, question, bounty, [(answerer, answer, [voters])], accepted answer index)
QUESTIONS: tuple[tuple[str, str, str, int, list[tuple[str, str, list[str]]], int | None], ...] = (
    (
        "跑者小林",
        "第一双跑鞋怎么选？体重 75 公斤，周跑量 20 公里",
        "刚开始跑步三个月，一直穿板鞋。想买第一双正经跑鞋，预算 600 以内，大家有推荐吗？",
        0,
        [
            (
                "ayu_pace",
                "先去店里试穿，选缓震型的，别一上来就买竞速碳板。",
                ["kiki_run", "dawei88"],
            ),
            ("kiki_run", "体重 75 公斤建议看看稳定支撑型，脚踝会舒服很多。", ["跑者小林"]),
        ],
        0,
    ),
    (
        "慢跑的熊",
        "膝盖外侧疼，是髂胫束综合征吗？",
        "每次跑到 8 公里左右膝盖外侧就疼，停下来走一走又好了。需要休息多久？",
        30,
        [
            (
                "铁腿阿强",
                "很像髂胫束。先停跑一周，泡沫轴放松大腿外侧，再加臀中肌训练。",
                ["陈半马"],
            ),
            ("陈半马", "我去年也是这样，练了一个月臀桥和侧卧抬腿就好了。", []),
        ],
        None,
    ),
    (
        "sunny_zhang",
        "全马补给：能量胶几公里吃一次？",
        "第一次跑全马，听说要提前吃能量胶，具体怎么安排？",
        0,
        [
            (
                "laozhou",
                "我的习惯：10、18、25、32 公里各一支，配水吃，赛前一定要练过。",
                ["sunny_zhang"],
            )
        ],
        0,
    ),
)


def seed(boards: dict[str, Any], members: dict[str, Any]) -> str | None:
    """Write the sample questions (see the module docstring); the line for the progress."""
    board = boards.get("gear")
    if board is None:
        return None
    kinds = [k for k in board.kinds if k != services.KIND] + [services.KIND]
    board_service.update_board(board, thread_kinds=",".join(kinds))
    asked = 0
    for asker, title, body, bounty, answers, accepted in QUESTIONS:
        author = members[asker]
        if bounty:
            points.award(author, bounty, "welcome", f"demo:qa:welcome:{author.id}")
        thread = posting.create_thread(
            author, board, title, body, kind=services.KIND, fields={"bounty": str(bounty or "")}
        )
        posts = []
        for answerer, text, voters in answers:
            post = posting.reply(members[answerer], thread, text)
            posts.append(post)
            for voter in voters:
                services.vote(members[voter], post.id, 1)
        if accepted is not None:
            services.accept(author, posts[accepted].id)
        asked += 1
    return f"{asked} questions on {board.name}"
