"""Stripe (cards, and the wallets Stripe Checkout offers) through the ``stripe`` SDK.

Checkout creates a Checkout Session (``client_reference_id`` = our order's public id, also
in the PaymentIntent's metadata) and sends the member to its URL. The webhook's
``Stripe-Signature`` header (``t=…,v1=HMAC-SHA256(secret, "t.body")``) is checked by
``stripe.Webhook.construct_event`` with the endpoint's signing secret and a five-minute
tolerance; ``checkout.session.completed`` (or ``async_payment_succeeded``) with
``payment_status`` ``paid`` is a payment. Stripe counts zero-decimal currencies (JPY, KRW …)
in whole units; we always count in cents (hundredths), converted both ways here.

Settings may carry ``api_base`` (not an admin field) for the SDK's ``base_addresses``; the
tests point it at a loopback server.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any

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
    secret_field,
    setting,
    unavailable,
)
from forum.plugin_api import Field

#: Seconds a webhook's signature stays good (Stripe's default).
TOLERANCE = 300
#: Event types that carry a paid Checkout Session.
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
#: Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
#: A Checkout Session must live at least 30 minutes (and at most 24 hours).
_MIN_SESSION = 31 * 60
_MAX_SESSION = 23 * 3600


def to_stripe(cents: int, currency: str) -> int:
    """Our cents as Stripe's smallest unit of ``currency``."""
    if currency.upper() in ZERO_DECIMAL:
        if cents % 100:
            raise ProviderError(_("%(c)s has no cents.", c=currency.upper()))
        return cents // 100
    return cents


def from_stripe(amount: int, currency: str) -> int:
    """Stripe's smallest unit of ``currency`` as our cents."""
    return amount * 100 if currency.upper() in ZERO_DECIMAL else amount


