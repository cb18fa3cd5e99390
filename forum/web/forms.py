"""Flask-WTF forms (CSRF on every one). Rules live in the services; forms check shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

IMAGE_TYPES = FileAllowed(
    ["jpg", "jpeg", "png", "gif", "webp"], _l("Images only (JPEG, PNG, GIF, WebP).")
)


class ActionForm(FlaskForm):
    """A button that POSTs (delete, lock, pin …): nothing but the CSRF token."""


class LoginForm(FlaskForm):
    login = StringField(_l("Username or e-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"), default=True)


class RegisterForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(min=2, max=20)],
        description=_l("2–20 characters: letters (Chinese too), digits, _ and -."),
    )
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
    )


class EmailOnlyForm(FlaskForm):
    email = StringField(_l("E-mail or username"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
    )


class ComposerForm(FlaskForm):
    """New thread (with title), reply or edit. The image is optional."""

    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=50_000)])
    image = FileField(_l("Attach an image"), validators=[Optional(), IMAGE_TYPES])


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=40)])
    bio = TextAreaField(_l("About me"), validators=[Optional(), Length(max=2000)])
    avatar = FileField(_l("Avatar"), validators=[Optional(), IMAGE_TYPES])


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[], validate_choice=True)
    timezone = SelectField(_l("Time zone"), choices=[], validate_choice=True)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
    )


class EmailForm(FlaskForm):
    email = EmailField(_l("New e-mail"), validators=[DataRequired(), Length(max=254)])
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])


class MoveForm(FlaskForm):
    board = SelectField(_l("Move to board"), coerce=int, choices=[])
