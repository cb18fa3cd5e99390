"""The Q&A pages: the question thread, votes and accepting through HTTP (with CSRF), the
board filters, similar questions, trust facts, switching the plugin off and on, and fixed
query counts on the question page."""

from __future__ import annotations

import re

import pytest
from forum_plugins.qa import services
from forum_plugins.qa.models import Question, Vote

from forum.extensions import db
from forum.services import points, posting


def _html(response) -> str:
    return response.get_data(as_text=True)


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _order_of(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="card post[^"]*" id="p(\d+)"', html)]


@pytest.fixture
def scene(ask, rich, make_member):
    """ada asks with a bounty of 30; bob and cy answer; dan votes cy's answer up."""
    ada = rich("ada", 100)
    bob, cy, dan = make_member("bob"), make_member("cy"), make_member("dan")
    thread = ask(ada, bounty=30)
    first = posting.reply(bob, thread, "Use a heel lock.")
    second = posting.reply(cy, thread, "Buy lace locks.")
    services.vote(dan, second.id, 1)
    return {"ada": ada, "bob": bob, "cy": cy, "dan": dan, "thread": thread, "first": first,
            "second": second}  # fmt: skip


def test_question_page_orders_by_score_and_by_time(client, scene, english):
    thread = scene["thread"]
    html = _html(client.get(f"/t/{thread.id}"))
    assert _order_of(html) == [1, 3, 2]  # the question, cy's upvoted answer, bob's
    assert "Open question" in html and "Bounty: 30 points" in html
    assert "Best answers first" in html and "By time" in html
    by_time = _html(client.get(f"/t/{thread.id}?order=number"))
    assert _order_of(by_time) == [1, 2, 3]


def test_links_to_a_post_keep_the_order_by_number(client, scene):
    response = client.get(f"/p/{scene['first'].id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/t/{scene['thread'].id}?order=number#p2")


def test_vote_and_accept_through_the_pages_with_csrf(app, client, login, scene, csrf_on, english):
    thread, first = scene["thread"], scene["first"]
    login(client, scene["cy"])
    asker = app.test_client()
    login(asker, scene["ada"])
    csrf_on()
    html = _html(client.get(f"/t/{thread.id}"))
    assert f'action="/qa/vote/{first.id}"' in html
    assert "Accept this answer" not in html  # cy did not ask
    assert client.post(f"/qa/vote/{first.id}", data={"value": "1"}).status_code == 400
    response = client.post(f"/qa/vote/{first.id}", data={"value": "1", "csrf_token": _token(html)})
    assert response.status_code == 302
    assert db.session.get(Vote, (first.id, scene["cy"].id)).value == 1
    refused = client.post(
        f"/qa/accept/{first.id}", data={"csrf_token": _token(html)}, follow_redirects=True
    )
    assert refused.status_code == 403
    assert "Only the asker or a moderator" in _html(refused)
    html = _html(asker.get(f"/t/{thread.id}"))
    assert "Accept this answer" in html
    done = asker.post(
        f"/qa/accept/{first.id}", data={"csrf_token": _token(html)}, follow_redirects=True
    )
    page = _html(done)
    assert "the bounty of 30 points was paid" in page
    assert "Accepted answer" in page and "Solved" in page
    assert _order_of(page) == [1, 2, 3]  # the accepted answer first
    assert points.balance(scene["bob"]) == 30 + 15 + 2


def test_own_answer_shows_no_vote_buttons_and_a_refusal_changes_nothing(
    client, login, scene, english
):
    login(client, scene["bob"])
    first = scene["first"]
    html = _html(client.get(f"/t/{scene['thread'].id}"))
    assert f'action="/qa/vote/{first.id}"' not in html
    page = _html(client.post(f"/qa/vote/{first.id}", data={"value": "1"}, follow_redirects=True))
    assert "You cannot vote on your own answer." in page
    assert db.session.get(Vote, (first.id, scene["bob"].id)) is None
    bad = _html(client.post(f"/qa/vote/{first.id}", data={"value": "7"}, follow_redirects=True))
    assert "A vote is up or down." in bad


