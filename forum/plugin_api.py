"""What a plugin imports from the core: the hook marker and the values its hooks return.

::

    from forum.plugin_api import hookimpl, Permission, Setting, ThreadKind, plugin_settings, notify

Everything here is stable API for plugin developers (``docs/plugins.md``). Services a plugin
may call live in ``forum.services`` (``points``, ``permissions``, ``posting`` …) and
``forum.jobs``; a plugin never imports from ``forum.web``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy
from flask_babel import gettext as _

from forum.jobs import PeriodicJob

#: Decorate a plugin's hook implementations with this (``@hookimpl``).
hookimpl = pluggy.HookimplMarker("forum")

FIELD_TYPES = ("bool", "int", "str", "text", "choice", "money")
_MONEY = re.compile(r"^\d{1,10}(?:\.\d{1,2})?$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@dataclass(frozen=True)
class PluginMeta:
    """A plugin's description, set as ``META = PluginMeta(...)`` in its module.

    Anything left empty is taken from the installed distribution's metadata (version,
    summary, author, home page) when there is one.
    """

    label: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    homepage: str = ""
    min_core_version: str = ""


@dataclass(frozen=True)
class Field:
    """A typed value entered in a form: a plugin setting or an extra composer field.

    ``type`` is one of ``bool``, ``int``, ``str`` (one line), ``text`` (several lines),
    ``choice`` (one of ``choices``: a sequence of ``(value, label)``) or ``money`` (entered
    as ``12.50``, stored as an int number of cents). ``min``/``max`` bound ints and money
    (in cents); ``max_length`` bounds text.
    """

    name: str
    type: str
    default: Any = None
    label: Any = ""
    help: Any = ""
    choices: Sequence[tuple[str, Any]] = ()
    min: int | None = None
    max: int | None = None
    max_length: int = 500
    required: bool = False

    def check(self) -> None:
        """Raise ValueError when the declaration itself is wrong (checked at plugin load)."""
        if not _NAME.match(self.name):
            raise ValueError(f"field name {self.name!r} must be lower case letters, digits, _")
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name!r}: unknown type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.name!r}: a choice needs choices")
        if self.default is not None:
            try:
                self.parse(self.format(self.default))
            except ValueError as exc:
                raise ValueError(f"field {self.name!r}: default {self.default!r}: {exc}") from None

    def format(self, value: Any) -> str:
        """The value as a form shows it (cents as ``12.50``)."""
        if value is None:
            return ""
        if self.type == "money":
            return f"{int(value) // 100}.{int(value) % 100:02d}"
        if self.type == "bool":
            return "1" if value else ""
        return str(value)

    def parse(self, raw: str | None) -> Any:
        """The typed value of a form's text, or ValueError with a message for the member."""
        if self.type == "bool":
            return (raw or "").strip().lower() not in ("", "0", "false", "off", "no")
        text = (raw or "").strip()
        if not text:
            if self.required:
                raise ValueError(_("This field is required."))
            return None if self.type in ("int", "money", "choice") else ""
        if self.type in ("str", "text"):
            if len(text) > self.max_length:
                raise ValueError(_("At most %(n)d characters.", n=self.max_length))
            return text
        if self.type == "choice":
            if text not in {str(v) for v, _label in self.choices}:
                raise ValueError(_("Please choose one of the options."))
            return text
        if self.type == "int":
            if not re.fullmatch(r"-?\d{1,15}", text):
                raise ValueError(_("Enter a whole number."))
            value = int(text)
        else:  # money
            if not _MONEY.match(text):
                raise ValueError(_("Enter an amount such as 12.50."))
            whole, _dot, cents = text.partition(".")
            value = int(whole) * 100 + int((cents + "00")[:2])
        if self.min is not None and value < self.min:
            raise ValueError(_("At least %(n)s.", n=self.format(self.min)))
        if self.max is not None and value > self.max:
            raise ValueError(_("At most %(n)s.", n=self.format(self.max)))
        return value


@dataclass(frozen=True)
class Setting(Field):
    """A plugin setting, edited on the plugin's admin page (see :class:`Field`)."""


@dataclass(frozen=True)
class KindField(Field):
    """An extra field a thread kind adds to the composer (see :class:`Field`)."""


@dataclass(frozen=True)
class Permission:
    """A board permission a plugin adds to the matrix.

    ``grants`` names the built-in groups (``guest``, ``member``, ``moderator``, ``admin``)
    that have it by default on every board; admins have every permission anyway.
    """

    name: str
    label: Any
    grants: tuple[str, ...] = ("moderator", "admin")
    description: Any = ""


