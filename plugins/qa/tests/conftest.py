"""Shequn's test fixtures for the Q&A plugin's tests, and the helpers they share.

This folder is not a package (pytest imports these modules by their own names), so the
plugin's package is imported once, as ``forum_plugins.qa``. The core's fixtures come from
:mod:`forum.testing`; the browser fixtures are imported by the journey test itself.
"""

from __future__ import annotations

import sys

import forum_plugins
import forum_plugins.qa
import pytest

# pytest sets up the package ``plugins/qa`` of this folder by importing its __init__.py as
# ``plugins.qa``: that would be a second copy of the plugin (its tables declared twice).
# The folder is installed as ``forum_plugins``; let both names be the one module.
sys.modules.setdefault("plugins", forum_plugins)
sys.modules.setdefault("plugins.qa", forum_plugins.qa)

from forum.services import boards, points, posting  # noqa: E402
from forum.testing import *  # noqa: E402, F403 (the fixtures: app, db, client, make_member …)

QA = "qa"


@pytest.fixture
def qa(enable_plugin):
    """The plugin switched on."""
    enable_plugin(QA)
    return QA


@pytest.fixture
def qa_board(qa, make_board):
    """A board that allows questions, where members may read, post and vote."""
    board = make_board(
        "help",
        grants={
            "guest": ("view", "read"),
            "member": ("view", "read", "start_thread", "reply", "qa_vote"),
        },
    )
    return boards.update_board(board, thread_kinds="discussion,question")


@pytest.fixture
def ask(qa_board):
    """``ask(member, title="…", body="…", bounty=0)``: a new question thread."""

    def make(member, title="How do I lace trail shoes?", body="They keep coming loose.", bounty=0):
        fields = {"bounty": str(bounty)} if bounty else {}
        return posting.create_thread(member, qa_board, title, body, kind="question", fields=fields)

    return make


@pytest.fixture
def rich(make_member):
    """``rich("ada", 100)``: a member with 100 points."""

    def make(name, amount=100, **kw):
        member = make_member(name, **kw)
        if amount:
            points.award(member, amount, "test_gift", f"test:gift:{name}")
        return member

    return make
