"""The ``sandbox`` provider: pretend payments for the demo and the tests.

Only available while the configuration's ``PAYMENTS_SANDBOX`` is on (off by default; the
demo and the test app switch it on). The member gets a page clearly marked SANDBOX with a
pay and a fail button (:func:`forum.services.payments.sandbox_pay`). It also takes
notifications the way a gateway sends them, signed with HMAC-SHA256 over the body with the
``secret`` setting (header ``X-Sandbox-Signature``, hex), so the webhook path can be tried
end to end without a gateway: a JSON body ``{"public_id", "event_id", "paid",
"amount_cents", "currency", "provider_ref"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from forum.payments.base import (
    Checkout,
    IncomingRequest,
    Notification,
    SignatureError,
    WithoutGateway,
    secret_field,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature of ``body`` a sandbox notification carries."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SandboxProvider(WithoutGateway):
    """Pretend payments (see the module docstring)."""

    name = "sandbox"
    label = _l("Sandbox (test payments)")
    fields = (
        secret_field(
            "secret",
            label=_l("Notification secret"),
            help=_l("Signs test notifications sent to the webhook (optional)."),
        ),
    )

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """Usable only while ``PAYMENTS_SANDBOX`` is on."""
        if not current_app.config.get("PAYMENTS_SANDBOX"):
            return str(_l("The sandbox is switched off in this site's configuration."))
        return None

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """The member goes to the sandbox page."""
        return Checkout("sandbox")

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Check the HMAC signature of the body, then read it."""
        secret = str(settings.get("secret") or "")
        if not secret:
            raise SignatureError("no notification secret is set")
        given = ""
        for key, value in request.headers.items():
            if key.lower() == SIGNATURE_HEADER.lower():
                given = value
        if not given:
            raise SignatureError("missing signature")
        if not hmac.compare_digest(given, sign(secret, request.body)):
            raise SignatureError("bad signature")
        try:
            data = json.loads(request.body)
            return Notification(
                public_id=str(data["public_id"]),
                event_id=str(data["event_id"]),
                paid=bool(data.get("paid", True)),
                amount_cents=int(data["amount_cents"]),
                currency=str(data["currency"]),
                provider_ref=str(data.get("provider_ref") or data["event_id"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureError(f"unreadable body: {exc}") from None

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """Pretend money goes back at once."""
        return f"sandbox-refund:{refund_key}"
