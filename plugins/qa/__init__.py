"""Q&A: questions and answers, votes, accepted answers, bounties, product questions.

Shequn's first bundled plugin (issue 7), built only on hooks and public services:

- a ``question`` thread kind (boards allow it in the admin area); the first post is the
  question, the replies are answers, shown accepted first, then by score (``?order=number``:
  by time), through ``ThreadKind.post_order``;
- votes on answers (up/down, one per member, not one's own, changeable), the accepted answer
  (the asker or a moderator; changeable within ``accept_change_hours``);
- bounties escrowed in the points ledger, paid on acceptance, settled at their deadline by
  the periodic job ``qa-expire-bounties`` (award the top-voted answer or refund);
- board filters (unanswered, unsolved, solved, with bounty), similar questions while a title
  is typed, product questions (:func:`forum_plugins.qa.services.attach_item`), reputation
  points and an "accepted answers" fact on trust cards.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from forum.jobs import PeriodicJob
from forum.plugin_api import (
    BoardFilter,
    KindField,
    NotificationKind,
    Permission,
    PluginMeta,
    Setting,
    ThreadKind,
    TrustFact,
    hookimpl,
)
from forum.services import points

from . import services
from .views import bp

META = PluginMeta(
    label="Q&A",
    description="Questions and answers: votes, accepted answers, bounties in points, "
    "product questions answered by buyers.",
    version="0.1.0",
    author="Shequn",
    min_core_version="0.1.0",
)

points.register_reason(services.REASON_BOUNTY, _l("Bounty on a question"))
points.register_reason(services.REASON_BOUNTY_REFUND, _l("Bounty returned"))
points.register_reason(services.REASON_ACCEPTED, _l("Answer accepted"))
points.register_reason(services.REASON_UPVOTE, _l("Answer upvoted"))


@hookimpl
def forum_blueprints() -> list:
    """Vote, accept, bounty and similar-questions endpoints under /qa/."""
    return [bp]


@hookimpl
def forum_permissions() -> list[Permission]:
    """Voting on answers is a board permission (members and moderators by default)."""
    return [
        Permission(
            services.VOTE,
            _l("Vote on answers"),
            grants=("member", "moderator"),
            description=_l("Vote answers to questions up or down."),
        )
    ]


@hookimpl
def forum_settings() -> list[Setting]:
    """Acceptance window, bounty rules and reputation points."""
    return [
        Setting(
            "accept_change_hours",
            "int",
            24,
            _l("Hours to change the accepted answer"),
            help=_l("0: an accepted answer cannot be changed. Never after a bounty is paid."),
            min=0,
            max=24 * 365,
        ),
        Setting("bounty_min", "int", 10, _l("Smallest bounty (points)"), min=1, max=1_000_000),
        Setting("bounty_days", "int", 7, _l("Days until a bounty's deadline"), min=1, max=90),
        Setting(
            "bounty_expiry",
            "choice",
            "award",
            _l("At the deadline, without an accepted answer"),
            choices=[
                ("award", _l("Award the top-voted answer (or refund when none qualifies)")),
                ("refund", _l("Refund the asker")),
            ],
        ),
        Setting(
            "bounty_min_score",
            "int",
            1,
            _l("Smallest score to win a bounty at the deadline"),
            min=-1000,
            max=1000,
        ),
        Setting("rep_accepted", "int", 15, _l("Points for an accepted answer"), min=0, max=10_000),
        Setting(
            "rep_upvote",
            "int",
            2,
            _l("Points for an upvote on an answer"),
            help=_l("Once per voter and answer."),
            min=0,
            max=10_000,
        ),
    ]


@hookimpl
def forum_thread_kinds() -> list[ThreadKind]:
    """The ``question`` kind: an optional bounty when asking; answers ordered by votes."""
    return [
        ThreadKind(
            services.KIND,
            _l("Question"),
            description=_l("Ask; answers are voted on and the best one accepted."),
            fields=[
                KindField(
                    "bounty",
                    "int",
                    label=_l("Bounty (points, optional)"),
                    help=_l("Held from your points and paid to the answer you accept."),
                    min=0,
                    max=1_000_000_000,
                )
            ],
            validate=services.validate_question,
            on_create=services.create_question,
            template="qa/question_head.html",
            load=services.load_question,
            post_order=services.post_order,
        )
    ]


def _render_accepted(n: Any) -> str:
    bounty = (n.data or {}).get("bounty") or 0
    if bounty:
        return _(
            "%(actor)s accepted your answer to “%(title)s”: the bounty of %(n)d points is yours.",
            actor=n.actor_name,
            title=n.title,
            n=bounty,
        )
    return _("%(actor)s accepted your answer to “%(title)s”.", actor=n.actor_name, title=n.title)


def _render_invite(n: Any) -> str:
    return _(
        "You bought “%(item)s”: %(actor)s asks “%(title)s”. Can you answer?",
        item=(n.data or {}).get("item", ""),
        actor=n.actor_name,
        title=n.title,
    )


def _render_awarded(n: Any) -> str:
    return _(
        "Your answer to “%(title)s” won the bounty of %(n)d points.",
        title=n.title,
        n=(n.data or {}).get("bounty", 0),
    )


def _render_refunded(n: Any) -> str:
    return _(
        "No answer to “%(title)s” won the bounty: %(n)d points are back with you.",
        title=n.title,
        n=(n.data or {}).get("bounty", 0),
    )


@hookimpl
def forum_notification_kinds() -> list[NotificationKind]:
    """Accepted answers, invitations to buyers, bounties settled at the deadline."""
    return [
        NotificationKind("qa.accepted", _l("Answer accepted"), _render_accepted),
        NotificationKind("qa.invite", _l("Question for buyers"), _render_invite),
        NotificationKind("qa.bounty_awarded", _l("Bounty won"), _render_awarded),
        NotificationKind("qa.bounty_refunded", _l("Bounty returned"), _render_refunded),
    ]


@hookimpl
def forum_periodic_jobs() -> list[PeriodicJob]:
    """Settle expired bounties every ten minutes."""
    return [
        PeriodicJob(
            "qa-expire-bounties",
            services.expire_bounties,
            minute="*/10",
            description="Award or refund the bounties whose deadline passed",
        )
    ]


@hookimpl
def forum_board_filters(board: Any) -> list[BoardFilter] | None:
    """Unanswered, unsolved, solved and bounty tabs on boards that allow questions."""
    if services.KIND not in board.kinds:
        return None
    conditions = services.filter_conditions()
    labels = {
        "qa_unanswered": _("Unanswered"),
        "qa_unsolved": _("Unsolved"),
        "qa_solved": _("Solved"),
        "qa_bounty": _("With bounty"),
    }
    return [BoardFilter(name, labels[name], conditions[name]) for name in labels]


def _csrf() -> str:
    if "qa_csrf" not in g:
        g.qa_csrf = generate_csrf()
    return g.qa_csrf


def _order() -> str:
    order = request.args.get("order", "")
    return services.ORDER_TIME if order == services.ORDER_TIME else services.ORDER_VOTES


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The stylesheet, the order toggle, votes and accept buttons, "bought it" badges and
    the similar-questions box of the composer."""
    if slot == "head":
        return Markup('<link rel="stylesheet" href="{}">').format(
            url_for("qa.static", filename="qa.css")
        )
    if slot == "composer_extra":
        board = context.get("board")
        if context.get("mode") != "thread" or board is None or services.KIND not in board.kinds:
            return None
        return Markup(render_template("qa/similar.html"))
    thread = context.get("thread")
    if thread is None or thread.kind != services.KIND:
        return None
    viewer = context.get("viewer")
    if slot == "thread_header":
        return Markup(render_template("qa/order_toggle.html", thread=thread, order=_order()))
    post = context.get("post")
    if post is None:
        return None
    if slot == "post_author_card":
        state = services.page_state(thread, viewer)
        if post.number > 1 and post.author_id in state.buyers:
            return Markup('<span class="badge qa-bought">{}</span>').format(_("Bought it"))
        return None
    if slot != "post_footer" or post.number == 1:
        return None
    question = services.get_question(thread.id)
    if question is None:
        return None
    state = services.page_state(thread, viewer)
    accepted = question.accepted_post_id == post.id
    live = post.deleted_at is None and post.state == "published"
    can_accept = (
        live
        and not accepted
        and services.may_accept(viewer, question, thread.board_id)
        and services.can_change_accept(question)
    )
    return Markup(
        render_template(
            "qa/answer_footer.html",
            post=post,
            score=state.scores.get(post.id, 0),
            mine=state.my_votes.get(post.id, 0),
            can_vote=live and viewer is not None and viewer.id != post.author_id,
            accepted=accepted,
            can_accept=can_accept,
            changing=question.accepted_post_id is not None,
            order=_order(),
            token=_csrf(),
        )
    )


