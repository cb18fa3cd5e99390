"""The Q&A rules: questions, votes, accepted answers, bounties, product questions.

Every write checks who may do it here (not only in the views), refuses bad input with a
:class:`~forum.services.errors.ServiceError` whose message the member reads, and changes
nothing when it refuses. Races are settled by the database: votes and acceptance are
conditional ``UPDATE``s (``… WHERE accepted_post_id IS NULL``), and every movement of points
goes through the ledger (:mod:`forum.services.points`) with an idempotency key, so a bounty
is escrowed once and paid or refunded once.

**Product questions** (for other plugins): a question can be about another plugin's item (a
group-buy campaign, a listing). The item's plugin calls :func:`attach_item` with the
question's thread, the item's source name and id, its title and URL, and the members who
bought it; they are notified and invited to answer, and their answers carry a "bought it"
badge. :func:`questions_for_item` lists the questions about an item for the item's page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Board, Member, Post, Thread
from forum.models.base import utcnow
from forum.plugin_api import plugin_settings
from forum.services import notifications, permissions, points, versions
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.writes import begin_write

from .models import Answer, ItemBuyer, Question, Vote

PLUGIN = "qa"
KIND = "question"
#: The board permission to vote on answers.
VOTE = "qa_vote"
#: ``?order=`` of a question thread: by votes (the default, ``""``) or by time.
ORDER_VOTES = ""
ORDER_TIME = "number"
#: Points ledger reasons.
REASON_BOUNTY = "qa_bounty"
REASON_BOUNTY_REFUND = "qa_bounty_refund"
REASON_ACCEPTED = "qa_accepted"
REASON_UPVOTE = "qa_upvote"


def _settings():
    return plugin_settings(PLUGIN)


def bounty_key(thread_id: int) -> str:
    """The idempotency key of a question's bounty escrow (one bounty per question)."""
    return f"qa:bounty:{thread_id}"


# -- reading --------------------------------------------------------------------------------


def get_question(thread_id: int) -> Question | None:
    """The question row of a thread (None for other threads); one query per request."""
    cache = g.setdefault("qa_questions", {}) if has_request_context() else {}
    if thread_id not in cache:
        cache[thread_id] = db.session.get(Question, thread_id)
    return cache[thread_id]


def _forget(thread_id: int) -> None:
    if has_request_context():
        g.setdefault("qa_questions", {}).pop(thread_id, None)


def thread_id_of_post(post_id: int) -> int | None:
    """The thread of a post (None when there is no such post)."""
    return db.session.execute(select(Post.thread_id).where(Post.id == post_id)).scalar()


def number_of_post(post_id: int) -> int:
    """The number of a post in its thread (1 when there is no such post)."""
    return db.session.execute(select(Post.number).where(Post.id == post_id)).scalar() or 1


def load_question(thread: Thread) -> Question | None:
    """``kind_data`` of a question thread's header template."""
    return get_question(thread.id)


def change_window() -> timedelta | None:
    """How long an accepted answer may still be changed (None: never)."""
    hours = int(_settings()["accept_change_hours"])
    return timedelta(hours=hours) if hours > 0 else None


def can_change_accept(question: Question) -> bool:
    """True while the accepted answer of ``question`` may be replaced by another."""
    if question.accepted_post_id is None:
        return True
    if question.bounty_status == "paid" or question.accepted_at is None:
        return False
    window = change_window()
    return window is not None and utcnow() < question.accepted_at + window


def may_accept(member: Member | None, question: Question, board_id: int) -> bool:
    """True when ``member`` may accept answers to ``question``: its asker or a moderator."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    return member.id == question.asker_id or permissions.is_moderator(member, board_id)


def post_order(thread: Thread, page: int, per_page: int, order: str) -> list[int] | None:
    """``ThreadKind.post_order`` of questions: the question, then the accepted answer, then
    answers by score (ties: oldest first), deleted ones last; None (by number) for the
    "by time" order. Remembers the page for the slots' one query (:func:`page_state`)."""
    first = (page - 1) * per_page + 1
    pages = g.setdefault("qa_pages", {}) if has_request_context() else {}
    if order != ORDER_VOTES:
        pages[thread.id] = ("range", first, first + per_page - 1)
        return None
    rank = case(
        (Post.number == 1, 0),
        (Post.id == Question.accepted_post_id, 1),
        (Post.deleted_at.is_not(None), 3),
        else_=2,
    )
    ids = list(
        db.session.execute(
            select(Post.id)
            .outerjoin(Answer, Answer.post_id == Post.id)
            .outerjoin(Question, Question.thread_id == Post.thread_id)
            .where(Post.thread_id == thread.id)
            .order_by(rank, func.coalesce(Answer.score, 0).desc(), Post.number)
            .limit(per_page)
            .offset(first - 1)
        ).scalars()
    )
    pages[thread.id] = ("ids", ids)
    return ids


