"""The membership pages under ``/membership``: the tiers (a pricing table with buy buttons
that lead to the payments core's checkout, and a points button), my membership (paid until,
renew, receipts), the entry application, invite codes (``?code=`` links), the ``gate``
slot's call to action under a gated board's teaser, and the admin pages (tiers, questions
and applications, invite codes, clean-out rules with the dry-run report and the removals
log).

Views parse the request, authorise, call :mod:`.services` and render; a service's refusal
(:class:`~forum.services.errors.ServiceError`) is shown beside the input it names, with what
the member typed kept. Every write is a POST form with the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from werkzeug.routing import BuildError

from forum.services import groups, permissions
from forum.services.errors import NotFound, ServiceError
from forum.web.forms import ActionForm, SelectChoice
from forum.web.util import form_error, page_arg, viewer

from . import forms, services
from .blueprint import bp

# -- helpers -------------------------------------------------------------------------------


def _url(endpoint: str, fallback: str, **values: Any) -> str:
    """``url_for(endpoint)``, or ``fallback`` while that page's blueprint is not there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return fallback


def _require_admin():
    me = viewer()
    if not permissions.is_admin(me):
        abort(403)
    return me


def _require_reviewer():
    me = viewer()
    if not services.may_review(me):
        abort(403)
    return me


def _checked_action() -> None:
    """A bare button's POST: its CSRF token must be right (400 otherwise)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _flash_refusal(exc: ServiceError) -> None:
    flash(exc.message, "error")


def _saved(form: Any, save: Callable[[], Any], done: str, fields: dict[str, str] | None = None):
    """``save()`` for a valid form, then ``done`` said; a refusal goes beside its input
    (``fields`` renames a service's field to the form's). The saved row, or None."""
    if not form.validate_on_submit():
        return None
    try:
        made = save()
    except ServiceError as exc:
        if fields and exc.field in fields:
            exc.field = fields[exc.field]
        form_error(form, exc)
        return None
    flash(done, "success")
    return made


def _group_choices() -> list[Any]:
    return [SelectChoice(g.id, g.name) for g in groups.assignable_groups() if not g.is_admin]


def _receipts_url() -> str:
    return _url("payments.receipts", "/settings/receipts")


def _end_of_day(day) -> datetime | None:
    return datetime.combine(day, time(23, 59, 59)) if day else None


# -- members' pages --------------------------------------------------------------------------


@bp.route("/")
def index() -> ResponseReturnValue:
    """The tiers on sale, as a pricing table."""
    me = viewer()
    tiers = services.tiers()
    signed_in = me is not None
    rows = []
    for tier in tiers:
        sub = services.subscription(me, tier) if signed_in else None
        rows.append(
            {
                "tier": tier,
                "price": services.price_label(tier),
                "seats_left": None if tier.seats is None else max(tier.seats - tier.seats_taken, 0),
                "sub": sub if sub is not None and sub.status == "active" else None,
                "refusal": services.refusal(me, tier) if signed_in and tier.price_cents else "",
                "apply": signed_in and services.application_needed(me, tier),
                "points_refusal": (
                    services.refusal(me, tier, money=False)
                    if signed_in and tier.points_price
                    else ""
                ),
            }
        )
    return render_template(
        "membership/tiers.html",
        rows=rows,
        form=ActionForm(formdata=None),
        signed_in=signed_in,
        has_questions=bool(services.questions()),
    )


@bp.route("/t/<slug>/buy", methods=["POST"])
@login_required
def buy(slug: str) -> ResponseReturnValue:
    """An order for one period of the tier, then the payments core's checkout."""
    _checked_action()
    me = viewer()
    tier = services.get_tier(slug)
    try:
        order = services.buy(me, tier)
    except ServiceError as exc:
        _flash_refusal(exc)
        return redirect(url_for("membership.index"))
    return redirect(url_for("payments.checkout", public_id=order.public_id))


