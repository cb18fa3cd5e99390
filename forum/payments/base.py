"""The interface every payment provider implements, and the values passed across it.

A provider turns an order into what the member does next (:meth:`Provider.checkout`), turns
a gateway's asynchronous notification into a verified :class:`Notification`
(:meth:`Provider.verify_notification`, raising :class:`SignatureError` for anything it
cannot verify), answers the gateway the way it expects (:meth:`Provider.acknowledge`), asks
the gateway about an order (:meth:`Provider.query`) and gives money back
(:meth:`Provider.refund`). Providers hold no state: their settings (keys, ids, secrets)
come from the database on every call, as a mapping of the names in ``fields``.

Providers never change orders: :mod:`forum.services.payments` does, under its row locks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from flask_babel import gettext as _

from forum.plugin_api import Field

__all__ = [
    "CHECKOUT_KINDS",
    "Checkout",
    "GatewayUnreachable",
    "IncomingRequest",
    "Notification",
    "Provider",
    "ProviderError",
    "SignatureError",
    "WithoutGateway",
    "header",
    "out_refund_no",
    "secret_field",
    "setting",
    "unavailable",
]

#: What :attr:`Checkout.kind` may be.
CHECKOUT_KINDS = ("redirect", "qr", "manual", "sandbox")


@dataclass(frozen=True)
class Checkout:
    """What the member does next: follow ``url`` (``redirect``), scan ``code_url`` rendered
    as a QR code (``qr``), or go to the manual transfer or sandbox page."""

    kind: str
    url: str = ""
    code_url: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified asynchronous notification, in our terms.

    ``public_id`` is our order's public id (the gateways' out_trade_no or
    client_reference_id), ``event_id`` the gateway's unique id of this event (replays carry
    the same one), ``paid`` whether the payment succeeded (other events are acknowledged
    and ignored), ``provider_ref`` the gateway's transaction id.
    """

    public_id: str
    event_id: str
    paid: bool
    amount_cents: int
    currency: str
    provider_ref: str


@dataclass(frozen=True)
class IncomingRequest:
    """A webhook request, framework-free (tests build it directly)."""

    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, str]
    args: Mapping[str, str]


class SignatureError(Exception):
    """A notification's signature is bad or missing, or its body cannot be parsed."""


class ProviderError(Exception):
    """The gateway refused or failed a call (create, query, refund); ``str()`` says why."""


def secret_field(name: str, label: Any = "", help: Any = "") -> Field:
    """A setting holding a secret (a key, a password): type ``secret``. The admin form never
    shows its stored value; leaving it empty keeps it (see
    :func:`forum.services.payments.save_provider`)."""
    return Field(name, "secret", label=label, help=help, max_length=10_000)


@runtime_checkable
class Provider(Protocol):
    """A way to pay (see the module docstring). ``name`` is its registry key, ``label`` a
    lazily translated name for members, ``fields`` its admin settings form."""

    name: str
    label: Any
    fields: Sequence[Field]

    def available(self, settings: Mapping[str, Any] | None = None) -> str | None:
        """None when it can be used, else why not (SDK missing, sandbox off in production;
        given its stored ``settings``, also keys missing). ``settings`` is optional: a
        provider may take no arguments (see ``forum.services.payments.unavailable_reason``)."""

    def checkout(
        self, order: Any, settings: Mapping[str, Any], *, notify_url: str, return_url: str
    ) -> Checkout:
        """Start paying ``order``: what the member does next. Raises :class:`ProviderError`."""

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Verify and parse a notification; raises :class:`SignatureError`."""

    def acknowledge(self, ok: bool) -> tuple[int, str | bytes, dict[str, str]]:
        """The HTTP reply (status, body, headers) the gateway expects."""

    def query(self, order: Any, settings: Mapping[str, Any]) -> Notification | None:
        """Ask the gateway about ``order``: a notification when it was paid, else None."""

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """Give ``amount_cents`` back; the gateway's refund id. Raises :class:`ProviderError`."""


class WithoutGateway:
    """What a provider without a gateway answers (the manual and sandbox providers):
    no notifications, nobody to ask, refunds recorded as done by hand."""

    def verify_notification(
        self, settings: Mapping[str, Any], request: IncomingRequest
    ) -> Notification:
        """Nothing sends notifications: every one is refused."""
        raise SignatureError(f"the {getattr(self, 'name', '?')} provider takes no notifications")

    def acknowledge(self, ok: bool) -> tuple[int, str, dict[str, str]]:
        """A plain reply."""
        return (200, "ok", {}) if ok else (400, "rejected", {})

    def query(self, order: Any, settings: Mapping[str, Any]) -> Notification | None:
        """Nobody to ask."""
        return None

    def refund(
        self, order: Any, amount_cents: int, refund_key: str, settings: Mapping[str, Any]
    ) -> str:
        """The owner gives the money back by hand; recorded as done (no refund id)."""
        return ""


_OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")


# Helpers the gateway modules share.


class GatewayUnreachable(ConnectionError):
    """The gateway could not be reached, failed (5xx), or sent an answer that does not
    verify: whether it did what was asked is unknown (a refund may have happened; ask again
    with the same key). Unlike :class:`ProviderError`, which is a
    verified refusal (nothing happened)."""


def setting(settings: Mapping[str, Any], name: str) -> str:
    """A setting as stripped text ("" when unset)."""
    return str(settings.get(name) or "").strip()


def header(headers: Mapping[str, str], name: str) -> str:
    """A request header by name, whatever its case ("" when absent)."""
    wanted = name.lower()
    return next((str(v).strip() for k, v in headers.items() if str(k).lower() == wanted), "")


def unavailable(
    module: str, package: str, settings: Mapping[str, Any] | None, fields: Sequence[Field]
) -> str | None:
    """Why a gateway cannot be used: its SDK ``module`` is not installed, or (with settings)
    a required or secret field of ``fields`` is empty. None when it can."""
    if importlib.util.find_spec(module) is None:
        return _("The %(package)s package is not installed.", package=package)
    if settings is None:
        return None
    missing = [
        str(field.label)
        for field in fields
        if (field.required or field.type == "secret") and not setting(settings, field.name)
    ]
    if missing:
        return _("Settings missing: %(names)s.", names=", ".join(missing))
    return None


def out_refund_no(refund_key: str) -> str:
    """The refund key as WeChat Pay accepts it (≤ 64 of ``0-9A-Za-z_-|*@``; else a digest)."""
    if _OUT_NO.fullmatch(refund_key):
        return refund_key
    return "R" + hashlib.sha256(refund_key.encode()).hexdigest()[:40]
