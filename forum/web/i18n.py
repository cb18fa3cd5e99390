"""Language and time zone of the current request."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from forum.services import site

SUPPORTED = ("zh_Hans", "zh_Hant", "en")
#: Accept-Language tags → our locales (browsers send zh-CN, zh-TW, zh-HK, zh-Hant …).
_ALIASES = {
    "zh": "zh_Hans", "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-hans": "zh_Hans",
    "zh-hans-cn": "zh_Hans", "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant",
    "zh-hant": "zh_Hant", "zh-hant-tw": "zh_Hant", "zh-hant-hk": "zh_Hant", "en": "en",
}  # fmt: skip


def _from_accept_language() -> str | None:
    header = request.headers.get("Accept-Language", "")
    if header not in _seen_headers:
        if len(_seen_headers) > 1000:
            _seen_headers.clear()
        _seen_headers[header] = _match_accept_language()
    return _seen_headers[header]


_seen_headers: dict[str, str | None] = {}


def _match_accept_language() -> str | None:
    for value, _quality in request.accept_languages:
        tag = value.lower().replace("_", "-")
        if tag in _ALIASES:
            return _ALIASES[tag]
        prefix = tag.split("-")[0]
        if prefix == "en":
            return "en"
        if prefix == "zh":
            return "zh_Hant" if any(p in tag for p in ("tw", "hk", "mo", "hant")) else "zh_Hans"
    return None


def select_locale() -> str:
    """``?lang=`` (an explicit choice for this page), else the member's own setting, else the
    language cookie, else the browser's Accept-Language, else the site's default."""
    if not has_request_context():
        return site.setting("default_locale")
    if request.args.get("lang") in SUPPORTED:
        return request.args["lang"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    if request.cookies.get("lang") in SUPPORTED:
        return request.cookies["lang"]
    return _from_accept_language() or site.setting("default_locale")


def select_timezone() -> str:
    """The member's time zone, else the site's default."""
    if not has_request_context():
        return site.setting("default_timezone")
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.timezone:
        return current_user.timezone
    return site.setting("default_timezone")
