"""WeChat Pay (微信支付) API v3 through the ``wechatpayv3`` SDK.

The merchant signs its requests with its private key (``Authorization:
WECHATPAY2-SHA256-RSA2048 …``, done by the SDK); WeChat Pay signs its answers and its
notifications with its platform key, which this provider verifies with the WeChat Pay
public key and its id (公钥模式, what WeChat Pay gives merchants now) or, for a merchant
still on platform certificates, with a pasted platform certificate (its serial is the key
id). Nothing is downloaded: the SDK's own certificate download (``/v3/certificates``) is
never used, and a notification naming another serial is refused before the SDK sees it.

A notification is ``POST``ed JSON with the headers ``Wechatpay-Signature``,
``-Timestamp``, ``-Nonce``, ``-Serial`` and ``-Signature-Type``; the signature is
RSA-SHA256 over ``timestamp\\nnonce\\nbody\\n``; the ``resource`` inside is AES-256-GCM
encrypted with the APIv3 key. The SDK's own ``callback`` checks both.

Settings may carry ``api_base`` (not an admin field) to send the API calls elsewhere than
``https://api.mch.weixin.qq.com``; the tests point it at a loopback server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import has_request_context
from flask import request as http_request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum.payments.base import (
    Checkout,
    GatewayUnreachable,
    IncomingRequest,
    Notification,
    ProviderError,
    SignatureError,
    header,
    out_refund_no,
    secret_field,
    setting,
    unavailable,
)
from forum.plugin_api import Field

API_BASE = "https://api.mch.weixin.qq.com"
#: A notification signed longer ago than this (seconds) is refused, as the official SDKs do.
TOLERANCE = 300
#: The headers of a notification, as WeChat Pay spells them.
HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


def platform_key(settings: Mapping[str, Any]) -> tuple[str, str]:
    """WeChat Pay's verifying key (PEM) and its id: the public key and its PUB_KEY_ID_…, or
    the public key of a pasted platform certificate and the certificate's serial (hex).

    The SDK is given the certificate's key as a public key either way, so it never goes to
    download platform certificates. ProviderError says what is missing or wrong.
    """
    if setting(settings, "public_key") and setting(settings, "public_key_id"):
        return setting(settings, "public_key"), setting(settings, "public_key_id")
    pem = setting(settings, "platform_cert")
    if not pem:
        raise ProviderError(
            _("Set the WeChat Pay public key and its id, or a platform certificate.")
        )
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise ProviderError(_("The platform certificate cannot be read.")) from exc
    if certificate.not_valid_after_utc < datetime.now(UTC):
        raise ProviderError(
            _(
                "The platform certificate expired on %(date)s.",
                date=certificate.not_valid_after_utc.date().isoformat(),
            )
        )
    public = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode(), format(certificate.serial_number, "X")


def _same_serial(sent: str, key_id: str) -> bool:
    """Whether a Wechatpay-Serial names our key (a certificate serial compared as a number)."""
    if sent == key_id:
        return True
    if key_id.startswith("PUB_KEY_ID_"):
        return False
    try:
        return int(sent, 16) == int(key_id, 16)
    except ValueError:
        return False


def _rfc3339(moment: datetime | None) -> str | None:
    """A naive UTC time as WeChat Pay's ``time_expire`` (``2026-12-03T08:30:00+00:00``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00") if moment else None


def _headers(raw: Mapping[str, str]) -> dict[str, str]:
    """The five notification headers under their canonical names, whatever their case."""
    found = {}
    for name in HEADERS:
        value = header(raw, name)
        if not value:
            raise SignatureError(f"missing header {name}")
        found[name] = value
    return found


