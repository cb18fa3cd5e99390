"""Likes on posts (``POST /p/<id>/like`` and ``/p/<id>/unlike``) and the trust card's HTML.

The like buttons are ordinary forms (CSRF token, redirect back to the post), so they work
without JavaScript; the theme's ``likes.js`` sends the same forms with ``fetch`` and asks for
JSON (``Accept: application/json``) to update the button in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup

from forum.models import Member, Post
from forum.services import likes, reading, trust
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.forms import ActionForm
from forum.web.util import config_limit, viewer

bp = Blueprint("likes", __name__)

TRUST_CARD_TEMPLATE = "_trust_card.html"


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _post_url(post: Post) -> str:
    page = reading.page_of_number(post.number)
    return (
        url_for("main.thread", thread_id=post.thread_id, page=page if page > 1 else None)
        + f"#p{post.number}"
    )


def _act(
    post_id: int, action: Callable[[Member | None, int], Post], liked_after: bool
) -> ResponseReturnValue:
    """Run ``action`` (like or unlike) for the signed-in member; answer JSON or redirect."""
    if not ActionForm().validate_on_submit():
        abort(400)
    member = viewer()
    try:
        post = action(member, post_id)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        if _wants_json():
            return jsonify(error=exc.message), 409
        flash(exc.message, "error")
        return redirect(url_for("main.post", post_id=post_id))
    if _wants_json():
        return jsonify(liked=liked_after, count=post.like_count, post_id=post.id)
    return redirect(_post_url(post))


@bp.route("/p/<int:post_id>/like", methods=["POST"])
@login_required
@config_limit("RATELIMIT_LIKES")
def like(post_id: int) -> ResponseReturnValue:
    """Like a post (once; never your own)."""
    return _act(post_id, likes.like, True)


@bp.route("/p/<int:post_id>/unlike", methods=["POST"])
@login_required
@config_limit("RATELIMIT_LIKES")
def unlike(post_id: int) -> ResponseReturnValue:
    """Take back a like."""
    return _act(post_id, likes.unlike, False)


# -- trust cards -------------------------------------------------------------------------------


def _card_macro(name: str) -> Callable[..., Markup]:
    """The theme's trust-card macro (the template module is built once and cached)."""
    return getattr(current_app.jinja_env.get_template(TRUST_CARD_TEMPLATE).module, name)


def trust_cards_html(authors: Iterable[Any]) -> dict[int, Markup]:
    """author id → the HTML of their compact trust card, for a thread page's post authors.

    Facts are gathered once for all distinct authors (:func:`forum.services.trust.cards`:
    one plugin hook call) and each card is rendered once, however many posts it has.
    """
    macro = _card_macro("trust_card")
    return {mid: macro(facts) for mid, facts in trust.cards(authors).items()}


@bp.app_template_global("trust_card")
def trust_card(member: Any) -> Markup:
    """The HTML of ``member``'s full trust card (the profile page)."""
    return _card_macro("trust_card")(trust.card(member), full=True)
