"""The payments core's services: orders, the state machine, idempotency, notifications
(verified for real with an HMAC-signed provider defined here), concurrency on PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum import payments as registry
from forum.extensions import db
from forum.models import PaymentEvent, PaymentOrder
from forum.models.base import utcnow
from forum.payments.base import Checkout, IncomingRequest, Notification, SignatureError
from forum.payments.sandbox import SIGNATURE_HEADER, sign
from forum.services import payments
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.testing import race

SECRET = "whsec-test-1234567890"


class HmacProvider:
    """A small gateway: notifications are JSON bodies signed with HMAC-SHA256 (header
    ``X-Signature``), verified for real against the ``secret`` setting."""

    name = "hmactest"
    label = "HMAC test"
    fields = ()
    #: What query() answers, by public id (what the gateway knows).
    known: dict[str, Notification] = {}

    def available(self, settings=None):
        if settings is not None and not settings.get("secret"):
            return "no secret"
        return None

    def checkout(self, order, settings, *, notify_url, return_url):
        if settings.get("qr"):
            return Checkout("qr", code_url=f"weixin://wxpay/bizpayurl?pr={order.public_id}")
        return Checkout("redirect", url=f"https://gateway.test/pay/{order.public_id}")

    def verify_notification(self, settings: Mapping, request: IncomingRequest) -> Notification:
        given = request.headers.get("X-Signature", "")
        expected = hmac.new(settings["secret"].encode(), request.body, hashlib.sha256).hexdigest()
        if not given or not hmac.compare_digest(given, expected):
            raise SignatureError("bad signature")
        data = json.loads(request.body)
        return Notification(
            public_id=data["out_trade_no"],
            event_id=data["id"],
            paid=data["status"] == "SUCCESS",
            amount_cents=data["total"],
            currency=data["currency"],
            provider_ref=data["transaction_id"],
        )

    def acknowledge(self, ok):
        return (200, "SUCCESS", {}) if ok else (400, "FAIL", {})

    def query(self, order, settings):
        found = self.known.get(order.public_id)
        if found == "down":
            raise ConnectionError("gateway unreachable")
        return found

    def refund(self, order, amount_cents, refund_key, settings):
        return f"re_{refund_key}"


@pytest.fixture
def gateway(app):
    registry.register_provider("hmactest", HmacProvider())
    payments.enable_provider("hmactest", {"secret": SECRET})
    yield "hmactest"
    registry.unregister_provider("hmactest")
    HmacProvider.known.clear()


@pytest.fixture
def sandbox(app):
    payments.enable_provider("sandbox", {"secret": SECRET})
    return "sandbox"


@pytest.fixture
def hook_calls(app, monkeypatch):
    """Record forum_payment_succeeded / forum_payment_refunded calls through a plugin."""
    from forum import plugins

    calls: list[tuple[str, str]] = []

    class Impl:
        def __init__(self, hook, function, argnames):
            self.function = function
            self.argnames = argnames

    def succeeded(order):
        calls.append(("succeeded", order.public_id))

    def refunded(order, refund):
        calls.append(("refunded", f"{order.public_id}:{refund.amount_cents}"))

    real = plugins.PluginManager.impls

    def impls(self, hook, enabled):
        extra = {
            "forum_payment_succeeded": [("recorder", Impl(hook, succeeded, ("order",)))],
        }.get(hook, [])
        return [*real(self, hook, enabled), *extra]

    monkeypatch.setattr(plugins.PluginManager, "impls", impls)
    real_fire = plugins.fire

    def fire(hook, **kwargs):
        if hook == "forum_payment_refunded":
            refunded(**kwargs)
        return real_fire(hook, **kwargs)

    monkeypatch.setattr(plugins, "fire", fire)
    return calls


def new_order(member, amount=9900, key=None, **kw):
    return payments.create_order(
        member,
        plugin=kw.pop("plugin", "membership"),
        reference=kw.pop("reference", "tier:1"),
        description=kw.pop("description", "核心会员 一年"),
        amount_cents=amount,
        idempotency_key=key or f"test:{member.id}:{utcnow().timestamp()}:{amount}",
        **kw,
    )


def signed(body: dict, secret: str = SECRET, header: str = "X-Signature") -> IncomingRequest:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return IncomingRequest(headers={header: signature}, body=raw, form={}, args={})


def notification_body(order, **overrides) -> dict:
    body = {
        "id": f"evt_{order.public_id}",
        "out_trade_no": order.public_id,
        "status": "SUCCESS",
        "total": order.amount_cents,
        "currency": order.currency,
        "transaction_id": "4200001234",
    }
    body.update(overrides)
    return body


def events(order, kind=None):
    query = select(PaymentEvent.kind).where(PaymentEvent.order_id == order.id)
    if kind:
        query = query.where(PaymentEvent.kind == kind)
    return list(db.session.execute(query.order_by(PaymentEvent.id)).scalars())


def reload(order) -> PaymentOrder:
    db.session.expire_all()
    return db.session.get(PaymentOrder, order.id)


# --- orders -------------------------------------------------------------------------------


def test_create_order_and_the_same_key(make_member, english):
    ada = make_member("ada")
    order = new_order(ada, key="membership:ada:1")
    assert len(order.public_id) == 20
    assert (order.status, order.amount_cents, order.currency) == ("pending", 9900, "CNY")
    assert order.expires_at is not None
    again = new_order(ada, key="membership:ada:1")
    assert again.id == order.id
    assert db.session.execute(select(func.count()).select_from(PaymentOrder)).scalar() == 1
    with pytest.raises(ServiceError, match="different order"):
        new_order(ada, amount=100, key="membership:ada:1")
    with pytest.raises(ServiceError):
        new_order(ada, amount=0)
    assert events(order) == ["created"]


def test_before_payment_hook_may_refuse(make_member, monkeypatch, english):
    from forum import plugins

    ada = make_member("ada")
    seen = []

    def check_before(hook, **kwargs):
        order = kwargs["order"]
        seen.append((hook, order.amount_cents, order.member.username, kwargs["member"].id))
        raise ServiceError("Sold out.")

    monkeypatch.setattr(plugins, "check_before", check_before)
    with pytest.raises(ServiceError, match="Sold out"):
        new_order(ada)
    assert seen == [("forum_before_payment", 9900, "ada", ada.id)]
    assert db.session.execute(select(func.count()).select_from(PaymentOrder)).scalar() == 0


def test_get_order_only_for_owner_and_admins(make_member, english):
    ada, bob = make_member("ada"), make_member("bob")
    boss = make_member("boss", groups=("admin",))
    order = new_order(ada)
    assert payments.get_order(order.public_id, ada).id == order.id
    assert payments.get_order(order.public_id, boss).id == order.id
    for viewer in (bob, None):
        with pytest.raises(NotFound):
            payments.get_order(order.public_id, viewer)


def test_providers_offered_only_when_enabled_and_available(app, make_member, sandbox, english):
    assert payments.checkout_providers() == [("sandbox", "Sandbox (test payments)")]
    payments.enable_provider("manual")
    assert [name for name, _label in payments.checkout_providers()] == ["manual", "sandbox"]
    app.config["PAYMENTS_SANDBOX"] = False
    assert [name for name, _label in payments.checkout_providers()] == ["manual"]


# --- the state machine --------------------------------------------------------------------


def test_checkout_records_provider_and_refuses_closed_orders(make_member, gateway, english):
    ada, bob = make_member("ada"), make_member("bob")
    order = new_order(ada)
    checkout = payments.start_checkout(ada, order, gateway, return_url="/done")
    assert checkout.url.endswith(order.public_id)
    assert reload(order).provider == gateway
    assert events(order) == ["created", "checkout"]
    with pytest.raises(NotFound):
        payments.start_checkout(bob, order, gateway, return_url="/done")
    with pytest.raises(ServiceError, match="not available"):
        payments.start_checkout(ada, order, "stripe", return_url="/done")

    cancelled = new_order(ada)
    payments.cancel(ada, cancelled)
    with pytest.raises(ServiceError, match="cancelled"):
        payments.start_checkout(ada, reload(cancelled), gateway, return_url="/done")

    late = new_order(ada)
    assert payments.expire_pending(now=utcnow() + timedelta(minutes=31)) == 2
    late = reload(late)
    assert late.status == "expired"
    with pytest.raises(ServiceError, match="expired"):
        payments.start_checkout(ada, late, gateway, return_url="/done")
    assert events(late) == ["created", "expired"]


def test_an_order_past_its_time_is_refused_before_the_job_runs(make_member, gateway, english):
    ada = make_member("ada")
    order = new_order(ada, expires_in=timedelta(seconds=-1))
    with pytest.raises(ServiceError, match="expired"):
        payments.start_checkout(ada, order, gateway, return_url="/done")
    assert reload(order).provider is None


def test_cancel_refuses_a_paid_order(make_member, sandbox, english):
    ada, bob = make_member("ada"), make_member("bob")
    order = new_order(ada)
    with pytest.raises(NotFound):
        payments.cancel(bob, order)
    assert payments.sandbox_pay(ada, order) is True
    with pytest.raises(ServiceError, match="paid order cannot be cancelled"):
        payments.cancel(ada, reload(order))
    assert reload(order).status == "paid"
    assert "cancelled" not in events(order)


def test_expire_leaves_other_orders(make_member, sandbox):
    ada = make_member("ada")
    paid, open_, forever = new_order(ada), new_order(ada), new_order(ada, expires_in=None)
    payments.sandbox_pay(ada, paid)
    assert payments.expire_pending(now=utcnow() + timedelta(minutes=10)) == 0
    assert payments.expire_pending(now=utcnow() + timedelta(hours=1)) == 1
    assert [reload(o).status for o in (paid, open_, forever)] == ["paid", "expired", "pending"]


# --- paying -------------------------------------------------------------------------------


def test_mark_paid_wrong_amount_or_currency_is_rejected_and_logged(
    make_member, gateway, hook_calls, english
):
    ada = make_member("ada")
    order = new_order(ada)
    for amount, currency in ((9800, "CNY"), (9900, "USD")):
        with pytest.raises(ServiceError, match="does not match"):
            payments.mark_paid(
                order.public_id,
                provider=gateway,
                provider_ref="tx",
                amount_cents=amount,
                currency=currency,
                event_id=f"evt-{amount}-{currency}",
            )
    order = reload(order)
    assert (order.status, order.paid_at, order.provider_ref) == ("pending", None, None)
    assert events(order) == ["created", "notification_rejected", "notification_rejected"]
    notes = db.session.execute(
        select(PaymentEvent.note).where(PaymentEvent.kind == "notification_rejected")
    ).scalars()
    assert [n.split(" differs")[0] for n in notes] == ["amount 9800 CNY", "amount 9900 USD"]
    assert hook_calls == []


def test_mark_paid_once_then_duplicate(make_member, gateway, hook_calls):
    ada = make_member("ada")
    order = new_order(ada)
    kwargs = dict(
        provider=gateway, provider_ref="tx1", amount_cents=9900, currency="CNY", event_id="e1"
    )
    assert payments.mark_paid(order.public_id, **kwargs) is True
    assert payments.mark_paid(order.public_id, **kwargs) is False
    order = reload(order)
    assert (order.status, order.provider, order.provider_ref) == ("paid", gateway, "tx1")
    assert order.paid_at is not None and order.delivered_at is not None
    assert events(order) == ["created", "paid", "duplicate"]
    assert hook_calls == [("succeeded", order.public_id)]


def test_money_for_a_cancelled_order_is_still_taken(make_member, gateway, hook_calls):
    ada = make_member("ada")
    order = new_order(ada)
    payments.cancel(ada, order)
    assert payments.mark_paid(
        order.public_id,
        provider=gateway,
        provider_ref="tx",
        amount_cents=9900,
        currency="CNY",
        event_id="late",
    )
    order = reload(order)
    assert order.status == "paid"
    note = db.session.execute(
        select(PaymentEvent.note).where(PaymentEvent.kind == "paid")
    ).scalar_one()
    assert note.startswith("paid after the order was cancelled")
    assert hook_calls == [("succeeded", order.public_id)]


def test_ten_deliveries_of_one_notification_pay_once(make_member, gateway, hook_calls):
    ada = make_member("ada")
    ada.locale = "en"  # notifications are worded in the recipient's language
    db.session.commit()
    order = new_order(ada)
    request = signed(notification_body(order))
    replies = [payments.handle_notification(gateway, request) for _ in range(10)]
    assert replies == [(200, "SUCCESS", {})] * 10
    order = reload(order)
    assert order.status == "paid" and order.provider_ref == "4200001234"
    assert events(order) == ["created", "paid"] + ["duplicate"] * 9
    assert hook_calls == [("succeeded", order.public_id)]
    # the member heard of it once
    from forum.models import Notification as Note

    texts = db.session.execute(select(Note.data).where(Note.member_id == ada.id)).scalars()
    assert [t["text"].split(":")[0] for t in texts] == ["Payment received"]


def test_forged_and_tampered_notifications_are_rejected(make_member, gateway, hook_calls):
    ada = make_member("ada")
    order = new_order(ada)
    forged = signed(notification_body(order), secret="not-the-secret")
    assert payments.handle_notification(gateway, forged) == (400, "FAIL", {})
    good = signed(notification_body(order))
    tampered = IncomingRequest(
        headers=good.headers, body=good.body.replace(b"9900", b"1"), form={}, args={}
    )
    assert payments.handle_notification(gateway, tampered) == (400, "FAIL", {})
    unsigned = IncomingRequest(headers={}, body=good.body, form={}, args={})
    assert payments.handle_notification(gateway, unsigned) == (400, "FAIL", {})
    wrong_amount = signed(notification_body(order, total=1))
    assert payments.handle_notification(gateway, wrong_amount) == (400, "FAIL", {})
    order = reload(order)
    assert order.status == "pending" and order.provider_ref is None
    rejected = db.session.execute(
        select(PaymentEvent.order_id, PaymentEvent.note)
        .where(PaymentEvent.kind == "notification_rejected")
        .order_by(PaymentEvent.id)
    ).all()
    assert [(oid, note.split(":")[0]) for oid, note in rejected] == [
        (None, "signature"),
        (None, "signature"),
        (None, "signature"),
        (order.id, "amount 1 CNY differs from the order's 9900 CNY"),
    ]
    assert hook_calls == []


def test_a_failed_payment_notice_is_acknowledged_and_ignored(make_member, gateway):
    ada = make_member("ada")
    order = new_order(ada)
    request = signed(notification_body(order, status="CLOSED"))
    assert payments.handle_notification(gateway, request) == (200, "SUCCESS", {})
    assert reload(order).status == "pending"


def test_notifications_for_a_disabled_provider_are_rejected(make_member, gateway):
    from forum.models import PaymentProviderConfig

    ada = make_member("ada")
    order = new_order(ada)
    db.session.get(PaymentProviderConfig, gateway).enabled = False
    db.session.commit()
    assert payments.handle_notification(gateway, signed(notification_body(order)))[0] == 400
    assert reload(order).status == "pending"
    assert payments.handle_notification("nosuch", signed({}))[0] == 404


def test_sandbox_notifications_are_verified(make_member, sandbox, hook_calls):
    ada = make_member("ada")
    order = new_order(ada)
    body = json.dumps(
        {
            "public_id": order.public_id,
            "event_id": "sb-1",
            "amount_cents": 9900,
            "currency": "CNY",
        }
    ).encode()
    bad = IncomingRequest(headers={SIGNATURE_HEADER: "00"}, body=body, form={}, args={})
    assert payments.handle_notification("sandbox", bad)[0] == 400
    good = IncomingRequest(
        headers={SIGNATURE_HEADER: sign(SECRET, body)}, body=body, form={}, args={}
    )
    for _ in range(3):
        assert payments.handle_notification("sandbox", good) == (200, "ok", {})
    assert reload(order).status == "paid"
    assert hook_calls == [("succeeded", order.public_id)]


def test_sandbox_pay_and_fail(make_member, sandbox, hook_calls, english):
    ada, bob = make_member("ada"), make_member("bob")
    order = new_order(ada)
    assert payments.sandbox_pay(ada, order, succeed=False) is False
    assert reload(order).status == "pending"
    with pytest.raises(NotFound):
        payments.sandbox_pay(bob, order)
    assert payments.sandbox_pay(ada, order) is True
    with pytest.raises(ServiceError, match="already paid"):
        payments.sandbox_pay(ada, reload(order))
    assert hook_calls == [("succeeded", order.public_id)]


def test_sandbox_refused_when_switched_off(app, make_member, sandbox, english):
    ada = make_member("ada")
    order = new_order(ada)
    app.config["PAYMENTS_SANDBOX"] = False
    with pytest.raises(PermissionDenied):
        payments.sandbox_pay(ada, order)
    with pytest.raises(ServiceError, match="not available"):
        payments.start_checkout(ada, order, "sandbox", return_url="/")
    assert reload(order).status == "pending"


def test_sandbox_refused_when_not_enabled(make_member, english):
    ada = make_member("ada")
    order = new_order(ada)
    with pytest.raises(ServiceError, match="not available"):
        payments.sandbox_pay(ada, order)


def test_a_failing_delivery_is_retried_by_redeliver(make_member, sandbox, monkeypatch):
    from forum import plugins

    ada = make_member("ada")
    order = new_order(ada)
    attempts = []

    class Impl:
        argnames = ("order",)

        @staticmethod
        def function(order):
            attempts.append(order.public_id)
            if len(attempts) == 1:
                raise RuntimeError("plugin bug")

    real = plugins.PluginManager.impls
    monkeypatch.setattr(
        plugins.PluginManager,
        "impls",
        lambda self, hook, enabled: (
            [*real(self, hook, enabled)]
            + ([("flaky", Impl)] if hook == "forum_payment_succeeded" else [])
        ),
    )
    assert payments.sandbox_pay(ada, order)
    assert reload(order).delivered_at is None
    assert payments.redeliver() == 0  # paid less than a minute ago
    reload(order).paid_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert payments.redeliver() == 1
    assert reload(order).delivered_at is not None
    assert payments.redeliver() == 0
    assert attempts == [order.public_id, order.public_id]


# --- concurrency (PostgreSQL) -------------------------------------------------------------


def test_two_concurrent_mark_paid_pay_once(app, make_member, gateway, hook_calls, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    order = new_order(ada)
    public_id = order.public_id

    def work(i):
        return payments.mark_paid(
            public_id,
            provider=gateway,
            provider_ref=f"tx{i}",
            amount_cents=9900,
            currency="CNY",
            event_id=f"evt{i}",
        )

    results = race(app, 2, work)
    assert sorted(value for _outcome, value in results) == [False, True]
    assert events(reload(order)) == ["created", "paid", "duplicate"]
    assert hook_calls == [("succeeded", public_id)]


def test_concurrent_notifications_pay_once(app, make_member, gateway, hook_calls, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    order = new_order(ada)
    request = signed(notification_body(order))
    results = race(app, 4, lambda i: payments.handle_notification(gateway, request))
    assert [value for _o, value in results] == [(200, "SUCCESS", {})] * 4
    assert sorted(events(reload(order))) == sorted(["created", "paid"] + ["duplicate"] * 3)
    assert hook_calls == [("succeeded", order.public_id)]


def test_concurrent_create_with_one_key(app, make_member, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    member_id = ada.id

    def work(i):
        from forum.models import Member

        return new_order(db.session.get(Member, member_id), key="one-key").id

    results = race(app, 3, work)
    assert len({value for _o, value in results}) == 1
    assert db.session.execute(select(func.count()).select_from(PaymentOrder)).scalar() == 1


# --- asking the gateway -------------------------------------------------------------------


def test_public_ids_are_letters_and_digits(make_member):
    ada = make_member("ada")
    ids = [new_order(ada, amount=100 + i).public_id for i in range(30)]
    assert all(len(i) == 20 and i.isalnum() and i.isascii() for i in ids)
    assert len(set(ids)) == 30


def test_a_provider_with_incomplete_settings_is_not_offered(make_member, gateway):
    assert gateway in dict(payments.checkout_providers())
    payments.enable_provider(gateway, {"secret": ""})
    assert gateway not in dict(payments.checkout_providers())


def paid_at_gateway(order, **overrides) -> Notification:
    values = dict(
        public_id=order.public_id,
        event_id="4200009999",
        paid=True,
        amount_cents=order.amount_cents,
        currency=order.currency,
        provider_ref="4200009999",
    )
    values.update(overrides)
    return Notification(**values)


def test_the_return_page_asks_the_gateway(client, login, make_member, gateway, hook_calls):
    ada = make_member("ada")
    order = new_order(ada)
    payments.start_checkout(ada, order, gateway, return_url="/")
    login(client, ada)
    assert "Waiting for payment" in client.get(f"/pay/{order.public_id}/done").get_data(True)
    HmacProvider.known[order.public_id] = paid_at_gateway(order)
    html = client.get(f"/pay/{order.public_id}/done").get_data(as_text=True)
    assert "the payment was received" in html
    order = reload(order)
    assert (order.status, order.provider_ref) == ("paid", "4200009999")
    # the late notification of the same payment collapses onto it
    late = signed(notification_body(order, id="4200009999"))
    assert payments.handle_notification(gateway, late) == (200, "SUCCESS", {})
    assert events(order) == ["created", "checkout", "paid", "duplicate"]
    assert hook_calls == [("succeeded", order.public_id)]


def test_check_with_gateway_refuses_what_does_not_fit(make_member, gateway, sandbox):
    ada = make_member("ada")
    order = new_order(ada)
    assert payments.check_with_gateway(order) is False  # no provider chosen yet
    payments.start_checkout(ada, order, gateway, return_url="/")
    order = reload(order)
    HmacProvider.known[order.public_id] = "down"
    assert payments.check_with_gateway(order) is False
    HmacProvider.known[order.public_id] = paid_at_gateway(order, amount_cents=1)
    assert payments.check_with_gateway(order) is False
    HmacProvider.known[order.public_id] = paid_at_gateway(order, paid=False)
    assert payments.check_with_gateway(order) is False
    assert reload(order).status == "pending"
    assert events(order) == ["created", "checkout", "notification_rejected"]


def test_expiry_asks_the_gateway_first(make_member, gateway):
    ada = make_member("ada")
    arrived, unpaid = new_order(ada), new_order(ada)
    for order in (arrived, unpaid):
        payments.start_checkout(ada, order, gateway, return_url="/")
    HmacProvider.known[arrived.public_id] = paid_at_gateway(arrived)
    assert payments.expire_pending(now=utcnow() + timedelta(hours=1)) == 1
    assert (reload(arrived).status, reload(unpaid).status) == ("paid", "expired")


def test_a_qr_checkout_shows_the_code(client, login, make_member, gateway):
    ada = make_member("ada")
    order = new_order(ada)
    payments.enable_provider(gateway, {"secret": SECRET, "qr": True})
    login(client, ada)
    response = client.post(f"/pay/{order.public_id}", data={"provider": gateway})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Scan to pay" in html
    assert f'href="weixin://wxpay/bizpayurl?pr={order.public_id}"' in html
    try:
        import segno  # noqa: F401
    except ImportError:
        assert "<svg" not in html
    else:
        assert 'class="payment-qr-code"' in html and "<path" in html
    assert reload(order).provider == gateway


def test_the_manual_provider_takes_no_notifications(make_member):
    ada = make_member("ada")
    order = new_order(ada)
    payments.enable_provider("manual")
    body = json.dumps({"public_id": order.public_id, "amount_cents": 9900}).encode()
    request = IncomingRequest(headers={}, body=body, form={}, args={})
    assert payments.handle_notification("manual", request) == (400, "rejected", {})
    assert reload(order).status == "pending"
    note = db.session.execute(
        select(PaymentEvent.note).where(PaymentEvent.kind == "notification_rejected")
    ).scalar_one()
    assert note == "signature: the manual provider takes no notifications"
