"""The admin area's payment pages: orders (filters, pages, CSV export), an order's events
and refunds, the manual transfer queue, and the providers' settings.

Admins only (the admin area's guard). Every form carries a CSRF token; the rules are in
:mod:`forum.services.payments`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

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
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SearchField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from forum import payments as registry
from forum.models.payments import ORDER_STATUSES
from forum.plugin_api import Field
from forum.services import payments, uploads
from forum.services.errors import NotFound, ServiceError
from forum.web import admin
from forum.web.admin_forms import SelectChoice, plugin_settings_form, to_utc
from forum.web.forms import ActionForm
from forum.web.payments import STATUS_LABELS
from forum.web.util import form_error, page_arg, viewer

bp = Blueprint("payments_admin", __name__, url_prefix="/admin")
bp.before_request(admin.require_admin)
bp.context_processor(admin.admin_helpers)

_MONEY = Field("amount", "money", min=1)
#: The manual provider's QR image: its setting, and the file input that replaces it.
QR_FIELD = "qr_image_url"
QR_UPLOAD = "qr_image_upload"


class OrderFilterForm(FlaskForm):
    """The order list's filters (GET: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False)
    provider = SelectField(_l("Provider"), validate_choice=False)
    plugin = StringField(_l("Sold by (plugin)"), validators=[Optional(), Length(max=40)])
    member = SearchField(_l("Member (username)"), validators=[Optional(), Length(max=40)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def filters(self) -> dict[str, Any]:
        """The service's keyword arguments (dates as UTC bounds of the site's days)."""
        since = to_utc(datetime.combine(self.since.data, time())) if self.since.data else None
        until = (
            to_utc(datetime.combine(self.until.data + timedelta(days=1), time()))
            if self.until.data
            else None
        )
        return {
            "status": self.status.data or None,
            "provider": self.provider.data or None,
            "plugin": (self.plugin.data or "").strip() or None,
            "member": (self.member.data or "").strip() or None,
            "since": since,
            "until": until,
        }

    def args(self) -> dict[str, str]:
        """The filters as query arguments (for the pager and the CSV link)."""
        return {name: value for name, value in request.args.items() if name != "page" and value}


class RefundForm(FlaskForm):
    """A refund of part or all of an order; ``key`` makes a double submit one refund."""

    amount = StringField(_l("Amount"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=500)])
    key = HiddenField()


class RejectForm(FlaskForm):
    """Why a manual transfer is not confirmed (the member reads it)."""

    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=500)])


def _filter_form() -> OrderFilterForm:
    form = OrderFilterForm(request.args)
    form.status.choices = [SelectChoice("", _("Any status"))] + [
        SelectChoice(s, str(STATUS_LABELS[s])) for s in ORDER_STATUSES
    ]
    form.provider.choices = [SelectChoice("", _("Any provider"))] + [
        SelectChoice(name, name) for name in registry.PROVIDERS
    ]
    return form


@bp.route("/payments")
def orders():
    form = _filter_form()
    page = page_arg()
    rows: list = []
    pages = 1
    if form.validate():
        try:
            rows, pages = payments.orders(viewer(), page=page, **form.filters())
        except ServiceError as exc:
            form_error(form, exc)
    if page > pages:
        abort(404)
    return render_template(
        "admin/payments.html",
        form=form,
        orders=rows,
        page=page,
        pages=pages,
        csv_url=url_for("payments_admin.orders_csv", **form.args()),
        waiting=len(payments.manual_queue(viewer())[0]),
    )


@bp.route("/payments.csv")
def orders_csv():
    form = _filter_form()
    if not form.validate():
        abort(400)
    try:
        chunks = payments.orders_csv(viewer(), **form.filters())
    except ServiceError:
        abort(400)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    # Written out here, while the request's database session exists (a streamed body is
    # sent after the app context is gone): a forum's orders fit in memory.
    body = "".join(chunks).encode("utf-8")
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="orders-{stamp}.csv"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


def _detail(public_id: str):
    try:
        return payments.order_detail(viewer(), public_id)
    except NotFound:
        abort(404)


def _render_order(public_id: str, refund_form: RefundForm | None = None):
    order, events, refunds, submissions = _detail(public_id)
    if refund_form is None:
        refund_form = RefundForm(
            formdata=None,
            amount=_MONEY.format(order.refundable_cents) if order.refundable_cents else "",
            key=secrets.token_urlsafe(12),
        )
    return render_template(
        "admin/payment.html",
        order=order,
        events=events,
        refunds=refunds,
        submissions=submissions,
        refund_form=refund_form,
    )


