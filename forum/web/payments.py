"""The member's side of payments: checkout, the manual transfer and sandbox pages, the
return page, receipts, and the gateways' webhooks.

Plugins send members to ``url_for("payments.checkout", public_id=order.public_id)``. The
rules are in :mod:`forum.services.payments`; these views parse, call it and render. Only
the order's owner sees its pages (an admin sees them too, but cannot pay for someone
else): anyone else gets 404. The webhook (``POST /payments/notify/<provider>``) is exempt
from CSRF (gateways sign their notifications instead) and rate-limited generously.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from forum import markup
from forum import payments as registry
from forum.extensions import csrf, limiter
from forum.models import PaymentOrder
from forum.payments.base import IncomingRequest
from forum.services import payments, uploads
from forum.services.errors import NotFound, ServiceError
from forum.web.forms import IMAGE_TYPES, ActionForm
from forum.web.util import form_error, page_arg, viewer

bp = Blueprint("payments", __name__)

#: Webhooks from one address: gateways retry, but never this often.
WEBHOOK_LIMIT = "300 per minute"

STATUS_LABELS = {
    "pending": _l("Waiting for payment"),
    "paid": _l("Paid"),
    "partially_refunded": _l("Partly refunded"),
    "refunded": _l("Refunded"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
}


class ProviderForm(FlaskForm):
    """The checkout page: choose how to pay."""

    provider = RadioField(_l("Pay with"), validators=[InputRequired()], validate_choice=False)


class ManualForm(FlaskForm):
    """The manual transfer page: what the member says about their transfer."""

    note = TextAreaField(
        _l("How did you pay?"),
        description=_l("For example the name or account you paid from, and when."),
        validators=[Length(max=500)],
    )
    screenshot = FileField(_l("Screenshot of the transfer (optional)"), validators=[IMAGE_TYPES])


@bp.app_template_global("money")
def money(cents: int, currency: str = "CNY") -> str:
    """Templates: ``money(order.amount_cents, order.currency)`` → ``¥99.00``."""
    return payments.format_money(cents, currency)


@bp.app_template_global("order_status_label")
def order_status_label(status: str) -> str:
    """Templates: an order status in the reader's language."""
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global("qr_svg")
def qr_svg(text: str) -> Markup:
    """Templates: ``text`` (a gateway's payment link) as an SVG QR code to scan (segno is
    one of the core's requirements)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=6, border=2, xmldecl=False, svgclass="payment-qr-code"
    )
    return Markup(buffer.getvalue().decode("utf-8"))


def _order(public_id: str) -> PaymentOrder:
    try:
        return payments.get_order(public_id, viewer())
    except NotFound:
        abort(404)


def _owners_order(public_id: str) -> PaymentOrder:
    """The order of a page only its owner uses (paying): 404 for anyone else."""
    order = _order(public_id)
    if not _is_owner(order):
        abort(404)
    return order


def _is_owner(order: PaymentOrder) -> bool:
    me = viewer()
    return me is not None and me.id == order.member_id


def _done(order: PaymentOrder):
    return redirect(url_for("payments.done", public_id=order.public_id))


@bp.route("/pay/<public_id>", methods=["GET", "POST"])
@login_required
def checkout(public_id: str):
    order = _order(public_id)
    form = ProviderForm()
    choices = payments.checkout_providers()
    form.provider.choices = choices
    payable = order.is_pending and not payments.is_expired(order) and _is_owner(order)
    if payable and form.validate_on_submit():
        return_url = url_for("payments.done", public_id=order.public_id, _external=True)
        try:
            step = payments.start_checkout(
                viewer(), order, form.provider.data, return_url=return_url
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if step.kind == "redirect":
                return redirect(step.url)
            if step.kind == "manual":
                return redirect(url_for("payments.manual", public_id=order.public_id))
            if step.kind == "sandbox":
                return redirect(url_for("payments.sandbox", public_id=order.public_id))
            return render_template("payments/qr.html", order=order, step=step)
    if choices and not form.provider.data:
        form.provider.data = choices[0][0]
    return render_template(
        "payments/checkout.html",
        order=order,
        form=form,
        payable=payable,
        expired=payments.is_expired(order),
        cancel_form=ActionForm(),
    )


@bp.route("/pay/<public_id>/cancel", methods=["POST"])
@login_required
def cancel(public_id: str):
    order = _order(public_id)
    if ActionForm().validate_on_submit():
        try:
            payments.cancel(viewer(), order)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("The order is cancelled."), "success")
    return _done(order)


@bp.route("/pay/<public_id>/manual", methods=["GET", "POST"])
@login_required
def manual(public_id: str):
    order = _owners_order(public_id)
    form = ManualForm()
    if form.validate_on_submit():
        me = viewer()
        try:
            upload = None
            if form.screenshot.data:
                upload = uploads.save_image(me, form.screenshot.data.stream)
            payments.submit_manual(me, order, form.note.data or "", upload)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Thank you. An administrator will confirm your transfer soon."), "success")
            return _done(order)
    settings = payments.provider_settings("manual")
    instructions = Markup(markup.render(str(settings.get("instructions") or "")))
    return render_template(
        "payments/manual.html",
        order=order,
        form=form,
        instructions=instructions,
        qr_image_url=str(settings.get("qr_image_url") or ""),
        submissions=payments.manual_submissions(viewer(), order),
        available="manual" in dict(payments.checkout_providers()),
    )


@bp.route("/pay/<public_id>/sandbox", methods=["GET", "POST"])
@login_required
def sandbox(public_id: str):
    order = _owners_order(public_id)
    form = ActionForm()
    if form.validate_on_submit():
        succeed = request.form.get("outcome") != "fail"
        try:
            payments.sandbox_pay(viewer(), order, succeed=succeed)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            if not succeed:
                flash(_("Sandbox: the payment failed. Nothing was charged."), "error")
                return redirect(url_for("payments.checkout", public_id=order.public_id))
            return _done(order)
    return render_template("payments/sandbox.html", order=order, form=form)


@bp.route("/pay/<public_id>/done")
@login_required
def done(public_id: str):
    order = _order(public_id)
    if order.is_pending and payments.check_with_gateway(order):
        order = _order(public_id)
    return render_template(
        "payments/done.html",
        order=order,
        refunds=payments.refunds_of(order),
        waiting=order.is_pending and not payments.is_expired(order),
    )


@bp.route("/settings/receipts")
@login_required
def receipts():
    page = page_arg()
    rows, pages = payments.receipts(viewer(), page)
    if page > pages:
        abort(404)
    return render_template("payments/receipts.html", orders=rows, page=page, pages=pages)


def incoming_request() -> IncomingRequest:
    """The current request as the providers see it: the raw body, and the form fields
    parsed from it (reading ``request.form`` would consume the body)."""
    body = request.get_data(cache=True)
    form: dict[str, str] = {}
    if request.mimetype == "application/x-www-form-urlencoded":
        charset = request.mimetype_params.get("charset") or "utf-8"
        try:
            text = body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = body.decode("utf-8", "replace")
        form = dict(parse_qsl(text, keep_blank_values=True))
    return IncomingRequest(
        headers=dict(request.headers.items()),
        body=body,
        form=form,
        args=request.args.to_dict(),
    )


@bp.route("/payments/notify/<provider>", methods=["POST"])
@csrf.exempt
@limiter.limit(WEBHOOK_LIMIT)
def notify(provider: str):
    if provider not in registry.PROVIDERS:
        abort(404)
    status, body, headers = payments.handle_notification(provider, incoming_request())
    return Response(body, status=status, headers=headers)
