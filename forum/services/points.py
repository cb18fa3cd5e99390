"""The points ledger: balances that never go negative, operations that never apply twice.

**Model.** Every change of a balance is a :class:`~forum.models.PointEntry` row, append-only:
member, currency, signed ``delta``, ``balance_after``, ``reason``, ``reference``, and a unique
idempotency key. Each member's balance per currency is cached in a
:class:`~forum.models.PointBalance` row, changed in the same transaction as the entry that
moves it. The ledger is the truth: :func:`recount` sums it, :func:`verify` checks every cached
balance against it. A :class:`~forum.models.PointEscrow` holds points taken from a payer
(:func:`escrow`) until they are paid to a recipient (:func:`release`), shared among several
(:func:`release_split`) or returned (:func:`refund`), exactly once.

**Arguments.** Members are :class:`~forum.models.Member` objects or member ids.

- ``amount``: a positive ``int`` up to :data:`MAX_AMOUNT`; anything else (0, negative, bool,
  float, too large) is refused with :class:`~forum.services.errors.ServiceError` on the
  ``amount`` field (amounts may come from a member's form).
- ``currency``: a short code, ``[a-z][a-z0-9_]{0,19}``; the default is ``"points"``. A plugin
  may keep its own (``"deposit"``); :func:`register_currency` gives it a label.
- ``reason``: a short code (at most 80 characters) such as ``"qa_bounty"``; the history page
  shows its label from :func:`register_reason`, or the code itself when it has none.
- ``reference``: what the change is about, at most 120 characters: ``"qa:question:12"``.
- ``key``: the idempotency key, 1–150 characters without white space or ``#`` (a transfer
  stores its credit entry under ``key + "#in"``). Keys are global to the ledger, so prefix
  them with your plugin's name: ``"checkin:reward:2026-11-24:7"``.

Malformed ``currency``, ``reason``, ``reference`` or ``key`` are programming errors and raise
:class:`ValueError`.

**Idempotency.** The same key never applies twice. Calling again with a key already used
returns the original entry (or escrow) and changes nothing, also when two requests with one
key race each other: the unique index on the key lets one win, the other's SAVEPOINT rolls
back and it returns the winner's result. Reusing a key with different money (another
member, currency, amount or kind of operation) raises :class:`IdempotencyConflict`;
``reason`` and ``reference`` are descriptive and not compared.

**Transactions.** Each write runs inside a SAVEPOINT (``db.session.begin_nested()``): when it
refuses or fails, nothing of it is left and what the caller did before in the same
transaction is kept. Then it commits, unless called with ``commit=False``: the ledger change
then becomes part of the caller's own transaction (create a question and escrow its bounty
atomically), and the caller commits or rolls back, soon, because the balance rows it
changed stay locked until then. A replayed key commits too (when ``commit`` is true).

**Concurrency.** A debit is one conditional statement, ``UPDATE point_balance SET balance =
balance - :n WHERE member_id = :m AND currency = :c AND balance >= :n RETURNING balance``:
PostgreSQL re-checks the condition after a concurrent writer of the row commits, so two
requests can never both spend the last points (``CHECK (balance >= 0)`` is the last line of
defence). A credit is ``INSERT … ON CONFLICT DO UPDATE SET balance = balance + :n RETURNING
balance``, which creates the row when missing. A transfer changes the two rows in member-id
order, so two opposite transfers cannot deadlock. Settling an escrow is ``UPDATE point_escrow
SET status = … WHERE id = :id AND status = 'held'``: one release or refund wins, the others
see it settled. On SQLite every write takes the database write lock first (``BEGIN
IMMEDIATE``), so concurrent writers wait their turn (busy timeout) instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from forum.extensions import db
from forum.models import Member, PointBalance, PointEntry, PointEscrow
from forum.models.base import utcnow
from forum.services.errors import NotFound, ServiceError
from forum.services.paging import page_count
from forum.services.writes import begin_write, upsert_insert

__all__ = [
    "DEFAULT_CURRENCY",
    "MAX_AMOUNT",
    "AlreadySettled",
    "Discrepancy",
    "IdempotencyConflict",
    "InsufficientBalance",
    "award",
    "balance",
    "balances",
    "charge",
    "currency_label",
    "escrow",
    "escrows",
    "get_escrow",
    "history",
    "reason_label",
    "recount",
    "refund",
    "register_currency",
    "register_reason",
    "release",
    "release_split",
    "transfer",
    "verify",
]

#: The currency of every function that is not told another.
DEFAULT_CURRENCY = "points"
#: The largest amount one operation moves.
MAX_AMOUNT = 10**12
#: Suffix of the key of a transfer's credit entry (the debit entry has the key itself).
CREDIT_SUFFIX = "#in"

_CURRENCY_RE = re.compile(r"[a-z][a-z0-9_]{0,19}")
_KEY_RE = re.compile(r"[^\s#]{1,150}")
_REASON_MAX = 80
_REFERENCE_MAX = 120

_CURRENCY_LABELS: dict[str, object] = {"points": _l("points")}
_REASON_LABELS: dict[str, object] = {
    "transfer": _l("Transfer"),
    "refund": _l("Refund"),
    "welcome": _l("Welcome points"),
}

T = TypeVar("T")


class InsufficientBalance(ServiceError):
    """A debit asked for more than the balance holds. Nothing was changed."""

    def __init__(self, message: str, available: int, needed: int):
        super().__init__(message, "amount")
        self.available = available
        self.needed = needed


class IdempotencyConflict(ServiceError):
    """The key was already used for a different change (member, currency, amount, kind)."""


class AlreadySettled(ServiceError):
    """The escrow was already released or refunded (with another key)."""


class Discrepancy(NamedTuple):
    """A cached balance that disagrees with the ledger (see :func:`verify`)."""

    member_id: int
    currency: str
    cached: int
    ledger: int


# --- labels -------------------------------------------------------------------------------


def register_currency(currency: str, label: object) -> None:
    """Give ``currency`` a label for pages (pass a ``lazy_gettext`` string)."""
    _CURRENCY_LABELS[_currency(currency)] = label


def currency_label(currency: str) -> str:
    """The label of ``currency`` in the reader's language (the code when it has none)."""
    label = _CURRENCY_LABELS.get(currency)
    return str(label) if label is not None else currency


