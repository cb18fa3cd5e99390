"""Alipay (支付宝) through ``python-alipay-sdk``, RSA2 (SHA256withRSA) keys.

Checkout builds the signed ``alipay.trade.page.pay`` (computer) or ``alipay.trade.wap.pay``
(phone) request locally and sends the member to the gateway with it; nothing goes over the
network. The asynchronous notification is a ``POST`` form whose ``sign`` is RSA2 over the
other fields (``sign`` and ``sign_type`` left out), sorted by name, ``k=v`` joined with
``&``; the SDK's ``verify`` checks it with the Alipay public key. Amounts are yuan strings
("99.99"), converted to cents exactly with Decimal.

Keys may be pasted as PEM or as the bare base64 that Alipay's key tool shows. Settings may
carry ``api_base`` (not an admin field) to send requests to another gateway URL; the tests
point it at a loopback server.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

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
    out_refund_no,
    secret_field,
    setting,
    unavailable,
)
from forum.plugin_api import Field

GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
#: trade_status values meaning the buyer has paid.
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
_YUAN = re.compile(r"\d{1,10}(\.\d{1,2})?")
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|HarmonyOS", re.I)
_BEIJING = timedelta(hours=8)
#: Alipay's "service unavailable" (20000) and system errors: the outcome is unknown.
_UNKNOWN_CODE = re.compile(r"code:20000\b|SYSTEM_ERROR")


def yuan(cents: int) -> str:
    """Integer cents as Alipay's amount string: 10 → "0.10", 9999 → "99.99"."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents(amount: str) -> int:
    """Alipay's amount string as integer cents, exactly ("0.10" → 10); ValueError otherwise."""
    if not _YUAN.fullmatch(amount or ""):
        raise ValueError(f"not an amount: {amount!r}")
    return int(Decimal(amount) * 100)