@bp.route("/t/<slug>/points", methods=["POST"])
@login_required
def buy_points(slug: str) -> ResponseReturnValue:
    """One period of the tier for its points price."""
    _checked_action()
    me = viewer()
    tier = services.get_tier(slug)
    try:
        services.buy_with_points(me, tier)
    except ServiceError as exc:
        _flash_refusal(exc)
        return redirect(url_for("membership.index"))
    flash(_("Welcome to %(tier)s!", tier=tier.name), "success")
    return redirect(url_for("membership.mine"))


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    """My subscriptions (paid until, when access ends, renew), purchases, application."""
    me = viewer()
    subs = services.subscriptions(me)
    return render_template(
        "membership/mine.html",
        subs=[
            {
                "sub": s,
                "ends": services.access_ends(s),
                "in_force": services.is_member(me, s.tier),
                "renewable": s.tier.active
                and bool(s.tier.price_cents)
                and s.paid_until is not None,
                "price": services.price_label(s.tier),
            }
            for s in subs
        ],
        purchases=services.purchases(me),
        application=services.my_application(me),
        receipts_url=_receipts_url(),
        money=services.format_money,
        form=ActionForm(formdata=None),
    )


def _asked_tier() -> Any:
    """The tier an application is for (``?tier=<slug>``, kept in the form's address), or
    None; an unknown or withdrawn one counts as none."""
    slug = request.args.get("tier", "")
    if not slug:
        return None
    try:
        tier = services.get_tier(slug)
    except NotFound:
        return None
    return tier if tier.active else None


@bp.route("/apply", methods=["GET", "POST"])
@login_required
def apply() -> ResponseReturnValue:
    """The entry application: the owner's questions (one pending application at a time)."""
    me = viewer()
    questions = services.questions()
    tier = _asked_tier()
    latest = services.my_application(me)
    pending = latest if latest is not None and latest.status == "pending" else None
    kw = {"formdata": None} if pending is not None or request.method == "GET" else {}
    form = forms.application_form(questions, **kw)
    status = 200
    if pending is None and request.method == "POST":
        answers = {q.id: (form[forms.answer_field(q.id)].data or "").strip() for q in questions}
        made = _saved(
            form,
            lambda: services.apply(me, answers, tier),
            _("Your application is sent. You will be told when it is reviewed."),
        )
        if made is not None:
            return redirect(url_for("membership.apply"))
        status = 400
    fields = [(q, form[forms.answer_field(q.id)]) for q in questions]
    return (
        render_template(
            "membership/apply.html",
            form=form,
            fields=fields,
            latest=latest,
            pending=pending,
            tier=tier,
            price=services.price_label(tier) if tier else "",
            required=bool(services.settings()["application_required"]),
        ),
        status,
    )


@bp.route("/invite", methods=["GET", "POST"])
def invite() -> ResponseReturnValue:
    """Redeem an invite code (typed, or from a ``?code=`` link; guests sign in first)."""
    me = viewer()
    form = forms.InviteForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args.get("code", "")[:32]
    if request.method == "POST":
        if me is None:
            return redirect(url_for("auth.login", next=request.full_path))
        code = (form.code.data or "").strip()
        sub = _saved(
            form, lambda: services.redeem(me, code), _("The invite code is yours: welcome!")
        )
        if sub is not None:
            return redirect(url_for("membership.mine"))
    return (
        render_template("membership/invite.html", form=form, signed_in=me is not None),
        400 if form.errors else 200,
    )


# -- the gate slot -----------------------------------------------------------------------------


def render_gate(context: dict[str, Any]) -> Markup | None:
    """The ``gate`` slot: the cheapest tier that reads the board, its price and the way in
    (register or sign in for guests, apply first when an application is needed). None when
    no tier reads the board (the theme then says who may)."""
    board = context.get("board")
    if board is None:
        return None
    offer = services.teaser_offer(board, context.get("viewer"))
    if offer is None:
        return None
    return Markup(
        render_template(
            "membership/gate.html",
            offer=offer,
            board=board,
            thread=context.get("thread"),
            next_url=request.full_path if request else "/",
        )
    )


# -- admin: tiers ------------------------------------------------------------------------------


_TIER_FIELDS = {"price_cents": "price"}


def _tier_values(form: forms.TierForm) -> dict[str, Any]:
    return {
        "name": (form.name.data or "").strip(),
        "slug": (form.slug.data or "").strip(),
        "perks": form.perks.data or "",
        "price_cents": forms.money_cents(form.price.data) or 0,
        "currency": (form.currency.data or "CNY").strip().upper(),
        "points_price": form.points_price.data,
        "period_unit": form.period_unit.data,
        "period_count": form.period_count.data or 1,
        "seats": form.seats.data,
        "active": bool(form.active.data),
        "position": form.position.data or 0,
        "group_ids": list(form.group_ids.data or ()),
    }