def register_reason(reason: str, label: object) -> None:
    """Give the reason code ``reason`` a label for the history page (a ``lazy_gettext``)."""
    _REASON_LABELS[_reason(reason)] = label


def reason_label(reason: str) -> str:
    """The label of a reason code in the reader's language (the code when it has none)."""
    label = _REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


# --- checks -------------------------------------------------------------------------------


def _member_id(member: Member | int) -> int:
    if isinstance(member, bool):
        raise ValueError("a member or a member id is needed")
    if isinstance(member, int):
        return member
    member_id = getattr(member, "id", None)
    if not isinstance(member_id, int):
        raise ValueError("a member or a member id is needed")
    return member_id


def _amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ServiceError(
            _("The amount must be a whole number from 1 to %(max)d.", max=MAX_AMOUNT), "amount"
        )
    return amount


def _currency(currency: object) -> str:
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise ValueError(f"bad currency code: {currency!r}")
    return currency


def _key(key: object) -> str:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise ValueError(f"bad idempotency key: {key!r}")
    return key


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > _REASON_MAX:
        raise ValueError(f"a reason of 1 to {_REASON_MAX} characters is needed: {reason!r}")
    return reason


def _reference(reference: object) -> str:
    if not isinstance(reference, str) or len(reference) > _REFERENCE_MAX:
        raise ValueError(f"a reference has at most {_REFERENCE_MAX} characters: {reference!r}")
    return reference


def _labels(currency: object, reason: object, reference: object, key: object) -> tuple:
    """(currency, reason, reference, key), each checked (ValueError: a bug of the caller)."""
    return _currency(currency), _reason(reason), _reference(reference), _key(key)


