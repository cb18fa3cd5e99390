"""Product questions: another plugin attaches a question to its item and names the buyers,
who are invited to answer (a notification) and get a "bought it" badge on their answers."""

from __future__ import annotations

import pytest
import qa_shop_plugin as shop
from forum_plugins.qa import services
from forum_plugins.qa.models import ItemBuyer

from forum.extensions import db
from forum.models import Notification
from forum.services import posting
from forum.services.errors import ServiceError


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": {"qashop": "qa_shop_plugin"}}


@pytest.fixture
def shop_on(enable_plugin, qa_board):
    enable_plugin("qashop")
    shop.ITEMS.clear()
    return qa_board


def _invites(member_id: int) -> list[Notification]:
    return list(
        db.session.execute(
            db.select(Notification).where(
                Notification.member_id == member_id, Notification.kind == "qa.invite"
            )
        ).scalars()
    )


def test_buyers_are_invited_and_badged(client, login, shop_on, make_member, english):
    ada, bob, cy, dan = (make_member(n) for n in ("ada", "bob", "cy", "dan"))
    shop.sell("7", "Trail shoes X", [bob.id, cy.id, ada.id])
    thread, invited = shop.ask_buyers(ada, shop_on, "7", "Do they run small?", "Size 42?")
    assert invited == sorted([bob.id, cy.id])  # not the asker
    assert len(_invites(bob.id)) == 1 and _invites(dan.id) == []
    posting.reply(bob, thread, "Take half a size up.")
    posting.reply(dan, thread, "No idea, but good luck.")
    html = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert html.count("Bought it") == 1
    assert 'href="/qashop/7">Trail shoes X</a>' in html
    login(client, cy)
    page = client.get("/notifications").get_data(as_text=True)
    assert "You bought “Trail shoes X”: ada asks “Do they run small?”. Can you answer?" in page
    assert [t.id for t in services.questions_for_item("qashop", "7")] == [thread.id]


def test_naming_more_buyers_invites_only_the_new_ones(shop_on, make_member):
    ada, bob, cy = make_member("ada"), make_member("bob"), make_member("cy")
    shop.sell("8", "Rain jacket", [bob.id])
    thread, _ = shop.ask_buyers(ada, shop_on, "8", "Is it breathable?", "For summer?")
    again = services.attach_item(
        thread, source="qashop", item_id="8", title="Rain jacket", url="/qashop/8",
        buyer_ids=[bob.id, cy.id, 999_999],
    )  # fmt: skip
    assert again == [cy.id]
    assert len(_invites(bob.id)) == 1
    assert db.session.query(ItemBuyer).count() == 2


def test_attach_refuses_a_discussion_or_another_item(shop_on, make_member, english):
    ada, bob = make_member("ada"), make_member("bob")
    talk = posting.create_thread(ada, shop_on, "Just talk", "Hello.")
    with pytest.raises(ServiceError, match="Only questions"):
        services.attach_item(talk, source="qashop", item_id="1", title="X", url="", buyer_ids=[])
    shop.sell("9", "Socks", [bob.id])
    thread, _ = shop.ask_buyers(ada, shop_on, "9", "Wool?", "Are they wool?")
    with pytest.raises(ServiceError, match="another item"):
        services.attach_item(thread, source="qashop", item_id="10", title="Y", url="")
    assert db.session.query(ItemBuyer).count() == 1