def _tier_form(tier: Any = None, **kw: Any) -> forms.TierForm:
    form = forms.TierForm(**kw)
    form.group_ids.choices = _group_choices()
    if tier is not None and kw.get("formdata", True) is None:
        form.name.data, form.slug.data, form.perks.data = tier.name, tier.slug, tier.perks
        form.price.data = f"{tier.price_cents / 100:.2f}" if tier.price_cents else ""
        form.currency.data = tier.currency
        form.points_price.data = tier.points_price
        form.period_unit.data, form.period_count.data = tier.period_unit, tier.period_count
        form.seats.data, form.position.data, form.active.data = (
            tier.seats,
            tier.position,
            tier.active,
        )
        form.group_ids.data = list(tier.group_ids)
    return form


@bp.route("/admin/tiers", methods=["GET", "POST"])
@login_required
def admin_tiers() -> ResponseReturnValue:
    """Every tier (on sale or not) and the form for a new one."""
    me = _require_admin()
    form = _tier_form(formdata=None if request.method == "GET" else request.form)
    if request.method == "POST":
        made = _saved(
            form,
            lambda: services.save_tier(me, None, **_tier_values(form)),
            _("The tier is created."),
            _TIER_FIELDS,
        )
        if made is not None:
            return redirect(url_for("membership.admin_tiers"))
    return (
        render_template(
            "membership/admin_tiers.html",
            tiers=services.tiers(active_only=False),
            form=form,
            tier=None,
            price_label=services.price_label,
        ),
        400 if form.errors else 200,
    )


@bp.route("/admin/tiers/<int:tier_id>", methods=["GET", "POST"])
@login_required
def admin_tier(tier_id: int) -> ResponseReturnValue:
    """One tier's form (a price change leaves pending orders at their price)."""
    me = _require_admin()
    tier = services.get_tier(tier_id)
    form = _tier_form(tier, formdata=None if request.method == "GET" else request.form)
    if request.method == "POST":
        saved = _saved(
            form,
            lambda: services.save_tier(me, tier, **_tier_values(form)),
            _("The tier is saved."),
            _TIER_FIELDS,
        )
        if saved is not None:
            return redirect(url_for("membership.admin_tiers"))
    return (
        render_template(
            "membership/admin_tiers.html",
            tiers=[],
            form=form,
            tier=tier,
            price_label=services.price_label,
        ),
        400 if form.errors else 200,
    )


# -- admin: questions and applications ---------------------------------------------------------


def _applications_page(question_form: Any = None, status: int = 200) -> ResponseReturnValue:
    page = page_arg()
    rows, pages = services.applications("pending", page)
    questions = services.questions()
    return (
        render_template(
            "membership/admin_applications.html",
            applications=rows,
            page=page,
            pages=pages,
            questions=questions,
            question_text={q.id: q.text for q in questions},
            question_form=question_form or forms.QuestionForm(formdata=None),
            review_form=forms.ReviewForm(formdata=None),
            form=ActionForm(formdata=None),
        ),
        status,
    )


@bp.route("/admin/applications", methods=["GET", "POST"])
@login_required
def admin_applications() -> ResponseReturnValue:
    """The entry questions (add, remove: admins) and the queue of pending applications
    (admins and the reviewers of the setting)."""
    me = _require_reviewer()
    if request.method == "GET":
        return _applications_page()
    form = forms.QuestionForm()
    made = _saved(
        form,
        lambda: services.save_question(
            me,
            None,
            text=(form.text.data or "").strip(),
            required=bool(form.required.data),
            position=form.position.data or 0,
        ),
        _("The question is added."),
    )
    if made is not None:
        return redirect(url_for("membership.admin_applications"))
    return _applications_page(form, 400)


@bp.route("/admin/questions/<int:question_id>/delete", methods=["POST"])
@login_required
def admin_question_delete(question_id: int) -> ResponseReturnValue:
    """Remove an entry question (answers already given are kept with their applications)."""
    me = _require_admin()
    _checked_action()
    try:
        services.delete_question(me, services.get_question(question_id))
    except ServiceError as exc:
        _flash_refusal(exc)
    else:
        flash(_("The question is removed."), "success")
    return redirect(url_for("membership.admin_applications"))