def _conflict() -> IdempotencyConflict:
    return IdempotencyConflict(
        _("This request key was already used for a different points operation.")
    )


def _settled(status: str) -> AlreadySettled:
    if status == "released":
        return AlreadySettled(_("These points were already paid out."))
    return AlreadySettled(_("These points were already returned."))


# --- the machinery ------------------------------------------------------------------------


class _LostRace(Exception):
    """Inside a savepoint: the escrow was no longer held when we tried to settle it."""


def _once(lookup: Callable[[], T | None], work: Callable[[], T], commit: bool) -> T:
    """Run ``work`` once per key: ``lookup`` returns the earlier result of the same key (or
    raises :class:`IdempotencyConflict`), else ``work`` runs in a savepoint."""
    result = lookup()
    if result is None:
        begin_write()
        try:
            with db.session.begin_nested():
                result = work()
        except (IntegrityError, _LostRace) as exc:
            # Another request with the same key may have won the race: return its result.
            result = lookup()
            if result is None:
                if isinstance(exc, _LostRace):
                    raise exc.args[0] from None
                raise
    if commit:
        db.session.commit()
    return result


def _entry_by_key(key: str) -> PointEntry | None:
    return db.session.execute(
        select(PointEntry).where(PointEntry.idempotency_key == key)
    ).scalar_one_or_none()


def _replayed_entry(key: str, **expected: object) -> PointEntry | None:
    """The entry stored under ``key`` if it has the ``expected`` values; None when the key is
    unused; :class:`IdempotencyConflict` when it was used for something else."""
    entry = _entry_by_key(key)
    if entry is None:
        return None
    if any(getattr(entry, name) != value for name, value in expected.items()):
        raise _conflict()
    return entry


def _balance_table():
    return PointBalance.__table__


def _add(member_id: int, currency: str, amount: int) -> int:
    """Credit ``amount`` (creating the balance row when missing); the new balance."""
    table = _balance_table()
    stmt = upsert_insert()(table).values(member_id=member_id, currency=currency, balance=amount)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.member_id, table.c.currency],
        set_={"balance": table.c.balance + stmt.excluded.balance},
    ).returning(table.c.balance)
    return db.session.execute(stmt).scalar_one()


def _subtract(member_id: int, currency: str, amount: int) -> int:
    """Debit ``amount`` if the balance holds it; the new balance, or
    :class:`InsufficientBalance` (nothing changed)."""
    table = _balance_table()
    new_balance = db.session.execute(
        update(table)
        .where(
            table.c.member_id == member_id,
            table.c.currency == currency,
            table.c.balance >= amount,
        )
        .values(balance=table.c.balance - amount)
        .returning(table.c.balance)
    ).scalar_one_or_none()
    if new_balance is None:
        available = balance(member_id, currency)
        raise InsufficientBalance(
            _(
                "Not enough %(currency)s: %(available)d available, %(needed)d needed.",
                currency=currency_label(currency),
                available=available,
                needed=amount,
            ),
            available,
            amount,
        )
    return new_balance


