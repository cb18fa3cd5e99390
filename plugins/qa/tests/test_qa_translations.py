"""The plugin's own catalogues: complete, compiled, and used by the forum's pages."""

from __future__ import annotations

from forum_plugins.qa import i18n


def test_catalogues_are_complete_and_compiled():
    assert i18n.untranslated() == []
    assert i18n.stale() == []  # run: python -m forum_plugins.qa.i18n


def test_pages_speak_simplified_and_traditional_chinese(client, ask, rich, qa_board):
    thread = ask(rich("ada", 100), bounty=20)
    hans = client.get(f"/t/{thread.id}?lang=zh_Hans").get_data(as_text=True)
    assert "待解决" in hans and "悬赏：20 积分" in hans and "最佳回答在前" in hans
    hant = client.get(f"/t/{thread.id}?lang=zh_Hant").get_data(as_text=True)
    assert "待解決" in hant and "懸賞：20 積分" in hant
    board = client.get(f"/b/{qa_board.slug}?lang=zh_Hans").get_data(as_text=True)
    assert "待回答" in board and "有悬赏" in board
