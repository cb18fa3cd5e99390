"""Database models, one module per aggregate. Import from here: ``from forum.models import Post``."""

from forum.models.boards import Board, Category
from forum.models.conversations import Conversation, ConversationMember, MemberBlock, Message
from forum.models.groups import BoardPermission, Group, GroupMembership
from forum.models.members import Member
from forum.models.moderation import ModerationLog, Report, ReportCase, WordFilter
from forum.models.notifications import Notification, Watch
from forum.models.payments import (
    ManualSubmission,
    PaymentEvent,
    PaymentOrder,
    PaymentProviderConfig,
    PaymentRefund,
)
from forum.models.plugins import PluginSetting, PluginState
from forum.models.points import PointBalance, PointEntry, PointEscrow
from forum.models.posts import Post, PostLike, PostRevision, Thread, ThreadRead
from forum.models.site import SiteSetting, SiteState
from forum.models.uploads import Upload


def core_tables() -> frozenset[str]:
    """The tables of the core's models (plugins own the tables named ``<plugin>_…``)."""
    from forum.extensions import db

    return frozenset(
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if mapper.class_.__module__.startswith("forum.models.")
    )


__all__ = [
    "Board",
    "BoardPermission",
    "Category",
    "Conversation",
    "ConversationMember",
    "Group",
    "GroupMembership",
    "Member",
    "MemberBlock",
    "Message",
    "ModerationLog",
    "ManualSubmission",
    "Notification",
    "PaymentEvent",
    "PaymentOrder",
    "PaymentProviderConfig",
    "PaymentRefund",
    "PluginSetting",
    "PluginState",
    "PointBalance",
    "PointEntry",
    "PointEscrow",
    "Post",
    "PostLike",
    "PostRevision",
    "Report",
    "ReportCase",
    "SiteSetting",
    "SiteState",
    "Thread",
    "ThreadRead",
    "Upload",
    "Watch",
    "WordFilter",
    "core_tables",
]
