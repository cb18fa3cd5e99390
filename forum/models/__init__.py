"""Database models, one module per aggregate. Import from here: ``from forum.models import Post``."""

from forum.models.boards import Board, Category
from forum.models.groups import BoardPermission, Group, GroupMembership
from forum.models.members import Member
from forum.models.posts import Post, PostRevision, Thread, ThreadRead
from forum.models.site import SiteSetting, SiteState
from forum.models.uploads import Upload

__all__ = [
    "Board",
    "BoardPermission",
    "Category",
    "Group",
    "GroupMembership",
    "Member",
    "Post",
    "PostRevision",
    "SiteSetting",
    "SiteState",
    "Thread",
    "ThreadRead",
    "Upload",
]
