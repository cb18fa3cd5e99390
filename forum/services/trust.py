"""Trust cards: the facts shown next to every post author and on profiles.

The core's facts — member since, posts, threads, likes received and warnings (only when
there are any) — are read from counters the member row already carries: on a thread page
from the :class:`forum.services.reading.AuthorView` loaded with the posts, on a profile from
the :class:`forum.models.Member`. They cost no query. Plugins add theirs through the batched
hook ``forum_trust_facts(members)`` (:func:`forum.plugins.trust_facts`), called once per
page for all the page's distinct authors.

Labels are translated once per call, not once per author; each distinct member's facts are
built once, however many of their posts the page shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from flask_babel import gettext as _

from forum import plugins
from forum.plugin_api import TrustFact

#: ``TrustFact.order`` of the core's facts; plugins' facts default to 100 (after these).
ORDER = {"joined": 10, "posts": 20, "threads": 30, "likes": 40, "warnings": 50}


class TrustSource(Protocol):
    """What a trust card is made from: a Member or a thread page's AuthorView."""

    id: int
    created_at: datetime | None
    post_count: int
    thread_count: int
    like_count: int
    warning_count: int


def _labels() -> dict[str, Any]:
    return {
        "joined": _("Joined"),
        "joined_hint": _("Member since"),
        "posts": _("Posts"),
        "threads": _("Threads"),
        "likes": _("Likes"),
        "likes_hint": _("Likes received on their posts"),
        "warnings": _("Warnings"),
        "warnings_hint": _("Warnings from moderators"),
    }


def _core_facts(member: TrustSource, labels: dict[str, Any]) -> list[TrustFact]:
    facts: list[TrustFact] = []
    if member.created_at is not None:
        joined = member.created_at
        facts.append(
            TrustFact(
                labels["joined"],
                f"{joined:%Y-%m}",
                f"{labels['joined_hint']} {joined:%Y-%m-%d}",
                ORDER["joined"],
            )
        )
    facts.append(TrustFact(labels["posts"], member.post_count, order=ORDER["posts"]))
    facts.append(TrustFact(labels["threads"], member.thread_count, order=ORDER["threads"]))
    facts.append(
        TrustFact(labels["likes"], member.like_count, labels["likes_hint"], ORDER["likes"])
    )
    if member.warning_count > 0:
        facts.append(
            TrustFact(
                labels["warnings"],
                member.warning_count,
                labels["warnings_hint"],
                ORDER["warnings"],
                tone="negative",
            )
        )
    return facts


def core_facts(member: TrustSource) -> list[TrustFact]:
    """The core's facts about ``member`` (no query), in display order."""
    return _core_facts(member, _labels())


def cards(members: Iterable[TrustSource]) -> dict[int, list[TrustFact]]:
    """member id → every fact of their trust card (the core's, then the enabled plugins'),
    sorted by ``order``, for each distinct member among ``members``.

    The plugins' hook runs once for all of them; the core's facts cost no query.
    """
    distinct: dict[int, TrustSource] = {}
    for member in members:
        distinct.setdefault(member.id, member)
    if not distinct:
        return {}
    labels = _labels()
    extra = plugins.trust_facts(list(distinct.values()))
    result: dict[int, list[TrustFact]] = {}
    for member_id, member in distinct.items():
        facts = _core_facts(member, labels)
        more = extra.get(member_id)
        if more:
            facts = sorted([*facts, *more], key=lambda f: f.order)
        result[member_id] = facts
    return result


def card(member: TrustSource) -> list[TrustFact]:
    """Every fact of one member's trust card, in display order (the profile page)."""
    return cards([member]).get(member.id, [])
