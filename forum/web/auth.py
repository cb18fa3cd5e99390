"""Sign in and out, registration, e-mail confirmation and password reset."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from forum.extensions import db, limiter
from forum.models import Member
from forum.services import members, site
from forum.services.errors import ServiceError
from forum.web.forms import EmailOnlyForm, LoginForm, RegisterForm, ResetPasswordForm
from forum.web.util import form_error, safe_next, viewer

bp = Blueprint("auth", __name__)


def load_member(user_id: str) -> Member | None:
    """Flask-Login's loader: ``"<id>:<session token>"`` → member, if the token still matches."""
    member_id, _sep, token = user_id.partition(":")
    if not member_id.isdigit():
        return None
    member = db.session.get(Member, int(member_id))
    if member is None or member.session_token != token:
        return None
    return member


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if viewer() is not None:
        return redirect(safe_next())
    form = LoginForm()
    unconfirmed = False
    if form.validate_on_submit():
        try:
            member = members.authenticate(form.login.data, form.password.data)
        except ServiceError as exc:
            unconfirmed = exc.field == "unconfirmed"
            flash(exc.message, "error")
        else:
            login_user(member, remember=form.remember.data)
            flash(_("Welcome back, %(name)s!", name=member.name), "success")
            return redirect(safe_next())
    return render_template("auth/login.html", form=form, unconfirmed=unconfirmed)


@bp.route("/logout", methods=["POST"])
def logout():
    from forum.web.forms import ActionForm

    if ActionForm().validate_on_submit():
        logout_user()
        flash(_("You have signed out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    if viewer() is not None:
        return redirect(url_for("main.index"))
    mode = site.setting("registration_mode")
    form = RegisterForm()
    if mode != "closed" and form.validate_on_submit():
        try:
            member = members.register(form.username.data, form.email.data, form.password.data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return render_template("auth/registered.html", member=member)
    return render_template("auth/register.html", form=form, mode=mode)


@bp.route("/confirm/<token>")
def confirm(token: str):
    try:
        member = members.confirm_email(token)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.resend"))
    flash(_("Your e-mail address %(email)s is confirmed.", email=member.email), "success")
    if viewer() is not None:
        return redirect(url_for("members.settings"))
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def resend():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        members.resend_confirmation(form.email.data)
        flash(
            _("If that account is waiting for confirmation, a new link is on its way."), "success"
        )
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/simple_form.html", form=form, title=_("Send the confirmation link again")
    )


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def forgot_password():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        members.request_password_reset(form.email.data)
        flash(_("If an account has this address, we have sent it a link."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/simple_form.html", form=form, title=_("Forgot your password?"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            members.reset_password(token, form.password.data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Your password is changed. Please sign in."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/simple_form.html", form=form, title=_("Choose a new password"))


@bp.route("/me")
@login_required
def me():
    return redirect(url_for("members.profile", username=viewer().username))
