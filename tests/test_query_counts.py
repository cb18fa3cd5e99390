"""Each page runs a fixed number of SQL queries, whatever the amount of data (no N+1)."""

from __future__ import annotations

import pytest

from forum.services import boards, posting


def _grow(make_member, board, n_threads: int, n_replies: int, tag: str):
    members = [make_member(f"{tag}{i}") for i in range(3)]
    last = None
    for t in range(n_threads):
        last = posting.create_thread(members[t % 3], board, f"主题 {tag} {t}", "正文")
        for r in range(n_replies):
            posting.reply(members[r % 3], last, f"回复 {r} @{members[0].username}")
    return last


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-worker caches, as a running site has them
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200, url
    return q.count


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "member"])
def test_query_counts_do_not_grow(
    app, client, login, make_member, make_board, count_queries, signed_in
):
    board = make_board("count")
    reader = make_member("reader")
    if signed_in:
        login(client, reader)
    small = _grow(make_member, board, 2, 3, "a")

    def measure(thread):
        return {
            "index": _count(client, count_queries, "/"),
            "board": _count(client, count_queries, "/b/count"),
            "thread": _count(client, count_queries, f"/t/{thread.id}"),
            "profile": _count(client, count_queries, "/u/a0"),
        }

    before = measure(small)
    category = boards.create_category("更多")
    for i in range(4):
        extra = boards.create_board(category, f"extra{i}", f"版块{i}")
        _grow(make_member, extra, 1, 1, f"x{i}")
    big = _grow(make_member, board, 8, 25, "b")
    after = measure(big)
    assert after == before, (before, after)
    limits = (
        {"index": 4, "board": 6, "thread": 7, "profile": 5}
        if signed_in
        else {"index": 2, "board": 3, "thread": 3, "profile": 3}
    )
    for page, n in after.items():
        assert n <= limits[page], (page, n, after)
