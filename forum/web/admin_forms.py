"""Flask-WTF forms of the admin area, and the helpers that turn its input into service calls.

Dates: an admin types an expiry or a ban end in the site's default time zone (a
``datetime-local`` input); :func:`to_utc` turns that into the naive UTC the database stores
and :func:`site_time` shows a stored time back in the site's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.core import Field as FormField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from forum.models.base import utcnow
from forum.plugin_api import Setting
from forum.services import site
from forum.services.members import MemberQuery
from forum.web.forms import SelectChoice, typed_input

#: What the matrix calls each core permission; plugin permissions bring their own label.
PERMISSION_LABELS = {
    "view": _l("View"),
    "read": _l("Read"),
    "start_thread": _l("Start threads"),
    "reply": _l("Reply"),
    "upload": _l("Upload"),
    "moderate": _l("Moderate"),
}

REGISTRATION_CHOICES = [
    SelectChoice("open", _l("Open: anyone may register")),
    SelectChoice("approval", _l("Approval: an admin approves new members")),
    SelectChoice("closed", _l("Closed: nobody may register")),
]
LOCALE_CHOICES = [
    SelectChoice("zh_Hans", "简体中文"),
    SelectChoice("zh_Hant", "繁體中文"),
    SelectChoice("en", "English"),
]
POSITION = NumberRange(min=-100_000, max=100_000)


def choices(pairs: Iterable[tuple[object, str]]) -> list:
    """``(value, label)`` pairs as select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def permission_label(name: str) -> str:
    """The label of a permission in the matrix (the core's, or the plugin's that adds it)."""
    if name in PERMISSION_LABELS:
        return str(PERMISSION_LABELS[name])
    from forum import plugins

    for _plugin, perm in plugins.permissions():
        if perm.name == name:
            return str(perm.label)
    return name