@bp.route("/payments/<public_id>")
def order(public_id: str):
    return _render_order(public_id)


@bp.route("/payments/<public_id>/refund", methods=["POST"])
def refund(public_id: str):
    order, *_rest = _detail(public_id)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            cents = _MONEY.parse(form.amount.data)
        except ValueError as exc:
            form.amount.errors = [str(exc)]
        else:
            key = f"admin:{order.id}:{form.key.data or secrets.token_urlsafe(12)}"[:160]
            try:
                payments.refund(viewer(), order, cents, form.reason.data or "", key)
            except ServiceError as exc:
                form_error(form, exc)
            else:
                flash(_("Refunded %(money)s.", money=payments.format_money(cents, order.currency)))
                return redirect(url_for("payments_admin.order", public_id=public_id))
    return _render_order(public_id, form), 400


@bp.route("/payments/manual")
def manual_queue():
    page = page_arg()
    rows, pages = payments.manual_queue(viewer(), page)
    if page > pages:
        abort(404)
    return render_template(
        "admin/payments_manual.html",
        submissions=rows,
        page=page,
        pages=pages,
        confirm_form=ActionForm(),
        reject_form=RejectForm(formdata=None),
    )


def _submission(submission_id: int):
    try:
        return payments.get_submission(viewer(), submission_id)
    except NotFound:
        abort(404)


@bp.route("/payments/manual/<int:submission_id>/confirm", methods=["POST"])
def manual_confirm(submission_id: int):
    submission = _submission(submission_id)
    if ActionForm().validate_on_submit():
        try:
            paid = payments.confirm_manual(viewer(), submission)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            if paid:
                flash(_("Confirmed: the order is paid."), "success")
            else:
                flash(_("Confirmed, but the order was already paid."), "error")
    return redirect(url_for("payments_admin.manual_queue"))


@bp.route("/payments/manual/<int:submission_id>/reject", methods=["POST"])
def manual_reject(submission_id: int):
    submission = _submission(submission_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            payments.reject_manual(viewer(), submission, form.reason.data)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Rejected. The member was told why."), "success")
    else:
        flash(_("Please give a reason."), "error")
    return redirect(url_for("payments_admin.manual_queue"))


@bp.route("/payments/providers")
def providers():
    rows = [
        (
            provider,
            payments.provider_enabled(provider.name),
            payments.unavailable_reason(provider, payments.provider_settings(provider.name)),
        )
        for provider in registry.all_providers()
    ]
    return render_template(
        "admin/payment_providers.html",
        providers=rows,
        rejected=payments.rejected_notifications(viewer(), 20),
    )


@bp.route("/payments/providers/<name>", methods=["GET", "POST"])
def provider(name: str):
    if name not in registry.PROVIDERS:
        abort(404)
    provider = registry.get_provider(name)
    stored = payments.provider_settings(name)
    secret_names = {f.name for f in provider.fields if f.type == "secret"}
    shown = {key: ("" if key in secret_names else value) for key, value in stored.items()}
    enabled = payments.provider_enabled(name)
    form = plugin_settings_form(provider.fields, shown)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            enabled = bool(request.form.get("enabled"))
            values = {f.name: request.form.get(f.name, "") for f in provider.fields}
            try:
                image = request.files.get(QR_UPLOAD)
                if image and image.filename and QR_FIELD in values:
                    upload = uploads.save_image(viewer(), image.stream)
                    values[QR_FIELD] = uploads.url_of(upload)
                payments.save_provider(viewer(), name, enabled=enabled, settings=values)
            except ServiceError as exc:
                if exc.field and exc.field in {f.name for f in provider.fields}:
                    form.show_errors({exc.field: exc.message})
                else:
                    flash(exc.message, "error")
                status = 400
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("payments_admin.providers"))
        else:
            status = 400
    return render_template(
        "admin/payment_provider.html",
        provider=provider,
        form=form,
        enabled=enabled,
        reason=provider.available(),
        stored_secrets={key for key in secret_names if stored.get(key)},
        notify_url=payments.notify_url(name),
        qr_field=QR_FIELD,
        qr_upload=QR_UPLOAD,
        qr_image_url=str(stored.get(QR_FIELD) or ""),
    ), status