@dataclass(frozen=True)
class ThreadKind:
    """A kind of thread a plugin adds.

    - ``fields``: extra composer fields (:class:`KindField`), shown when starting a thread of
      this kind; their parsed values go to ``validate`` and ``on_create``.
    - ``validate(values, member, board)``: return the cleaned values (or None to keep them)
      or raise :class:`forum.services.errors.ServiceError` (``field`` names the input).
    - ``on_create(thread, post, values)``: store the plugin's data for the new thread
      (``db.session.add(...)``); runs inside the transaction, before commit.
    - ``template``: a template included above the first post (context: ``thread``,
      ``post``, ``kind_data``), ``load(thread)`` supplies ``kind_data``.
    - ``post_order(thread, page, per_page, order)``: called for every page of such a
      thread; the ids of the posts to show on ``page``, in their order (answers by votes,
      say), for the order the reader chose with ``?order=`` (``""`` by default; a lower-case
      word, anything else arrives as ``""``). Return None for the core's order by
      post number: always for ``order="number"``, which the core's links to one post
      (``/p/<id>``, last, unread) ask for. One indexed query; page ``p`` holds the posts
      ranked ``(p - 1) * per_page + 1`` to ``p * per_page``, the first post first. A
      function that raises is logged and the page shows posts by number.
    - ``compose_url(board)``: the URL of the plugin's own page for starting a thread of this
      kind on ``board``, for kinds whose composer the core's cannot be (a listing's
      category fields and photos, say). The core's composer sends members there; the
      plugin's page calls :func:`forum.services.posting.create_thread` itself.
    """

    name: str
    label: Any
    description: Any = ""
    fields: Sequence[KindField] = ()
    validate: Callable[..., Mapping[str, Any] | None] | None = None
    on_create: Callable[..., None] | None = None
    template: str | None = None
    load: Callable[..., Any] | None = None
    post_order: Callable[..., Sequence[int] | None] | None = None
    compose_url: Callable[..., str] | None = None


@dataclass(frozen=True)
class BoardFilter:
    """A filter of a board's thread list (``?filter=<name>``), offered as a tab.

    ``name`` is ``"<plugin>_<filter>"`` (``"qa_unanswered"``), ``label`` the tab's text.
    ``where()`` returns a SQLAlchemy condition on :class:`forum.models.Thread` (for example
    ``Thread.id.in_(select(Question.thread_id).where(...))``) that the board's listing adds
    to its query; keep it indexable, the listing pages through it and counts it.
    """

    name: str
    label: Any
    where: Callable[[], Any]


@dataclass(frozen=True)
class NotificationKind:
    """A kind of notification a plugin sends with :func:`notify`.

    ``name`` is ``"<plugin>.<event>"`` (``"groupbuy.filled"``); ``label`` names the kind for
    members. ``render(notification)`` returns the text shown on ``/notifications`` and in
    the e-mail digest, in the viewer's language (call ``gettext`` inside it, not when the
    notification is sent). ``notification`` has ``kind``, ``actor_name``, ``title``,
    ``url``, ``data`` (the dict given to :func:`notify`), ``thread_id``, ``post_id`` and
    ``created_at``. While the plugin is disabled its notifications show the title (or a
    plain "You have a notification") instead.
    """

    name: str
    label: Any
    render: Callable[[Any], str]


@dataclass(frozen=True)
class AdminPage:
    """A link in the admin area's navigation: an endpoint and its label."""

    endpoint: str
    label: Any


@dataclass(frozen=True)
class NavItem:
    """A link in the site's top navigation."""

    label: Any
    url: str
    active_prefix: str = ""


#: What a :class:`TrustFact`'s ``tone`` may be.
TRUST_TONES = ("", "positive", "negative")


@dataclass(frozen=True)
class TrustFact:
    """One fact on a member's trust card ("Trades rated 4.9 (23)").

    ``label`` and ``value`` are shown as they are (translate the label, format the value:
    ``"96%"``, ``"4.9 (23)"``); ``hint`` is a longer explanation shown on hover or tap.
    Facts are shown by ``order``: the core's come first (10 member since, 20 posts,
    30 threads, 40 likes received, 50 warnings), then the plugins' (100 unless they say
    otherwise), in plugin order when equal. ``tone`` colours the fact: ``"positive"``
    (a good record) or ``"negative"`` (warnings, scam reports); ``""`` is neutral.
    """

    label: Any
    value: Any
    hint: Any = ""
    order: int = 100
    tone: str = ""


def plugin_settings(name: str) -> Mapping[str, Any]:
    """The settings of plugin ``name`` (defaults filled in), cached per worker.

    ``plugin_settings("qa")["bounty_min"]``.
    """
    from forum.services.plugin_state import plugin_settings as load

    return load(name)


def notify(
    member_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    title: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
) -> Any:
    """Tell member ``member_id`` something: :func:`forum.services.notifications.notify`.

    ``kind`` is one of the plugin's :class:`NotificationKind` names; ``data`` holds the
    (JSON) values its ``render`` words the text from. Nobody is told of their own action
    (``actor_id == member_id``), nor about a thread they muted. Runs in the caller's
    transaction: commit afterwards (or call it inside your own write, before its commit).
    Returns the notification, or None when none was added.

    ``notify(order.buyer_id, "groupbuy.filled", title=campaign.title,
    url=f"/groupbuy/{campaign.id}", data={"count": campaign.joined})``
    """
    from forum.services import notifications

    return notifications.notify(
        member_id,
        kind,
        actor_id=actor_id,
        thread_id=thread_id,
        post_id=post_id,
        title=title,
        url=url,
        data=data,
    )


def is_enabled(name: str) -> bool:
    """True while plugin ``name`` is installed, loaded and enabled."""
    from forum import plugins

    return plugins.is_enabled(name)


__all__ = [
    "AdminPage",
    "BoardFilter",
    "Field",
    "KindField",
    "NavItem",
    "NotificationKind",
    "PeriodicJob",
    "Permission",
    "PluginMeta",
    "Setting",
    "ThreadKind",
    "TrustFact",
    "hookimpl",
    "is_enabled",
    "notify",
    "plugin_settings",
]