def _entry(
    member_id: int,
    currency: str,
    delta: int,
    balance_after: int,
    reason: str,
    reference: str,
    key: str,
    *,
    counterparty_id: int | None = None,
    escrow_id: int | None = None,
) -> PointEntry:
    entry = PointEntry(
        member_id=member_id,
        currency=currency,
        delta=delta,
        balance_after=balance_after,
        reason=reason,
        reference=reference,
        idempotency_key=key,
        counterparty_id=counterparty_id,
        escrow_id=escrow_id,
        created_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()  # inside the savepoint: a taken key fails here
    return entry


# --- reading ------------------------------------------------------------------------------


def balance(member: Member | int, currency: str = DEFAULT_CURRENCY) -> int:
    """The member's balance in ``currency`` (0 when they never had any). One query."""
    table = _balance_table()
    value = db.session.execute(
        select(table.c.balance).where(
            table.c.member_id == _member_id(member), table.c.currency == _currency(currency)
        )
    ).scalar_one_or_none()
    return value or 0


def balances(member: Member | int) -> dict[str, int]:
    """Every currency the member has a balance row in → the balance (the default first)."""
    table = _balance_table()
    rows = db.session.execute(
        select(table.c.currency, table.c.balance)
        .where(table.c.member_id == _member_id(member))
        .order_by(table.c.currency != DEFAULT_CURRENCY, table.c.currency)
    ).all()
    return {currency: value for currency, value in rows}


def history(
    member: Member | int,
    currency: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[PointEntry], int]:
    """One page of the member's entries, newest first, and the number of pages (at least 1).

    ``currency`` None means all currencies. Entries come with ``counterparty`` loaded.
    """
    member_id = _member_id(member)
    per_page = max(1, min(int(per_page), 200))
    page = max(1, int(page))
    where = [PointEntry.member_id == member_id]
    if currency is not None:
        where.append(PointEntry.currency == _currency(currency))
    total = db.session.execute(
        select(func.count()).select_from(PointEntry).where(*where)
    ).scalar_one()
    entries = db.session.execute(
        select(PointEntry)
        .options(joinedload(PointEntry.counterparty))
        .where(*where)
        .order_by(PointEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).scalars()
    return list(entries), page_count(total, per_page)


def recount(member: Member | int, currency: str = DEFAULT_CURRENCY) -> int:
    """The member's balance as the ledger has it: the sum of their entries' deltas."""
    value = db.session.execute(
        select(func.coalesce(func.sum(PointEntry.delta), 0)).where(
            PointEntry.member_id == _member_id(member), PointEntry.currency == _currency(currency)
        )
    ).scalar_one()
    return int(value)


def verify(member: Member | int | None = None) -> list[Discrepancy]:
    """Cached balances that differ from the ledger's sums (all members, or one); empty when
    the books are right. A maintenance check: it reads the whole ledger of whom it checks."""
    table = _balance_table()
    sums = select(PointEntry.member_id, PointEntry.currency, func.sum(PointEntry.delta)).group_by(
        PointEntry.member_id, PointEntry.currency
    )
    cached_rows = select(table.c.member_id, table.c.currency, table.c.balance)
    if member is not None:
        member_id = _member_id(member)
        sums = sums.where(PointEntry.member_id == member_id)
        cached_rows = cached_rows.where(table.c.member_id == member_id)
    ledger = {(m, c): int(s) for m, c, s in db.session.execute(sums)}
    cached = {(m, c): int(b) for m, c, b in db.session.execute(cached_rows)}
    return [
        Discrepancy(m, c, cached.get((m, c), 0), ledger.get((m, c), 0))
        for m, c in sorted(ledger.keys() | cached.keys())
        if cached.get((m, c), 0) != ledger.get((m, c), 0)
    ]


def get_escrow(escrow_id: int) -> PointEscrow:
    """The escrow with this id, or :class:`~forum.services.errors.NotFound`."""
    found = db.session.get(PointEscrow, escrow_id)
    if found is None:
        raise NotFound("escrow")
    return found


def escrows(reference: str, status: str | None = None) -> list[PointEscrow]:
    """The escrows made with ``reference`` (``status``: only ``held``, ``released`` or
    ``refunded`` ones), oldest first."""
    stmt = select(PointEscrow).where(PointEscrow.reference == _reference(reference))
    if status is not None:
        stmt = stmt.where(PointEscrow.status == status)
    return list(db.session.execute(stmt.order_by(PointEscrow.id)).scalars())


# --- writing ------------------------------------------------------------------------------


def award(
    member: Member | int,
    amount: int,
    reason: str,
    key: str,
    *,
    currency: str = DEFAULT_CURRENCY,
    reference: str = "",
    commit: bool = True,
) -> PointEntry:
    """Credit ``amount`` to ``member``; the entry. Commits unless ``commit=False``."""
    return _single(member, amount, 1, reason, key, currency, reference, commit)


def charge(
    member: Member | int,
    amount: int,
    reason: str,
    key: str,
    *,
    currency: str = DEFAULT_CURRENCY,
    reference: str = "",
    commit: bool = True,
) -> PointEntry:
    """Debit ``amount`` from ``member``; the entry. :class:`InsufficientBalance` (nothing
    changed) when the balance is short. Commits unless ``commit=False``."""
    return _single(member, amount, -1, reason, key, currency, reference, commit)


def _single(
    member: Member | int,
    amount: int,
    sign: int,
    reason: str,
    key: str,
    currency: str,
    reference: str,
    commit: bool,
) -> PointEntry:
    """One entry of ``sign * amount`` (award: 1, charge: -1), applied once per key."""
    member_id, amount = _member_id(member), _amount(amount)
    currency, reason, reference, key = _labels(currency, reason, reference, key)

    def lookup() -> PointEntry | None:
        return _replayed_entry(
            key,
            member_id=member_id,
            currency=currency,
            delta=sign * amount,
            counterparty_id=None,
            escrow_id=None,
        )

    def work() -> PointEntry:
        if sign > 0:
            new_balance = _add(member_id, currency, amount)
        else:
            new_balance = _subtract(member_id, currency, amount)
        return _entry(member_id, currency, sign * amount, new_balance, reason, reference, key)

    return _once(lookup, work, commit)


def transfer(
    sender: Member | int,
    recipient: Member | int,
    amount: int,
    reason: str,
    key: str,
    *,
    currency: str = DEFAULT_CURRENCY,
    reference: str = "",
    commit: bool = True,
) -> tuple[PointEntry, PointEntry]:
    """Move ``amount`` from ``sender`` to ``recipient``; (sender's entry, recipient's entry).

    The two entries name each other's member as ``counterparty``; the recipient's is stored
    under ``key + "#in"``. :class:`InsufficientBalance` when the sender is short,
    :class:`~forum.services.errors.ServiceError` for a transfer to oneself. Commits unless
    ``commit=False``.
    """
    sender_id, recipient_id, amount = _member_id(sender), _member_id(recipient), _amount(amount)
    currency, reason, reference, key = _labels(currency, reason, reference, key)
    if sender_id == recipient_id:
        raise ServiceError(_("You cannot transfer points to yourself."), "recipient")
    credit_key = key + CREDIT_SUFFIX

    def lookup() -> tuple[PointEntry, PointEntry] | None:
        debit = _replayed_entry(
            key,
            member_id=sender_id,
            currency=currency,
            delta=-amount,
            counterparty_id=recipient_id,
            escrow_id=None,
        )
        if debit is None:
            return None
        credit = _entry_by_key(credit_key)
        if credit is None:  # cannot happen: both entries are written in one savepoint
            raise _conflict()
        return debit, credit

    def work() -> tuple[PointEntry, PointEntry]:
        after: dict[int, int] = {}
        for member_id in sorted((sender_id, recipient_id)):  # lock rows in id order
            if member_id == sender_id:
                after[member_id] = _subtract(member_id, currency, amount)
            else:
                after[member_id] = _add(member_id, currency, amount)
        debit = _entry(
            sender_id,
            currency,
            -amount,
            after[sender_id],
            reason,
            reference,
            key,
            counterparty_id=recipient_id,
        )
        credit = _entry(
            recipient_id,
            currency,
            amount,
            after[recipient_id],
            reason,
            reference,
            credit_key,
            counterparty_id=sender_id,
        )
        return debit, credit

    return _once(lookup, work, commit)


def escrow(
    payer: Member | int,
    amount: int,
    reason: str,
    key: str,
    *,
    currency: str = DEFAULT_CURRENCY,
    reference: str = "",
    commit: bool = True,
) -> PointEscrow:
    """Take ``amount`` from ``payer`` and hold it; the held :class:`PointEscrow`.

    The payer's entry and the escrow share ``key``. :class:`InsufficientBalance` (nothing
    changed) when the payer is short. Commits unless ``commit=False``.
    """
    payer_id, amount = _member_id(payer), _amount(amount)
    currency, reason, reference, key = _labels(currency, reason, reference, key)

    def lookup() -> PointEscrow | None:
        held = db.session.execute(
            select(PointEscrow).where(PointEscrow.idempotency_key == key)
        ).scalar_one_or_none()
        if held is None:
            if _entry_by_key(key) is not None:
                raise _conflict()
            return None
        if (held.payer_id, held.currency, held.amount) != (payer_id, currency, amount):
            raise _conflict()
        return held

    def work() -> PointEscrow:
        held = PointEscrow(
            payer_id=payer_id,
            currency=currency,
            amount=amount,
            status="held",
            reason=reason,
            reference=reference,
            idempotency_key=key,
            created_at=utcnow(),
        )
        db.session.add(held)
        db.session.flush()
        new_balance = _subtract(payer_id, currency, amount)
        _entry(payer_id, currency, -amount, new_balance, reason, reference, key, escrow_id=held.id)
        return held

    return _once(lookup, work, commit)


def _settle(
    held: PointEscrow,
    status: str,
    member_id: int,
    key: str,
    reason: str,
    reference: str,
    commit: bool,
) -> PointEntry:
    """Pay the escrow's amount to ``member_id`` and mark it ``status``, exactly once."""
    if not isinstance(held, PointEscrow):
        raise ValueError("an escrow is needed")
    escrow_id, payer_id = held.id, held.payer_id
    currency, amount = held.currency, held.amount
    counterparty_id = payer_id if status == "released" else None

    def lookup() -> PointEntry | None:
        return _replayed_entry(
            key,
            member_id=member_id,
            currency=currency,
            delta=amount,
            counterparty_id=counterparty_id,
            escrow_id=escrow_id,
        )

    def work() -> PointEntry:
        now = utcnow()
        won = db.session.execute(
            update(PointEscrow.__table__)
            .where(
                PointEscrow.__table__.c.id == escrow_id, PointEscrow.__table__.c.status == "held"
            )
            .values(
                status=status,
                recipient_id=member_id if status == "released" else None,
                settled_at=now,
            )
        ).rowcount
        if won != 1:
            current = db.session.execute(
                select(PointEscrow.status).where(PointEscrow.id == escrow_id)
            ).scalar_one()
            raise _LostRace(_settled(current))
        new_balance = _add(member_id, currency, amount)
        entry = _entry(
            member_id,
            currency,
            amount,
            new_balance,
            reason,
            reference,
            key,
            counterparty_id=counterparty_id,
            escrow_id=escrow_id,
        )
        set_committed_value(held, "status", status)
        set_committed_value(held, "settled_at", now)
        if status == "released":
            set_committed_value(held, "recipient_id", member_id)
        return entry

    return _once(lookup, work, commit)


def release(
    held: PointEscrow,
    recipient: Member | int,
    key: str,
    *,
    reason: str | None = None,
    reference: str | None = None,
    commit: bool = True,
) -> PointEntry:
    """Pay a held escrow's whole amount to ``recipient``, exactly once; the recipient's entry.

    ``reason`` and ``reference`` default to the escrow's. :class:`AlreadySettled` when the
    escrow was already released or refunded under another key (also when that happened a
    moment ago in a concurrent request). Commits unless ``commit=False``.
    """
    return _settle(
        held,
        "released",
        _member_id(recipient),
        _key(key),
        _reason(held.reason if reason is None else reason),
        _reference(held.reference if reference is None else reference),
        commit,
    )


def release_split(
    held: PointEscrow,
    shares: list[tuple[Member | int, int]],
    key: str,
    *,
    reason: str | None = None,
    reference: str | None = None,
    commit: bool = True,
) -> list[PointEntry]:
    """Pay a held escrow to several recipients, exactly once; their entries, in order.

    ``shares`` is a list of ``(recipient, amount)``, every amount positive, a recipient at
    most once, adding up to exactly ``held.amount`` (a forfeited camp deposit shared among
    those who completed it); anything else is a :class:`ValueError` (a bug of the caller).
    Share ``i`` is stored under ``key + "#" + str(i)``. The escrow is marked released in
    the same savepoint (``recipient_id``: the first share's member), so one of
    :func:`release`, :func:`refund` and this wins: :class:`AlreadySettled` when it was
    already settled under another key. Calling again with ``key`` and the same shares
    returns the original entries; other shares under the same key are an
    :class:`IdempotencyConflict`. ``reason`` and ``reference`` default to the escrow's.
    Commits unless ``commit=False``.
    """
    if not isinstance(held, PointEscrow):
        raise ValueError("an escrow is needed")
    key = _key(key)
    if len(key) > 140:
        raise ValueError(f"a split key has at most 140 characters: {key!r}")
    reason = _reason(held.reason if reason is None else reason)
    reference = _reference(held.reference if reference is None else reference)
    parts = [(_member_id(member), amount) for member, amount in shares]
    if not parts:
        raise ValueError("at least one share is needed")
    for _member, amount in parts:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError(f"every share must be a positive int: {amount!r}")
    if len({m for m, _amount in parts}) != len(parts):
        raise ValueError("a recipient may have one share only")
    if sum(amount for _member, amount in parts) != held.amount:
        raise ValueError(f"the shares must add up to the escrow's {held.amount}")
    escrow_id, payer_id, currency = held.id, held.payer_id, held.currency
    keys = [f"{key}#{i}" for i in range(len(parts))]

    def lookup() -> list[PointEntry] | None:
        first = _replayed_entry(
            keys[0],
            member_id=parts[0][0],
            currency=currency,
            delta=parts[0][1],
            counterparty_id=payer_id,
            escrow_id=escrow_id,
        )
        if first is None:
            return None
        entries = [first]
        for (member_id, amount), share_key in zip(parts[1:], keys[1:], strict=True):
            entry = _replayed_entry(
                share_key,
                member_id=member_id,
                currency=currency,
                delta=amount,
                counterparty_id=payer_id,
                escrow_id=escrow_id,
            )
            if entry is None:  # fewer shares than the first time
                raise _conflict()
            entries.append(entry)
        if _entry_by_key(f"{key}#{len(parts)}") is not None:  # more shares the first time
            raise _conflict()
        return entries

    def work() -> list[PointEntry]:
        now = utcnow()
        table = PointEscrow.__table__
        won = db.session.execute(
            update(table)
            .where(table.c.id == escrow_id, table.c.status == "held")
            .values(status="released", recipient_id=parts[0][0], settled_at=now)
        ).rowcount
        if won != 1:
            current = db.session.execute(
                select(PointEscrow.status).where(PointEscrow.id == escrow_id)
            ).scalar_one()
            raise _LostRace(_settled(current))
        entries = []
        # Credit in member-id order (the order every writer locks balance rows in).
        after = {m: _add(m, currency, amount) for m, amount in sorted(parts)}
        for (member_id, amount), share_key in zip(parts, keys, strict=True):
            entries.append(
                _entry(
                    member_id,
                    currency,
                    amount,
                    after[member_id],
                    reason,
                    reference,
                    share_key,
                    counterparty_id=payer_id,
                    escrow_id=escrow_id,
                )
            )
        set_committed_value(held, "status", "released")
        set_committed_value(held, "settled_at", now)
        set_committed_value(held, "recipient_id", parts[0][0])
        return entries

    return _once(lookup, work, commit)


def refund(
    held: PointEscrow,
    key: str,
    *,
    reason: str = "refund",
    reference: str | None = None,
    commit: bool = True,
) -> PointEntry:
    """Return a held escrow's amount to its payer, exactly once; the payer's entry.

    ``reference`` defaults to the escrow's. :class:`AlreadySettled` when the escrow was
    already released or refunded under another key. Commits unless ``commit=False``.
    """
    return _settle(
        held,
        "refunded",
        held.payer_id,
        _key(key),
        _reason(reason),
        _reference(held.reference if reference is None else reference),
        commit,
    )
