"""Profiles and the member's own settings."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from forum.services import members, notifications, reading, uploads
from forum.services.errors import ServiceError
from forum.web.forms import DigestForm, EmailForm, PasswordForm, PreferencesForm, ProfileForm
from forum.web.util import form_error, viewer

bp = Blueprint("members", __name__)

LOCALE_CHOICES = [
    ("", _l("Browser default")),
    ("zh_Hans", "简体中文"),
    ("zh_Hant", "繁體中文"),
    ("en", "English"),
]
_COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
                 "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
                 "Australia/Sydney", "UTC"]  # fmt: skip


def timezone_choices() -> list[tuple[str, str]]:
    """Common zones first, then every IANA zone."""
    rest = sorted(z for z in available_timezones() if "/" in z and z not in _COMMON_ZONES)
    return [("", _("Site default")), *((z, z) for z in _COMMON_ZONES), *((z, z) for z in rest)]


@bp.route("/u/<username>")
def profile(username: str):
    member = members.get_by_username(username)
    if member is None:
        abort(404)
    threads = reading.recent_threads(member, viewer())
    return render_template("profile.html", member=member, threads=threads)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    member = viewer()
    section = request.form.get("section", "")
    profile_form = ProfileForm(prefix="p", obj=member if request.method == "GET" else None)
    prefs_form = PreferencesForm(prefix="l")
    prefs_form.locale.choices = LOCALE_CHOICES
    prefs_form.timezone.choices = timezone_choices()
    password_form = PasswordForm(prefix="w")
    email_form = EmailForm(prefix="e")
    digest_form = DigestForm(prefix="n")
    if request.method == "GET":
        prefs_form.locale.data = member.locale
        prefs_form.timezone.data = member.timezone
        digest_form.digest.data = member.digest
    try:
        if section == "profile" and profile_form.validate_on_submit():
            if profile_form.avatar.data and getattr(profile_form.avatar.data, "filename", ""):
                uploads.save_avatar(member, profile_form.avatar.data.stream)
            members.update_profile(
                member, display_name=profile_form.display_name.data, bio=profile_form.bio.data
            )
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("members.settings"))
        if section == "prefs" and prefs_form.validate_on_submit():
            members.update_profile(
                member, locale=prefs_form.locale.data, timezone=prefs_form.timezone.data
            )
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for("members.settings"))
        if section == "digest" and digest_form.validate_on_submit():
            notifications.set_digest(member, digest_form.digest.data)
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("members.settings") + "#notifications")
        if section == "password" and password_form.validate_on_submit():
            members.change_password(
                member, password_form.current_password.data, password_form.password.data
            )
            from flask_login import login_user

            login_user(member)  # the session token rotated; keep this session signed in
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("members.settings"))
        if section == "email" and email_form.validate_on_submit():
            members.request_email_change(
                member, email_form.current_password.data, email_form.email.data
            )
            flash(
                _("We sent a link to the new address; the change takes effect when you open it."),
                "success",
            )
            return redirect(url_for("members.settings"))
    except ServiceError as exc:
        form = {
            "profile": profile_form,
            "prefs": prefs_form,
            "password": password_form,
            "email": email_form,
            "digest": digest_form,
        }[section]
        if exc.field == "image":
            exc.field = "avatar"
        form_error(form, exc)
    return render_template(
        "settings.html",
        member=member,
        profile_form=profile_form,
        prefs_form=prefs_form,
        password_form=password_form,
        email_form=email_form,
        digest_form=digest_form,
    )
