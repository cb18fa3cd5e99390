"""The ``manual`` provider: the member transfers the money (the owner's WeChat or Alipay QR
image, or bank details) and says so; an admin confirms or rejects it in the queue.

No gateway calls it: orders are paid by :func:`forum.services.payments.confirm_manual`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from forum.payments.base import Checkout, WithoutGateway
from forum.plugin_api import Field


class ManualProvider(WithoutGateway):
    """Transfer by hand, confirmed by an admin."""

    name = "manual"
    label = _l("Transfer (confirmed by hand)")
    fields = (
        Field(
            "instructions",
            "text",
            default="",
            label=_l("Instructions"),
            help=_l("Bank details or how to pay, shown to the member (Markdown)."),
            max_length=2000,
        ),
        Field(
            "qr_image_url",
            "str",
            default="",
            label=_l("QR image address"),
            help=_l("The address of your WeChat or Alipay payment QR image (an upload)."),
            max_length=300,
        ),
    )

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """Always usable."""
        return None

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """The member goes to the manual transfer page."""
        return Checkout("manual", instructions=str(settings.get("instructions") or ""))
