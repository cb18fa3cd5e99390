"""Every hook a Shequn plugin can implement.

A plugin is a module (or package) that defines functions named after these hooks, each
decorated with :data:`forum.plugin_api.hookimpl`. It only has to implement the hooks it
needs, and each implementation may accept any subset of a hook's arguments, by name::

    from forum.plugin_api import hookimpl

    @hookimpl
    def forum_post_created(post, member):
        ...

Hooks come in five families (``docs/plugins.md`` is the guide):

- **setup** hooks run once per process, when the app is created, for every *installed*
  plugin (enabled or not), so routes, settings and tables exist before anyone switches the
  plugin on: ``forum_blueprints``, ``forum_permissions``, ``forum_settings``, ``forum_cli``,
  ``forum_periodic_jobs``, ``forum_thread_kinds``, ``forum_notification_kinds``,
  ``forum_admin_pages``. A plugin whose setup hook raises is listed as *broken* in
  ``/admin/plugins`` and not loaded; the forum still starts.
- **before** hooks run inside the service's transaction, before it commits, for enabled
  plugins only. Returning a message (or raising :class:`forum.services.errors.ServiceError`)
  refuses the action; the member sees the message as a form error and nothing is saved.
- **after** hooks run after the transaction committed, for enabled plugins only. An
  exception is logged with the plugin's name and skipped (the session is rolled back
  first); the member's action has already succeeded.
- **render** hooks run while a page renders, for enabled plugins only; an exception is
  logged and the plugin's part of the page left out.
- **search**: ``forum_search_document`` adds fields to a thread's search document.
- **demo**: ``forum_demo_seed`` adds the plugin's sample content to the demo community.

The docstring of each hook says when it is called, its arguments and what it returns. The
hook reference in ``docs/plugins.md`` is generated from these docstrings (``forum plugins
docs``), and a test fails when the two differ.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("forum")

# -- setup ----------------------------------------------------------------------------------


@hookspec
def forum_blueprints():
    """Flask blueprints of the plugin's pages.

    Called once at start-up. Return a list of :class:`flask.Blueprint`. They are registered
    on the app whether or not the plugin is enabled; while it is disabled every one of their
    routes (and static files) answers 404. Give pages their own URL prefix.

    Example::

        bp = Blueprint("checkin", __name__, url_prefix="/checkin")  # templates/ is added

        @hookimpl
        def forum_blueprints():
            return [bp]
    """


@hookspec
def forum_permissions():
    """New board permissions, with what each built-in group gets by default.

    Called once at start-up. Return a list of :class:`forum.plugin_api.Permission`. The
    permissions appear as columns of the board/group permission matrix in the admin area
    while the plugin is enabled; the defaults are written for the built-in groups (guest,
    member, moderator, admin) the first time the plugin is enabled. Names are global: a
    name that the core or another plugin already uses refuses the plugin at load. Check
    them in your services with ``permissions.can(member, "qa_accept", board_id)``.

    Example::

        @hookimpl
        def forum_permissions():
            return [Permission("qa_ask", _l("Ask questions"), grants=("member", "moderator"))]
    """


@hookspec
def forum_settings():
    """Typed settings the owner edits on the plugin's admin page.

    Called once at start-up. Return a list of :class:`forum.plugin_api.Setting` (types:
    ``bool``, ``int``, ``str``, ``choice``, ``money``). Read them with
    ``plugin_settings("qa")["bounty_min"]`` (cached per worker, refreshed on change).

    Example::

        @hookimpl
        def forum_settings():
            return [Setting("bounty_min", "int", 10, _l("Smallest bounty"), min=1)]
    """


@hookspec
def forum_cli():
    """Commands added to the ``forum`` command line.

    Called once when the ``forum`` command starts. Return a list of :class:`click.Command`
    (or groups); they appear as ``forum NAME``. Use ``flask.cli.with_appcontext`` for
    commands that touch the database. Commands of disabled plugins are still listed, so
    that an owner can inspect or repair data.

    Example::

        @click.command("checkin-stats")
        @with_appcontext
        def stats(): ...

        @hookimpl
        def forum_cli():
            return [stats]
    """


@hookspec
def forum_periodic_jobs():
    """Jobs the background worker runs on a schedule.

    Called once at start-up. Return a list of :class:`forum.jobs.PeriodicJob` (a name, a
    function without arguments, and crontab fields). The function runs inside an app
    context; it is skipped while the plugin is disabled, and an exception is logged.

    Example::

        @hookimpl
        def forum_periodic_jobs():
            return [PeriodicJob("qa-expire-bounties", expire_bounties, minute="*/10")]
    """


@hookspec
def forum_thread_kinds():
    """Kinds of thread the plugin adds (a question, a listing, a group-buy campaign).

    Called once at start-up. Return a list of :class:`forum.plugin_api.ThreadKind`: a name,
    a label, extra composer fields, a validation function, a function that stores the
    extra data with the new thread, and a template shown with the first post. An admin
    allows kinds per board; the composer offers the allowed ones. While the plugin is
    disabled its kind is not offered and existing threads show as plain discussions.

    Example::

        @hookimpl
        def forum_thread_kinds():
            return [ThreadKind("question", _l("Question"), fields=[...],
                               on_create=save_question, template="qa/question_head.html")]
    """


@hookspec
def forum_notification_kinds():
    """Kinds of notification the plugin sends (a group-buy filled, an answer accepted).

    Called once at start-up. Return a list of :class:`forum.plugin_api.NotificationKind`:
    a name ``"<plugin>.<event>"``, a label, and ``render(notification)``, which words the
    text at display time in the viewer's language from what was stored (the title, the
    actor's name and the ``data`` dict). Send one with :func:`forum.plugin_api.notify`
    after (or inside) your own write; the caller commits. While the plugin is disabled its
    notifications stay listed with a plain text.

    Example::

        def _filled(n):
            return _("Your group-buy “%(title)s” is complete (%(count)d joined).",
                     title=n.title, count=n.data["count"])

        @hookimpl
        def forum_notification_kinds():
            return [NotificationKind("groupbuy.filled", _l("Group-buy complete"), _filled)]
    """


@hookspec
def forum_admin_pages():
    """Links the plugin adds to the admin area's navigation.

    Called once at start-up. Return a list of :class:`forum.plugin_api.AdminPage` (an
    endpoint of one of the plugin's blueprints and a label). The views must check
    ``permissions.is_admin`` themselves (or live under a blueprint that does).

    Example::

        @hookimpl
        def forum_admin_pages():
            return [AdminPage("groupbuy.admin_orders", _l("Group-buy orders"))]
    """


# -- render ----------------------------------------------------------------------------------


@hookspec
def forum_nav_items(member):
    """Links in the site's top navigation.

    Called on every page render. ``member`` is the signed-in member or None for a guest.
    Return a list of :class:`forum.plugin_api.NavItem` (label and URL), or None.

    Example::

        @hookimpl
        def forum_nav_items(member):
            return [NavItem(_("Check-in"), url_for("checkin.index"))]
    """


@hookspec
def forum_template_slot(slot, context):
    """HTML for a named place in the theme's pages.

    Called while a page renders, once per slot, for enabled plugins. ``slot`` is one of
    ``head``, ``nav``, ``board_header``, ``thread_header``, ``post_author_card``,
    ``post_footer``, ``profile_card``, ``sidebar``, ``composer_extra``, ``gate`` (the call
    to action on a gated board's teaser); ``context`` is a dict
    with what the page shows there (``board``, ``thread``, ``post``, ``member``, ``viewer``).
    Return HTML (a :class:`markupsafe.Markup` or a string that is *already safe*: use
    ``render_template`` or ``Markup.format``) or None. Guests' pages are cached until the
    thread or board changes: call ``versions.changed("thread", thread_id)`` when your
    data shown in a slot changes.

    Example::

        @hookimpl
        def forum_template_slot(slot, context):
            if slot == "post_footer":
                return render_template("qa/vote_buttons.html", post=context["post"])
    """


@hookspec
def forum_trust_facts(members):
    """Facts about members shown on their trust cards (next to posts and on the profile).

    Called while a page renders, **once per page** for every member whose card it shows
    (a thread page: the distinct authors of its posts, up to 20; a profile: one member),
    so that a plugin loads its facts for all of them in one query instead of one each.

    - ``members`` - list of member-like objects, each with ``id``, ``username``,
      ``created_at``, ``post_count``, ``thread_count``, ``like_count`` and
      ``warning_count``. On a thread page they are not ORM entities: use the ids (one
      ``WHERE member_id IN (...)``), not relationships.

    Return a dict of member id → list of :class:`forum.plugin_api.TrustFact` (leave out
    members you have nothing about; ids that are not in ``members`` are ignored), or None.
    A result that is not such a dict, or an exception, is logged with the plugin's name and
    left out; the page renders with the other facts. Facts are shown by ``TrustFact.order``
    (plugin order when equal): the core's (member since, posts, threads, likes received,
    warnings) are 10 to 50, a plugin's 100 unless it says otherwise. Guests' thread pages
    are cached until the thread changes, so there a fact may lag behind.

    Example::

        @hookimpl
        def forum_trust_facts(members):
            counts = dict(db.session.execute(
                select(Answer.author_id, func.count()).where(
                    Answer.accepted, Answer.author_id.in_([m.id for m in members])
                ).group_by(Answer.author_id)
            ).all())
            return {m.id: [TrustFact(_("Accepted answers"), counts[m.id], order=110)]
                    for m in members if m.id in counts}
    """


@hookspec
def forum_board_filters(board):
    """Filters of a board's thread list, offered as tabs above it (``?filter=<name>``).

    Called when a board's page renders (for enabled plugins). Return a list of
    :class:`forum.plugin_api.BoardFilter` for ``board`` (only where they make sense: a
    board that allows your thread kind), or None. The chosen filter's ``where()`` condition
    narrows the listing and its page count; an unknown ``?filter=`` answers 404.

    Example::

        @hookimpl
        def forum_board_filters(board):
            if "question" in board.kinds:
                return [BoardFilter("qa_unanswered", _l("Unanswered"),
                                    lambda: (Thread.kind == "question") & (Thread.reply_count == 0))]
    """


# -- before: inside the transaction, may refuse ------------------------------------------------


@hookspec
def forum_before_post(member, board, thread, body, kind):
    """Check a new thread or reply before it is saved.

    Called inside the transaction, before commit. ``thread`` is None for a new thread
    (``kind`` is then its kind), else the thread being replied to. Return None to let it
    through, or a message (already translated) to refuse it: the composer shows the message
    and keeps the member's text.

    Example::

        @hookimpl
        def forum_before_post(member, board, body):
            if "微信" in body and member.post_count < 5:
                return _("New members may not post contact details yet.")
    """


@hookspec
def forum_before_register(username, email):
    """Check a registration before the member is created.

    Called inside the transaction, before commit. Return None to allow it, or a message to
    refuse it (shown on the registration form).

    Example::

        @hookimpl
        def forum_before_register(email):
            if email.endswith("@spam.example"):
                return _("Registrations from this domain are closed.")
    """


@hookspec
def forum_before_payment(member, order):
    """Check an order before it is created (a plugin selling something may refuse it).

    Called by ``forum.services.payments.create_order`` inside its transaction, before
    commit, for every enabled plugin (not only the order's owner: a plugin may refuse to
    sell to banned or unconfirmed members, say). ``order`` is the new
    :class:`forum.models.PaymentOrder`, not yet saved: ``order.plugin``, ``order.reference``,
    ``order.amount_cents`` and ``order.currency`` say what is sold. Return None to allow
    it, or a message to refuse it (shown to the member; nothing is saved).

    Example::

        @hookimpl
        def forum_before_payment(member, order):
            if order.plugin == "groupbuy" and campaign_closed(order.reference):
                return _("This group-buy has closed.")
    """


# -- after: fired after commit ------------------------------------------------------------------


@hookspec
def forum_thread_created(thread, post, member):
    """A thread was started. ``post`` is its first post, ``member`` its author.

    Called after commit (then ``forum_post_created`` follows for the first post). Return
    value ignored.

    Example::

        @hookimpl
        def forum_thread_created(thread, member):
            points.award(member, 5, "myplugin_thread", key=f"myplugin:thread:{thread.id}")
    """


@hookspec
def forum_post_created(post, thread, member):
    """A post was added: every reply, and the first post of a new thread.

    Called after commit. ``member`` is the author. Return value ignored.

    Example::

        @hookimpl
        def forum_post_created(post, thread):
            if post.number > 1:
                notify_watchers(thread, post)
    """


@hookspec
def forum_post_edited(post, thread, editor):
    """A post's text (or a first post's thread title) was changed by ``editor``.

    Called after commit. Return value ignored.

    Example::

        @hookimpl
        def forum_post_edited(post):
            search_queue.put(post.thread_id)
    """


@hookspec
def forum_post_deleted(post, thread, member):
    """A post was soft-deleted by ``member``. Deleting a whole thread passes its first post.

    Called after commit. Return value ignored.

    Example::

        @hookimpl
        def forum_post_deleted(post, thread):
            if post.number == 1:
                cancel_listing(thread.id)
    """


@hookspec
def forum_member_registered(member):
    """A member registered (they may still have to confirm their e-mail or be approved).

    Called after commit. Return value ignored.

    Example::

        @hookimpl
        def forum_member_registered(member):
            points.award(member, 20, "myplugin_welcome", key=f"myplugin:welcome:{member.id}")
    """


@hookspec
def forum_member_groups_changed(member, group, action, expires_at):
    """A member was added to a group, had a membership changed, or was removed.

    Called after commit. ``action`` is ``"added"``, ``"changed"`` or ``"removed"``;
    ``expires_at`` is the membership's end (naive UTC, None: no end). Return value ignored.

    Example::

        @hookimpl
        def forum_member_groups_changed(member, group, action):
            if group.key == "vip" and action == "removed":
                notify(member, _("Your membership has ended."))
    """


@hookspec
def forum_payment_succeeded(order):
    """An order was paid (by any provider: a verified notification, an admin confirming a
    transfer, the sandbox).

    Called after commit, exactly once per order, for enabled plugins; deliver what was sold
    when ``order.plugin`` is yours (``order.reference`` names it). The order is ``paid``;
    ``order.provider`` says how. Do your own writes idempotently (an idempotency key or a
    unique row per order): after a crash the call may be repeated by
    ``forum.services.payments.redeliver``. Return value ignored.

    Example::

        @hookimpl
        def forum_payment_succeeded(order):
            if order.plugin == "membership":
                grant_tier(order.member_id, int(order.reference.split(":")[1]), order)
    """


@hookspec
def forum_payment_refunded(order, refund):
    """Money of a paid order was given back, in full or in part.

    Called after commit, once per refund, for enabled plugins. ``refund`` is the
    :class:`forum.models.PaymentRefund` (``amount_cents``, ``reason``);
    ``order.refunded_cents`` is the total refunded so far and ``order.status`` is
    ``refunded`` or ``partially_refunded``. Take back what the money bought when the order
    is yours. Return value ignored.

    Example::

        @hookimpl
        def forum_payment_refunded(order, refund):
            if order.plugin == "membership" and order.status == "refunded":
                revoke_tier(order)
    """


# -- search -------------------------------------------------------------------------------------


@hookspec
def forum_search_document(thread):
    """Extra fields for a thread's search document.

    Called when the thread's posts are indexed (after each change, through the job queue,
    and by ``forum reindex``); every post of the thread carries the fields. Return a dict
    of field name → value (str, int, float, bool or datetime), for example a listing's
    price and city, or None. Name the fields after your plugin (``market_price``: lower
    case letters, digits and ``_``, at most 40) so they cannot clash; other names and
    types are dropped. When the data behind a field changes, call
    ``forum.search.reindex_thread(thread.id)`` after the commit.

    Filter on them with ``forum.search.make_filters(member, extra={...})`` and
    ``forum.search.search_posts``: a value matches exactly, a ``(low, high)`` tuple is an
    inclusive range (``None`` leaves an end open), for example
    ``extra={"market_city": "上海", "market_price": (None, 50000)}``.

    Example::

        @hookimpl
        def forum_search_document(thread):
            if thread.kind == "listing":
                listing = get_listing(thread.id)
                return {"market_price": listing.price_cents, "market_city": listing.city}
    """


# -- demo ---------------------------------------------------------------------------------------


@hookspec
def forum_demo_seed(boards, members):
    """Sample content for the demo community, so ``forum demo`` shows what the plugin does.

    Called once, when ``forum demo`` seeds a new community, after the core's content is
    written, for enabled plugins (the demo switches every installed plugin on first).
    ``boards`` maps the demo's board slugs (``yuepao``, ``races``, ``gear``, ``food``,
    ``chat``, ``core``) to :class:`forum.models.Board`, ``members`` its usernames
    (``laozhou`` is the admin, ``ayu_pace`` a moderator) to :class:`forum.models.Member`.
    Write through the plugin's public services (allow your thread kind on a board with
    ``forum.services.boards.update_board`` first) and return one line for the demo's
    progress output, or None. An exception is printed and the demo goes on without the
    plugin's content.

    Example::

        @hookimpl
        def forum_demo_seed(boards, members):
            camp = create_camp(members["laozhou"], title="21 天晨跑", starts_on=date.today())
            for name in ("kiki_run", "dawei88"):
                join(members[name], camp)
            return "1 camp, 2 participants"
    """


#: The hook families, for the guide and the checks (every hook above is in one).
FAMILIES: dict[str, tuple[str, ...]] = {
    "setup": (
        "forum_blueprints",
        "forum_permissions",
        "forum_settings",
        "forum_cli",
        "forum_periodic_jobs",
        "forum_thread_kinds",
        "forum_notification_kinds",
        "forum_admin_pages",
    ),
    "render": (
        "forum_nav_items",
        "forum_template_slot",
        "forum_trust_facts",
        "forum_board_filters",
    ),
    "before": ("forum_before_post", "forum_before_register", "forum_before_payment"),
    "after": (
        "forum_thread_created",
        "forum_post_created",
        "forum_post_edited",
        "forum_post_deleted",
        "forum_member_registered",
        "forum_member_groups_changed",
        "forum_payment_succeeded",
        "forum_payment_refunded",
    ),
    "search": ("forum_search_document",),
    "demo": ("forum_demo_seed",),
}

#: The named places of the theme where ``forum_template_slot`` is called.
SLOTS: tuple[str, ...] = (
    "head",
    "nav",
    "board_header",
    "thread_header",
    "post_author_card",
    "post_footer",
    "profile_card",
    "sidebar",
    "composer_extra",
    "gate",
)
