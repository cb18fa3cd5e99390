"""Trades, ratings and scam reports under ``/market``: a trade's page (the buyer confirms or
declines what the seller said, the seller may cancel while it waits, each party rates the
other once after confirmation, the rated member replies once), a member's ratings page,
the member's own listings and trades, the buyer's scam report with evidence and photos,
and the moderators' scam reports page (freeze or unfreeze the seller, verify a rating,
uphold or dismiss).

Views parse the request, call :mod:`.services` and render; a service's refusal
(:class:`~forum.services.errors.ServiceError`) is shown beside the input it names, else at
the top of the page, with what the member typed kept. Every write is a POST form with the
CSRF token. The routes are on the market's shared blueprint (:mod:`.blueprint`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from forum.extensions import csrf
from forum.models import Member, Upload
from forum.services import members, moderation, permissions
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.forms import ActionForm
from forum.web.util import config_limit, form_error, page_arg, viewer

from . import services
from . import trade_forms as forms
from .blueprint import bp
from .views import (  # the listing form's photos, the same way
    _id_list,
    _owned_uploads,
    _photo_sized_request,
)

#: The statuses the scam reports page filters by.
REPORT_STATUSES = ("open", "upheld", "dismissed")
#: The moderators' actions on a scam report.
SCAM_ACTIONS = ("freeze", "unfreeze", "verify", "unverify", "uphold", "dismiss")


# -- helpers -------------------------------------------------------------------------------


def _checked_post() -> None:
    """Refuse a POST whose CSRF token is missing or wrong (buttons without fields)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _trade_url(trade_id: int, anchor: str = "") -> str:
    return url_for("classifieds.trade", trade_id=trade_id) + (f"#{anchor}" if anchor else "")


def _score_label(score: int) -> str:
    return {1: _("Positive"), 0: _("Neutral"), -1: _("Negative")}.get(score, "")


def _helpers() -> dict[str, Any]:
    """What the trade templates format with."""
    return {
        "format_price": services.format_price,
        "score_label": _score_label,
        "thumb_url": services.thumb_url,
    }


@dataclass
class TradePage:
    """What a trade's page shows, and what the viewer may do there. The flags are the
    listing's (:func:`services.listing_view`) when the trade is the listing's open trade;
    a cancelled trade offers nothing."""

    trade: Any
    listing: Any
    title: str
    price: str
    seller: Member
    buyer: Member
    ratings: list[Any]
    replyable: frozenset[int] = frozenset()
    may_confirm: bool = False
    may_cancel: bool = False
    may_rate: bool = False
    may_report_scam: bool = False
    reported: bool = False


def _trade_view(trade: Any, me: Member) -> TradePage:
    listing = services.get_listing(trade.listing_id, me)
    shown = services.listing_view(listing, me)
    current = shown.trade is not None and shown.trade.id == trade.id
    seller = shown.seller
    buyer = shown.buyer if current and shown.buyer else members.get_member(trade.buyer_id)
    parties = {seller.id: seller, buyer.id: buyer}
    ratings = shown.ratings if current else services.trade_ratings(trade.id)
    lines = [
        services.RatingView(
            id=r.id,
            trade_id=trade.id,
            thread_id=trade.listing_id,
            title=shown.thread.title,
            score=r.score,
            comment=r.comment,
            reply=r.reply,
            replied_at=r.replied_at,
            created_at=r.created_at,
            verified=r.verified,
            rater_username=parties[r.rater_id].username,
            rater_name=parties[r.rater_id].name,
            rater_role="buyer" if r.rater_id == trade.buyer_id else "seller",
        )
        for r in ratings
    ]
    page = TradePage(
        trade=trade,
        listing=listing,
        title=shown.thread.title,
        price=shown.price,
        seller=seller,
        buyer=buyer,
        ratings=lines,
        replyable=frozenset(r.id for r in ratings if r.ratee_id == me.id and r.reply is None),
    )
    if current:
        page.may_confirm = shown.may_confirm
        page.may_cancel = shown.may_cancel
        page.may_rate = shown.may_rate
        page.may_report_scam = shown.may_report_scam
        page.reported = me.id == trade.buyer_id and not shown.may_report_scam
    return page