class StripeProvider:
    """Stripe Checkout: a hosted payment page; the payment is confirmed by the webhook."""

    name = "stripe"
    label = _l("Card (Stripe)")
    fields = (
        secret_field("secret_key", _l("Secret key"), _l("sk_live_… (or sk_test_… to try it).")),
        secret_field(
            "webhook_secret",
            _l("Webhook signing secret"),
            _l("whsec_… of the endpoint pointed at this site's /payments/notify/stripe."),
        ),
        Field(
            "currency",
            "str",
            "",
            _l("Currency"),
            _l("Orders in another currency are refused (for example CNY, USD); empty: any."),
            max_length=3,
        ),
    )

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """None when the SDK is installed (and, given settings, they are complete), else why not."""
        return unavailable("stripe", "stripe", settings, self.fields)

    def _client(self, settings: Mapping[str, Any]) -> Any:
        reason = self.available(settings)
        if reason:
            raise ProviderError(reason)
        import stripe

        base = setting(settings, "api_base")
        try:  # (connect, read) seconds; the SDK's default waits 80 s on a member's request
            http_client = stripe.new_default_http_client(timeout=(5, 20))
        except TypeError:  # a fallback client without a timeout argument
            http_client = None
        return stripe.StripeClient(
            setting(settings, "secret_key"),
            base_addresses={"api": base} if base else None,
            max_network_retries=1,
            http_client=http_client,
        )

    @staticmethod
    def _call(call: Any, **kwargs: Any) -> Any:
        """One API call as a plain dict; ProviderError for a refusal, GatewayUnreachable
        when the outcome is unknown (the SDK has retried once with the same idempotency key)."""
        import stripe

        try:
            return call(**kwargs).to_dict()
        except (stripe.APIConnectionError, stripe.APIError) as exc:  # no answer, or a 5xx
            raise GatewayUnreachable(f"Stripe: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:  # a refusal: invalid request, card, auth …
            raise ProviderError(f"Stripe: {exc.user_message or exc}") from exc

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """Create a Checkout Session for the order; the member goes to its URL.

        ``notify_url`` is not sent: Stripe posts to the endpoint configured in its dashboard.
        """
        wanted = setting(settings, "currency").upper()
        if wanted and order.currency.upper() != wanted:
            raise ProviderError(_("Stripe is set to charge in %(c)s only.", c=wanted))
        client = self._client(settings)
        now = time.time()
        ends = order.expires_at.replace(tzinfo=UTC).timestamp() if order.expires_at else 0
        # At least 31 minutes from now (whole minutes, so a double click reuses the session).
        expires = min(max(ends, math.ceil((now + _MIN_SESSION) / 60) * 60), now + _MAX_SESSION)
        expires = int(expires)
        params = {
            "mode": "payment",
            "client_reference_id": order.public_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": to_stripe(order.amount_cents, order.currency),
                        "product_data": {"name": order.description or order.public_id},
                    },
                }
            ],
            "metadata": {"public_id": order.public_id},
            "payment_intent_data": {"metadata": {"public_id": order.public_id}},
            # Charged in the order's currency, so refunds and amounts stay in it.
            "adaptive_pricing": {"enabled": False},
            "success_url": return_url,
            "cancel_url": return_url,
            "expires_at": expires,
        }
        session = self._call(
            client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": f"shequn-checkout-{order.public_id}-{expires}"},
        )
        if not session.get("url"):
            raise ProviderError("Stripe sent no session URL")
        return Checkout(kind="redirect", url=session["url"])

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Check the Stripe-Signature header (SDK, with tolerance); the event in our terms."""
        import stripe

        signature = header(request.headers, "Stripe-Signature")
        if not signature:
            raise SignatureError("missing header Stripe-Signature")
        secret = setting(settings, "webhook_secret")
        if not secret:
            raise SignatureError("no webhook signing secret is set")
        try:
            event = stripe.Webhook.construct_event(request.body, signature, secret, TOLERANCE)
        except stripe.SignatureVerificationError as exc:
            raise SignatureError(f"Stripe-Signature: {exc}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise SignatureError(f"Stripe webhook body: {exc}") from exc
        event = event.to_dict()
        obj = (event.get("data") or {}).get("object") or {}
        metadata = obj.get("metadata") or {}
        public_id = str(obj.get("client_reference_id") or metadata.get("public_id") or "")
        ours = event.get("type") in PAID_EVENTS and obj.get("object") == "checkout.session"
        if not ours or not public_id:  # another event, or a session of another integration
            return Notification(public_id, str(event.get("id")), False, 0, "", "")
        # Adaptive Pricing (off in our sessions, on by default for an account) would show
        # the customer's currency; the amount in the session's own currency is kept here.
        conversion = obj.get("currency_conversion") or {}
        currency = str(conversion.get("source_currency") or obj.get("currency") or "").upper()
        amount = conversion.get("amount_total") if conversion else obj.get("amount_total")
        if not currency or not isinstance(amount, int):
            raise SignatureError("checkout session without currency or amount")
        provider_ref = str(obj.get("payment_intent") or obj.get("id") or "")
        paid = obj.get("payment_status") == "paid"
        return Notification(
            public_id=public_id,
            event_id=provider_ref if paid else str(event.get("id")),
            paid=paid,
            amount_cents=from_stripe(amount, currency),
            currency=currency,
            provider_ref=provider_ref,
        )

    def acknowledge(self, ok: bool) -> tuple[int, str | bytes, dict[str, str]]:
        """200 (Stripe marks the event delivered) or 400 (it retries for up to three days)."""
        return (
            (200 if ok else 400),
            json.dumps({"received": ok}),
            {"Content-Type": "application/json"},
        )

    def query(self, order: Any, settings: Mapping[str, Any]) -> Notification | None:
        """The order's PaymentIntent, found by its metadata (Stripe's search); None if none.

        Stripe's search index lags about a minute behind: a payment seconds old may not show.
        """
        client = self._client(settings)
        found = self._call(
            client.v1.payment_intents.search,
            params={"query": f"metadata['public_id']:'{order.public_id}'", "limit": 10},
        )
        intents = list(found.get("data") or [])
        if not intents:
            return None
        intent = next((i for i in intents if i.get("status") == "succeeded"), intents[0])
        currency = str(intent.get("currency") or "").upper()
        paid = intent.get("status") == "succeeded"
        amount = intent.get("amount_received") if paid else intent.get("amount")
        return Notification(
            public_id=order.public_id,
            event_id=str(intent.get("id")) if paid else f"query:{order.public_id}",
            paid=paid,
            amount_cents=from_stripe(int(amount or 0), currency),
            currency=currency,
            provider_ref=str(intent.get("id")),
        )

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """Refund part or all of the order's PaymentIntent; Stripe's refund id (``re_…``)."""
        if not order.provider_ref:
            raise ProviderError(_("This order has no Stripe payment to refund."))
        client = self._client(settings)
        refund = self._call(
            client.v1.refunds.create,
            params={
                "payment_intent": order.provider_ref,
                "amount": to_stripe(amount_cents, order.currency),
                "metadata": {"public_id": order.public_id},
            },
            options={"idempotency_key": f"shequn-refund-{refund_key}"[:255]},
        )
        if refund.get("status") in ("failed", "canceled"):
            raise ProviderError(f"Stripe refund {refund.get('status')}")
        return str(refund.get("id"))
