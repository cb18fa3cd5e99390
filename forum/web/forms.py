"""Flask-WTF forms (CSRF on every one). Rules live in the services; forms check shape only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

from forum.plugin_api import Field as TypedField
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


def typed_input(
    spec: TypedField, *, description: str = "", blank: Any = None, required: bool = False, **options
) -> Field:
    """The unbound WTForms input that edits one typed value (:class:`forum.plugin_api.Field`:
    a plugin setting or a thread kind's composer field). Shape only: the service parses.

    ``bool`` → checkbox, ``choice`` → select (``blank``: the label of an empty first option,
    None for none), ``text`` → several lines, ``int`` → a numeric keyboard unless it may be
    negative (a phone's numeric keyboard has no minus sign), ``money`` → a decimal keyboard
    (``12.50``), ``str`` → one line. ``required`` marks the input required in the browser;
    ``options`` go to the field (``label``, ``name``, ``id``, ``default``).
    """
    attrs: dict[str, Any] = {"required": True} if required else {}
    if spec.type == "bool":
        return BooleanField(description=description, **options)
    if spec.type == "choice":
        pairs = [SelectChoice(str(value), label) for value, label in spec.choices]
        if blank is not None:
            pairs.insert(0, SelectChoice("", blank))
        return SelectField(
            description=description,
            choices=pairs,
            validate_choice=False,
            render_kw=attrs,
            **options,
        )
    if spec.type == "text":
        attrs.update(rows=4, maxlength=spec.max_length)
        return TextAreaField(description=description, render_kw=attrs, **options)
    attrs["autocomplete"] = "off"
    if spec.type == "money":
        attrs.update(inputmode="decimal", placeholder="0.00")
    elif spec.type == "int":
        if spec.min is not None and spec.min >= 0:
            attrs["inputmode"] = "numeric"
    else:  # str
        attrs["maxlength"] = spec.max_length
    return StringField(description=description, render_kw=attrs, **options)


def _kind_input(spec: KindField) -> Field:
    """The composer input of one extra field of a thread kind."""
    default = spec.format(spec.default) if spec.default is not None else None
    if spec.type == "bool":
        default = bool(spec.default)
    blank = _l("Choose…") if spec.required or default is None else None
    return typed_input(
        spec,
        label=spec.label or spec.name,
        description=spec.help or "",
        blank=blank,
        required=spec.required and spec.type != "bool",
        default=default if spec.type != "choice" else default or "",
    )


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


class DigestForm(FlaskForm):
    digest = SelectField(
        _l("E-mail digest"),
        choices=[
            SelectChoice("off", _l("Off")),
            SelectChoice("daily", _l("Daily")),
            SelectChoice("weekly", _l("Weekly")),
        ],
        description=_l("Unread notifications by e-mail, at most once a day or once a week."),
    )


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
