"""How forfeited deposits are shared out: pure arithmetic, in whole points.

:func:`shares` splits a pool equally among the completers; the remainder goes one point
each to the first completers in the order given (the services pass join order), so the
result is deterministic and adds up to the pool exactly. :func:`allocate` then says which
forfeited escrow pays how much to whom, so each escrow is released in one
:func:`forum.services.points.release_split` whose shares add up to its amount.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
M = TypeVar("M", bound=Hashable)


def shares(pool: int, recipients: Sequence[M]) -> list[tuple[M, int]]:
    """``pool`` split among ``recipients``: ``pool // n`` each, plus one for the first
    ``pool % n``. Recipients whose share is 0 are left out."""
    if pool < 0:
        raise ValueError("the pool cannot be negative")
    if not recipients:
        return []
    base, extra = divmod(pool, len(recipients))
    result = [(r, base + (1 if i < extra else 0)) for i, r in enumerate(recipients)]
    return [(r, amount) for r, amount in result if amount > 0]


def allocate(pots: Sequence[tuple[K, int]], targets: Sequence[tuple[M, int]]) -> dict[K, list]:
    """Fill ``targets`` (recipient, amount) from ``pots`` (escrow, amount) in order; the
    shares of each pot: ``{pot: [(recipient, amount), …]}``, each list adding up to the
    pot. The targets must add up to the pots."""
    if sum(a for _p, a in pots) != sum(a for _t, a in targets):
        raise ValueError("the targets must add up to the pots")
    result: dict[K, list] = {}
    remaining = [[recipient, amount] for recipient, amount in targets]
    t = 0
    for pot, amount in pots:
        left = amount
        parts: dict[M, int] = {}
        while left > 0:
            recipient, wanted = remaining[t]
            take = min(left, wanted)
            parts[recipient] = parts.get(recipient, 0) + take
            left -= take
            remaining[t][1] -= take
            if remaining[t][1] == 0:
                t += 1
        result[pot] = list(parts.items())
    return result