@dataclass
class PageState:
    """What the slots of one question page show, loaded in one query for all its posts."""

    scores: dict[int, int] = field(default_factory=dict)
    my_votes: dict[int, int] = field(default_factory=dict)
    buyers: set[int] = field(default_factory=set)


def page_state(thread: Thread, viewer: Member | None) -> PageState:
    """Scores, the viewer's votes and the buyers among the authors of the posts on this
    page of ``thread`` (one query, cached for the request)."""
    cache = g.setdefault("qa_state", {})
    if thread.id in cache:
        return cache[thread.id]
    viewer_id = viewer.id if viewer is not None else 0
    query = (
        select(Post.id, Post.author_id, Answer.score, Vote.value, ItemBuyer.member_id)
        .outerjoin(Answer, Answer.post_id == Post.id)
        .outerjoin(Vote, and_(Vote.post_id == Post.id, Vote.member_id == viewer_id))
        .outerjoin(
            ItemBuyer,
            and_(ItemBuyer.thread_id == Post.thread_id, ItemBuyer.member_id == Post.author_id),
        )
        .where(Post.thread_id == thread.id)
    )
    where = g.get("qa_pages", {}).get(thread.id)
    if where is None:  # not seen by post_order (cannot happen on a thread page): page 1
        where = ("range", 1, 50)
    if where[0] == "ids":
        query = query.where(Post.id.in_(where[1] or [0]))
    else:
        query = query.where(Post.number.between(where[1], where[2]))
    state = PageState()
    for post_id, author_id, score, my_vote, buyer in db.session.execute(query):
        state.scores[post_id] = score or 0
        if my_vote:
            state.my_votes[post_id] = my_vote
        if buyer is not None:
            state.buyers.add(author_id)
    cache[thread.id] = state
    return state


# -- asking ---------------------------------------------------------------------------------


def validate_question(values: dict, member: Member, board: Board) -> dict:
    """``ThreadKind.validate``: a bounty is optional, at least the smallest bounty, and no
    more than the asker's balance (checked again, atomically, when it is escrowed)."""
    amount = values.get("bounty") or 0
    if amount:
        _check_bounty_amount(member, amount)
    values["bounty"] = amount
    return values


def _check_bounty_amount(member: Member, amount: int) -> None:
    smallest = int(_settings()["bounty_min"])
    if amount < smallest:
        raise ServiceError(_("A bounty is at least %(n)d points.", n=smallest), "bounty")
    have = points.balance(member)
    if amount > have:
        raise ServiceError(
            _("You have only %(have)d points: the bounty cannot be %(n)d.", have=have, n=amount),
            "bounty",
        )


def create_question(thread: Thread, post: Post, values: dict) -> None:
    """``ThreadKind.on_create``: the question row and its bounty, inside the thread's
    transaction (the escrow commits with the thread, or neither is saved)."""
    db.session.add(Question(thread_id=thread.id, asker_id=thread.author_id))
    db.session.flush()
    amount = values.get("bounty") or 0
    if amount:
        try:
            _escrow(thread.id, thread.author_id, amount)
        except points.InsufficientBalance:
            db.session.rollback()  # the thread too: nothing is saved
            raise ServiceError(
                _("You do not have enough points for this bounty."), "bounty"
            ) from None