class WeChatPayProvider:
    """WeChat Pay: Native (a QR code to scan) or H5 (a phone browser redirect) orders."""

    name = "wechatpay"
    label = _l("WeChat Pay")
    fields = (
        Field("mchid", "str", "", _l("Merchant id (mchid)"), required=True, max_length=32),
        Field("appid", "str", "", _l("App id (appid)"), required=True, max_length=32),
        secret_field(
            "apiv3_key",
            _l("APIv3 key"),
            _l("The 32-character key set in the merchant platform; it decrypts notifications."),
        ),
        secret_field(
            "private_key",
            _l("Merchant API private key (PEM)"),
            _l("The contents of apiclient_key.pem."),
        ),
        Field(
            "cert_serial_no",
            "str",
            "",
            _l("Merchant API certificate serial number"),
            required=True,
            max_length=64,
        ),
        Field(
            "public_key",
            "text",
            "",
            _l("WeChat Pay public key (PEM)"),
            _l("From the merchant platform: API security, WeChat Pay public key."),
            max_length=5000,
        ),
        Field(
            "public_key_id",
            "str",
            "",
            _l("WeChat Pay public key id"),
            _l("Starts with PUB_KEY_ID_."),
            max_length=64,
        ),
        Field(
            "platform_cert",
            "text",
            "",
            _l("WeChat Pay platform certificate (PEM)"),
            _l("Only for a merchant without a WeChat Pay public key: the platform certificate."),
            max_length=10_000,
        ),
        Field(
            "trade_type",
            "choice",
            "native",
            _l("Payment page"),
            _l("Native shows a QR code to scan with WeChat; H5 opens WeChat from a phone browser."),
            choices=(("native", _l("Native (QR code)")), ("h5", _l("H5 (phone browser)"))),
        ),
    )

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """None when the SDK is installed (and, given settings, they are complete), else why not."""
        reason = unavailable("wechatpayv3", "wechatpayv3", settings, self.fields)
        if reason or settings is None:
            return reason
        if len(setting(settings, "apiv3_key")) != 32:
            return _("The APIv3 key must be 32 characters.")
        try:
            platform_key(settings)
        except ProviderError as exc:
            return str(exc)
        return None

    def _client(self, settings: Mapping[str, Any], trade_type: str = "native") -> Any:
        """The SDK's client for these settings (no network: public-key mode)."""
        reason = self.available(settings)
        if reason:
            raise ProviderError(reason)
        from wechatpayv3 import WeChatPay, WeChatPayType

        public_key, key_id = platform_key(settings)
        kind = WeChatPayType.H5 if trade_type == "h5" else WeChatPayType.NATIVE
        try:
            client = WeChatPay(
                wechatpay_type=kind,
                mchid=setting(settings, "mchid"),
                private_key=setting(settings, "private_key"),
                cert_serial_no=setting(settings, "cert_serial_no"),
                appid=setting(settings, "appid"),
                apiv3_key=setting(settings, "apiv3_key"),
                public_key=public_key,
                public_key_id=key_id,
                timeout=(5, 20),
            )
        except Exception as exc:  # the SDK raises bare Exception for unreadable keys
            raise ProviderError(f"WeChat Pay settings: {exc}") from exc
        client._core._gate_way = setting(settings, "api_base") or API_BASE
        return client

    @staticmethod
    def _call(call: Callable[..., Any], *, not_found_ok: bool = False, **kwargs: Any) -> Any:
        """Run one SDK request: the answer's JSON (None for a 404 when allowed); a refusal
        (4xx) is ProviderError, an unknown outcome GatewayUnreachable.

        The SDK has already checked a 2xx answer's signature with the platform public key.
        """
        try:
            code, body = call(**kwargs)
        except OSError as exc:  # requests' connection errors and timeouts
            raise GatewayUnreachable(f"WeChat Pay could not be reached: {exc}") from exc
        except Exception as exc:  # the SDK raises bare Exceptions
            if "signature" in str(exc):  # "failed to verify the signature" of the answer
                raise GatewayUnreachable(f"WeChat Pay's answer does not verify: {exc}") from exc
            raise ProviderError(f"WeChat Pay: {exc}") from exc
        try:
            data = json.loads(body) if body else {}
        except (TypeError, ValueError):
            data = {}
        if code == 404 and not_found_ok:
            return None
        if code >= 500:  # SYSTEM_ERROR and the like: WeChat Pay asks to try again
            raise GatewayUnreachable(f"WeChat Pay answered {code}: {data.get('code', '')}")
        if not 200 <= code < 300:
            raise ProviderError(
                f"WeChat Pay answered {code}: {data.get('code', '')} {data.get('message', '')}"
            )
        return data

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """Place a Native order (a ``weixin://`` code_url for a QR code) or an H5 one (a URL)."""
        if order.currency != "CNY":
            raise ProviderError(_("WeChat Pay charges in CNY only."))
        trade_type = setting(settings, "trade_type") or "native"
        client = self._client(settings, trade_type)
        from wechatpayv3 import WeChatPayType

        kwargs: dict[str, Any] = {
            "description": (order.description or order.public_id)[:127],
            "out_trade_no": order.public_id,
            "amount": {"total": order.amount_cents, "currency": "CNY"},
            "notify_url": notify_url,
            "time_expire": _rfc3339(order.expires_at),
        }
        if trade_type == "h5":
            ip = (http_request.remote_addr if has_request_context() else None) or "127.0.0.1"
            kwargs["pay_type"] = WeChatPayType.H5
            kwargs["scene_info"] = {"payer_client_ip": ip, "h5_info": {"type": "Wap"}}
            data = self._call(client.pay, **kwargs)
            if not data.get("h5_url"):
                raise ProviderError("WeChat Pay sent no h5_url")
            url = data["h5_url"] + "&redirect_url=" + quote(return_url, safe="")
            return Checkout(kind="redirect", url=url)
        kwargs["pay_type"] = WeChatPayType.NATIVE
        data = self._call(client.pay, **kwargs)
        if not data.get("code_url"):
            raise ProviderError("WeChat Pay sent no code_url")
        return Checkout(kind="qr", code_url=data["code_url"])

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Check a notification's signature and decrypt its resource (SDK), in our terms."""
        headers = _headers(request.headers)
        try:
            key_id = platform_key(settings)[1]
        except ProviderError as exc:
            raise SignatureError(str(exc)) from exc
        if not _same_serial(headers["Wechatpay-Serial"], key_id):
            # Also keeps the SDK from fetching platform certificates for an unknown serial.
            raise SignatureError(f"unknown Wechatpay-Serial {headers['Wechatpay-Serial']!r}")
        headers["Wechatpay-Serial"] = key_id
        try:
            signed_at = int(headers["Wechatpay-Timestamp"])
        except ValueError:
            raise SignatureError("unreadable Wechatpay-Timestamp") from None
        if abs(time.time() - signed_at) > TOLERANCE:
            raise SignatureError(f"Wechatpay-Timestamp {signed_at} outside {TOLERANCE} s")
        try:
            body = request.body.decode("utf-8")
            client = self._client(settings)
        except (UnicodeDecodeError, ProviderError) as exc:
            raise SignatureError(str(exc)) from exc
        try:
            data = client.callback(headers, body)
        except Exception as exc:  # unsupported algorithm, unparseable JSON
            raise SignatureError(f"WeChat Pay notification: {exc}") from exc
        if not data or not isinstance(data.get("resource"), dict):
            raise SignatureError("signature or AES-GCM decryption failed")
        resource = data["resource"]
        if resource.get("mchid") != setting(settings, "mchid") or resource.get("appid") != setting(
            settings, "appid"
        ):
            raise SignatureError("notification for another merchant id or app id")
        return self._notification(resource, str(data.get("event_type", "")), str(data.get("id")))

    @staticmethod
    def _notification(resource: Mapping[str, Any], event_type: str, event_id: str) -> Notification:
        """A transaction (or refund) object of WeChat Pay's as a Notification."""
        amount = resource.get("amount") or {}
        public_id = str(resource.get("out_trade_no") or "")
        if event_type.startswith("REFUND."):
            return Notification(
                public_id=public_id,
                event_id=str(resource.get("refund_id") or event_id),
                paid=False,
                amount_cents=int(amount.get("refund") or 0),
                currency=str(amount.get("currency") or "CNY"),
                provider_ref=str(resource.get("transaction_id") or ""),
            )
        total = amount.get("total", 0)
        if not isinstance(total, int) or isinstance(total, bool) or not public_id:
            raise SignatureError("transaction without out_trade_no or integer amount.total")
        transaction_id = str(resource.get("transaction_id") or "")
        paid = resource.get("trade_state") == "SUCCESS" and bool(transaction_id)
        return Notification(
            public_id=public_id,
            event_id=transaction_id if paid else event_id,
            paid=paid,
            amount_cents=total,
            currency=str(amount.get("currency") or "CNY"),
            provider_ref=transaction_id,
        )

    def acknowledge(self, ok: bool) -> tuple[int, str | bytes, dict[str, str]]:
        """200 with ``{"code": "SUCCESS"}``, or 400 with ``{"code": "FAIL"}`` (WeChat retries)."""
        headers = {"Content-Type": "application/json"}
        if ok:
            return 200, json.dumps({"code": "SUCCESS", "message": "OK"}), headers
        return 400, json.dumps({"code": "FAIL", "message": "rejected"}), headers

    def query(self, order: Any, settings: Mapping[str, Any]) -> Notification | None:
        """The order's state at WeChat Pay (None when WeChat Pay has never seen it)."""
        client = self._client(settings)
        data = self._call(client.query, not_found_ok=True, out_trade_no=order.public_id)
        if data is None:
            return None
        if data.get("mchid") != setting(settings, "mchid"):
            raise ProviderError("WeChat Pay answered for another merchant id")
        try:
            return self._notification(data, "TRANSACTION", f"query:{order.public_id}")
        except SignatureError as exc:
            raise ProviderError(str(exc)) from exc

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """Ask WeChat Pay to refund ``amount_cents`` of the order; its refund_id."""
        client = self._client(settings)
        kwargs: dict[str, Any] = {
            "out_refund_no": out_refund_no(refund_key),
            "amount": {"refund": amount_cents, "total": order.amount_cents, "currency": "CNY"},
        }
        if order.provider_ref:
            kwargs["transaction_id"] = order.provider_ref
        else:
            kwargs["out_trade_no"] = order.public_id
        data = self._call(client.refund, **kwargs)
        if data.get("status") in ("CLOSED", "ABNORMAL") or not data.get("refund_id"):
            raise ProviderError(f"WeChat Pay refund {data.get('status', 'failed')}")
        return str(data["refund_id"])