def site_zone() -> ZoneInfo:
    """The site's default time zone (UTC if the setting names an unknown zone)."""
    try:
        return ZoneInfo(site.setting("default_timezone"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(value: datetime | None) -> datetime | None:
    """A time from a form (aware, or naive in the site's zone) → naive UTC for the database."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=site_zone())
    return value.astimezone(UTC).replace(tzinfo=None)


def site_time(value: datetime | None) -> str:
    """A stored naive-UTC time shown in the site's zone: ``2025-03-01 18:00``."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(site_zone()).strftime("%Y-%m-%d %H:%M")


def as_aware(value: datetime | None) -> datetime | None:
    """A stored naive-UTC time made aware, to prefill a :class:`SiteTimeField`."""
    return value.replace(tzinfo=UTC) if value is not None else None


class SiteTimeField(DateTimeLocalField):
    """A ``datetime-local`` input read and shown in the site's default time zone."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        kwargs.setdefault("tz", site_zone)
        super().__init__(*args, **kwargs)


def parse_matrix(
    formdata: Mapping[str, str], group_ids: Iterable[int], names: Iterable[str]
) -> dict[int, list[str]]:
    """The ticked boxes of a matrix form (``p-<group id>-<permission>``) per group."""
    names = list(names)
    return {gid: [p for p in names if formdata.get(f"p-{gid}-{p}")] for gid in group_ids}


def parse_positions(formdata: Mapping[str, str], prefix: str) -> dict[int, int]:
    """``<prefix>-<id>`` number inputs of the order form → id → position (bad ones skipped)."""
    result: dict[int, int] = {}
    for key, value in formdata.items():
        head, _sep, raw_id = key.partition("-")
        if head != prefix or not raw_id.isdigit():
            continue
        try:
            position = int(str(value).strip())
        except ValueError:
            continue
        if -100_000 <= position <= 100_000:
            result[int(raw_id)] = position
    return result


class CategoryForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[DataRequired(), Length(max=80)])
    position = IntegerField(_l("Position"), validators=[Optional(), POSITION])


class BoardForm(FlaskForm):
    category = SelectField(_l("Category"), coerce=int, choices=[], validate_choice=True)
    name = StringField(_l("Board name"), validators=[DataRequired(), Length(max=80)])
    slug = StringField(
        _l("Address name"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("Used in the address /b/…: lower-case letters, digits and '-'."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    position = IntegerField(_l("Position"), validators=[Optional(), POSITION])
    #: The kinds of thread members may start here; the view fills in the choices (the core's
    #: and the enabled plugins'), the boards service checks them.
    thread_kinds = SelectMultipleField(
        _l("Kinds of thread"),
        choices=[],
        validate_choice=False,
        description=_l("What members may start on this board."),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=60)])
    key = StringField(
        _l("Key"),
        validators=[Optional(), Length(max=40)],
        description=_l("Optional. A short English name for plugins and the command line."),
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])


class RenameGroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=60)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])
    post_rate = StringField(
        _l("Posting rate"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "For example “10 per hour” or “5/minute;100/day”. Empty: the site default. "
            "A member gets the most generous rate of their groups."
        ),
        render_kw={"autocomplete": "off"},
    )


class MemberSearchForm(FlaskForm):
    """The search box of the member list (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])


def _optional_int(value: Any) -> int | None:
    """A select's value as an int; empty (or nonsense) as None."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


MEMBER_STATUS_CHOICES = [
    SelectChoice("", _l("Any status")),
    SelectChoice("active", _l("Active")),
    SelectChoice("pending", _l("Waiting for approval")),
    SelectChoice("banned", _l("Banned")),
]
MEMBER_SORT_CHOICES = [
    SelectChoice("joined", _l("Newest members")),
    SelectChoice("posts", _l("Most posts")),
    SelectChoice("last_seen", _l("Last seen")),
]


class MemberFilterForm(MemberSearchForm):
    """The member list's filters (GET). The view fills in the group choices."""

    group = SelectField(_l("Group"), coerce=_optional_int, choices=[], validate_choice=True)
    status = SelectField(
        _l("Status"), choices=MEMBER_STATUS_CHOICES, default="", validate_choice=True
    )
    joined_days = IntegerField(
        _l("Joined within (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
        render_kw={"inputmode": "numeric", "min": 1, "max": 3650},
    )
    joined_before = DateField(_l("Joined before"), validators=[Optional()])
    sort = SelectField(
        _l("Sort by"), choices=MEMBER_SORT_CHOICES, default="joined", validate_choice=True
    )

    def filters(self) -> MemberQuery:
        """The filters for ``members.list_members`` (call after ``validate()``); a field
        with an error filters nothing. ``joined_before`` is the start of that day in the
        site's zone."""
        ok = {name: not field.errors for name, field in self._fields.items()}
        before = self.joined_before.data if ok["joined_before"] else None
        return MemberQuery(
            text=(self.q.data or "").strip() if ok["q"] else "",
            group_id=self.group.data if ok["group"] else None,
            status=(self.status.data or "") if ok["status"] else "",
            joined_within_days=self.joined_days.data if ok["joined_days"] else None,
            joined_before=to_utc(datetime.combine(before, time(0))) if before else None,
            sort=self.sort.data if ok["sort"] and self.sort.data else "joined",
        )

    def active(self) -> bool:
        """True when a filter other than the text search is set."""
        f = self.filters()
        return bool(f.group_id or f.status or f.joined_within_days or f.joined_before)


#: The member list's bulk actions: the value of the submit button that was pressed.
BULK_ACTIONS = ("group_add", "group_remove", "ban", "unban", "approve")


class MemberBulkForm(FlaskForm):
    """The bulk actions under the member list: ticked members, the pressed button's
    ``action`` and the fields that action uses. The members service checks the values."""

    members = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    action = StringField()
    group = SelectField(_l("Group"), coerce=_optional_int, choices=[], validate_choice=False)
    expires_at = SiteTimeField(
        _l("Expires"), validators=[Optional()], description=_l("Leave empty for no end.")
    )
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    until = SiteTimeField(
        _l("Banned until"),
        validators=[Optional()],
        description=_l("Leave empty for a permanent ban."),
    )

    def validate_action(self, field: StringField) -> None:
        if field.data not in BULK_ACTIONS:
            raise ValidationError(_l("Choose one of the actions."))


class MembershipForm(FlaskForm):
    group = SelectField(_l("Group"), coerce=int, choices=[], validate_choice=True)
    expires_at = SiteTimeField(
        _l("Expires"),
        validators=[Optional()],
        description=_l("Leave empty for no end."),
    )


class BanForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    until = SiteTimeField(
        _l("Banned until"),
        validators=[Optional()],
        description=_l("Leave empty for a permanent ban."),
    )

    def validate_until(self, field: SiteTimeField) -> None:
        if field.data is not None and to_utc(field.data) <= utcnow():
            raise ValidationError(_l("The end of a ban must be in the future."))


class SettingsForm(FlaskForm):
    site_name = StringField(_l("Site name"), validators=[DataRequired(), Length(max=80)])
    site_description = TextAreaField(
        _l("Site description"), validators=[Optional(), Length(max=500)]
    )
    registration_mode = SelectField(
        _l("Registration"), choices=REGISTRATION_CHOICES, validate_choice=True
    )
    require_email_confirmation = BooleanField(_l("New members must confirm their e-mail"))
    default_timezone = SelectField(_l("Default time zone"), choices=[], validate_choice=True)
    default_locale = SelectField(
        _l("Default language"), choices=LOCALE_CHOICES, validate_choice=True
    )
    messages_max_recipients = IntegerField(
        _l("Recipients per private conversation"),
        validators=[InputRequired(), NumberRange(min=1, max=50)],
        description=_l("9 allows groups of up to 10 members."),
        render_kw={"inputmode": "numeric"},
    )
    messages_new_member_posts = IntegerField(
        _l("New members: fewer published posts than"),
        validators=[InputRequired(), NumberRange(min=0, max=10_000)],
        render_kw={"inputmode": "numeric"},
    )
    messages_new_member_days = IntegerField(
        _l("New members: registered fewer days ago than"),
        validators=[InputRequired(), NumberRange(min=0, max=365)],
        render_kw={"inputmode": "numeric"},
    )
    messages_new_member_per_day = IntegerField(
        _l("Conversations a new member may start per day"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
        description=_l("Administrators and moderators are never limited."),
        render_kw={"inputmode": "numeric"},
    )
    new_member_hold_posts = IntegerField(
        _l("Hold a new member's first posts for approval"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
        description=_l("How many of a member's first posts a moderator approves. 0: off."),
        render_kw={"inputmode": "numeric"},
    )
    new_member_posts_threshold = IntegerField(
        _l("Link and image limits apply below this many published posts"),
        validators=[InputRequired(), NumberRange(min=0, max=10_000)],
        description=_l("0: no limits."),
        render_kw={"inputmode": "numeric"},
    )
    new_member_max_links = IntegerField(
        _l("Links per post for new members"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        render_kw={"inputmode": "numeric"},
    )
    new_member_max_images = IntegerField(
        _l("Images per post for new members"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description=_l("Administrators and moderators are never held or limited."),
        render_kw={"inputmode": "numeric"},
    )

    def values(self) -> dict:
        """The settings to store, keyed like :data:`forum.services.site.SETTING_DEFAULTS`."""
        return {
            "site_name": self.site_name.data.strip(),
            "site_description": (self.site_description.data or "").strip(),
            "registration_mode": self.registration_mode.data,
            "require_email_confirmation": bool(self.require_email_confirmation.data),
            "default_timezone": self.default_timezone.data,
            "default_locale": self.default_locale.data,
            "messages_max_recipients": self.messages_max_recipients.data,
            "messages_new_member_posts": self.messages_new_member_posts.data,
            "messages_new_member_days": self.messages_new_member_days.data,
            "messages_new_member_per_day": self.messages_new_member_per_day.data,
            "new_member_hold_posts": self.new_member_hold_posts.data,
            "new_member_posts_threshold": self.new_member_posts_threshold.data,
            "new_member_max_links": self.new_member_max_links.data,
            "new_member_max_images": self.new_member_max_images.data,
        }


# -- plugin settings ---------------------------------------------------------------------------


class PluginSettingsForm(FlaskForm):
    """A plugin's settings page: one input per :class:`~forum.plugin_api.Setting`.

    Built by :func:`plugin_settings_form`. The inputs carry the settings' names, so the
    posted form goes to ``plugin_state.save_settings`` as it is; the service parses and
    checks the values, and :meth:`show_errors` puts its messages next to the inputs. The
    form itself checks nothing but the CSRF token, so a member's input is always kept.
    """

    specs: tuple[Setting, ...] = ()

    def setting_fields(self) -> list[tuple[Setting, FormField]]:
        """(setting, its input) in the plugin's order."""
        return [(spec, self[_setting_attr(spec.name)]) for spec in self.specs]

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Show the service's message (setting name → text) next to each input it names."""
        for spec, form_field in self.setting_fields():
            if spec.name in errors:
                form_field.errors = [errors[spec.name]]


def _setting_attr(name: str) -> str:
    # Attribute names of their own, so that a setting called ``data`` or ``meta`` cannot
    # shadow the form's machinery; the HTML name stays the setting's name.
    return f"setting_{name}"


def _bounds_hint(spec: Setting) -> str:
    """A hint such as "From 1 to 100." for a bounded number (money as 12.50), else ""."""
    if spec.type not in ("int", "money"):
        return ""
    if spec.min is not None and spec.max is not None:
        return _("From %(min)s to %(max)s.", min=spec.format(spec.min), max=spec.format(spec.max))
    if spec.min is not None:
        return _("At least %(n)s.", n=spec.format(spec.min))
    if spec.max is not None:
        return _("At most %(n)s.", n=spec.format(spec.max))
    return ""


def setting_input(spec: Setting):
    """The unbound WTForms field that edits one setting (see :func:`forum.web.forms.typed_input`)."""
    hint = " ".join(str(part) for part in (spec.help, _bounds_hint(spec)) if part)
    return typed_input(
        spec,
        description=hint,
        blank="—" if not spec.required and spec.default is None else None,
        label=spec.label or spec.name,
        name=spec.name,
        id=f"setting-{spec.name}",
    )


def _initial(spec: Setting, value: Any) -> Any:
    """A stored setting as its input shows it."""
    if spec.type == "bool":
        return bool(value)
    return spec.format(value)


def plugin_settings_form(
    specs: Sequence[Setting], current: Mapping[str, Any]
) -> PluginSettingsForm:
    """The settings form of a plugin, showing ``current`` (the posted input on a POST)."""
    attrs: dict[str, Any] = {"specs": tuple(specs)}
    attrs.update({_setting_attr(spec.name): setting_input(spec) for spec in specs})
    form_class = type("PluginSettings", (PluginSettingsForm,), attrs)
    data = {_setting_attr(s.name): _initial(s, current.get(s.name, s.default)) for s in specs}
    return form_class(data=data)
