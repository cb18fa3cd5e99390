"""The leader's pages of a campaign (its leader and site admins; 403 for others): the
dashboard (orders with quantities, pickup point or address, payment and fulfilment status,
a status filter; edit, open, cancel; the message to all participants; the commission
statement's totals), the orders as CSV (Excel opens it right: a byte order mark, CRLF),
marking an order picked up or shipped, and the commission statement per order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from forum.extensions import db
from forum.models import Member
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.util import config_limit, page_arg

from . import forms, services
from .blueprint import bp
from .models import GroupOrder
from .views import require_manager

#: The dashboard's status filter: the value of ``?status=`` → its label.
FILTERS = ("", "paid", "reserved", "released", "cancelled")


def _filter_label(value: str) -> str:
    return {
        "": _("All orders"),
        "paid": _("Paid"),
        "reserved": _("Awaiting payment"),
        "released": _("Reservation expired"),
        "cancelled": _("Cancelled"),
    }[value]


def _members(ids: set[int]) -> dict[int, Member]:
    """The members of ``ids`` by id (one query)."""
    if not ids:
        return {}
    rows = db.session.execute(select(Member).where(Member.id.in_(ids))).scalars()
    return {m.id: m for m in rows}


def dashboard_page(
    me: Member,
    campaign: Any,
    *,
    cancel_form: forms.CancelForm | None = None,
    message_form: forms.MessageForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The dashboard of ``campaign`` (also shown again with a refused form's errors)."""
    wanted = (request.args.get("status") or "").strip()
    if wanted not in FILTERS:
        wanted = ""
    orders, pages = services.leader_orders(me, campaign, status=wanted or None, page=page_arg())
    members = _members(
        {o.member_id for o in orders} | {o.invited_by_id for o in orders if o.invited_by_id}
    )
    points = {p.id: p for p in services.pickup_points_of(campaign)}
    statement = services.commission_statement(me, campaign)
    html = render_template(
        "groupbuy/manage.html",
        campaign=campaign,
        progress=services.progress(campaign),
        orders=orders,
        members=members,
        points=points,
        page=page_arg(),
        pages=pages,
        filters=[(value, _filter_label(value)) for value in FILTERS],
        wanted=wanted,
        statement=statement,
        cancel_form=cancel_form or forms.CancelForm(formdata=None),
        message_form=message_form or forms.MessageForm(formdata=None),
        may_edit=campaign.status in ("draft", "open"),
        may_fulfil=campaign.status in ("succeeded", "fulfilled"),
    )
    return html, status


@bp.route("/c/<int:campaign_id>/manage")
@login_required
def manage(campaign_id: int) -> ResponseReturnValue:
    """The leader's dashboard of a campaign."""
    me, campaign = require_manager(campaign_id)
    return dashboard_page(me, campaign)


@bp.route("/c/<int:campaign_id>/orders.csv")
@login_required
def orders_csv(campaign_id: int) -> ResponseReturnValue:
    """The campaign's orders as a CSV file (UTF-8 with a byte order mark, for Excel)."""
    me, campaign = require_manager(campaign_id)
    # Written out here, while the request's database session exists: a campaign's orders
    # fit in memory (a streamed body would be sent after the app context is gone).
    body = "".join(services.orders_csv(me, campaign)).encode("utf-8")
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="groupbuy-{campaign.id}-{stamp}.csv"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


@bp.route("/c/<int:campaign_id>/orders/<int:order_id>/fulfil", methods=["POST"])
@login_required
def fulfil(campaign_id: int, order_id: int) -> ResponseReturnValue:
    """Mark one paid order picked up or shipped (``how``)."""
    from .views import _checked_post

    _checked_post()
    me, campaign = require_manager(campaign_id)
    order = db.session.get(GroupOrder, order_id)
    if order is None or order.campaign_id != campaign.id:
        abort(404)
    how = (request.form.get("how") or "").strip()
    if how not in ("picked_up", "shipped"):
        abort(400)
    try:
        services.mark_fulfilled(me, order, how)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Order %(n)d is marked: %(how)s.", n=order.id, how=_how(how)), "success")
    back = url_for("groupbuy.manage", campaign_id=campaign.id, status=request.args.get("status"))
    return redirect(f"{back}#order-{order.id}")


def _how(how: str) -> str:
    return _("picked up") if how == "picked_up" else _("shipped")


@bp.route("/c/<int:campaign_id>/message", methods=["POST"])
@login_required
@config_limit("RATELIMIT_MESSAGES")
def message(campaign_id: int) -> ResponseReturnValue:
    """A message to every participant (each gets a notification)."""
    me, campaign = require_manager(campaign_id)
    form = forms.MessageForm()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        return dashboard_page(me, campaign, message_form=form, status=400)
    try:
        sent = services.message_participants(me, campaign, form.text.data.strip())
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        form.text.errors = [exc.message]
        return dashboard_page(me, campaign, message_form=form, status=400)
    flash(
        _("The message is sent to %(n)d participants.", n=sent),
        "success",
    )
    return redirect(url_for("groupbuy.manage", campaign_id=campaign.id))


@bp.route("/c/<int:campaign_id>/statement")
@login_required
def statement(campaign_id: int) -> ResponseReturnValue:
    """The commission statement: revenue (paid less refunded) and the leader's commission,
    with a line per order."""
    me, campaign = require_manager(campaign_id)
    found = services.commission_statement(me, campaign)
    return render_template(
        "groupbuy/statement.html", campaign=campaign, statement=found, lines=found.lines
    )