@bp.route("/admin/applications/<int:application_id>", methods=["POST"])
@login_required
def admin_review(application_id: int) -> ResponseReturnValue:
    """Approve or reject one application (``action``), with a reason for the applicant."""
    me = _require_reviewer()
    form = forms.ReviewForm()
    action = request.form.get("action")
    if not form.validate_on_submit() or action not in ("approve", "reject"):
        abort(400)
    application = services.get_application(application_id)
    try:
        services.review(me, application, action == "approve", (form.reason.data or "").strip())
    except ServiceError as exc:
        _flash_refusal(exc)
    else:
        flash(
            _("The application is approved.")
            if action == "approve"
            else _("The application is rejected."),
            "success",
        )
    return redirect(url_for("membership.admin_applications"))


# -- admin: invite codes -------------------------------------------------------------------------


@bp.route("/admin/invites", methods=["GET", "POST"])
@login_required
def admin_invites() -> ResponseReturnValue:
    """The invite codes (uses, expiry, a link to share) and the form for a new one."""
    me = _require_admin()
    form = forms.InviteCreateForm(formdata=None if request.method == "GET" else request.form)
    form.tier_id.choices = [SelectChoice(t.id, t.name) for t in services.tiers(active_only=False)]
    if request.method == "POST":

        def create():
            return services.create_invite(
                me,
                services.get_tier(form.tier_id.data),
                max_uses=form.max_uses.data or 1,
                expires_at=_end_of_day(form.expires_on.data),
                note=(form.note.data or "").strip(),
                code=(form.code.data or "").strip(),
            )

        made = _saved(form, create, _("The invite code is made."), {"expires_at": "expires_on"})
        if made is not None:
            return redirect(url_for("membership.admin_invites"))
    return (
        render_template("membership/admin_invites.html", invites=services.invites(), form=form),
        400 if form.errors else 200,
    )


# -- admin: clean-out rules ------------------------------------------------------------------------


def _rule_form(**kw: Any) -> forms.RuleForm:
    form = forms.RuleForm(**kw)
    form.group_ids.choices = _group_choices()
    return form


def _rules_page(form: Any = None, status: int = 200) -> ResponseReturnValue:
    page = page_arg()
    removals, pages = services.removals(page)
    return (
        render_template(
            "membership/admin_rules.html",
            rules=services.rules(),
            form=form or _rule_form(formdata=None),
            report=services.cleanup_report(),
            removals=removals,
            page=page,
            pages=pages,
            group_names={g.id: g.name for g in groups.list_groups()},
            action_form=ActionForm(formdata=None),
        ),
        status,
    )


def _rule_values(form: forms.RuleForm) -> dict[str, Any]:
    return {
        "kind": form.kind.data,
        "threshold": form.threshold.data,
        "notice_days": form.notice_days.data or 0,
        "enabled": bool(form.enabled.data),
        "group_ids": list(form.group_ids.data or ()),
    }


@bp.route("/admin/rules", methods=["GET", "POST"])
@login_required
def admin_rules() -> ResponseReturnValue:
    """The clean-out rules, a new rule, the dry run (who would be warned or removed now:
    nothing is written) and the log of removals with a restore button each."""
    me = _require_admin()
    if request.method == "GET":
        return _rules_page()
    form = _rule_form()
    made = _saved(
        form, lambda: services.save_rule(me, None, **_rule_values(form)), _("The rule is saved.")
    )
    if made is not None:
        return redirect(url_for("membership.admin_rules"))
    return _rules_page(form, 400)


@bp.route("/admin/rules/<int:rule_id>/toggle", methods=["POST"])
@login_required
def admin_rule_toggle(rule_id: int) -> ResponseReturnValue:
    """Switch a rule on or off."""
    me = _require_admin()
    _checked_action()
    rule = services.get_rule(rule_id)
    try:
        services.save_rule(me, rule, enabled=not rule.enabled)
    except ServiceError as exc:
        _flash_refusal(exc)
    return redirect(url_for("membership.admin_rules"))


@bp.route("/admin/removals/<int:removal_id>/restore", methods=["POST"])
@login_required
def admin_restore(removal_id: int) -> ResponseReturnValue:
    """Give a removed member their group back."""
    me = _require_admin()
    _checked_action()
    try:
        services.restore(me, services.get_removal(removal_id))
    except ServiceError as exc:
        _flash_refusal(exc)
    else:
        flash(_("The member is back in the group."), "success")
    return redirect(url_for("membership.admin_rules", page=request.args.get("page", type=int)))
