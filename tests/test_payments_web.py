"""Payments pages: checkout, sandbox, manual transfer, receipts, the webhook, and the admin
area (admins only, CSRF on every form, the CSV download)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.models import ManualSubmission, PaymentEvent, PaymentOrder
from forum.models.base import utcnow
from forum.payments.sandbox import SIGNATURE_HEADER, sign
from forum.services import payments

SECRET = "sandbox-secret-1"


@pytest.fixture
def providers(app):
    payments.enable_provider("sandbox", {"secret": SECRET})
    payments.enable_provider(
        "manual", {"instructions": "**招商银行** 6225 8888", "qr_image_url": ""}
    )


@pytest.fixture
def ada(make_member):
    return make_member("ada")


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",))


def new_order(member, amount=9900, description="核心会员 一年"):
    return payments.create_order(
        member,
        plugin="membership",
        reference="tier:1",
        description=description,
        amount_cents=amount,
        idempotency_key=f"w:{member.id}:{amount}:{utcnow().timestamp()}",
    )


def reload(order):
    db.session.expire_all()
    return db.session.get(PaymentOrder, order.id)


def page(response) -> str:
    return response.get_data(as_text=True)


def test_checkout_then_sandbox_pay(client, login, ada, providers):
    order = new_order(ada)
    login(client, ada)
    html = page(client.get(f"/pay/{order.public_id}"))
    assert "核心会员 一年" in html and "¥99.00" in html
    assert 'value="sandbox"' in html and 'value="manual"' in html
    response = client.post(f"/pay/{order.public_id}", data={"provider": "sandbox"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/pay/{order.public_id}/sandbox")
    html = page(client.get(f"/pay/{order.public_id}/sandbox"))
    assert "SANDBOX" in html and "No real money moves" in html
    response = client.post(f"/pay/{order.public_id}/sandbox", data={"outcome": "fail"})
    assert response.status_code == 302 and reload(order).status == "pending"
    response = client.post(f"/pay/{order.public_id}/sandbox", data={"outcome": "pay"})
    assert response.headers["Location"].endswith(f"/pay/{order.public_id}/done")
    assert reload(order).status == "paid"
    html = page(client.get(f"/pay/{order.public_id}/done"))
    assert "the payment was received" in html and 'http-equiv="refresh"' not in html
    # paying twice (a second tab) changes nothing
    client.post(f"/pay/{order.public_id}/sandbox", data={"outcome": "pay"})
    assert reload(order).status == "paid"
    assert "See the receipt" in page(client.get(f"/pay/{order.public_id}"))


def test_done_page_polls_while_pending(client, login, ada, providers):
    order = new_order(ada)
    login(client, ada)
    html = page(client.get(f"/pay/{order.public_id}/done"))
    assert 'http-equiv="refresh"' in html and "Waiting for payment" in html


def test_sandbox_refused_when_switched_off(app, client, login, ada, providers):
    order = new_order(ada)
    app.config["PAYMENTS_SANDBOX"] = False
    login(client, ada)
    html = page(client.get(f"/pay/{order.public_id}"))
    assert 'value="sandbox"' not in html and 'value="manual"' in html
    client.post(f"/pay/{order.public_id}", data={"provider": "sandbox"})
    response = client.post(f"/pay/{order.public_id}/sandbox", data={"outcome": "pay"})
    assert response.status_code == 200 and "switched off" in page(response)
    assert reload(order).status == "pending"


def test_members_see_only_their_own_orders(client, login, ada, make_member, providers):
    bob = make_member("bob")
    mine = new_order(bob, 100, "Bob's order")
    theirs = new_order(ada, 200, "Ada's order")
    login(client, bob)
    for url in ("", "/manual", "/sandbox", "/done"):
        assert client.get(f"/pay/{theirs.public_id}{url}").status_code == 404
    assert client.post(f"/pay/{theirs.public_id}", data={"provider": "sandbox"}).status_code == 404
    assert client.post(f"/pay/{theirs.public_id}/cancel").status_code == 404
    html = page(client.get("/settings/receipts"))
    assert "Bob&#39;s order" in html and "Ada" not in html
    assert client.get(f"/pay/{mine.public_id}").status_code == 200
    assert reload(theirs).status == "pending"


def test_guests_are_sent_to_sign_in(client, ada, providers):
    order = new_order(ada)
    assert client.get(f"/pay/{order.public_id}").status_code == 302
    assert client.get("/settings/receipts").status_code == 302


def test_cancel_from_the_checkout_page(client, login, ada, providers):
    order = new_order(ada)
    login(client, ada)
    client.post(f"/pay/{order.public_id}/cancel")
    assert reload(order).status == "cancelled"
    html = page(client.get(f"/pay/{order.public_id}"))
    assert "Pay ¥99.00" not in html
    client.post(f"/pay/{order.public_id}", data={"provider": "sandbox"})
    assert reload(order).status == "cancelled" and reload(order).provider is None


def test_manual_transfer_then_admin_confirms(client, app, login, ada, admin, providers):
    order = new_order(ada)
    login(client, ada)
    response = client.post(f"/pay/{order.public_id}", data={"provider": "manual"})
    assert response.headers["Location"].endswith(f"/pay/{order.public_id}/manual")
    html = page(client.get(f"/pay/{order.public_id}/manual"))
    assert "<strong>招商银行</strong>" in html and order.public_id in html
    response = client.post(f"/pay/{order.public_id}/manual", data={"note": "微信转账 尾号 8888"})
    assert response.status_code == 302
    submission = db.session.execute(select(ManualSubmission)).scalar_one()
    assert submission.note == "微信转账 尾号 8888"

    staff = app.test_client()
    login(staff, admin)
    html = page(staff.get("/admin/payments/manual"))
    assert "微信转账 尾号 8888" in html and "¥99.00" in html
    response = staff.post(f"/admin/payments/manual/{submission.id}/confirm")
    assert response.status_code == 302
    assert reload(order).status == "paid"
    assert "No transfers are waiting" in page(staff.get("/admin/payments/manual"))


def test_admin_rejects_a_transfer_with_a_reason(client, app, login, ada, admin, providers):
    order = new_order(ada)
    payments.submit_manual(ada, order, "paid")
    submission = db.session.execute(select(ManualSubmission)).scalar_one()
    staff = app.test_client()
    login(staff, admin)
    staff.post(f"/admin/payments/manual/{submission.id}/reject", data={"reason": ""})
    assert db.session.get(ManualSubmission, submission.id).status == "submitted"
    staff.post(f"/admin/payments/manual/{submission.id}/reject", data={"reason": "没有收到"})
    db.session.expire_all()
    assert db.session.get(ManualSubmission, submission.id).status == "rejected"
    login(client, ada)
    assert "没有收到" in page(client.get(f"/pay/{order.public_id}/manual"))


def test_webhook_pays_once_and_rejects_forgeries(app, client, ada, providers):
    app.config["WTF_CSRF_ENABLED"] = True  # the webhook is exempt; forms are not
    order = new_order(ada)
    body = json.dumps(
        {"public_id": order.public_id, "event_id": "n-1", "amount_cents": 9900, "currency": "CNY"}
    ).encode()
    forged = client.post(
        "/payments/notify/sandbox",
        data=body,
        headers={SIGNATURE_HEADER: sign("wrong", body)},
        content_type="application/json",
    )
    assert (forged.status_code, page(forged)) == (400, "rejected")
    assert reload(order).status == "pending"
    for _ in range(10):
        response = client.post(
            "/payments/notify/sandbox",
            data=body,
            headers={SIGNATURE_HEADER: sign(SECRET, body)},
            content_type="application/json",
        )
        assert (response.status_code, page(response)) == (200, "ok")
    order = reload(order)
    assert order.status == "paid"
    kinds = db.session.execute(
        select(PaymentEvent.kind).where(PaymentEvent.order_id == order.id)
    ).scalars()
    assert sorted(kinds) == sorted(["created", "paid"] + ["duplicate"] * 9)
    assert client.post("/payments/notify/nosuch", data=b"x").status_code == 404


def test_every_form_needs_its_csrf_token(app, client, login, ada, admin, providers):
    order = new_order(ada)
    payments.submit_manual(ada, order, "paid")
    submission = db.session.execute(select(ManualSubmission)).scalar_one()
    login(client, ada)
    staff = app.test_client()
    login(staff, admin)
    app.config["WTF_CSRF_ENABLED"] = True
    for who, url, data in (
        (client, f"/pay/{order.public_id}", {"provider": "sandbox"}),
        (client, f"/pay/{order.public_id}/cancel", {}),
        (client, f"/pay/{order.public_id}/sandbox", {"outcome": "pay"}),
        (client, f"/pay/{order.public_id}/manual", {"note": "x"}),
        (staff, f"/admin/payments/manual/{submission.id}/confirm", {}),
        (staff, f"/admin/payments/manual/{submission.id}/reject", {"reason": "no"}),
        (staff, f"/admin/payments/{order.public_id}/refund", {"amount": "1.00"}),
        (staff, "/admin/payments/providers/sandbox", {"enabled": "1", "secret": "x"}),
    ):
        assert who.post(url, data=data).status_code == 400, url
    assert reload(order).status == "pending"
    assert db.session.get(ManualSubmission, submission.id).status == "submitted"
    assert payments.provider_settings("sandbox") == {"secret": SECRET}


def test_admin_pages_only_for_admins(app, client, login, ada, providers):
    order = new_order(ada)
    login(client, ada)
    urls = (
        "/admin/payments",
        "/admin/payments.csv",
        f"/admin/payments/{order.public_id}",
        "/admin/payments/manual",
        "/admin/payments/providers",
        "/admin/payments/providers/sandbox",
    )
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/admin/payments/{order.public_id}/refund", data={"amount": "1"}).status_code
        == 403
    )
    guest = app.test_client()
    for url in urls:
        assert guest.get(url).status_code in (302, 403), url


def test_admin_orders_list_detail_and_refund(app, login, ada, admin, providers):
    order = new_order(ada)
    payments.sandbox_pay(ada, order)
    other = new_order(ada, 500, "小额订单")
    staff = app.test_client()
    login(staff, admin)
    assert 'href="/admin/payments"' in page(staff.get("/admin/"))
    html = page(staff.get("/admin/payments"))
    assert "核心会员 一年" in html and "小额订单" in html
    html = page(staff.get("/admin/payments?status=paid"))
    assert "核心会员 一年" in html and "小额订单" not in html
    assert "/admin/payments.csv?status=paid" in html
    html = page(staff.get("/admin/payments?member=nobody"))
    assert "No orders found" in html

    html = page(staff.get(f"/admin/payments/{order.public_id}"))
    assert "created" in html and "paid" in html and 'name="amount"' in html
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html).group(1)
    too_much = staff.post(
        f"/admin/payments/{order.public_id}/refund", data={"amount": "99.01", "key": key}
    )
    assert too_much.status_code == 400 and "At most ¥99.00" in page(too_much)
    for _ in range(2):  # a double submit is one refund
        response = staff.post(
            f"/admin/payments/{order.public_id}/refund",
            data={"amount": "10.50", "reason": "部分退款", "key": key},
        )
        assert response.status_code == 302
    order = reload(order)
    assert (order.refunded_cents, order.status) == (1050, "partially_refunded")
    assert "部分退款" in page(staff.get(f"/admin/payments/{order.public_id}"))
    assert 'name="amount"' not in page(staff.get(f"/admin/payments/{other.public_id}"))


def test_csv_download(app, login, ada, admin, providers):
    payments.sandbox_pay(ada, new_order(ada, 9900, "核心会员 一年"))
    staff = app.test_client()
    login(staff, admin)
    response = staff.get("/admin/payments.csv?status=paid")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("order,created_at") and "核心会员 一年" in lines[1]
    assert lines[2] == ""


def test_provider_settings_page(app, login, admin, providers):
    staff = app.test_client()
    login(staff, admin)
    html = page(staff.get("/admin/payments/providers"))
    assert "Sandbox (test payments)" in html and "wechatpay" in html
    html = page(staff.get("/admin/payments/providers/sandbox"))
    assert SECRET not in html and "A value is stored" in html
    assert "/payments/notify/sandbox" in html
    response = staff.post("/admin/payments/providers/sandbox", data={"secret": ""})
    assert response.status_code == 302
    assert payments.provider_settings("sandbox") == {"secret": SECRET}
    assert not payments.provider_enabled("sandbox")
    staff.post("/admin/payments/providers/sandbox", data={"enabled": "1", "secret": "new"})
    assert payments.provider_settings("sandbox") == {"secret": "new"}
    assert payments.provider_enabled("sandbox")
    assert staff.get("/admin/payments/providers/nosuch").status_code == 404


def test_every_provider_has_a_settings_page(app, login, admin):
    from forum import payments as registry

    staff = app.test_client()
    login(staff, admin)
    for name in registry.PROVIDERS:
        response = staff.get(f"/admin/payments/providers/{name}")
        assert response.status_code == 200, name
        assert f"/payments/notify/{name}" in page(response)


def test_settings_page_links_receipts(client, login, ada):
    login(client, ada)
    assert 'href="/settings/receipts"' in page(client.get("/settings"))


def test_manual_transfer_with_a_screenshot(client, app, login, ada, admin, providers):
    import io

    from PIL import Image

    order = new_order(ada)
    login(client, ada)
    shot = io.BytesIO()
    Image.new("RGB", (60, 40), "green").save(shot, "PNG")
    shot.seek(0)
    response = client.post(
        f"/pay/{order.public_id}/manual",
        data={"note": "", "screenshot": (shot, "转账.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    submission = db.session.execute(select(ManualSubmission)).scalar_one()
    assert submission.upload is not None
    staff = app.test_client()
    login(staff, admin)
    html = page(staff.get("/admin/payments/manual"))
    assert f'src="/uploads/{submission.upload.path}"' in html
    # a file that is not an image is refused and nothing is submitted
    other = new_order(ada, 300)
    response = client.post(
        f"/pay/{other.public_id}/manual",
        data={"note": "", "screenshot": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert db.session.execute(select(ManualSubmission.order_id)).scalars().all() == [order.id]


def test_the_owner_uploads_the_manual_qr_image(client, app, login, ada, admin, providers):
    import io

    from PIL import Image

    staff = app.test_client()
    login(staff, admin)
    image = io.BytesIO()
    Image.new("RGB", (80, 80), "white").save(image, "PNG")
    image.seek(0)
    response = staff.post(
        "/admin/payments/providers/manual",
        data={
            "enabled": "1",
            "instructions": "扫码付款",
            "qr_image_url": "",
            "qr_image_upload": (image, "wechat-qr.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    url = payments.provider_settings("manual")["qr_image_url"]
    assert url.startswith("/uploads/")
    order = new_order(ada)
    login(client, ada)
    assert f'src="{url}"' in page(client.get(f"/pay/{order.public_id}/manual"))


def test_an_admin_cancels_a_pending_order(app, login, ada, admin, providers):
    order = new_order(ada)
    staff = app.test_client()
    login(staff, admin)
    assert "Cancel this order" in page(staff.get(f"/admin/payments/{order.public_id}"))
    staff.post(f"/pay/{order.public_id}/cancel")
    assert reload(order).status == "cancelled"
    assert "Cancel this order" not in page(staff.get(f"/admin/payments/{order.public_id}"))
