"""The payment providers' registry.

:data:`PROVIDERS` maps each name to ``"module:Class"``; :func:`get_provider` imports the
module on first use, so a gateway whose SDK is not installed (or whose module fails to
import) is an unavailable provider with the reason, not a crash of the forum.
:func:`register_provider` adds one (tests; a third party's gateway).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

from forum.payments.base import (
    Checkout,
    IncomingRequest,
    Notification,
    Provider,
    ProviderError,
    SignatureError,
)

__all__ = [
    "PROVIDERS",
    "Checkout",
    "IncomingRequest",
    "Notification",
    "Provider",
    "ProviderError",
    "SignatureError",
    "all_providers",
    "get_provider",
    "register_provider",
]

log = logging.getLogger("forum.payments")

#: Provider name → "module:Class", in the order the checkout page offers them.
PROVIDERS: dict[str, str] = {
    "manual": "forum.payments.manual:ManualProvider",
    "sandbox": "forum.payments.sandbox:SandboxProvider",
    "wechatpay": "forum.payments.wechatpay:WeChatPayProvider",
    "alipay": "forum.payments.alipay:AlipayProvider",
    "stripe": "forum.payments.stripe_gateway:StripeProvider",
}

_loaded: dict[str, Provider] = {}


class UnavailableProvider:
    """Stands in for a provider whose module could not be imported."""

    fields: Sequence[Any] = ()

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.label = name
        self.reason = reason

    def available(self, settings: Mapping | None = None) -> str | None:
        """Always the import failure."""
        return self.reason

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ProviderError(self.reason)

    checkout = query = refund = _refuse

    def verify_notification(self, settings: Mapping, request: IncomingRequest) -> Notification:
        """Nothing can be verified without the provider's code."""
        raise SignatureError(self.reason)

    def acknowledge(self, ok: bool) -> tuple[int, str, dict[str, str]]:
        """A plain reply."""
        return (200, "ok", {}) if ok else (400, "rejected", {})


def register_provider(name: str, target: str | Provider) -> None:
    """Add (or replace) a provider: an object, or ``"module:Class"`` imported when used."""
    _loaded.pop(name, None)
    if isinstance(target, str):
        PROVIDERS[name] = target
    else:
        PROVIDERS[name] = f"{type(target).__module__}:{type(target).__name__}"
        _loaded[name] = target


def unregister_provider(name: str) -> None:
    """Remove a provider :func:`register_provider` added (tests clean up with it)."""
    PROVIDERS.pop(name, None)
    _loaded.pop(name, None)


def get_provider(name: str) -> Provider:
    """The provider called ``name`` (KeyError when there is none by that name). One whose
    module fails to import is returned as an :class:`UnavailableProvider`."""
    if name in _loaded:
        return _loaded[name]
    path = PROVIDERS[name]
    module_name, _sep, class_name = path.partition(":")
    try:
        provider = getattr(importlib.import_module(module_name), class_name)()
    except Exception as exc:  # an SDK missing, a bug in the module
        log.warning("payment provider %s cannot be loaded: %s", name, exc)
        provider = UnavailableProvider(name, str(_l("Cannot be loaded: %(error)s", error=exc)))
    _loaded[name] = provider
    return provider


def all_providers() -> list[Provider]:
    """Every registered provider, in :data:`PROVIDERS` order (unavailable ones included)."""
    return [get_provider(name) for name in PROVIDERS]