def _trade_page(
    trade: Any,
    *,
    rate_form: forms.RateForm | None = None,
    reply_form: forms.ReplyForm | None = None,
    reply_to: int | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The trade page, with the rating and reply forms as given (to show their errors)."""
    view = _trade_view(trade, viewer())
    if view.may_rate and rate_form is None:
        rate_form = forms.RateForm(formdata=None)
    return (
        render_template(
            "classifieds/trade.html",
            view=view,
            trade=trade,
            rate_form=rate_form if view.may_rate else None,
            reply_form=reply_form or forms.ReplyForm(formdata=None),
            reply_to=reply_to,
            **_helpers(),
        ),
        status,
    )


def _trade_button(
    trade_id: int, action: Callable[[Member, Any], Any], done: str, anchor: str = ""
) -> ResponseReturnValue:
    """A trade's button (confirm, decline, cancel): the service's refusal at the top of
    the trade page (403 for one who may not press it), else ``done``."""
    _checked_post()
    me = viewer()
    trade = services.get_trade(trade_id, me)
    try:
        action(me, trade)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(_trade_url(trade_id))
    flash(done, "success")
    return redirect(_trade_url(trade_id, anchor))


# -- a trade -------------------------------------------------------------------------------


@bp.route("/trades/<int:trade_id>")
@login_required
def trade(trade_id: int) -> ResponseReturnValue:
    """A trade: what the seller said, the buyer's confirmation, both ratings."""
    return _trade_page(services.get_trade(trade_id, viewer()))


@bp.route("/trades/<int:trade_id>/confirm", methods=["POST"])
@login_required
def confirm_trade(trade_id: int) -> ResponseReturnValue:
    """The named buyer confirms: the listing is sold, both may rate."""
    return _trade_button(
        trade_id,
        services.confirm_trade,
        _("The trade is confirmed. Now rate how it went."),
        "rate",
    )


@bp.route("/trades/<int:trade_id>/decline", methods=["POST"])
@login_required
def decline_trade(trade_id: int) -> ResponseReturnValue:
    """The named buyer says they did not buy it: the trade is cancelled."""
    return _trade_button(
        trade_id, services.decline_trade, _("You declined the trade. The seller is told.")
    )


@bp.route("/trades/<int:trade_id>/cancel", methods=["POST"])
@login_required
def cancel_trade(trade_id: int) -> ResponseReturnValue:
    """The seller takes back a trade the buyer has not confirmed yet."""
    return _trade_button(trade_id, services.cancel_trade, _("The trade is cancelled."))


@bp.route("/trades/<int:trade_id>/rate", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def rate(trade_id: int) -> ResponseReturnValue:
    """Rate the other party of a confirmed trade (once)."""
    me = viewer()
    trade = services.get_trade(trade_id, me)
    form = forms.RateForm()
    if form.validate_on_submit():
        try:
            services.rate(me, trade, forms.SCORES[form.score.data], form.comment.data or "")
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Thank you for rating the trade."), "success")
            return redirect(_trade_url(trade_id, "ratings"))
    elif "csrf_token" in form.errors:
        abort(400)
    return _trade_page(trade, rate_form=form, status=400)


@bp.route("/ratings/<int:rating_id>/reply", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def reply(rating_id: int) -> ResponseReturnValue:
    """The rated member answers a rating (once)."""
    me = viewer()
    rating = services.get_rating(rating_id)
    trade = services.get_trade(rating.trade_id, me)  # 404 for everybody but its parties
    form = forms.ReplyForm()
    if form.validate_on_submit():
        try:
            services.reply_to_rating(me, rating, form.reply.data)
        except (NotFound, PermissionDenied):
            raise
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Your reply is posted."), "success")
            return redirect(_trade_url(rating.trade_id, f"rating-{rating.id}"))
    elif "csrf_token" in form.errors:
        abort(400)
    return _trade_page(trade, reply_form=form, reply_to=rating.id, status=400)


# -- scam reports --------------------------------------------------------------------------


@bp.route("/trades/<int:trade_id>/scam", methods=["GET", "POST"])
@csrf.exempt
@login_required
@config_limit("RATELIMIT_REPORTS")
def report_scam(trade_id: int) -> ResponseReturnValue:
    """The buyer reports the trade as a scam: evidence and photos go to the moderators.

    Nine phone screenshots are more than the site's request limit (one upload), so this view
    raises the limit as the listing form does, and checks the CSRF token itself (the
    form's ``validate_on_submit``, before anything is stored)."""
    _photo_sized_request()
    me = viewer()
    trade = services.get_trade(trade_id, me)
    view = _trade_view(trade, me)
    if not view.may_report_scam:
        if view.reported:
            flash(
                _("You have reported this trade already. The moderators will look at it."), "error"
            )
        elif request.method == "POST" and me.id != trade.buyer_id:
            raise PermissionDenied(_("Only the buyer of this trade may report it."))
        else:
            flash(_("Only the buyer of a trade that was not cancelled can report it."), "error")
        return redirect(_trade_url(trade_id))
    form = forms.ScamForm()
    kept: list[Upload] = []
    status = 200
    if request.method == "POST":
        status = 400
        valid = form.validate_on_submit()
        if "csrf_token" in form.errors:
            abort(400)
        kept = _owned_uploads(me, _id_list("kept")[: services.MAX_IMAGES])
        files = [f for f in request.files.getlist("images") if getattr(f, "filename", "")]
        if files:  # stored even when the text is wrong, so the photos are kept for the retry
            try:
                kept = kept + services.save_images(me, files, kept=len(kept))
            except ServiceError as exc:
                form_error(form, exc)
                valid = False
        if valid:
            try:
                services.report_scam(me, trade, form.evidence.data, [u.id for u in kept])
            except (NotFound, PermissionDenied):
                raise
            except ServiceError as exc:
                form_error(form, exc)
            else:
                flash(
                    _("Your report is with the moderators. They will look at the trade."),
                    "success",
                )
                return redirect(_trade_url(trade_id))
    return (
        render_template(
            "classifieds/scam_form.html",
            view=view,
            trade=trade,
            form=form,
            kept=kept,
            **_helpers(),
        ),  # fmt: skip
        status,
    )


# -- ratings of a member, my market --------------------------------------------------------


@bp.route("/u/<username>")
def ratings(username: str) -> ResponseReturnValue:
    """A member's trade record: the summary and every rating with its reply."""
    member = members.get_by_username(username)
    if member is None or member.status != "active":
        raise NotFound(_("No such member."))
    items, pages, summary = services.ratings_of(member, page=page_arg())
    return render_template(
        "classifieds/ratings.html",
        member=member,
        items=items,
        page=min(page_arg(), max(pages, 1)),
        pages=pages,
        summary=summary,
        **_helpers(),
    )


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The member's listings by status (renew buttons), trades to confirm, trades to rate."""
    me = viewer()
    return render_template(
        "classifieds/mine.html",
        mine=services.my_market(me),
        may_moderate=moderation.is_site_moderator(me),
        status_labels=services.status_labels(),
        **_helpers(),
    )


# -- the moderators' scam reports ----------------------------------------------------------


def _scam_action(me: Member, form: forms.ScamActionForm) -> None:
    """Do what the pressed button says (a refusal is flashed; nothing is changed then)."""
    action = form.action.data
    raw_report = request.form.get("report_id", "")
    if action not in SCAM_ACTIONS or not raw_report.isdigit():
        abort(400)
    report = services.get_scam_report(int(raw_report), me)
    reason = form.reason.data or ""
    if action in ("freeze", "unfreeze"):
        services.freeze_seller(me, report.seller_id, action == "freeze", reason)
        flash(
            _("The seller's listings are frozen.")
            if action == "freeze"
            else _("The seller's listings are back on the market."),
            "success",
        )
    elif action in ("verify", "unverify"):
        raw_rating = form.rating_id.data or ""
        if not raw_rating.isdigit():
            abort(400)
        rating = services.get_rating(int(raw_rating))
        if rating.trade_id != report.trade_id:
            abort(400)
        services.verify_rating(me, rating, action == "verify")
        flash(
            _("The rating is marked as verified.")
            if action == "verify"
            else _("The rating is no longer marked as verified."),
            "success",
        )
    else:
        services.close_scam_report(me, report, action == "uphold")
        flash(
            _("The report is upheld.") if action == "uphold" else _("The report is dismissed."),
            "success",
        )


@bp.route("/admin/scams", methods=["GET", "POST"])
@login_required
def admin_scams() -> ResponseReturnValue:
    """Scam reports for moderators: the evidence, and what they may do about it."""
    me = viewer()
    status = request.args.get("status", "open")
    if status not in REPORT_STATUSES:
        status = "open"
    if request.method == "POST":
        form = forms.ScamActionForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            _scam_action(me, form)
        except (NotFound, PermissionDenied):
            raise
        except ServiceError as exc:
            flash(exc.message, "error")
        page = page_arg()
        return redirect(
            url_for("classifieds.admin_scams", status=status, page=page if page > 1 else None)
        )
    reports, pages = services.scam_reports(me, status=status, page=page_arg())
    return render_template(
        "classifieds/admin_scams.html",
        reports=reports,
        status=status,
        statuses=[
            ("open", _("Open")),
            ("upheld", _("Upheld")),
            ("dismissed", _("Dismissed")),
        ],
        page=page_arg(),
        pages=pages,
        viewer_is_admin=permissions.is_admin(me),
        **_helpers(),
    )
