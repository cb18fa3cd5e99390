"""Payments: refunds (never past the amount, also two at once on PostgreSQL), manual
transfers (submit, confirm, reject), the admin lists, the CSV export and provider settings."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from forum import payments as registry
from forum.extensions import db
from forum.models import Notification, PaymentOrder, PaymentRefund
from forum.models.base import utcnow
from forum.payments.base import ProviderError
from forum.services import payments
from forum.services.errors import PermissionDenied, ServiceError
from forum.testing import race


@pytest.fixture
def sandbox(app):
    payments.enable_provider("sandbox")


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",))


def paid_order(member, amount=10000, description="核心会员 一年"):
    order = payments.create_order(
        member,
        plugin="membership",
        reference="tier:1",
        description=description,
        amount_cents=amount,
        idempotency_key=f"t:{member.id}:{amount}:{utcnow().timestamp()}",
    )
    assert payments.sandbox_pay(member, order)
    return reload(order)


def reload(order):
    db.session.expire_all()
    return db.session.get(PaymentOrder, order.id)


# --- refunds ------------------------------------------------------------------------------


def test_partial_then_full_refund(make_member, admin, sandbox, monkeypatch, english):
    from forum import plugins

    fired = []
    real = plugins.fire
    monkeypatch.setattr(
        plugins,
        "fire",
        lambda hook, **kw: fired.append((hook, kw["refund"].amount_cents)) or real(hook, **kw),
    )
    ada = make_member("ada")
    ada.locale = "en"  # notifications are worded in the recipient's language
    db.session.commit()
    order = paid_order(ada)
    first = payments.refund(admin, order, 3000, "half a year unused", "r1")
    assert (first.status, first.amount_cents) == ("done", 3000)
    assert first.provider_refund_id == "sandbox-refund:r1"
    order = reload(order)
    assert (order.status, order.refunded_cents) == ("partially_refunded", 3000)
    assert payments.refund(admin, order, 3000, "again", "r1").id == first.id  # same key
    with pytest.raises(ServiceError, match="At most ¥70.00"):
        payments.refund(admin, order, 7001, "", "r2")
    payments.refund(admin, order, 7000, "", "r3")
    order = reload(order)
    assert (order.status, order.refunded_cents) == ("refunded", 10000)
    with pytest.raises(ServiceError):
        payments.refund(admin, order, 1, "", "r4")
    assert fired == [("forum_payment_refunded", 3000), ("forum_payment_refunded", 7000)]
    texts = db.session.execute(
        select(Notification.data).where(Notification.member_id == ada.id)
    ).scalars()
    assert [t["text"].split(":")[0] for t in texts] == ["Payment received", "Refund", "Refund"]


def test_refund_refusals_write_nothing(make_member, admin, sandbox, english):
    ada = make_member("ada")
    order = paid_order(ada)
    with pytest.raises(PermissionDenied):
        payments.refund(ada, order, 100, "", "x1")
    with pytest.raises(ServiceError):
        payments.refund(admin, order, 0, "", "x2")
    pending = payments.create_order(
        ada,
        plugin="membership",
        reference="tier:1",
        description="d",
        amount_cents=500,
        idempotency_key="pending-one",
    )
    with pytest.raises(ServiceError, match="Only a paid order"):
        payments.refund(admin, pending, 100, "", "x3")
    payments.refund(admin, order, 100, "", "x1")
    with pytest.raises(ServiceError, match="different refund"):
        payments.refund(admin, order, 200, "", "x1")
    assert db.session.execute(select(PaymentRefund.idempotency_key)).scalars().all() == ["x1"]
    assert reload(order).refunded_cents == 100


def test_a_plugin_refunds_its_own_orders_without_an_admin(make_member, sandbox, english):
    ada = make_member("ada")
    order = paid_order(ada)
    with pytest.raises(ValueError, match="belongs to 'membership'"):
        payments.plugin_refund("groupbuy", order, 100, "", "p0")
    first = payments.plugin_refund("membership", order, 2500, "price dropped", "p1")
    assert (first.status, first.actor_id, first.amount_cents) == ("done", None, 2500)
    assert payments.plugin_refund("membership", order, 2500, "again", "p1").id == first.id
    with pytest.raises(ServiceError, match="At most ¥75.00"):
        payments.plugin_refund("membership", order, 7600, "", "p2")
    assert reload(order).refunded_cents == 2500
    assert db.session.execute(select(PaymentRefund.idempotency_key)).scalars().all() == ["p1"]


class RefusingGateway:
    name = "refusing"
    label = "Refusing"
    fields = ()
    #: What the next refund calls do: "refuse", "down" or "ok"; the keys it refunded.
    script: list[str] = []
    refunded: list[str] = []

    def available(self):
        return None

    def refund(self, order, amount_cents, refund_key, settings):
        step = self.script.pop(0) if self.script else "refuse"
        if step == "down":
            raise TimeoutError("read timed out")
        if step == "ok":
            self.refunded.append(refund_key)
            return f"gw-{refund_key}"
        raise ProviderError("insufficient merchant balance")


def test_a_gateway_refusing_the_refund_gives_the_amount_back(make_member, admin, sandbox, english):
    registry.register_provider("refusing", RefusingGateway())
    try:
        ada = make_member("ada")
        order = paid_order(ada)
        order.provider = "refusing"
        db.session.commit()
        with pytest.raises(ServiceError, match="insufficient merchant balance"):
            payments.refund(admin, order, 4000, "", "g1")
        order = reload(order)
        assert (order.status, order.refunded_cents) == ("paid", 0)
        row = db.session.execute(select(PaymentRefund)).scalar_one()
        assert row.status == "failed"
        _o, events, _r, _s = payments.order_detail(admin, order.public_id)
        assert [e.kind for e in events][-1] == "refund_failed"
    finally:
        registry.unregister_provider("refusing")


def test_an_unreachable_gateway_keeps_the_refund_pending_until_retried(
    make_member, admin, sandbox, english
):
    registry.register_provider("refusing", RefusingGateway())
    RefusingGateway.script[:] = ["down", "ok"]
    RefusingGateway.refunded.clear()
    try:
        ada = make_member("ada")
        order = paid_order(ada)
        order.provider = "refusing"
        db.session.commit()
        with pytest.raises(ServiceError, match="could not be reached"):
            payments.refund(admin, order, 4000, "", "u1")
        order = reload(order)
        assert (order.status, order.refunded_cents) == ("partially_refunded", 4000)
        assert db.session.execute(select(PaymentRefund.status)).scalar_one() == "pending"
        with pytest.raises(ServiceError, match="At most ¥60.00"):
            payments.refund(admin, order, 6001, "", "u2")  # the pending amount counts
        row = payments.refund(admin, order, 4000, "", "u1")  # the retry, same key
        assert (row.status, row.provider_refund_id) == ("done", "gw-u1")
        assert payments.refund(admin, order, 4000, "", "u1").id == row.id
        assert RefusingGateway.refunded == ["u1"]
        assert reload(order).refunded_cents == 4000
    finally:
        registry.unregister_provider("refusing")


def test_two_concurrent_refunds_never_exceed_the_amount(
    app, make_member, admin, sandbox, database_kind
):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    order = paid_order(ada)
    order_id, admin_id = order.id, admin.id

    def work(i):
        from forum.models import Member

        return payments.refund(
            db.session.get(Member, admin_id),
            db.session.get(PaymentOrder, order_id),
            6000,
            "",
            f"race-{i}",
        ).amount_cents

    results = race(app, 2, work)
    assert sorted(outcome for outcome, _v in results) == ["ok", "refused"]
    order = reload(order)
    assert (order.refunded_cents, order.status) == (6000, "partially_refunded")


# --- manual transfers ---------------------------------------------------------------------


@pytest.fixture
def manual(app):
    payments.enable_provider("manual", {"instructions": "招商银行 6225…", "qr_image_url": ""})


def new_pending(member, amount=9900):
    return payments.create_order(
        member,
        plugin="membership",
        reference="tier:2",
        description="核心会员",
        amount_cents=amount,
        idempotency_key=f"m:{member.id}:{utcnow().timestamp()}",
    )


def test_manual_submit_confirm(make_member, admin, manual, english):
    ada, bob = make_member("ada"), make_member("bob")
    order = new_pending(ada)
    with pytest.raises(ServiceError, match="Say how you paid"):
        payments.submit_manual(ada, order, "  ")
    submission = payments.submit_manual(ada, order, "微信转账 尾号 1234")
    assert reload(order).expires_at is None and reload(order).provider == "manual"
    with pytest.raises(ServiceError, match="already waiting"):
        payments.submit_manual(ada, reload(order), "again")
    with pytest.raises(PermissionDenied):
        payments.manual_queue(bob)
    rows, pages = payments.manual_queue(admin)
    assert [s.id for s in rows] == [submission.id] and pages == 1
    with pytest.raises(PermissionDenied):
        payments.confirm_manual(bob, submission)
    assert payments.confirm_manual(admin, submission) is True
    order = reload(order)
    assert (order.status, order.provider, order.provider_ref) == (
        "paid",
        "manual",
        f"manual:{submission.id}",
    )
    with pytest.raises(ServiceError, match="already reviewed"):
        payments.confirm_manual(admin, submission)
    assert payments.manual_queue(admin)[0] == []


def test_manual_reject_tells_the_member_and_allows_another_try(make_member, admin, manual, english):
    ada = make_member("ada")
    order = new_pending(ada)
    submission = payments.submit_manual(ada, order, "paid yesterday")
    with pytest.raises(ServiceError, match="reason"):
        payments.reject_manual(admin, submission, " ")
    payments.reject_manual(admin, submission, "没有收到这笔转账")
    order = reload(order)
    assert order.status == "pending" and order.expires_at > utcnow()
    note = db.session.execute(
        select(Notification.data).where(Notification.member_id == ada.id)
    ).scalar_one()
    assert "没有收到这笔转账" in note["text"]
    again = payments.submit_manual(ada, order, "paid again, from 张三")
    assert again.status == "submitted"


# --- admin lists and CSV ------------------------------------------------------------------


def test_orders_filters(make_member, admin, sandbox):
    ada, bob = make_member("ada"), make_member("bob")
    one = paid_order(ada, 100)
    two = new_pending(bob, 200)
    rows, pages = payments.orders(admin)
    assert [o.id for o in rows] == [two.id, one.id] and pages == 1
    assert [o.id for o in payments.orders(admin, status="paid")[0]] == [one.id]
    assert [o.id for o in payments.orders(admin, member="BOB")[0]] == [two.id]
    assert [o.id for o in payments.orders(admin, provider="sandbox")[0]] == [one.id]
    assert payments.orders(admin, member="nobody")[0] == []
    assert payments.orders(admin, since=utcnow() + timedelta(hours=1))[0] == []
    assert len(payments.orders(admin, until=utcnow() + timedelta(hours=1))[0]) == 2
    with pytest.raises(PermissionDenied):
        payments.orders(ada)


def test_csv_opens_in_excel(make_member, admin, sandbox):
    ada = make_member("ada")
    paid_order(ada, 9900, description="核心会员 一年, 含“精华区”")
    paid_order(ada, 500, description="=HYPERLINK(evil)")
    text = "".join(payments.orders_csv(admin))
    assert text.startswith("\ufeff")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0][:3] == ["order", "created_at", "paid_at"]
    assert [r[6] for r in rows[1:]] == ["'=HYPERLINK(evil)", "核心会员 一年, 含“精华区”"]
    assert [r[7] for r in rows[1:]] == ["5.00", "99.00"]
    assert "".join(payments.orders_csv(admin, status="pending")).count("\r\n") == 1
    with pytest.raises(PermissionDenied):
        payments.orders_csv(ada)
    text.encode("utf-8")  # Excel reads it as UTF-8 thanks to the BOM


# --- provider settings --------------------------------------------------------------------


def test_save_provider_keeps_empty_secrets(make_member, admin, english):
    payments.save_provider(admin, "sandbox", enabled=True, settings={"secret": "s3cret"})
    assert payments.provider_settings("sandbox") == {"secret": "s3cret"}
    payments.save_provider(admin, "sandbox", enabled=True, settings={"secret": ""})
    assert payments.provider_settings("sandbox") == {"secret": "s3cret"}
    assert payments.checkout_providers()[0][0] == "sandbox"
    payments.save_provider(admin, "sandbox", enabled=False, settings={})
    assert payments.checkout_providers() == []
    with pytest.raises(PermissionDenied):
        payments.save_provider(make_member("ada"), "sandbox", enabled=True, settings={})


def test_unavailable_provider_cannot_be_enabled(app, admin, english):
    app.config["PAYMENTS_SANDBOX"] = False
    with pytest.raises(ServiceError, match="switched off"):
        payments.save_provider(admin, "sandbox", enabled=True, settings={})
    assert not payments.provider_enabled("sandbox")


def test_format_money():
    assert payments.format_money(9900) == "¥99.00"
    assert payments.format_money(500, "USD") == "US$5.00"
    assert payments.format_money(123456789, "CNY") == "¥1,234,567.89"
    assert payments.format_money(5, "CHF") == "CHF 0.05"