def _escrow(thread_id: int, payer_id: int, amount: int) -> None:
    """Escrow ``amount`` from the payer and mark the question's bounty held (no commit).
    Refused when the question already had a bounty (one per question)."""
    held = points.escrow(
        payer_id,
        amount,
        REASON_BOUNTY,
        bounty_key(thread_id),
        reference=f"qa:question:{thread_id}",
        commit=False,
    )
    deadline = utcnow() + timedelta(days=int(_settings()["bounty_days"]))
    won = db.session.execute(
        update(Question)
        .where(Question.thread_id == thread_id, Question.bounty_status == "")
        .values(
            bounty=amount, bounty_status="held", bounty_escrow_id=held.id, bounty_deadline=deadline
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise ServiceError(_("This question already has a bounty."), "bounty")
    _forget(thread_id)


def _question_thread(thread_id: int, member: Member | None) -> tuple[Thread, Question]:
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.deleted_at is not None or thread.kind != KIND:
        raise NotFound("thread")
    if not permissions.can(member, "read", thread.board_id):
        raise NotFound("thread")
    question = db.session.get(Question, thread_id)
    if question is None:  # asked while the plugin was switched off: adopt it
        question = Question(thread_id=thread.id, asker_id=thread.author_id)
        db.session.add(question)
        db.session.flush()
    return thread, question


def add_bounty(member: Member, thread_id: int, amount: int) -> Question:
    """Put up a bounty on ``member``'s open question later (one per question). Commits.

    Refused (nothing changed, ledger untouched) for someone else's question, a question
    already answered and accepted, a second bounty, too small an amount, or more than the
    member's balance."""
    begin_write()
    try:
        thread, question = _question_thread(thread_id, member)
        if question.asker_id != member.id:
            raise PermissionDenied(_("Only the asker can put up a bounty on this question."))
        if question.accepted_post_id is not None:
            raise ServiceError(_("This question already has an accepted answer."), "bounty")
        if question.bounty_status:
            raise ServiceError(_("This question already has a bounty."), "bounty")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ServiceError(_("Enter a whole number."), "bounty")
        _check_bounty_amount(member, amount)
        try:
            _escrow(thread.id, member.id, amount)
        except points.InsufficientBalance:
            raise ServiceError(
                _("You do not have enough points for this bounty."), "bounty"
            ) from None
        versions.changed("thread", thread.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _forget(thread.id)
    return db.session.get(Question, thread.id)


# -- votes ----------------------------------------------------------------------------------


def _answer_post(post_id: int, member: Member | None) -> tuple[Post, Thread]:
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound("post")
    thread = db.session.get(Thread, post.thread_id)
    if thread is None or thread.kind != KIND or thread.deleted_at is not None:
        raise NotFound("post")
    if not permissions.can(member, "read", thread.board_id):
        raise NotFound("post")
    if post.number == 1:
        raise ServiceError(_("The question itself is not an answer."))
    if post.deleted_at is not None:
        raise ServiceError(_("This answer was deleted."))
    if post.state != "published":
        raise ServiceError(_("This answer is not published."))
    return post, thread


def _ensure_answer(post: Post) -> None:
    """Make the answer's counter row if it has none yet (a concurrent insert is fine)."""
    if db.session.get(Answer, post.id) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                Answer(post_id=post.id, thread_id=post.thread_id, author_id=post.author_id)
            )
    except IntegrityError:
        pass


def vote(member: Member, post_id: int, value: int) -> int:
    """Vote ``value`` (+1 up, -1 down, 0 withdraw) on an answer; returns its new score.

    One vote per member and answer, never on one's own, changeable. The answer's score is
    changed by a relative ``UPDATE`` in the vote's transaction; a vote that changed under us
    (two tabs) is refused with a message. An upvote earns the answer's author the
    ``rep_upvote`` points once per voter and answer. Commits."""
    if value not in (-1, 0, 1):
        raise ServiceError(_("A vote is up or down."))
    begin_write()
    try:
        post, thread = _answer_post(post_id, member)
        if post.author_id == member.id:
            raise ServiceError(_("You cannot vote on your own answer."))
        if not permissions.can(member, VOTE, thread.board_id):
            raise PermissionDenied(_("You may not vote on this board."))
        _ensure_answer(post)
        old = db.session.execute(
            select(Vote.value).where(Vote.post_id == post.id, Vote.member_id == member.id)
        ).scalar()
        if (old or 0) == value:
            raise ServiceError(
                _("You have already voted this way.") if value else _("You have not voted on this.")
            )
        if old is None:
            db.session.add(Vote(post_id=post.id, member_id=member.id, value=value))
            db.session.flush()
        elif value == 0:
            gone = db.session.execute(
                delete(Vote).where(
                    Vote.post_id == post.id, Vote.member_id == member.id, Vote.value == old
                )
            ).rowcount
            if gone != 1:
                raise ServiceError(_("Your vote changed meanwhile; please try again."))
        else:
            changed = db.session.execute(
                update(Vote)
                .where(Vote.post_id == post.id, Vote.member_id == member.id, Vote.value == old)
                .values(value=value)
            ).rowcount
            if changed != 1:
                raise ServiceError(_("Your vote changed meanwhile; please try again."))
        old = old or 0
        up = (value == 1) - (old == 1)
        down = (value == -1) - (old == -1)
        db.session.execute(
            update(Answer)
            .where(Answer.post_id == post.id)
            .values(score=Answer.score + (value - old), up=Answer.up + up, down=Answer.down + down)
            .execution_options(synchronize_session=False)
        )
        reward = int(_settings()["rep_upvote"])
        if value == 1 and reward > 0:
            points.award(
                post.author_id,
                reward,
                REASON_UPVOTE,
                f"qa:upvote:{post.id}:{member.id}",
                reference=f"qa:answer:{post.id}",
                commit=False,
            )
        versions.changed("thread", thread.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return db.session.execute(select(Answer.score).where(Answer.post_id == post_id)).scalar_one()


# -- accepting ------------------------------------------------------------------------------


def accept(member: Member, post_id: int) -> Question:
    """Accept an answer: the asker or a moderator of the board. Commits.

    The first acceptance pays a held bounty to the answer's author (released from the
    escrow under the question's key) and gives them the ``rep_accepted`` points; both happen
    in the acceptance's transaction. Another answer may be accepted instead within the
    ``accept_change_hours`` window, unless a bounty was paid. Refused with nothing changed:
    someone else's question, a deleted answer, the answer already accepted, a change after
    the window, an acceptance that lost a race with another one."""
    begin_write()
    try:
        post, thread = _answer_post(post_id, member)
        _thread, question = _question_thread(thread.id, member)
        if not may_accept(member, question, thread.board_id):
            raise PermissionDenied(_("Only the asker or a moderator can accept an answer."))
        previous = question.accepted_post_id
        if previous == post.id:
            raise ServiceError(_("This answer is already accepted."))
        if previous is not None and not can_change_accept(question):
            raise ServiceError(_("The accepted answer can no longer be changed."))
        paying = question.bounty_status == "held" and previous is None
        if paying and post.author_id == question.asker_id:
            raise ServiceError(_("Your bounty cannot go to your own answer."))
        now = utcnow()
        condition = (
            Question.accepted_post_id.is_(None)
            if previous is None
            else Question.accepted_post_id == previous
        )
        won = db.session.execute(
            update(Question)
            .where(Question.thread_id == thread.id, condition)
            .values(accepted_post_id=post.id, accepted_at=now, accepted_by_id=member.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            raise ServiceError(_("Another answer was accepted a moment ago."))
        bounty = 0
        if paying:
            bounty = _pay_bounty(question, post)
        reward = int(_settings()["rep_accepted"])
        if reward > 0 and post.author_id != question.asker_id:
            points.award(
                post.author_id,
                reward,
                REASON_ACCEPTED,
                f"qa:accepted:{post.id}",
                reference=f"qa:answer:{post.id}",
                commit=False,
            )
        notifications.notify(
            post.author_id,
            "qa.accepted",
            actor_id=member.id,
            thread_id=thread.id,
            post_id=post.id,
            title=thread.title,
            url=f"/p/{post.id}",
            data={"bounty": bounty},
        )
        versions.changed("thread", thread.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _forget(thread.id)
    db.session.expire_all()
    return db.session.get(Question, thread.id)


def _pay_bounty(question: Question, post: Post) -> int:
    """Release the held bounty to ``post``'s author and mark it paid (no commit)."""
    won = db.session.execute(
        update(Question)
        .where(Question.thread_id == question.thread_id, Question.bounty_status == "held")
        .values(bounty_status="paid", bounty_post_id=post.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise ServiceError(_("The bounty was settled a moment ago."))
    held = points.get_escrow(question.bounty_escrow_id)
    points.release(
        held,
        post.author_id,
        f"{bounty_key(question.thread_id)}:paid",
        reference=f"qa:answer:{post.id}",
        commit=False,
    )
    return held.amount


def expire_bounties() -> int:
    """The periodic job: settle the bounties whose deadline passed without an accepted
    answer. With ``bounty_expiry = award`` the top-voted answer scoring at least
    ``bounty_min_score`` (not the asker's, not deleted) gets it; otherwise it goes back to
    the asker. Each question in its own transaction; returns how many were settled."""
    now = utcnow()
    due = list(
        db.session.execute(
            select(Question.thread_id).where(
                Question.bounty_status == "held",
                Question.bounty_deadline <= now,
                Question.accepted_post_id.is_(None),
            )
        ).scalars()
    )
    settled = 0
    for thread_id in due:
        try:
            if _settle_expired(thread_id):
                settled += 1
        except ServiceError:
            db.session.rollback()
    return settled


def _settle_expired(thread_id: int) -> bool:
    begin_write()
    question = db.session.get(Question, thread_id)
    if question is None or question.bounty_status != "held" or question.accepted_post_id:
        db.session.rollback()
        return False
    thread = db.session.get(Thread, thread_id)
    winner = None
    # A deleted question's bounty goes back to the asker.
    if _settings()["bounty_expiry"] == "award" and thread is not None and not thread.deleted_at:
        winner = db.session.execute(
            select(Post)
            .join(Answer, Answer.post_id == Post.id)
            .where(
                Post.thread_id == thread_id,
                Post.number > 1,
                Post.deleted_at.is_(None),
                Post.state == "published",
                Post.author_id != question.asker_id,
                Answer.score >= int(_settings()["bounty_min_score"]),
            )
            .order_by(Answer.score.desc(), Post.number)
            .limit(1)
        ).scalar()
    held = points.get_escrow(question.bounty_escrow_id)
    title = thread.title if thread is not None else ""
    if winner is not None:
        _pay_bounty(question, winner)
        notifications.notify(
            winner.author_id,
            "qa.bounty_awarded",
            thread_id=thread_id,
            post_id=winner.id,
            title=title or "",
            url=f"/p/{winner.id}",
            data={"bounty": held.amount},
        )
    else:
        won = db.session.execute(
            update(Question)
            .where(Question.thread_id == thread_id, Question.bounty_status == "held")
            .values(bounty_status="refunded")
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db.session.rollback()
            return False
        points.refund(
            held, f"{bounty_key(thread_id)}:refund", reason=REASON_BOUNTY_REFUND, commit=False
        )
        notifications.notify(
            question.asker_id,
            "qa.bounty_refunded",
            thread_id=thread_id,
            title=title or "",
            url=f"/t/{thread_id}",
            data={"bounty": held.amount},
        )
    versions.changed("thread", thread_id)
    db.session.commit()
    return True


# -- product questions ----------------------------------------------------------------------


def attach_item(
    thread: Thread | int,
    *,
    source: str,
    item_id: str | int,
    title: str,
    url: str,
    buyer_ids: Iterable[int] = (),
) -> list[int]:
    """Attach a question to another plugin's item and invite the members who bought it.

    ``source`` names the item's plugin (``"groupbuy"``), ``item_id`` the item there;
    ``title`` and ``url`` are shown on the question ("About: …"). Each member of
    ``buyer_ids`` (except the asker, and those invited before) gets a ``qa.invite``
    notification and a "bought it" badge on their answers. Call it again to name more
    buyers. Commits; returns the ids of the members newly invited. Raises
    :class:`~forum.services.errors.ServiceError` for a thread that is not a question, or
    one already about another item."""
    thread_id = thread if isinstance(thread, int) else thread.id
    source, item_id = str(source).strip(), str(item_id).strip()
    if not source or not item_id or len(source) > 40 or len(item_id) > 80:
        raise ServiceError(_("Name the item's source and id."))
    begin_write()
    try:
        row = db.session.get(Thread, thread_id)
        question = db.session.get(Question, thread_id)
        if row is None or row.kind != KIND or question is None:
            raise ServiceError(_("Only questions can be about an item."))
        if question.item_source and (question.item_source, question.item_id) != (source, item_id):
            raise ServiceError(_("This question is already about another item."))
        question.item_source, question.item_id = source, item_id
        question.item_title, question.item_url = str(title)[:200], str(url)[:300]
        wanted = {int(m) for m in buyer_ids} - {question.asker_id}
        known = set(
            db.session.execute(
                select(ItemBuyer.member_id).where(ItemBuyer.thread_id == thread_id)
            ).scalars()
        )
        new = sorted(wanted - known)
        if new:
            existing = set(
                db.session.execute(select(Member.id).where(Member.id.in_(new))).scalars()
            )
            new = [m for m in new if m in existing]
        if new:
            db.session.execute(
                insert(ItemBuyer), [{"thread_id": thread_id, "member_id": m} for m in new]
            )
            notifications.notify_many(
                new,
                "qa.invite",
                actor_id=question.asker_id,
                thread_id=thread_id,
                title=row.title,
                url=f"/t/{thread_id}",
                data={"item": question.item_title},
            )
        versions.changed("thread", thread_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _forget(thread_id)
    return new


def questions_for_item(source: str, item_id: str | int, limit: int = 20) -> list[Thread]:
    """The (not deleted) questions about an item, newest first, for the item's page."""
    return list(
        db.session.execute(
            select(Thread)
            .join(Question, Question.thread_id == Thread.id)
            .where(
                Question.item_source == str(source),
                Question.item_id == str(item_id),
                Thread.deleted_at.is_(None),
                Thread.held.is_(False),
            )
            .order_by(Thread.created_at.desc())
            .limit(limit)
        ).scalars()
    )


# -- reputation and lists -------------------------------------------------------------------


def accepted_counts(member_ids: Sequence[int]) -> dict[int, int]:
    """member id → how many of their answers are accepted (one query)."""
    if not member_ids:
        return {}
    return dict(
        db.session.execute(
            select(Post.author_id, func.count())
            .join(Question, Question.accepted_post_id == Post.id)
            .where(Post.author_id.in_(list(member_ids)), Post.deleted_at.is_(None))
            .group_by(Post.author_id)
        ).all()
    )


def upvote_counts(member_ids: Sequence[int]) -> dict[int, int]:
    """member id → upvotes their answers received (one query)."""
    if not member_ids:
        return {}
    return {
        member_id: int(total)
        for member_id, total in db.session.execute(
            select(Answer.author_id, func.sum(Answer.up))
            .where(Answer.author_id.in_(list(member_ids)))
            .group_by(Answer.author_id)
        ).all()
        if total
    }


#: The board filters: name → a function of the SQL condition on Thread.
def filter_conditions() -> dict[str, object]:
    """Conditions of the board filters (on :class:`~forum.models.Thread`)."""
    is_question = Thread.kind == KIND
    return {
        "qa_unanswered": lambda: is_question & (Thread.reply_count == 0),
        "qa_unsolved": lambda: (
            is_question
            & Thread.id.in_(select(Question.thread_id).where(Question.accepted_post_id.is_(None)))
        ),
        "qa_solved": lambda: (
            is_question
            & Thread.id.in_(
                select(Question.thread_id).where(Question.accepted_post_id.is_not(None))
            )
        ),
        "qa_bounty": lambda: (
            is_question
            & Thread.id.in_(select(Question.thread_id).where(Question.bounty_status == "held"))
        ),
    }


def similar_questions(viewer: Member | None, title: str, limit: int = 5) -> list[dict]:
    """Questions whose titles match the words of ``title``, for the composer (from search;
    only boards the viewer may read). An unsearchable title gives an empty list."""
    from forum import search

    title = (title or "").strip()[:200]
    if len(title) < 2:
        return []
    try:
        found = search.search_posts(
            viewer,
            title,
            search.make_filters(viewer, kind=KIND, titles_only=True),
            per_page=limit,
        )
    except ServiceError:
        return []
    seen: set[int] = set()
    results = []
    for hit in found.results:
        if hit.thread_id in seen:
            continue
        seen.add(hit.thread_id)
        results.append({"title": hit.title.striptags(), "url": f"/t/{hit.thread_id}"})
    return results
