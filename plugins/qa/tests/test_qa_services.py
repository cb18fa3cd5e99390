"""The Q&A rules without HTTP: questions, bounties, votes, acceptance, the deadline job."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from forum_plugins.qa import services
from forum_plugins.qa.models import Answer, Question, Vote
from sqlalchemy import func, select, update

from forum import jobs
from forum.extensions import db
from forum.models import PointEntry, PointEscrow
from forum.models.base import utcnow
from forum.services import plugin_state, points, posting
from forum.services.errors import PermissionDenied, ServiceError


def _ledger() -> tuple:
    """Everything the ledger holds: entries, escrows and their states."""
    entries = db.session.execute(
        select(PointEntry.member_id, PointEntry.delta, PointEntry.idempotency_key).order_by(
            PointEntry.id
        )
    ).all()
    escrows = db.session.execute(
        select(PointEscrow.id, PointEscrow.status, PointEscrow.recipient_id)
    ).all()
    return entries, escrows


def _question(thread) -> Question:
    db.session.expire_all()
    return db.session.get(Question, thread.id)


def test_asking_makes_a_question_and_escrows_the_bounty(ask, rich):
    ada = rich("ada", 100)
    thread = ask(ada, bounty=30)
    question = _question(thread)
    assert thread.kind == "question"
    assert question.asker_id == ada.id
    assert (question.bounty, question.bounty_status) == (30, "held")
    assert question.bounty_deadline > utcnow() + timedelta(days=6)
    assert points.balance(ada) == 70
    held = points.get_escrow(question.bounty_escrow_id)
    assert (held.amount, held.status, held.payer_id) == (30, "held", ada.id)


def test_a_bounty_over_the_balance_is_refused_and_nothing_saved(ask, rich, english):
    ada = rich("ada", 20)
    before = _ledger()
    with pytest.raises(ServiceError) as refused:
        ask(ada, title="Too rich", bounty=50)
    assert refused.value.field == "bounty"
    assert "only 20 points" in refused.value.message
    assert _ledger() == before
    assert db.session.execute(select(func.count()).select_from(Question)).scalar() == 0
    assert points.balance(ada) == 20


def test_a_bounty_below_the_smallest_is_refused(ask, rich, english):
    ada = rich("ada", 100)
    with pytest.raises(ServiceError, match="at least 10"):
        ask(ada, bounty=5)
    assert points.balance(ada) == 100


def test_a_bounty_later_only_by_the_asker_once(ask, rich, english):
    ada, bob = rich("ada", 100), rich("bob", 100)
    thread = ask(ada)
    before = _ledger()
    with pytest.raises(PermissionDenied):
        services.add_bounty(bob, thread.id, 20)
    with pytest.raises(ServiceError, match="only 100 points"):
        services.add_bounty(ada, thread.id, 500)
    assert _ledger() == before
    question = services.add_bounty(ada, thread.id, 40)
    assert (question.bounty, question.bounty_status) == (40, "held")
    assert points.balance(ada) == 60
    with pytest.raises(ServiceError, match="already has a bounty"):
        services.add_bounty(ada, thread.id, 10)
    assert points.balance(ada) == 60


def test_votes_one_per_member_changeable_and_counted(ask, make_member, english):
    ada, bob, cy, dan = (make_member(n) for n in ("ada", "bob", "cy", "dan"))
    thread = ask(ada)
    answer = posting.reply(bob, thread, "Double knot them.")
    assert services.vote(cy, answer.id, 1) == 1
    assert services.vote(dan, answer.id, 1) == 2
    with pytest.raises(ServiceError, match="already voted"):
        services.vote(cy, answer.id, 1)
    assert services.vote(cy, answer.id, -1) == 0  # changed: +1 → -1
    row = db.session.get(Answer, answer.id)
    db.session.refresh(row)
    assert (row.score, row.up, row.down) == (0, 1, 1)
    assert services.vote(cy, answer.id, 0) == 1  # withdrawn
    assert db.session.get(Vote, (answer.id, cy.id)) is None


def test_voting_on_your_own_answer_or_the_question_is_refused(ask, make_member, english):
    ada, bob = make_member("ada"), make_member("bob")
    thread = ask(ada)
    answer = posting.reply(bob, thread, "Mine.")
    before = _ledger()
    with pytest.raises(ServiceError, match="your own answer"):
        services.vote(bob, answer.id, 1)
    with pytest.raises(ServiceError, match="not an answer"):
        services.vote(bob, thread.first_post_id, 1)
    with pytest.raises(ServiceError, match="up or down"):
        services.vote(ada, answer.id, 5)
    assert _ledger() == before
    assert db.session.execute(select(func.count()).select_from(Vote)).scalar() == 0


def test_votes_need_the_permission(ask, make_member, make_board, english, qa):
    ada, bob, cy = make_member("ada"), make_member("bob"), make_member("cy")
    thread = ask(ada)
    answer = posting.reply(bob, thread, "An answer.")
    from forum.services import permissions

    permissions.set_board_permissions(
        thread.board_id,
        {permissions.group_id("member"): ("view", "read", "start_thread", "reply")},
    )
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.vote(cy, answer.id, 1)


def test_upvotes_give_reputation_once_per_voter(ask, make_member):
    ada, bob, cy = make_member("ada"), make_member("bob"), make_member("cy")
    thread = ask(ada)
    answer = posting.reply(bob, thread, "Answer.")
    services.vote(cy, answer.id, 1)
    services.vote(cy, answer.id, 0)
    services.vote(cy, answer.id, 1)  # again: no second reward
    assert points.balance(bob) == 2


def test_accept_pays_the_bounty_and_reputation(ask, rich, make_member):
    ada, bob = rich("ada", 100), make_member("bob")
    thread = ask(ada, bounty=30)
    answer = posting.reply(bob, thread, "Answer.")
    question = services.accept(ada, answer.id)
    assert question.accepted_post_id == answer.id
    assert (question.bounty_status, question.bounty_post_id) == ("paid", answer.id)
    assert points.balance(bob) == 30 + 15
    assert points.get_escrow(question.bounty_escrow_id).status == "released"
    reasons = [e.reason for e in points.history(bob)[0]]
    assert set(reasons) == {"qa_bounty", "qa_accepted"}


def test_only_the_asker_or_a_moderator_accepts(ask, rich, make_member, english):
    ada, bob, cy = rich("ada", 100), make_member("bob"), make_member("cy")
    mod = make_member("mia", groups=("moderator",))
    thread = ask(ada, bounty=20)
    answer = posting.reply(bob, thread, "Answer.")
    before = _ledger()
    with pytest.raises(PermissionDenied, match="asker or a moderator"):
        services.accept(cy, answer.id)
    assert _ledger() == before
    assert _question(thread).accepted_post_id is None
    services.accept(mod, answer.id)
    assert _question(thread).accepted_by_id == mod.id


def test_accepting_a_deleted_answer_is_refused(ask, rich, make_member, english):
    ada, bob = rich("ada", 100), make_member("bob")
    thread = ask(ada, bounty=20)
    answer = posting.reply(bob, thread, "Answer.")
    posting.delete_post(bob, answer)
    before = _ledger()
    with pytest.raises(ServiceError, match="deleted"):
        services.accept(ada, answer.id)
    assert _ledger() == before
    assert _question(thread).bounty_status == "held"


def test_accept_changes_within_the_window_but_never_after_a_bounty(ask, rich, make_member, english):
    ada, bob, cy = rich("ada", 100), make_member("bob"), make_member("cy")
    thread = ask(ada)
    first = posting.reply(bob, thread, "One.")
    second = posting.reply(cy, thread, "Two.")
    services.accept(ada, first.id)
    with pytest.raises(ServiceError, match="already accepted"):
        services.accept(ada, first.id)
    services.accept(ada, second.id)
    assert _question(thread).accepted_post_id == second.id
    db.session.execute(
        update(Question)
        .where(Question.thread_id == thread.id)
        .values(accepted_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    with pytest.raises(ServiceError, match="no longer be changed"):
        services.accept(ada, first.id)
    paid = ask(ada, title="With a bounty", bounty=10)
    one = posting.reply(bob, paid, "One.")
    two = posting.reply(cy, paid, "Two.")
    services.accept(ada, one.id)
    before = _ledger()
    with pytest.raises(ServiceError, match="no longer be changed"):
        services.accept(ada, two.id)
    assert _ledger() == before


def test_no_window_when_the_setting_is_zero(ask, make_member, english):
    plugin_state.save_settings("qa", {"accept_change_hours": "0"})
    ada, bob, cy = make_member("ada"), make_member("bob"), make_member("cy")
    thread = ask(ada)
    first = posting.reply(bob, thread, "One.")
    second = posting.reply(cy, thread, "Two.")
    services.accept(ada, first.id)
    with pytest.raises(ServiceError, match="no longer be changed"):
        services.accept(ada, second.id)


def test_the_bounty_never_goes_to_the_askers_own_answer(ask, rich, english):
    ada = rich("ada", 100)
    thread = ask(ada, bounty=10)
    mine = posting.reply(ada, thread, "Found it myself.")
    with pytest.raises(ServiceError, match="your own answer"):
        services.accept(ada, mine.id)
    assert points.balance(ada) == 90


def test_answers_are_ordered_accepted_first_then_by_score(app, ask, make_member):
    ada, bob, cy, dan = (make_member(n) for n in ("ada", "bob", "cy", "dan"))
    thread = ask(ada)
    low = posting.reply(bob, thread, "Low.")
    high = posting.reply(cy, thread, "High.")
    best = posting.reply(dan, thread, "Best.")
    services.vote(bob, high.id, 1)
    services.vote(dan, high.id, 1)
    services.vote(cy, low.id, -1)
    services.accept(ada, best.id)
    with app.test_request_context("/"):
        ids = services.post_order(thread, 1, 20, "")
        assert ids == [thread.first_post_id, best.id, high.id, low.id]
        assert services.post_order(thread, 1, 20, "number") is None
        assert services.post_order(thread, 2, 2, "") == [high.id, low.id]


def _age_bounty(thread) -> None:
    db.session.execute(
        update(Question)
        .where(Question.thread_id == thread.id)
        .values(bounty_deadline=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def test_deadline_awards_the_top_voted_answer_above_the_minimum(ask, rich, make_member):
    ada, bob, cy = rich("ada", 100), make_member("bob"), make_member("cy")
    thread = ask(ada, bounty=25)
    answer = posting.reply(bob, thread, "Answer.")
    services.vote(cy, answer.id, 1)
    _age_bounty(thread)
    assert jobs.run_periodic_now("qa-expire-bounties") == "ran"
    question = _question(thread)
    assert (question.bounty_status, question.bounty_post_id) == ("paid", answer.id)
    assert points.balance(bob) == 25 + 2  # the bounty and the upvote's reputation
    assert question.accepted_post_id is None
    assert services.expire_bounties() == 0  # settled once


def test_deadline_refunds_when_no_answer_qualifies(ask, rich, make_member):
    ada, bob = rich("ada", 100), make_member("bob")
    thread = ask(ada, bounty=25)
    posting.reply(bob, thread, "Unvoted answer.")  # score 0 < minimum 1
    _age_bounty(thread)
    assert services.expire_bounties() == 1
    assert _question(thread).bounty_status == "refunded"
    assert points.balance(ada) == 100
    assert points.balance(bob) == 0


def test_deadline_refunds_when_the_setting_says_so(ask, rich, make_member):
    plugin_state.save_settings("qa", {"bounty_expiry": "refund"})
    ada, bob, cy = rich("ada", 100), make_member("bob"), make_member("cy")
    thread = ask(ada, bounty=25)
    answer = posting.reply(bob, thread, "Answer.")
    services.vote(cy, answer.id, 1)
    _age_bounty(thread)
    services.expire_bounties()
    assert _question(thread).bounty_status == "refunded"
    assert points.balance(ada) == 100


def test_the_deadline_job_is_skipped_while_disabled(ask, rich, enable_plugin):
    ada = rich("ada", 100)
    thread = ask(ada, bounty=25)
    _age_bounty(thread)
    enable_plugin("qa", disable=True)
    assert jobs.run_periodic_now("qa-expire-bounties") == "skipped"
    assert _question(thread).bounty_status == "held"


@pytest.mark.postgres
def test_concurrent_accepts_pay_the_bounty_once(app, ask, rich, make_member, database_kind):
    """Two requests accept two different answers at the same moment (two connections)."""
    if database_kind != "postgres":
        pytest.skip("a real two-connection race needs PostgreSQL")
    ada = rich("ada", 100)
    mod = make_member("mia", groups=("moderator",))
    bob, cy = make_member("bob"), make_member("cy")
    thread = ask(ada, bounty=40)
    answers = [posting.reply(bob, thread, "Bob's."), posting.reply(cy, thread, "Cy's.")]
    ids = [a.id for a in answers]
    actors = [ada.id, mod.id]
    bob_id, cy_id, thread_id = bob.id, cy.id, thread.id
    db.session.remove()
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def run(actor_id: int, post_id: int) -> None:
        with app.app_context():
            from forum.models import Member

            member = db.session.get(Member, actor_id)
            barrier.wait()
            try:
                services.accept(member, post_id)
                outcome.append("accepted")
            except ServiceError as exc:  # worded in the site's language here
                outcome.append(f"refused: {type(exc).__name__}: {exc.message}")
            finally:
                db.session.remove()

    workers = [threading.Thread(target=run, args=pair) for pair in zip(actors, ids, strict=True)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
    assert len(outcome) == 2 and outcome.count("accepted") == 1, outcome
    assert [o for o in outcome if o != "accepted"][0].startswith("refused: ServiceError: ")
    question = db.session.get(Question, thread_id)
    winner = question.accepted_post_id
    assert question.bounty_post_id == winner and question.bounty_status == "paid"
    paid = db.session.execute(
        select(PointEntry.member_id, PointEntry.delta).where(PointEntry.reason == "qa_bounty")
    ).all()
    assert sorted(d for _m, d in paid) == [-40, 40]
    assert points.balance(bob_id) + points.balance(cy_id) == 40 + 15
    assert points.verify() == []


def test_a_deleted_questions_bounty_goes_back_at_the_deadline(ask, rich, make_member):
    ada, bob, cy = rich("ada", 100), make_member("bob"), make_member("cy")
    mia = make_member("mia", groups=("moderator",))
    thread = ask(ada, bounty=25)
    answer = posting.reply(bob, thread, "Answer.")
    services.vote(cy, answer.id, 1)
    posting.delete_thread(mia, thread)
    _age_bounty(thread)
    assert services.expire_bounties() == 1
    assert _question(thread).bounty_status == "refunded"
    assert points.balance(ada) == 100