def test_bounty_form_for_the_asker(client, login, ask, rich, english):
    ada = rich("ada", 50)
    thread = ask(ada)
    login(client, ada)
    html = _html(client.get(f"/t/{thread.id}"))
    assert f'action="/qa/bounty/{thread.id}"' in html
    page = _html(
        client.post(f"/qa/bounty/{thread.id}", data={"amount": "80"}, follow_redirects=True)
    )
    assert "You have only 50 points" in page
    assert points.balance(ada) == 50
    page = _html(
        client.post(f"/qa/bounty/{thread.id}", data={"amount": "abc"}, follow_redirects=True)
    )
    assert "whole number" in page
    page = _html(
        client.post(f"/qa/bounty/{thread.id}", data={"amount": "20"}, follow_redirects=True)
    )
    assert "A bounty of 20 points is held" in page
    assert points.balance(ada) == 30


def test_asking_with_a_bounty_through_the_composer(client, login, qa_board, rich, english):
    ada = rich("ada", 40)
    login(client, ada)
    form = _html(client.get(f"/b/{qa_board.slug}/new?kind=question"))
    assert "Bounty (points, optional)" in form and "data-qa-similar" in form
    refused = client.post(
        f"/b/{qa_board.slug}/new",
        data={
            "kind": "question",
            "title": "Which insoles?",
            "body": "Flat feet.",
            "kind_bounty": "90",
        },  # fmt: skip
    )
    assert refused.status_code == 200 and "You have only 40 points" in _html(refused)
    assert db.session.query(Question).count() == 0
    done = client.post(
        f"/b/{qa_board.slug}/new",
        data={
            "kind": "question",
            "title": "Which insoles?",
            "body": "Flat feet.",
            "kind_bounty": "25",
        },  # fmt: skip
    )
    assert done.status_code == 302
    assert points.balance(ada) == 15


def test_board_filters(client, qa_board, ask, rich, make_member, english):
    ada, bob = rich("ada", 100), make_member("bob")
    unanswered = ask(ada, title="Nobody answered yet")
    solved = ask(ada, title="Already solved")
    with_bounty = ask(ada, title="Worth a bounty", bounty=20)
    answer = posting.reply(bob, solved, "Here.")
    posting.reply(bob, with_bounty, "Maybe.")
    services.accept(ada, answer.id)
    page = _html(client.get(f"/b/{qa_board.slug}"))
    assert "Unanswered" in page and "With bounty" in page
    titles = {
        name: _html(client.get(f"/b/{qa_board.slug}?filter={name}"))
        for name in ("qa_unanswered", "qa_unsolved", "qa_solved", "qa_bounty")
    }
    assert unanswered.title in titles["qa_unanswered"]
    assert solved.title not in titles["qa_unanswered"]
    assert solved.title in titles["qa_solved"] and with_bounty.title not in titles["qa_solved"]
    assert solved.title not in titles["qa_unsolved"] and with_bounty.title in titles["qa_unsolved"]
    assert with_bounty.title in titles["qa_bounty"] and unanswered.title not in titles["qa_bounty"]
    assert client.get(f"/b/{qa_board.slug}?filter=nonsense").status_code == 404


def test_similar_questions_come_from_search(client, ask, make_member, login):
    ada = make_member("ada")
    ask(ada, title="Trail shoes for muddy races")
    ask(ada, title="Best rain jacket")
    login(client, make_member("bob"))
    data = client.get("/qa/similar?q=muddy trail shoes").get_json()
    assert [r["title"] for r in data["results"]] == ["Trail shoes for muddy races"]
    assert client.get("/qa/similar?q=").get_json() == {"results": []}
    assert client.get("/qa/similar?q=" + "(" * 5).get_json() == {"results": []}