def _beijing(moment: datetime | None = None) -> str:
    """A naive UTC time (now when None) as Alipay's Beijing-time ``yyyy-MM-dd HH:mm:ss``."""
    moment = moment or datetime.now(UTC).replace(tzinfo=None)
    return (moment + _BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _key(text: str) -> str | bytes:
    """A key as the SDK's RSA.importKey reads it: PEM as is, bare base64 as its DER bytes."""
    if "-----BEGIN" in text:
        return text
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ProviderError(_("An Alipay key is neither PEM nor base64.")) from exc


class AlipayProvider:
    """Alipay: computer website payment (page pay) or phone website payment (wap pay)."""

    name = "alipay"
    label = _l("Alipay")
    fields = (
        Field("appid", "str", "", _l("App id (APPID)"), required=True, max_length=32),
        secret_field(
            "app_private_key",
            _l("App private key (RSA2)"),
            _l("PEM, or the base64 text from Alipay's key tool."),
        ),
        Field(
            "alipay_public_key",
            "text",
            "",
            _l("Alipay public key"),
            _l("The Alipay public key (not the app public key) from the open platform."),
            required=True,
            max_length=5000,
        ),
        Field(
            "sandbox",
            "bool",
            False,
            _l("Use the Alipay sandbox"),
            _l("Sends members to the sandbox gateway, for trying it out with sandbox accounts."),
        ),
        Field(
            "page_type",
            "choice",
            "auto",
            _l("Payment page"),
            choices=(
                ("auto", _l("By device (phone or computer)")),
                ("page", _l("Computer website payment")),
                ("wap", _l("Phone website payment")),
            ),
        ),
    )

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """None when the SDK is installed (and, given settings, they are complete), else why not."""
        return unavailable("alipay", "python-alipay-sdk", settings, self.fields)

    @staticmethod
    def _gateway(settings: Mapping[str, Any]) -> str:
        if setting(settings, "api_base"):
            return setting(settings, "api_base")
        sandbox = settings.get("sandbox")
        if isinstance(sandbox, str):
            sandbox = sandbox.lower() not in ("", "0", "false", "off", "no")
        return SANDBOX_GATEWAY if sandbox else GATEWAY

    def _client(self, settings: Mapping[str, Any]) -> Any:
        """The SDK's client for these settings (reads the keys; no network)."""
        reason = self.available(settings)
        if reason:
            raise ProviderError(reason)
        from alipay import AliPay
        from alipay.utils import AliPayConfig

        try:
            client = AliPay(
                appid=setting(settings, "appid"),
                app_private_key_string=_key(setting(settings, "app_private_key")),
                alipay_public_key_string=_key(setting(settings, "alipay_public_key")),
                sign_type="RSA2",
                config=AliPayConfig(timeout=15),
            )
        except (ValueError, IndexError, TypeError) as exc:  # RSA.importKey on a bad key
            raise ProviderError(_("An Alipay key cannot be read: %(e)s", e=exc)) from exc
        client._gateway = self._gateway(settings)
        return client

    def _server(self, settings: Mapping[str, Any], method: str, biz: dict[str, Any]) -> dict:
        """Call one gateway method (the SDK verifies the answer's sign): its response object
        with code 10000 or a business refusal (ProviderError); GatewayUnreachable when the
        outcome is unknown (no answer, an answer that does not verify, "service unavailable")."""
        from alipay.exceptions import AliPayException, AliPayValidationError

        client = self._client(settings)
        try:
            answer = client.server_api(method, biz, timestamp=_beijing())
        except AliPayValidationError as exc:
            raise GatewayUnreachable("Alipay's answer does not verify") from exc
        except AliPayException as exc:  # an unsigned error answer (the gateway's own checks)
            if _UNKNOWN_CODE.search(str(exc)):
                raise GatewayUnreachable(f"Alipay: {exc}") from exc
            raise ProviderError(f"Alipay: {exc}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts; an answer that is not JSON
            raise GatewayUnreachable(f"Alipay could not be reached: {exc}") from exc
        if answer.get("code") == "10000":
            return answer
        if answer.get("code") == "20000" or str(answer.get("sub_code", "")).endswith(
            "SYSTEM_ERROR"
        ):
            raise GatewayUnreachable(f"Alipay: {answer.get('sub_code')} {answer.get('sub_msg')}")
        if method == "alipay.trade.query" and answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return answer
        raise ProviderError(f"Alipay: {answer.get('sub_code')} {answer.get('sub_msg')}")

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """The signed page pay (or wap pay on a phone) URL at Alipay's gateway."""
        if order.currency != "CNY":
            raise ProviderError(_("Alipay charges in CNY only."))
        client = self._client(settings)
        page_type = setting(settings, "page_type") or "auto"
        if page_type == "auto":
            agent = http_request.headers.get("User-Agent", "") if has_request_context() else ""
            page_type = "wap" if _MOBILE.search(agent) else "page"
        biz: dict[str, Any] = {
            # Alipay refuses "/", "=" and "&" in a subject.
            "subject": re.sub(r"[/=&]", " ", order.description or order.public_id)[:256],
            "out_trade_no": order.public_id,
            "total_amount": yuan(order.amount_cents),
            "product_code": "QUICK_WAP_WAY" if page_type == "wap" else "FAST_INSTANT_TRADE_PAY",
        }
        if order.expires_at:
            biz["time_expire"] = _beijing(order.expires_at)
        method = "alipay.trade.wap.pay" if page_type == "wap" else "alipay.trade.page.pay"
        data = client.build_body(
            method, biz, return_url=return_url, notify_url=notify_url, timestamp=_beijing()
        )
        return Checkout(kind="redirect", url=self._gateway(settings) + "?" + client.sign_data(data))

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Check the notification form's RSA2 sign (SDK) and app_id; in our terms."""
        form = dict(request.form) if request.form else {}
        if not form and request.body:
            try:
                form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise SignatureError("notification body is not UTF-8") from None
        sign = form.pop("sign", "")
        if not sign:
            raise SignatureError("no sign in the notification")
        if form.get("sign_type", "RSA2") != "RSA2":
            raise SignatureError(f"sign_type {form.get('sign_type')!r} is not RSA2")
        try:
            client = self._client(settings)
        except ProviderError as exc:
            raise SignatureError(str(exc)) from exc
        try:
            good = client.verify(dict(form), sign)
        except (ValueError, TypeError, binascii.Error):  # not base64, wrong length
            good = False
        if not good:
            raise SignatureError("bad RSA2 sign")
        if form.get("app_id") != setting(settings, "appid"):
            raise SignatureError(f"app_id {form.get('app_id')!r} is not ours")
        # A refund's notification also says TRADE_SUCCESS (partial) and carries gmt_refund.
        refund = bool(form.get("gmt_refund") or form.get("refund_fee"))
        return self._notification(form, str(form.get("notify_id") or ""), refund=refund)

    @staticmethod
    def _notification(
        data: Mapping[str, Any], event_id: str, *, refund: bool = False
    ) -> Notification:
        """A notification form or a trade query answer as a Notification (a refund's
        notification is not a payment)."""
        try:
            amount = cents(str(data.get("total_amount", "")))
        except ValueError as exc:
            raise SignatureError(str(exc)) from exc
        public_id = str(data.get("out_trade_no") or "")
        trade_no = str(data.get("trade_no") or "")
        if not public_id:
            raise SignatureError("no out_trade_no")
        paid = data.get("trade_status") in PAID and bool(trade_no) and not refund
        return Notification(
            public_id=public_id,
            event_id=trade_no if paid else (event_id or trade_no),
            paid=paid,
            amount_cents=amount,
            currency="CNY",
            provider_ref=trade_no,
        )

    def acknowledge(self, ok: bool) -> tuple[int, str | bytes, dict[str, str]]:
        """The text ``success`` (Alipay stops sending), or ``fail`` (it sends again later)."""
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        return (200, "success", headers) if ok else (400, "fail", headers)

    def query(self, order: Any, settings: Mapping[str, Any]) -> Notification | None:
        """The trade's state (alipay.trade.query); None when Alipay has no such trade yet."""
        answer = self._server(settings, "alipay.trade.query", {"out_trade_no": order.public_id})
        if answer.get("code") != "10000":  # ACQ.TRADE_NOT_EXIST: the buyer never opened it
            return None
        try:
            return self._notification(answer, f"query:{order.public_id}")
        except SignatureError as exc:
            raise ProviderError(str(exc)) from exc

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """Refund part or all of the trade (alipay.trade.refund); returns its out_request_no."""
        request_no = out_refund_no(refund_key)
        biz = {
            "out_trade_no": order.public_id,
            "refund_amount": yuan(amount_cents),
            "out_request_no": request_no,
        }
        if order.provider_ref:
            biz["trade_no"] = order.provider_ref
        self._server(settings, "alipay.trade.refund", biz)
        return request_no
