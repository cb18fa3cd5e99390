"""The three gateways (WeChat Pay, Alipay, Stripe) with the SDKs' real signing code.

Keys are made here with ``cryptography``: one RSA pair plays the merchant (our app key),
one the gateway (WeChat Pay's platform key, Alipay's key), one a forger. Notifications are
built and signed the way each gateway builds and signs them, independently of the SDKs;
the providers must verify them with the SDKs. Calls that need the network (create, query,
refund) go to a loopback server (tests/payment_fakes.py) that answers, signed, as the
gateway would. Provider tests need no database; the last part runs the notifications
through the payments core (``handle_notification``) on each database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from forum.models import Member
from forum.models.base import utcnow
from forum.models.payments import PaymentEvent, PaymentOrder, PaymentRefund
from forum.payments.alipay import SANDBOX_GATEWAY, AlipayProvider
from forum.payments.base import GatewayUnreachable, IncomingRequest, ProviderError, SignatureError
from forum.payments.stripe_gateway import StripeProvider
from forum.payments.wechatpay import WeChatPayProvider
from forum.services import payments
from forum.services.errors import ServiceError
from forum.testing import race
from tests.payment_fakes import FakeGateway, FakeRequest

# --- keys and fixtures --------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private: rsa.RSAPrivateKey
    private_pem: str
    public_pem: str

    def sign(self, message: str) -> str:
        """base64 of SHA256withRSA (PKCS#1 v1.5), as both gateways sign."""
        raw = self.private.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()

    def verify(self, signature: str, message: str) -> bool:
        try:
            self.private.public_key().verify(
                base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True


def _pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(key, private_pem, public_pem)


@dataclass(frozen=True)
class Keys:
    merchant: KeyPair
    gateway: KeyPair
    forger: KeyPair


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(_pair(), _pair(), _pair())


@pytest.fixture
def fake_gateway() -> Iterator:
    """``fake_gateway(answer)`` → a started FakeGateway; all are shut down after the test."""
    started: list[FakeGateway] = []

    def start(answer) -> FakeGateway:
        server = FakeGateway(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def order_row(amount_cents: int = 9999, currency: str = "CNY", **fields) -> PaymentOrder:
    """An unsaved order row, as the core hands it to a provider."""
    values = {
        "public_id": "Ord" + secrets.token_hex(8),
        "member_id": 1,
        "plugin": "membership",
        "reference": "tier:1",
        "description": "核心会员 · 1 year",
        "amount_cents": amount_cents,
        "currency": currency,
        "status": "pending",
        "provider_ref": None,
        "expires_at": utcnow() + timedelta(minutes=30),
    }
    values.update(fields)
    return PaymentOrder(**values)


def incoming(headers=None, body: bytes = b"", form=None) -> IncomingRequest:
    return IncomingRequest(headers=dict(headers or {}), body=body, form=dict(form or {}), args={})


# --- WeChat Pay -----------------------------------------------------------------------------

MCHID = "1900000109"
WX_APPID = "wxd678efh567hg6787"
APIV3 = "a12d3924fd499edac8a5efc0123456ab"
PUB_KEY_ID = "PUB_KEY_ID_0119000001092026120300000000000001"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
TRANSACTION_ID = "4200002026120312345678901234"


def wx_settings(keys: Keys, **changes) -> dict:
    settings = {
        "mchid": MCHID,
        "appid": WX_APPID,
        "apiv3_key": APIV3,
        "private_key": keys.merchant.private_pem,
        "cert_serial_no": SERIAL,
        "public_key": keys.gateway.public_pem,
        "public_key_id": PUB_KEY_ID,
        "trade_type": "native",
    }
    settings.update(changes)
    return settings


def wx_signed_headers(
    signer: KeyPair, body: str, *, timestamp: int | None = None, serial: str = PUB_KEY_ID
) -> dict:
    """The headers WeChat Pay sends: RSA-SHA256 over ``timestamp\\nnonce\\nbody\\n``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_hex(16).upper()
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signer.sign(f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wx_transaction(public_id: str, total: int, **changes) -> dict:
    """A transaction object as WeChat Pay describes one (notification resource, query)."""
    transaction = {
        "mchid": MCHID,
        "appid": WX_APPID,
        "out_trade_no": public_id,
        "transaction_id": TRANSACTION_ID,
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "",
        "success_time": "2026-12-03T16:01:02+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": total,
            "payer_total": total,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    transaction.update(changes)
    return transaction


def wx_notification(
    keys: Keys,
    resource: dict,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    signer: KeyPair | None = None,
    apiv3: str = APIV3,
    timestamp: int | None = None,
    serial: str = PUB_KEY_ID,
) -> IncomingRequest:
    """A notification as WeChat Pay posts it: the resource AES-256-GCM encrypted, signed."""
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's
    ciphertext = AESGCM(apiv3.encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), b"transaction"
    )
    body = json.dumps(
        {
            "id": "EV-2026120316010" + secrets.token_hex(4),
            "create_time": "2026-12-03T16:01:03+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
    )
    headers = wx_signed_headers(signer or keys.gateway, body, timestamp=timestamp, serial=serial)
    headers["Content-Type"] = "application/json"
    return incoming(headers, body.encode())


def wx_answer(
    keys: Keys,
    status: int,
    payload: dict | None,
    signer: KeyPair | None = None,
    serial: str = PUB_KEY_ID,
):
    """An API answer of WeChat Pay's, signed with the platform key as its answers are."""
    body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
    headers = wx_signed_headers(signer or keys.gateway, body, serial=serial)
    headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Request-ID"] = secrets.token_hex(8)
    return status, headers, body.encode()


def wx_check_authorization(keys: Keys, req: FakeRequest) -> None:
    """The merchant's request must carry a valid WECHATPAY2-SHA256-RSA2048 Authorization."""
    scheme, _sep, rest = req.headers["Authorization"].partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    parts = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    assert parts["mchid"] == MCHID and parts["serial_no"] == SERIAL
    url = req.path + ("?" + urlencode(req.query) if req.query else "")
    message = f"{req.method}\n{url}\n{parts['timestamp']}\n{parts['nonce_str']}\n"
    message += req.body.decode() + "\n"
    assert keys.merchant.verify(parts["signature"], message)


def test_wechatpay_valid_notification(keys):
    order = order_row(9999)
    note = WeChatPayProvider().verify_notification(
        wx_settings(keys), wx_notification(keys, wx_transaction(order.public_id, 9999))
    )
    assert note.public_id == order.public_id
    assert note.paid is True
    assert (note.amount_cents, note.currency) == (9999, "CNY")
    assert note.provider_ref == TRANSACTION_ID
    assert note.event_id == TRANSACTION_ID


def test_wechatpay_headers_in_any_case(keys):
    request = wx_notification(keys, wx_transaction("OrdLower", 10))
    lowered = incoming({k.lower(): v for k, v in request.headers.items()}, request.body)
    note = WeChatPayProvider().verify_notification(wx_settings(keys), lowered)
    assert (note.public_id, note.amount_cents, note.paid) == ("OrdLower", 10, True)


def test_wechatpay_tampered_body(keys):
    request = wx_notification(keys, wx_transaction("OrdTamper", 9999))
    body = request.body.replace("支付成功".encode(), "支付失败".encode())
    assert body != request.body
    with pytest.raises(SignatureError):
        WeChatPayProvider().verify_notification(wx_settings(keys), incoming(request.headers, body))


def test_wechatpay_signed_by_another_key(keys):
    request = wx_notification(keys, wx_transaction("OrdForged", 9999), signer=keys.forger)
    with pytest.raises(SignatureError):
        WeChatPayProvider().verify_notification(wx_settings(keys), request)


def test_wechatpay_resource_encrypted_with_another_apiv3_key(keys):
    """A correctly signed body whose resource does not decrypt (AES-GCM tag) is refused."""
    request = wx_notification(
        keys, wx_transaction("OrdAes", 9999), apiv3="b" * 32
    )  # signed by the platform key, encrypted with a key that is not ours
    with pytest.raises(SignatureError, match="decryption"):
        WeChatPayProvider().verify_notification(wx_settings(keys), request)


@pytest.mark.parametrize(
    "missing",
    [
        "Wechatpay-Signature",
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Serial",
        "Wechatpay-Signature-Type",
    ],
)
def test_wechatpay_missing_header(keys, missing):
    request = wx_notification(keys, wx_transaction("OrdHeaders", 9999))
    headers = {k: v for k, v in request.headers.items() if k != missing}
    with pytest.raises(SignatureError, match=missing):
        WeChatPayProvider().verify_notification(wx_settings(keys), incoming(headers, request.body))


def test_wechatpay_stale_timestamp(keys):
    request = wx_notification(
        keys, wx_transaction("OrdStale", 9999), timestamp=int(time.time()) - 600
    )
    with pytest.raises(SignatureError, match="outside"):
        WeChatPayProvider().verify_notification(wx_settings(keys), request)


def test_wechatpay_unknown_serial_asks_nobody(keys, fake_gateway):
    """A serial that is not our public key id is refused before the SDK would go and fetch
    platform certificates (a forger could otherwise make us call out)."""
    server = fake_gateway(lambda req: (500, {}, b""))
    request = wx_notification(keys, wx_transaction("OrdSerial", 9999))
    headers = dict(request.headers, **{"Wechatpay-Serial": "6B3F9A2E0C1D"})
    with pytest.raises(SignatureError, match="Serial"):
        WeChatPayProvider().verify_notification(
            wx_settings(keys, api_base=server.url), incoming(headers, request.body)
        )
    assert server.requests == []


def test_wechatpay_other_merchant(keys):
    request = wx_notification(keys, wx_transaction("OrdOther", 9999, mchid="1900000999"))
    with pytest.raises(SignatureError, match="merchant"):
        WeChatPayProvider().verify_notification(wx_settings(keys), request)


def test_wechatpay_not_paid_events(keys):
    provider = WeChatPayProvider()
    closed = provider.verify_notification(
        wx_settings(keys),
        wx_notification(keys, wx_transaction("OrdClosed", 9999, trade_state="CLOSED")),
    )
    assert closed.paid is False
    refund = {
        "mchid": MCHID,
        "appid": WX_APPID,
        "out_trade_no": "OrdRefund",
        "transaction_id": TRANSACTION_ID,
        "out_refund_no": "R1",
        "refund_id": "50300000012026120300000000001",
        "refund_status": "SUCCESS",
        "amount": {"total": 9999, "refund": 500, "payer_total": 9999, "payer_refund": 500},
    }
    note = provider.verify_notification(
        wx_settings(keys), wx_notification(keys, refund, event_type="REFUND.SUCCESS")
    )
    assert (note.paid, note.public_id, note.amount_cents) == (False, "OrdRefund", 500)
    assert note.event_id == "50300000012026120300000000001"


def test_wechatpay_acknowledge():
    status, body, headers = WeChatPayProvider().acknowledge(True)
    assert (status, json.loads(body)["code"]) == (200, "SUCCESS")
    assert headers["Content-Type"] == "application/json"
    status, body, _headers = WeChatPayProvider().acknowledge(False)
    assert status == 400 and json.loads(body)["code"] == "FAIL"


def test_wechatpay_available():
    provider = WeChatPayProvider()
    assert provider.available() is None
    assert "mchid" in provider.available({"appid": WX_APPID})
    assert "32" in provider.available(
        {k: "x" for k in ("mchid", "appid", "private_key", "cert_serial_no", "public_key")}
        | {"public_key_id": PUB_KEY_ID, "apiv3_key": "short"}
    )
    names = [f.name for f in provider.fields]
    assert names[:7] == [
        "mchid",
        "appid",
        "apiv3_key",
        "private_key",
        "cert_serial_no",
        "public_key",
        "public_key_id",
    ]


def platform_certificate(pair: KeyPair, *, expired: bool = False) -> tuple[str, str]:
    """A self-signed certificate of the platform key, as WeChat Pay's platform certificate
    (PEM, serial in hex)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=30), now - timedelta(days=1))
        if expired
        else (
            now - timedelta(days=1),
            now + timedelta(days=365),
        )
    )
    serial = x509.random_serial_number()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pair.private.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(pair.private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), format(serial, "X")


def test_wechatpay_platform_certificate_mode(keys, fake_gateway):
    """A merchant without a WeChat Pay public key pastes the platform certificate instead:
    notifications and answers are checked against it, and nothing is downloaded."""
    pem, serial = platform_certificate(keys.gateway)
    order = order_row(9999)
    server = fake_gateway(
        lambda req: wx_answer(keys, 200, wx_transaction(order.public_id, 9999), serial=serial)
    )
    settings = wx_settings(
        keys, public_key="", public_key_id="", platform_cert=pem, api_base=server.url
    )
    provider = WeChatPayProvider()
    assert provider.available(settings) is None
    request = wx_notification(keys, wx_transaction(order.public_id, 9999), serial=serial.lower())
    note = provider.verify_notification(settings, request)
    assert (note.paid, note.amount_cents) == (True, 9999)
    with pytest.raises(SignatureError, match="Serial"):
        provider.verify_notification(
            settings, wx_notification(keys, wx_transaction(order.public_id, 9999), serial="ABC1")
        )
    with pytest.raises(SignatureError):
        provider.verify_notification(
            settings,
            wx_notification(
                keys, wx_transaction(order.public_id, 9999), serial=serial, signer=keys.forger
            ),
        )
    assert provider.query(order, settings).paid is True
    assert [r.path for r in server.requests] == [
        f"/v3/pay/transactions/out-trade-no/{order.public_id}"
    ]


def test_wechatpay_platform_key_missing_or_expired(keys):
    provider = WeChatPayProvider()
    bare = wx_settings(keys, public_key="", public_key_id="")
    assert "public key and its id, or a platform certificate" in provider.available(bare)
    pem, serial = platform_certificate(keys.gateway, expired=True)
    expired = dict(bare, platform_cert=pem)
    assert "expired" in provider.available(expired)
    request = wx_notification(keys, wx_transaction("OrdOld", 9999), serial=serial)
    with pytest.raises(SignatureError, match="expired"):
        provider.verify_notification(expired, request)
    assert "cannot be read" in provider.available(dict(bare, platform_cert="-----BEGIN x"))


def test_wechatpay_native_checkout(keys, fake_gateway):
    server = fake_gateway(
        lambda req: wx_answer(keys, 200, {"code_url": "weixin://wxpay/bizpayurl?pr=abc123"})
    )
    order = order_row(10)
    checkout = WeChatPayProvider().checkout(
        order,
        wx_settings(keys, api_base=server.url),
        notify_url="https://forum.example/payments/notify/wechatpay",
        return_url="https://forum.example/pay/x/done",
    )
    assert (checkout.kind, checkout.code_url) == ("qr", "weixin://wxpay/bizpayurl?pr=abc123")
    [req] = server.requests
    assert (req.method, req.path) == ("POST", "/v3/pay/transactions/native")
    sent = json.loads(req.body)
    assert sent["amount"] == {"total": 10, "currency": "CNY"}
    assert sent["out_trade_no"] == order.public_id
    assert sent["mchid"] == MCHID and sent["appid"] == WX_APPID
    assert sent["notify_url"] == "https://forum.example/payments/notify/wechatpay"
    assert sent["time_expire"].endswith("+00:00")
    wx_check_authorization(keys, req)


def test_wechatpay_h5_checkout(keys, fake_gateway):
    h5 = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=1"
    server = fake_gateway(lambda req: wx_answer(keys, 200, {"h5_url": h5}))
    checkout = WeChatPayProvider().checkout(
        order_row(9999),
        wx_settings(keys, api_base=server.url, trade_type="h5"),
        notify_url="https://forum.example/payments/notify/wechatpay",
        return_url="https://forum.example/pay/x/done",
    )
    assert checkout.kind == "redirect"
    assert checkout.url == h5 + "&redirect_url=https%3A%2F%2Fforum.example%2Fpay%2Fx%2Fdone"
    [req] = server.requests
    assert req.path == "/v3/pay/transactions/h5"
    assert json.loads(req.body)["scene_info"]["h5_info"] == {"type": "Wap"}


def test_wechatpay_checkout_refuses_a_forged_answer(keys, fake_gateway):
    """An answer that does not verify is never used; what happened there is unknown."""
    server = fake_gateway(
        lambda req: wx_answer(keys, 200, {"code_url": "weixin://evil"}, signer=keys.forger)
    )
    with pytest.raises(GatewayUnreachable, match="does not verify"):
        WeChatPayProvider().checkout(
            order_row(),
            wx_settings(keys, api_base=server.url),
            notify_url="https://forum.example/n",
            return_url="https://forum.example/r",
        )


def test_wechatpay_checkout_error_and_currency(keys, fake_gateway):
    server = fake_gateway(
        lambda req: wx_answer(keys, 400, {"code": "PARAM_ERROR", "message": "bad"})
    )
    provider, settings = WeChatPayProvider(), wx_settings(keys, api_base=server.url)
    with pytest.raises(ProviderError, match="PARAM_ERROR"):
        provider.checkout(order_row(), settings, notify_url="https://f/n", return_url="https://f/r")
    with pytest.raises(ProviderError):
        provider.checkout(
            order_row(currency="USD"), settings, notify_url="https://f/n", return_url="https://f/r"
        )
    assert len(server.requests) == 1


def test_wechatpay_query(keys, fake_gateway):
    order = order_row(9999)
    unknown = order_row()

    def answer(req):
        if req.path.endswith("/" + order.public_id):
            return wx_answer(keys, 200, wx_transaction(order.public_id, 9999))
        return wx_answer(keys, 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})

    server = fake_gateway(answer)
    settings = wx_settings(keys, api_base=server.url)
    note = WeChatPayProvider().query(order, settings)
    assert (note.paid, note.amount_cents, note.provider_ref) == (True, 9999, TRANSACTION_ID)
    assert WeChatPayProvider().query(unknown, settings) is None
    assert server.requests[0].path == f"/v3/pay/transactions/out-trade-no/{order.public_id}"
    assert server.requests[0].query == {"mchid": MCHID}
    wx_check_authorization(keys, server.requests[0])


def test_gateways_unreachable_or_failing_is_an_unknown_outcome(keys, fake_gateway):
    """No answer, or a 5xx, is GatewayUnreachable (did the refund happen? ask again with the
    same key), not ProviderError (a refusal: nothing happened)."""
    closed = fake_gateway(lambda req: (200, {}, b""))
    closed.close()
    failing = fake_gateway(
        lambda req: (
            wx_answer(keys, 500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
            if req.path.startswith("/v3")
            else (
                (
                    200,
                    {},
                    b'{"error_response":{"code":"20000","msg":"Service Currently Unavailable"}}',
                )
                if req.path == "/gateway.do"
                else stripe_answer(500, {"error": {"type": "api_error", "message": "Oops"}})
            )
        )
    )
    order = order_row(9999, provider_ref="x")
    for base in (closed.url, failing.url):
        with pytest.raises(GatewayUnreachable):
            WeChatPayProvider().refund(order, 1, "k", wx_settings(keys, api_base=base))
        with pytest.raises(GatewayUnreachable):
            AlipayProvider().refund(
                order, 1, "k", ali_settings(keys, api_base=base + "/gateway.do")
            )
        with pytest.raises(GatewayUnreachable):
            StripeProvider().refund(order, 1, "k", stripe_settings(api_base=base))
    # Stripe retried the 500 once with the same idempotency key.
    stripe_tries = [r for r in failing.requests if r.path == "/v1/refunds"]
    assert len(stripe_tries) == 2
    assert {r.headers["Idempotency-Key"] for r in stripe_tries} == {"shequn-refund-k"}


def test_wechatpay_refund(keys, fake_gateway):
    answer = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": "x",
        "status": "PROCESSING",
        "amount": {"refund": 500, "total": 9999, "currency": "CNY"},
    }
    server = fake_gateway(lambda req: wx_answer(keys, 200, answer))
    order = order_row(9999, provider_ref=TRANSACTION_ID)
    refund_id = WeChatPayProvider().refund(
        order, 500, "refund:abc:1", wx_settings(keys, api_base=server.url)
    )
    assert refund_id == "50000000382019052709732678859"
    [req] = server.requests
    sent = json.loads(req.body)
    assert req.path == "/v3/refund/domestic/refunds"
    assert sent["amount"] == {"refund": 500, "total": 9999, "currency": "CNY"}
    assert sent["transaction_id"] == TRANSACTION_ID
    # ":" is not allowed in out_refund_no: a stable digest stands in for the key.
    assert re.fullmatch(r"R[0-9a-f]{40}", sent["out_refund_no"])
    wx_check_authorization(keys, req)


# --- Alipay ---------------------------------------------------------------------------------

ALI_APPID = "2021000122600001"
TRADE_NO = "2026120322001446880501234567"


def ali_settings(keys: Keys, **changes) -> dict:
    settings = {
        "appid": ALI_APPID,
        "app_private_key": keys.merchant.private_pem,
        "alipay_public_key": keys.gateway.public_pem,
        "sandbox": False,
        "page_type": "page",
    }
    settings.update(changes)
    return settings


def ali_content(fields: dict, leave_out: tuple[str, ...] = ("sign", "sign_type")) -> str:
    """Alipay's string to sign: the fields sorted, ``k=v&k=v``, without ``sign`` (and, in a
    notification, without ``sign_type``; a request signs its sign_type)."""
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in leave_out)


def ali_notification(
    keys: Keys,
    public_id: str,
    total_amount: str = "99.99",
    *,
    signer: KeyPair | None = None,
    after_signing: dict | None = None,
    **changes,
) -> IncomingRequest:
    """An asynchronous notification as Alipay posts it (form fields, RSA2 sign)."""
    fields = {
        "gmt_create": "2026-12-03 16:00:58",
        "charset": "utf-8",
        "seller_email": "shop@example.com",
        "subject": "核心会员 · 1 year",
        "buyer_id": "2088102177846880",
        "invoice_amount": total_amount,
        "notify_id": "2026120300222160059058111401234567",
        "fund_bill_list": json.dumps([{"amount": total_amount, "fundChannel": "ALIPAYACCOUNT"}]),
        "notify_type": "trade_status_sync",
        "trade_status": "TRADE_SUCCESS",
        "receipt_amount": total_amount,
        "app_id": ALI_APPID,
        "buyer_pay_amount": total_amount,
        "sign_type": "RSA2",
        "seller_id": "2088102177649450",
        "gmt_payment": "2026-12-03 16:00:59",
        "notify_time": "2026-12-03 16:01:00",
        "version": "1.0",
        "out_trade_no": public_id,
        "total_amount": total_amount,
        "trade_no": TRADE_NO,
        "auth_app_id": ALI_APPID,
        "buyer_logon_id": "abc***@example.com",
        "point_amount": "0.00",
    }
    fields.update(changes)
    fields["sign"] = (signer or keys.gateway).sign(ali_content(fields))
    fields.update(after_signing or {})
    body = urlencode(fields).encode()
    return incoming({"Content-Type": "application/x-www-form-urlencoded"}, body, fields)


def ali_answer(keys: Keys, method: str, response: dict, signer: KeyPair | None = None):
    """A gateway answer: ``{"<method>_response": {...}, "sign": …}`` signed over the
    response object's text exactly as sent."""
    inner = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
    sign = (signer or keys.gateway).sign(inner)
    name = method.replace(".", "_") + "_response"
    body = '{"' + name + '":' + inner + ',"sign":"' + sign + '"}'
    return 200, {"Content-Type": "text/html;charset=utf-8"}, body.encode()


def ali_check_request(keys: Keys, params: dict) -> dict:
    """Our request's sign must verify with the app public key; its biz_content."""
    assert params["sign_type"] == "RSA2" and params["app_id"] == ALI_APPID
    assert keys.merchant.verify(params["sign"], ali_content(params, ("sign",)))
    return json.loads(params["biz_content"])


@pytest.mark.parametrize(
    ("amount", "cents"), [("99.99", 9999), ("0.10", 10), ("0.01", 1), ("1234.5", 123450)]
)
def test_alipay_valid_notification_amounts(keys, amount, cents):
    note = AlipayProvider().verify_notification(
        ali_settings(keys), ali_notification(keys, "OrdAli", amount)
    )
    assert (note.public_id, note.paid, note.amount_cents, note.currency) == (
        "OrdAli",
        True,
        cents,
        "CNY",
    )
    assert note.provider_ref == TRADE_NO and note.event_id == TRADE_NO


def test_alipay_trade_finished_is_paid_with_the_same_event_id(keys):
    note = AlipayProvider().verify_notification(
        ali_settings(keys), ali_notification(keys, "OrdFin", trade_status="TRADE_FINISHED")
    )
    assert note.paid and note.event_id == TRADE_NO


def test_alipay_notification_from_the_body_alone(keys):
    request = ali_notification(keys, "OrdBody", "0.10")
    note = AlipayProvider().verify_notification(
        ali_settings(keys), incoming(request.headers, request.body)
    )
    assert (note.public_id, note.amount_cents) == ("OrdBody", 10)


def test_alipay_keys_as_bare_base64(keys):
    """Alipay's key tool shows keys without the PEM lines; they work as pasted."""

    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    settings = ali_settings(
        keys,
        app_private_key=bare(keys.merchant.private_pem),
        alipay_public_key=bare(keys.gateway.public_pem),
    )
    note = AlipayProvider().verify_notification(settings, ali_notification(keys, "OrdBare"))
    assert note.paid and note.amount_cents == 9999


def test_alipay_tampered_amount(keys):
    request = ali_notification(keys, "OrdTamper", "0.10", after_signing={"total_amount": "99.99"})
    with pytest.raises(SignatureError):
        AlipayProvider().verify_notification(ali_settings(keys), request)


def test_alipay_signed_by_another_key(keys):
    with pytest.raises(SignatureError):
        AlipayProvider().verify_notification(
            ali_settings(keys), ali_notification(keys, "OrdForged", signer=keys.forger)
        )


def test_alipay_missing_or_garbled_sign(keys):
    request = ali_notification(keys, "OrdNoSign")
    provider = AlipayProvider()
    form = {k: v for k, v in request.form.items() if k != "sign"}
    with pytest.raises(SignatureError, match="no sign"):
        provider.verify_notification(ali_settings(keys), incoming(form=form))
    with pytest.raises(SignatureError):
        provider.verify_notification(
            ali_settings(keys), incoming(form=dict(request.form, sign="not base64!"))
        )
    with pytest.raises(SignatureError, match="RSA2"):
        provider.verify_notification(
            ali_settings(keys), incoming(form=dict(request.form, sign_type="RSA"))
        )


def test_alipay_app_id_mismatch(keys):
    """A notification correctly signed by Alipay, but for another app, is not ours."""
    request = ali_notification(keys, "OrdApp", app_id="2021000999999999")
    with pytest.raises(SignatureError, match="app_id"):
        AlipayProvider().verify_notification(ali_settings(keys), request)


def test_alipay_unreadable_amount(keys):
    with pytest.raises(SignatureError, match="amount"):
        AlipayProvider().verify_notification(
            ali_settings(keys), ali_notification(keys, "OrdOdd", "99.999")
        )


def test_alipay_not_paid_notifications(keys):
    provider, settings = AlipayProvider(), ali_settings(keys)
    waiting = provider.verify_notification(
        settings, ali_notification(keys, "OrdWait", trade_status="WAIT_BUYER_PAY")
    )
    closed = provider.verify_notification(
        settings, ali_notification(keys, "OrdClosed", trade_status="TRADE_CLOSED")
    )
    refund = provider.verify_notification(
        settings,
        ali_notification(
            keys,
            "OrdPartRefund",
            refund_fee="5.00",
            gmt_refund="2026-12-04 10:00:00.123",
            out_biz_no="R1",
        ),
    )
    assert (waiting.paid, closed.paid, refund.paid) == (False, False, False)
    assert refund.event_id == "2026120300222160059058111401234567"  # the notify_id


def test_alipay_acknowledge():
    assert AlipayProvider().acknowledge(True)[:2] == (200, "success")
    assert AlipayProvider().acknowledge(False)[1] == "fail"


def test_alipay_checkout_builds_a_signed_url(keys):
    order = order_row(10)
    checkout = AlipayProvider().checkout(
        order,
        ali_settings(keys),
        notify_url="https://forum.example/payments/notify/alipay",
        return_url="https://forum.example/pay/x/done",
    )
    assert checkout.kind == "redirect"
    url = urlsplit(checkout.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://openapi.alipay.com/gateway.do"
    params = dict(parse_qsl(url.query))
    biz = ali_check_request(keys, params)
    assert params["method"] == "alipay.trade.page.pay"
    assert params["notify_url"] == "https://forum.example/payments/notify/alipay"
    assert params["return_url"] == "https://forum.example/pay/x/done"
    assert biz["total_amount"] == "0.10"
    assert biz["out_trade_no"] == order.public_id
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert biz["subject"] == "核心会员 · 1 year"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", biz["time_expire"])
    odd = AlipayProvider().checkout(
        order_row(description="A/B=C&D"), ali_settings(keys), notify_url="n", return_url="r"
    )
    odd_biz = json.loads(dict(parse_qsl(urlsplit(odd.url).query))["biz_content"])
    assert odd_biz["subject"] == "A B C D"


def test_alipay_checkout_sandbox_and_phone(keys):
    checkout = AlipayProvider().checkout(
        order_row(9999),
        ali_settings(keys, sandbox=True, page_type="wap"),
        notify_url="https://f/n",
        return_url="https://f/r",
    )
    assert checkout.url.startswith(SANDBOX_GATEWAY + "?")
    params = dict(parse_qsl(urlsplit(checkout.url).query))
    assert params["method"] == "alipay.trade.wap.pay"
    assert ali_check_request(keys, params)["product_code"] == "QUICK_WAP_WAY"
    with pytest.raises(ProviderError):
        AlipayProvider().checkout(
            order_row(currency="USD"), ali_settings(keys), notify_url="n", return_url="r"
        )


def test_alipay_available():
    assert AlipayProvider().available() is None
    reason = AlipayProvider().available({"appid": "1", "app_private_key": "k"})
    assert reason == "Settings missing: Alipay public key."
    assert "Secret key" in StripeProvider().available({"webhook_secret": WHSEC})


def test_alipay_query(keys, fake_gateway):
    order, unknown = order_row(9999), order_row()

    def answer(req: FakeRequest):
        biz = ali_check_request(keys, req.query)
        assert req.query["method"] == "alipay.trade.query"
        if biz["out_trade_no"] == order.public_id:
            return ali_answer(
                keys,
                "alipay.trade.query",
                {
                    "code": "10000",
                    "msg": "Success",
                    "buyer_logon_id": "abc***@example.com",
                    "buyer_pay_amount": "99.99",
                    "out_trade_no": order.public_id,
                    "trade_no": TRADE_NO,
                    "trade_status": "TRADE_SUCCESS",
                    "total_amount": "99.99",
                },
            )
        return ali_answer(
            keys,
            "alipay.trade.query",
            {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            },
        )

    server = fake_gateway(answer)
    settings = ali_settings(keys, api_base=server.url + "/gateway.do")
    note = AlipayProvider().query(order, settings)
    assert (note.paid, note.amount_cents, note.provider_ref) == (True, 9999, TRADE_NO)
    assert AlipayProvider().query(unknown, settings) is None
    assert [r.path for r in server.requests] == ["/gateway.do", "/gateway.do"]


def test_alipay_query_refuses_a_forged_answer(keys, fake_gateway):
    server = fake_gateway(
        lambda req: ali_answer(
            keys,
            "alipay.trade.query",
            {"code": "10000", "out_trade_no": "x", "trade_status": "TRADE_SUCCESS"},
            signer=keys.forger,
        )
    )
    with pytest.raises(GatewayUnreachable, match="does not verify"):
        AlipayProvider().query(order_row(), ali_settings(keys, api_base=server.url))


def test_alipay_refund(keys, fake_gateway):
    order = order_row(9999, provider_ref=TRADE_NO)
    seen = []

    def answer(req: FakeRequest):
        seen.append(ali_check_request(keys, req.query))
        return ali_answer(
            keys,
            "alipay.trade.refund",
            {
                "code": "10000",
                "msg": "Success",
                "trade_no": TRADE_NO,
                "out_trade_no": order.public_id,
                "fund_change": "Y",
                "refund_fee": "0.10",
            },
        )

    server = fake_gateway(answer)
    refund_id = AlipayProvider().refund(
        order, 10, "refund-1", ali_settings(keys, api_base=server.url)
    )
    assert refund_id == "refund-1"
    assert seen == [
        {
            "out_trade_no": order.public_id,
            "refund_amount": "0.10",
            "out_request_no": "refund-1",
            "trade_no": TRADE_NO,
        }
    ]


def test_alipay_refund_refused(keys, fake_gateway):
    server = fake_gateway(
        lambda req: ali_answer(
            keys,
            "alipay.trade.refund",
            {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
            },
        )
    )
    with pytest.raises(ProviderError, match="REFUND_AMT"):
        AlipayProvider().refund(order_row(), 1, "r", ali_settings(keys, api_base=server.url))


# --- Stripe ---------------------------------------------------------------------------------

WHSEC = "whsec_" + secrets.token_hex(16)
SECRET_KEY = "sk_test_" + secrets.token_hex(12)
PAYMENT_INTENT = "pi_3QabcDEF1234567890"


def stripe_settings(**changes) -> dict:
    settings = {"secret_key": SECRET_KEY, "webhook_secret": WHSEC, "currency": ""}
    settings.update(changes)
    return settings


def stripe_event(
    public_id: str,
    amount: int = 9999,
    currency: str = "cny",
    *,
    event_type: str = "checkout.session.completed",
    payment_status: str = "paid",
    secret: str = WHSEC,
    timestamp: int | None = None,
) -> IncomingRequest:
    """A webhook as Stripe posts it: the event JSON and ``Stripe-Signature: t=…,v1=…``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    event = {
        "id": "evt_1Q" + secrets.token_hex(10),
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": timestamp,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {
            "object": {
                "id": "cs_test_a1" + secrets.token_hex(12),
                "object": "checkout.session",
                "amount_subtotal": amount,
                "amount_total": amount,
                "client_reference_id": public_id,
                "currency": currency,
                "livemode": False,
                "metadata": {"public_id": public_id},
                "mode": "payment",
                "payment_intent": PAYMENT_INTENT,
                "payment_status": payment_status,
                "status": "complete",
                "url": None,
            }
        },
    }
    return stripe_signed(json.dumps(event, indent=2), secret, timestamp)


def stripe_signed(body: str, secret: str = WHSEC, timestamp: int | None = None):
    """A webhook body with Stripe's header: ``t=…,v1=HMAC-SHA256(secret, "t.body")``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}
    return incoming(headers, body.encode())


def stripe_answer(status: int, payload: dict):
    return (
        status,
        {"Content-Type": "application/json", "Request-Id": "req_1"},
        json.dumps(payload).encode(),
    )


def test_stripe_valid_webhook():
    note = StripeProvider().verify_notification(stripe_settings(), stripe_event("OrdStripe", 9999))
    assert (note.public_id, note.paid, note.amount_cents, note.currency) == (
        "OrdStripe",
        True,
        9999,
        "CNY",
    )
    assert note.provider_ref == PAYMENT_INTENT and note.event_id == PAYMENT_INTENT


def test_stripe_zero_decimal_currency():
    note = StripeProvider().verify_notification(
        stripe_settings(), stripe_event("OrdYen", 500, "jpy")
    )
    assert (note.amount_cents, note.currency) == (50000, "JPY")


def test_stripe_adaptive_pricing_keeps_the_session_currency():
    """A session shown in the customer's currency still reports our amount and currency."""
    request = stripe_event("OrdAdaptive", 1405, "usd")
    event = json.loads(request.body)
    event["data"]["object"]["currency_conversion"] = {
        "amount_subtotal": 9999,
        "amount_total": 9999,
        "fx_rate": "7.1164",
        "source_currency": "cny",
    }
    note = StripeProvider().verify_notification(stripe_settings(), stripe_signed(json.dumps(event)))
    assert (note.amount_cents, note.currency, note.paid) == (9999, "CNY", True)


def test_stripe_tampered_body():
    request = stripe_event("OrdTamper", 10)
    body = request.body.replace(b'"amount_total": 10', b'"amount_total": 9999')
    assert body != request.body
    with pytest.raises(SignatureError):
        StripeProvider().verify_notification(stripe_settings(), incoming(request.headers, body))


def test_stripe_other_secret():
    with pytest.raises(SignatureError):
        StripeProvider().verify_notification(
            stripe_settings(), stripe_event("OrdForged", secret="whsec_" + "0" * 32)
        )


def test_stripe_missing_header_or_secret():
    request = stripe_event("OrdHeader")
    with pytest.raises(SignatureError, match="Stripe-Signature"):
        StripeProvider().verify_notification(
            stripe_settings(), incoming({"Content-Type": "application/json"}, request.body)
        )
    with pytest.raises(SignatureError, match="secret"):
        StripeProvider().verify_notification(stripe_settings(webhook_secret=""), request)
    lowered = incoming({"stripe-signature": request.headers["Stripe-Signature"]}, request.body)
    assert StripeProvider().verify_notification(stripe_settings(), lowered).paid


def test_stripe_stale_timestamp():
    with pytest.raises(SignatureError, match="tolerance"):
        StripeProvider().verify_notification(
            stripe_settings(), stripe_event("OrdStale", timestamp=int(time.time()) - 600)
        )


def test_stripe_not_paid_events():
    provider = StripeProvider()
    unpaid = provider.verify_notification(
        stripe_settings(), stripe_event("OrdUnpaid", payment_status="unpaid")
    )
    expired = provider.verify_notification(
        stripe_settings(), stripe_event("OrdExpired", event_type="checkout.session.expired")
    )
    assert (unpaid.paid, expired.paid) == (False, False)
    assert expired.event_id.startswith("evt_")
    # A session another integration on the same account made (no reference of ours).
    foreign = stripe_event("").body.decode().replace('"public_id": ""', '"other": "x"')
    assert provider.verify_notification(stripe_settings(), stripe_signed(foreign)).paid is False


def test_stripe_acknowledge():
    assert StripeProvider().acknowledge(True)[0] == 200
    assert StripeProvider().acknowledge(False)[0] == 400


def test_stripe_checkout_session(fake_gateway):
    url = "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
    server = fake_gateway(
        lambda req: stripe_answer(
            200, {"id": "cs_test_a1b2c3", "object": "checkout.session", "url": url}
        )
    )
    order = order_row(9999)
    checkout = StripeProvider().checkout(
        order,
        stripe_settings(api_base=server.url),
        notify_url="https://forum.example/payments/notify/stripe",
        return_url="https://forum.example/pay/x/done",
    )
    assert (checkout.kind, checkout.url) == ("redirect", url)
    [req] = server.requests
    assert (req.method, req.path) == ("POST", "/v1/checkout/sessions")
    assert req.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert req.headers["Idempotency-Key"].startswith(f"shequn-checkout-{order.public_id}-")
    form = req.form()
    assert form["client_reference_id"] == order.public_id
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "9999"
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert form["payment_intent_data[metadata][public_id]"] == order.public_id
    assert form["success_url"] == "https://forum.example/pay/x/done"
    assert form["adaptive_pricing[enabled]"] == "false"
    assert int(form["expires_at"]) >= time.time() + 30 * 60


def test_stripe_checkout_refusals(fake_gateway):
    server = fake_gateway(
        lambda req: stripe_answer(
            400, {"error": {"type": "invalid_request_error", "message": "Invalid currency"}}
        )
    )
    provider = StripeProvider()
    with pytest.raises(ProviderError, match="Invalid currency"):
        provider.checkout(
            order_row(), stripe_settings(api_base=server.url), notify_url="n", return_url="r"
        )
    with pytest.raises(ProviderError, match="USD"):
        provider.checkout(
            order_row(),
            stripe_settings(api_base=server.url, currency="usd"),
            notify_url="n",
            return_url="r",
        )
    assert len(server.requests) == 1


def test_stripe_query(fake_gateway):
    order = order_row(9999)

    def answer(req: FakeRequest):
        assert req.path == "/v1/payment_intents/search"
        found = []
        if order.public_id in req.query["query"]:
            found = [
                {
                    "id": PAYMENT_INTENT,
                    "object": "payment_intent",
                    "amount": 9999,
                    "amount_received": 9999,
                    "currency": "cny",
                    "status": "succeeded",
                    "metadata": {"public_id": order.public_id},
                }
            ]
        return stripe_answer(
            200,
            {"object": "search_result", "data": found, "has_more": False, "url": req.path},
        )

    server = fake_gateway(answer)
    settings = stripe_settings(api_base=server.url)
    note = StripeProvider().query(order, settings)
    assert (note.paid, note.amount_cents, note.currency, note.provider_ref) == (
        True,
        9999,
        "CNY",
        PAYMENT_INTENT,
    )
    assert StripeProvider().query(order_row(), settings) is None
    assert server.requests[0].query["query"] == f"metadata['public_id']:'{order.public_id}'"


def test_stripe_refund(fake_gateway):
    server = fake_gateway(
        lambda req: stripe_answer(
            200,
            {"id": "re_3Qabc", "object": "refund", "amount": 500, "status": "succeeded"},
        )
    )
    order = order_row(9999, provider_ref=PAYMENT_INTENT)
    assert StripeProvider().refund(order, 500, "k1", stripe_settings(api_base=server.url)) == (
        "re_3Qabc"
    )
    [req] = server.requests
    assert req.path == "/v1/refunds"
    assert req.form()["payment_intent"] == PAYMENT_INTENT and req.form()["amount"] == "500"
    assert req.headers["Idempotency-Key"] == "shequn-refund-k1"
    with pytest.raises(ProviderError):
        StripeProvider().refund(order_row(), 1, "k2", stripe_settings(api_base=server.url))


# --- through the payments core --------------------------------------------------------------


def _order(make_member, amount_cents: int = 9999):
    member = make_member()
    return payments.create_order(
        member,
        plugin="membership",
        reference="tier:1",
        description="核心会员 · 1 year",
        amount_cents=amount_cents,
        currency="CNY",
        idempotency_key=f"test:{secrets.token_hex(8)}",
    )


def _gateway_cases(keys: Keys):
    """name → (settings, valid(public_id, cents), forged(public_id, cents))."""
    return {
        "wechatpay": (
            wx_settings(keys),
            lambda pid, c: wx_notification(keys, wx_transaction(pid, c)),
            lambda pid, c: wx_notification(keys, wx_transaction(pid, c), signer=keys.forger),
        ),
        "alipay": (
            ali_settings(keys),
            lambda pid, c: ali_notification(keys, pid, f"{c // 100}.{c % 100:02d}"),
            lambda pid, c: ali_notification(
                keys, pid, f"{c // 100}.{c % 100:02d}", signer=keys.forger
            ),
        ),
        "stripe": (
            stripe_settings(),
            lambda pid, c: stripe_event(pid, c),
            lambda pid, c: stripe_event(pid, c, secret="whsec_forged"),
        ),
    }


def _gateway_order(keys: Keys, make_member, name: str, **changes):
    """Switch gateway ``name`` on with its test settings (and ``changes``): a new ¥99.99
    order, and the gateway's builders of valid and forged notifications."""
    settings, valid, forged = _gateway_cases(keys)[name]
    payments.enable_provider(name, dict(settings, **changes))
    return _order(make_member, 9999), valid, forged


def _events(db, order, kind: str | None = None) -> list[PaymentEvent]:
    query = select(PaymentEvent).where(PaymentEvent.order_id == order.id)
    if kind:
        query = query.where(PaymentEvent.kind == kind)
    return list(db.session.execute(query).scalars())


GATEWAYS = ["wechatpay", "alipay", "stripe"]


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_ten_deliveries_pay_once(app, db, make_member, keys, name):
    order, valid, _forged = _gateway_order(keys, make_member, name)
    request = valid(order.public_id, 9999)
    replies = [payments.handle_notification(name, request) for _ in range(10)]
    assert {reply[0] for reply in replies} == {200}
    assert replies[0] == type(payments.registry.get_provider(name))().acknowledge(True)
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert order.status == "paid" and order.provider == name
    assert order.provider_ref and order.delivered_at is not None
    assert len(_events(db, order, "paid")) == 1
    assert len(_events(db, order, "duplicate")) == 9


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_forged_notification_leaves_the_order_pending(app, db, make_member, keys, name):
    order, _valid, forged = _gateway_order(keys, make_member, name)
    status, _body, _headers = payments.handle_notification(name, forged(order.public_id, 9999))
    assert status == 400
    db.session.expire_all()
    assert db.session.get(PaymentOrder, order.id).status == "pending"
    rejected = db.session.execute(
        select(PaymentEvent).where(
            PaymentEvent.kind == "notification_rejected", PaymentEvent.provider == name
        )
    ).scalars()
    assert [event.note.startswith("signature") for event in rejected] == [True]
    assert _events(db, order, "paid") == []


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_wrong_amount_is_rejected(app, db, make_member, keys, name):
    order, valid, _forged = _gateway_order(keys, make_member, name)
    status, _body, _headers = payments.handle_notification(name, valid(order.public_id, 9998))
    assert status == 400
    db.session.expire_all()
    assert db.session.get(PaymentOrder, order.id).status == "pending"
    [event] = _events(db, order, "notification_rejected")
    assert "9998" in event.note


def test_core_wrong_currency_is_rejected(app, db, make_member):
    payments.enable_provider("stripe", stripe_settings())
    order = _order(make_member, 9999)
    status, _body, _headers = payments.handle_notification(
        "stripe", stripe_event(order.public_id, 9999, "usd")
    )
    assert status == 400
    db.session.expire_all()
    assert db.session.get(PaymentOrder, order.id).status == "pending"
    [event] = _events(db, order, "notification_rejected")
    assert "USD" in event.note


def _refund_answer(keys: Keys, name: str):
    """What each gateway answers to a refund request, and the id the core should keep."""
    if name == "wechatpay":
        answer = {"refund_id": "50300000012026120399999999999", "status": "PROCESSING"}
        return (lambda req: wx_answer(keys, 200, answer)), "50300000012026120399999999999"
    if name == "alipay":
        response = {"code": "10000", "msg": "Success", "trade_no": TRADE_NO, "fund_change": "Y"}
        return (lambda req: ali_answer(keys, "alipay.trade.refund", response)), "refund-key-1"
    answer = {"id": "re_3Qcore", "object": "refund", "amount": 500, "status": "succeeded"}
    return (lambda req: stripe_answer(200, answer)), "re_3Qcore"


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_refund_through_the_gateway(app, db, make_member, keys, fake_gateway, name):
    """Paid by a notification, then refunded by an admin: the gateway is asked for real."""
    answer, refund_id = _refund_answer(keys, name)
    server = fake_gateway(answer)
    order, valid, _forged = _gateway_order(keys, make_member, name, api_base=server.url)
    assert payments.handle_notification(name, valid(order.public_id, 9999))[0] == 200
    admin = make_member("boss", groups=("admin",))
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    row = payments.refund(admin, order, 500, "changed my mind", "refund-key-1")
    assert (row.status, row.provider_refund_id) == ("done", refund_id)
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert (order.status, order.refunded_cents) == ("partially_refunded", 500)
    assert len(server.requests) == 1


def test_core_refund_refused_by_the_gateway(app, db, make_member, keys, fake_gateway):

    server = fake_gateway(
        lambda req: wx_answer(keys, 403, {"code": "NOT_ENOUGH", "message": "余额不足"})
    )
    payments.enable_provider("wechatpay", wx_settings(keys, api_base=server.url))
    order = _order(make_member, 9999)
    request = wx_notification(keys, wx_transaction(order.public_id, 9999))
    assert payments.handle_notification("wechatpay", request)[0] == 200
    admin = make_member("boss", groups=("admin",))
    db.session.expire_all()
    with pytest.raises(ServiceError):
        payments.refund(admin, db.session.get(PaymentOrder, order.id), 500, "", "refund-key-2")
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert (order.status, order.refunded_cents) == ("paid", 0)


def test_core_checkout_with_wechatpay(app, db, make_member, keys, fake_gateway):
    server = fake_gateway(lambda req: wx_answer(keys, 200, {"code_url": "weixin://wxpay/s/1"}))
    payments.enable_provider("wechatpay", wx_settings(keys, api_base=server.url))
    order = _order(make_member, 10)
    member = db.session.get(Member, order.member_id)
    checkout = payments.start_checkout(
        member, order, "wechatpay", return_url=f"http://localhost/pay/{order.public_id}/done"
    )
    assert (checkout.kind, checkout.code_url) == ("qr", "weixin://wxpay/s/1")
    sent = json.loads(server.requests[0].body)
    assert sent["notify_url"] == "http://localhost/payments/notify/wechatpay"
    assert sent["amount"] == {"total": 10, "currency": "CNY"}
    db.session.expire_all()
    assert db.session.get(PaymentOrder, order.id).provider == "wechatpay"


@pytest.mark.parametrize("name", GATEWAYS)
def test_webhook_over_http(app, client, db, make_member, keys, name):
    """The notification posted to /payments/notify/<name> as the gateway posts it."""

    order, valid, forged = _gateway_order(keys, make_member, name)
    bad = forged(order.public_id, 9999)
    reply = client.post(f"/payments/notify/{name}", data=bad.body, headers=dict(bad.headers))
    assert reply.status_code == 400
    good = valid(order.public_id, 9999)
    for _attempt in range(2):
        reply = client.post(f"/payments/notify/{name}", data=good.body, headers=dict(good.headers))
        assert reply.status_code == 200
    expected = {"wechatpay": b'"SUCCESS"', "alipay": b"success", "stripe": b'"received": true'}
    assert expected[name] in reply.data
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert order.status == "paid" and len(_events(db, order, "paid")) == 1


def test_admin_form_settings_drive_the_gateways(app, db, make_member, keys):
    """Settings typed into the admin form (text, as save_provider receives them) are what
    the gateways read: Alipay's sandbox switch, WeChat Pay's keys."""
    admin = make_member("boss", groups=("admin",))
    form = {k: str(v) for k, v in ali_settings(keys).items()}
    payments.save_provider(admin, "alipay", enabled=True, settings=dict(form, sandbox="1"))
    stored = payments.provider_settings("alipay")
    checkout = AlipayProvider().checkout(order_row(), stored, notify_url="n", return_url="r")
    assert checkout.url.startswith(SANDBOX_GATEWAY + "?")
    payments.save_provider(admin, "wechatpay", enabled=True, settings=wx_settings(keys))
    stored = payments.provider_settings("wechatpay")
    assert WeChatPayProvider().available(stored) is None
    order = _order(make_member, 10)
    request = wx_notification(keys, wx_transaction(order.public_id, 10))
    assert payments.handle_notification("wechatpay", request)[0] == 200
    # Secret fields left empty keep their stored values.
    payments.save_provider(
        admin, "wechatpay", enabled=True, settings=dict(wx_settings(keys), apiv3_key="")
    )
    assert payments.provider_settings("wechatpay")["apiv3_key"] == APIV3


@pytest.mark.parametrize("name", GATEWAYS)
def test_admin_provider_page_shows_the_fields(app, client, login, make_member, name):
    login(client, make_member("boss", groups=("admin",), locale="en"))
    page = client.get(f"/admin/payments/providers/{name}")
    assert page.status_code == 200
    provider = {"wechatpay": WeChatPayProvider, "alipay": AlipayProvider, "stripe": StripeProvider}
    for field in provider[name].fields:
        assert f'name="{field.name}"'.encode() in page.data


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_concurrent_deliveries_pay_once(app, db, make_member, keys, database_kind, name):
    """Five deliveries of one notification at the same moment (PostgreSQL): paid once."""
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")

    order, valid, _forged = _gateway_order(keys, make_member, name)
    request = valid(order.public_id, 9999)
    results = race(app, 5, lambda i: payments.handle_notification(name, request)[0])
    assert [value for _outcome, value in results] == [200] * 5
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert order.status == "paid" and order.delivered_at is not None
    assert len(_events(db, order, "paid")) == 1
    assert len(_events(db, order, "duplicate")) == 4


def test_core_offers_a_gateway_only_with_complete_settings(app, keys):
    payments.enable_provider("wechatpay", {"mchid": MCHID, "appid": WX_APPID})
    payments.enable_provider("alipay", ali_settings(keys))
    payments.enable_provider("stripe", stripe_settings(webhook_secret=""))
    offered = [name for name, _label in payments.checkout_providers()]
    assert "wechatpay" not in offered and "stripe" not in offered
    assert "alipay" in offered
    payments.enable_provider("wechatpay", wx_settings(keys))
    assert "wechatpay" in [name for name, _label in payments.checkout_providers()]


def test_core_refund_outcome_unknown_then_asked_again(app, db, make_member, keys, fake_gateway):
    """WeChat Pay fails (500) on the refund: the refund stays pending with its amount held;
    submitted again, the same out_refund_no is sent and the refund is done."""
    answers = [
        wx_answer(keys, 500, {"code": "SYSTEM_ERROR", "message": "系统超时"}),
        wx_answer(keys, 200, {"refund_id": "50300000012026120311111111111", "status": "SUCCESS"}),
    ]
    server = fake_gateway(lambda req: answers.pop(0))
    order, valid, _forged = _gateway_order(keys, make_member, "wechatpay", api_base=server.url)
    assert payments.handle_notification("wechatpay", valid(order.public_id, 9999))[0] == 200
    admin = make_member("boss", groups=("admin",))
    db.session.expire_all()
    with pytest.raises(ServiceError):
        payments.refund(admin, db.session.get(PaymentOrder, order.id), 500, "", "refund:again")
    db.session.expire_all()
    [row] = db.session.execute(select(PaymentRefund)).scalars()
    assert row.status == "pending"
    assert db.session.get(PaymentOrder, order.id).refunded_cents == 500
    row = payments.refund(admin, db.session.get(PaymentOrder, order.id), 500, "", "refund:again")
    assert (row.status, row.provider_refund_id) == ("done", "50300000012026120311111111111")
    sent = [json.loads(r.body)["out_refund_no"] for r in server.requests]
    assert len(sent) == 2 and sent[0] == sent[1]


def _query_answer(keys: Keys, name: str, public_id: str):
    """Each gateway's answer to a query about ``public_id``: paid ¥99.99."""
    if name == "wechatpay":
        return lambda req: wx_answer(keys, 200, wx_transaction(public_id, 9999))
    if name == "alipay":
        trade = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": public_id,
            "trade_no": TRADE_NO,
            "trade_status": "TRADE_SUCCESS",
            "total_amount": "99.99",
        }
        return lambda req: ali_answer(keys, "alipay.trade.query", trade)
    intent = {
        "id": PAYMENT_INTENT,
        "object": "payment_intent",
        "amount": 9999,
        "amount_received": 9999,
        "currency": "cny",
        "status": "succeeded",
    }
    page = {"object": "search_result", "data": [intent], "has_more": False, "url": "/"}
    return lambda req: stripe_answer(200, page)


@pytest.mark.parametrize("name", GATEWAYS)
def test_core_lost_notification_found_by_query(app, db, make_member, keys, fake_gateway, name):
    """The notification is late: asking the gateway pays the order; the notification, when
    it comes, carries the same event id and is a duplicate."""
    answer = {"answer": None}
    server = fake_gateway(lambda req: answer["answer"](req))
    order, valid, _forged = _gateway_order(keys, make_member, name, api_base=server.url)
    answer["answer"] = _query_answer(keys, name, order.public_id)
    order.provider = name  # the member chose it at checkout
    db.session.commit()
    assert payments.check_with_gateway(order) is True
    assert payments.handle_notification(name, valid(order.public_id, 9999))[0] == 200
    db.session.expire_all()
    order = db.session.get(PaymentOrder, order.id)
    assert order.status == "paid"
    assert len(_events(db, order, "paid")) == 1
    assert len(_events(db, order, "duplicate")) == 1
