"""A member's points: balances and the ledger history, newest first.

Members see their own history; administrators see anyone's. Anybody else gets 403 (the
member's profile is public, so hiding that the member exists would hide nothing); guests
are sent to sign in.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from forum.models import Member
from forum.services import members, permissions, points
from forum.web.util import page_arg, viewer

bp = Blueprint("points", __name__)

PER_PAGE = 30


def may_see_points(member: Member) -> bool:
    """May the signed-in viewer see ``member``'s points? Themselves, and administrators."""
    me = viewer()
    return me is not None and (me.id == member.id or permissions.is_admin(me))


@bp.app_template_global("point_balance")
def point_balance(member: Member, currency: str = points.DEFAULT_CURRENCY) -> int:
    """Templates: ``point_balance(member)``, the member's balance (one query)."""
    return points.balance(member, currency)


@bp.app_template_global("may_see_points")
def _may_see_points(member: Member) -> bool:
    return may_see_points(member)


@bp.route("/u/<username>/points")
@login_required
def history(username: str):
    member = members.get_by_username(username)
    if member is None:
        abort(404)
    if not may_see_points(member):
        abort(403)
    page = page_arg()
    currency = request.args.get("currency") or None
    try:
        entries, pages = points.history(member, currency, page, PER_PAGE)
    except ValueError:  # not a currency code
        abort(404)
    if page > pages:
        abort(404)
    return render_template(
        "points/history.html",
        member=member,
        balances=points.balances(member),
        currency=currency,
        entries=entries,
        page=page,
        pages=pages,
        currency_label=points.currency_label,
        reason_label=points.reason_label,
    )
