"""Flask-WTF forms (CSRF on every one). Rules live in the services; forms check shape only."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import Field
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from forum.plugin_api import KindField

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) tuples

    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


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


class ThreadComposerForm(ComposerForm):
    """A new thread: the composer, with the thread's kind kept in a hidden field."""

    kind = HiddenField(default="discussion")


#: A thread kind's extra field ``price`` is the composer's input ``kind_price`` (so that a
#: plugin's field names can never clash with the composer's own).
KIND_FIELD_PREFIX = "kind_"


def _kind_input(spec: KindField) -> Field:
    """The form input of one extra field of a thread kind (shape only: the service parses)."""
    label = spec.label or spec.name
    help_text = spec.help or ""
    default = spec.format(spec.default) if spec.default is not None else None
    attrs: dict[str, object] = {"required": True} if spec.required else {}
    if spec.type == "bool":
        return BooleanField(label, description=help_text, default=bool(spec.default))
    if spec.type == "choice":
        blank = [SelectChoice("", _l("Choose…"))] if spec.required or default is None else []
        choices = [*blank, *(SelectChoice(str(value), text) for value, text in spec.choices)]
        return SelectField(
            label,
            description=help_text,
            choices=choices,
            default=default or "",
            validate_choice=False,
            render_kw=attrs,
        )
    if spec.type == "text":
        attrs.update(rows=4, maxlength=spec.max_length)
        return TextAreaField(label, description=help_text, default=default, render_kw=attrs)
    if spec.type == "money":
        attrs.update(inputmode="decimal", autocomplete="off", placeholder="0.00")
    elif spec.type == "int":
        negative = spec.min is None or spec.min < 0
        attrs.update(inputmode="text" if negative else "numeric", autocomplete="off")
    else:
        attrs.update(maxlength=spec.max_length)
    return StringField(label, description=help_text, default=default, render_kw=attrs)


def thread_composer_form(kind: str, fields: Sequence[KindField] = ()) -> ThreadComposerForm:
    """The new-thread form for thread kind ``kind``, with an input for each of its extra
    ``fields`` (named :data:`KIND_FIELD_PREFIX` + the field's name)."""
    extra = {KIND_FIELD_PREFIX + f.name: _kind_input(f) for f in fields}
    form_class = (
        type("KindComposerForm", (ThreadComposerForm,), extra) if extra else ThreadComposerForm
    )
    form = form_class()
    form.kind.data = kind
    return form


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