@hookimpl
def forum_trust_facts(members: list) -> dict[int, list[TrustFact]]:
    """Accepted answers and upvotes received, for every member on the page (two queries)."""
    ids = [m.id for m in members]
    accepted = services.accepted_counts(ids)
    upvotes = services.upvote_counts(ids)
    facts: dict[int, list[TrustFact]] = {}
    for member_id in ids:
        if member_id in accepted:
            facts.setdefault(member_id, []).append(
                TrustFact(
                    _("Accepted answers"),
                    accepted[member_id],
                    _("Answers the askers accepted"),
                    order=110,
                    tone="positive",
                )
            )
        if member_id in upvotes:
            facts.setdefault(member_id, []).append(
                TrustFact(_("Answer upvotes"), upvotes[member_id], order=111)
            )
    return facts


@hookimpl
def forum_search_document(thread: Any) -> dict | None:
    """``qa_solved`` on questions, so search can tell solved ones apart."""
    if thread.kind != services.KIND:
        return None
    question = services.get_question(thread.id)
    return {"qa_solved": bool(question and question.accepted_post_id)}


@hookimpl
def forum_demo_seed(boards: dict, members: dict) -> str | None:
    """A few questions with answers and votes, one solved, one with a bounty."""
    from . import demo

    return demo.seed(boards, members)