def test_accepted_answers_on_trust_cards_and_the_profile(client, scene, english):
    services.accept(scene["ada"], scene["first"].id)
    html = _html(client.get(f"/t/{scene['thread'].id}"))
    assert "Accepted answers" in html
    profile = _html(client.get("/u/bob"))
    assert "Accepted answers" in profile


def test_disabling_hides_the_features_and_keeps_the_data(
    client, scene, qa_board, enable_plugin, english
):
    thread = scene["thread"]
    services.accept(scene["ada"], scene["second"].id)
    enable_plugin("qa", disable=True)
    html = _html(client.get(f"/t/{thread.id}"))
    assert "Accepted answer" not in html and "/qa/vote/" not in html and "Bounty" not in html
    assert _order_of(html) == [1, 2, 3]  # plain discussion order
    assert client.get("/qa/similar?q=shoes").status_code == 404
    assert client.post(f"/qa/vote/{scene['first'].id}", data={"value": "1"}).status_code == 404
    assert "filter=qa_" not in _html(client.get(f"/b/{qa_board.slug}"))
    assert db.session.get(Question, thread.id).accepted_post_id == scene["second"].id
    enable_plugin("qa")
    html = _html(client.get(f"/t/{thread.id}"))
    assert "Accepted answer" in html and _order_of(html) == [1, 3, 2]


def test_question_page_queries_do_not_grow_with_answers_and_votes(
    client, login, ask, make_member, count_queries
):
    ada = make_member("ada")
    voters = [make_member(f"voter{i}") for i in range(4)]
    thread = ask(ada)

    def answer(n: int) -> None:
        for i in range(n):
            author = make_member(f"author{thread.reply_count}_{i}")
            post = posting.reply(author, thread, f"Answer {i}.")
            for voter in voters[: 1 + i % 4]:
                services.vote(voter, post.id, 1 if i % 3 else -1)
            db.session.refresh(thread)

    login(client, voters[0])
    answer(2)
    client.get(f"/t/{thread.id}")  # warm the caches of the worker
    with count_queries() as few:
        assert client.get(f"/t/{thread.id}").status_code == 200
    answer(6)
    client.get(f"/t/{thread.id}")  # the read mark moves on once, as it did before
    with count_queries() as many:
        assert client.get(f"/t/{thread.id}").status_code == 200
    assert few.count <= 14, few.statements
    assert many.count == few.count, (
        [q[:120] for q in many.statements if q not in few.statements]
        + ["--"]
        + [q[:120] for q in few.statements if q not in many.statements]
    )


def test_the_owner_edits_the_settings(client, login, qa, make_member, english):
    login(client, make_member("owner", groups=("admin",)))
    page = client.get("/admin/plugins/qa").get_data(as_text=True)
    assert "Smallest bounty (points)" in page and "Refund the asker" in page
    response = client.post(
        "/admin/plugins/qa",
        data={
            "accept_change_hours": "2",
            "bounty_min": "5",
            "bounty_days": "3",
            "bounty_expiry": "refund",
            "bounty_min_score": "0",
            "rep_accepted": "10",
            "rep_upvote": "1",
        },  # fmt: skip
    )
    assert response.status_code in (200, 302)
    from forum.plugin_api import plugin_settings

    assert plugin_settings("qa")["bounty_min"] == 5
    assert plugin_settings("qa")["bounty_expiry"] == "refund"


def test_guests_cached_page_follows_votes_and_acceptance(client, scene):
    thread = scene["thread"]
    assert _order_of(_html(client.get(f"/t/{thread.id}"))) == [1, 3, 2]
    services.vote(scene["ada"], scene["first"].id, 1)
    services.vote(scene["cy"], scene["first"].id, 1)  # bob's answer now has 2, cy's 1
    assert _order_of(_html(client.get(f"/t/{thread.id}"))) == [1, 2, 3]
    services.accept(scene["ada"], scene["second"].id)
    assert _order_of(_html(client.get(f"/t/{thread.id}"))) == [1, 3, 2]
