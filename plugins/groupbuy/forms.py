"""The group-buy forms (Flask-WTF, every one carries the CSRF token). They check shape
only: prices, tiers, stock, deadlines and who may join are the services' (:mod:`.services`),
whose refusals the views put beside the input they name.

The campaign form has a fixed number of rows of price tiers (``tier_people_<i>``,
``tier_price_<i>``) and of pickup points (``point_name_<i>``, ``point_address_<i>``): the
page works without JavaScript, and a leader leaves the rows they do not need empty.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from forum.web.admin_forms import SiteTimeField

#: Rows of price tiers and pickup points on the campaign form.
TIER_ROWS = 6
POINT_ROWS = 5
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
ADDRESS_MAX = 300
MESSAGE_MAX = 2000
MAX_QUANTITY_INPUT = 6  # digits

_MONEY = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00", "maxlength": 12}
_COUNT = {"inputmode": "numeric", "autocomplete": "off", "maxlength": 6}


class CampaignForm(FlaskForm):
    """A new campaign or the changes to one (the rows are added below the class)."""

    board = SelectField(_l("Board"), choices=[], validate_choice=False)
    title = StringField(
        _l("Product"),
        validators=[DataRequired(), Length(max=TITLE_MAX)],
        description=_l("What is offered: brand, size, origin."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(max=DESCRIPTION_MAX)],
        description=_l("The product, when and how it is handed over (Markdown)."),
    )
    original_price = StringField(
        _l("Original price (yuan)"),
        validators=[DataRequired(), Length(max=12)],
        render_kw=_MONEY,
    )
    min_participants = StringField(
        _l("Minimum participants"),
        validators=[DataRequired(), Length(max=6)],
        render_kw=_COUNT,
        description=_l("The deal happens only if this many people have paid by the deadline."),
    )
    stock = StringField(
        _l("Total stock"), validators=[DataRequired(), Length(max=6)], render_kw=_COUNT
    )
    per_member_limit = StringField(
        _l("Limit per member"),
        default="1",
        validators=[DataRequired(), Length(max=6)],
        render_kw=_COUNT,
    )
    deadline = SiteTimeField(
        _l("Deadline"),
        validators=[Optional()],
        description=_l("In the site's time zone."),
    )
    pickup = BooleanField(_l("Pick-up points"), default=True)
    delivery = BooleanField(_l("Delivery to an address"))
    members_only_groups = SelectMultipleField(
        _l("Only for members of"),
        choices=[],
        validate_choice=False,
        description=_l("Leave empty: everyone may join."),
    )
    early_access_groups = SelectMultipleField(
        _l("Early access for"), choices=[], validate_choice=False
    )
    early_access_until = SiteTimeField(
        _l("Early access until"),
        validators=[Optional()],
        description=_l("Before this time only the groups above may join."),
    )
    commission_percent = StringField(
        _l("Leader commission (%)"),
        default="0",
        validators=[Optional(), Length(max=8)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": 8},
    )
    photos = MultipleFileField(
        _l("Photos"),
        render_kw={"accept": "image/jpeg,image/png,image/gif,image/webp"},
        description=_l("Up to 9 photos (JPEG, PNG, GIF, WebP). The first is the cover."),
    )

    def tier_rows(self) -> list[tuple[StringField, StringField]]:
        """The (people, price) inputs of every tier row."""
        return [(self[f"tier_people_{i}"], self[f"tier_price_{i}"]) for i in range(TIER_ROWS)]

    def point_rows(self) -> list[tuple[StringField, StringField]]:
        """The (name, address) inputs of every pickup point row."""
        return [(self[f"point_name_{i}"], self[f"point_address_{i}"]) for i in range(POINT_ROWS)]

    def tiers(self) -> list[tuple[str, str]]:
        """The tiers as typed (rows left empty are left out)."""
        out = []
        for people, price in self.tier_rows():
            a, b = (people.data or "").strip(), (price.data or "").strip()
            if a or b:
                out.append((a, b))
        return out

    def pickup_points(self) -> list[tuple[str, str]]:
        """The pickup points as typed (rows left empty are left out)."""
        out = []
        for name, address in self.point_rows():
            a, b = (name.data or "").strip(), (address.data or "").strip()
            if a or b:
                out.append((a, b))
        return out


for _i in range(TIER_ROWS):
    setattr(
        CampaignForm,
        f"tier_people_{_i}",
        StringField(_l("From (people)"), validators=[Length(max=6)], render_kw=_COUNT),
    )
    setattr(
        CampaignForm,
        f"tier_price_{_i}",
        StringField(_l("Price (yuan)"), validators=[Length(max=12)], render_kw=_MONEY),
    )
for _i in range(POINT_ROWS):
    setattr(
        CampaignForm,
        f"point_name_{_i}",
        StringField(_l("Pick-up point"), validators=[Length(max=120)]),
    )
    setattr(
        CampaignForm,
        f"point_address_{_i}",
        StringField(_l("Address"), validators=[Length(max=ADDRESS_MAX)]),
    )


class JoinForm(FlaskForm):
    """Join a campaign: how many, and where to collect (or the delivery address)."""

    quantity = StringField(
        _l("Quantity"),
        default="1",
        validators=[DataRequired(), Length(max=MAX_QUANTITY_INPUT)],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6},
    )
    pickup_point_id = SelectField(_l("Pick-up point"), choices=[], validate_choice=False)
    delivery_address = TextAreaField(
        _l("Delivery address"),
        validators=[Optional(), Length(max=ADDRESS_MAX)],
        render_kw={"rows": 2, "autocomplete": "street-address"},
    )


class CancelForm(FlaskForm):
    """Cancel a campaign: the reason is told to every participant."""

    reason = TextAreaField(
        _l("Why is it cancelled?"),
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"rows": 2},
    )


class MessageForm(FlaskForm):
    """A message to every participant (a notification each)."""

    text = TextAreaField(
        _l("Message to all participants"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 3},
    )


class AskForm(FlaskForm):
    """A question to the buyers (a Q&A question attached to the campaign)."""

    board = SelectField(_l("Board"), choices=[], validate_choice=False)
    title = StringField(_l("Your question"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(
        _l("Details"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3}
    )
