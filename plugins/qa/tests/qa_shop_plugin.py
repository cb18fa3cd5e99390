"""A tiny shop plugin for the tests of product questions (``EXTRA_PLUGINS={"qashop": ...}``).

It sells items kept in memory and lets a member ask the buyers of an item, the way a
group-buy or classifieds plugin would: it starts a question with the core's posting service
and attaches it to the item through :func:`forum_plugins.qa.services.attach_item`.
"""

from __future__ import annotations

from forum_plugins.qa import services as qa

from forum.plugin_api import PluginMeta, hookimpl
from forum.services import posting

META = PluginMeta(label="QA shop", description="Items and their buyers, for the Q&A tests.")

#: item id → title and the ids of the members who bought it.
ITEMS: dict[str, dict] = {}


def sell(item_id: str, title: str, buyer_ids: list[int]) -> None:
    """Record an item and who bought it."""
    ITEMS[item_id] = {"title": title, "buyers": list(buyer_ids)}


def ask_buyers(member, board, item_id: str, title: str, body: str):
    """Start a question about an item and invite its buyers; (thread, invited ids)."""
    item = ITEMS[item_id]
    thread = posting.create_thread(member, board, title, body, kind="question")
    invited = qa.attach_item(
        thread,
        source="qashop",
        item_id=item_id,
        title=item["title"],
        url=f"/qashop/{item_id}",
        buyer_ids=item["buyers"],
    )
    return thread, invited


@hookimpl
def forum_thread_created(thread):
    """Nothing to do; a plugin needs at least one hook to be one."""
    return None
