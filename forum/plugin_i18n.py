"""Translation catalogues of a plugin, for its ``i18n.py``: ``python -m forum_plugins.NAME.i18n``
(``--check``).

As in the core (:mod:`forum.i18n_tool`): English is the source; ``zh_Hans`` is translated by
hand in ``translations/zh_Hans/LC_MESSAGES/messages.po``; ``zh_Hant`` is generated from it
(OpenCC plus the core's Taiwan/Hong Kong word list), and both ``.mo`` files are compiled and
committed, because they are what the forum loads (``translations/`` of a plugin's package is
added to the forum's catalogues). Running it adds new messages to ``zh_Hans`` (untranslated,
for a person to fill in), drops the ones the code no longer has, and rewrites the rest;
``--check`` fails when a message is untranslated or a generated file is stale.

A plugin's ``i18n.py``::

    import sys
    from pathlib import Path

    from forum.plugin_i18n import PluginCatalogues

    catalogues = PluginCatalogues(Path(__file__).resolve().parent)

    if __name__ == "__main__":
        sys.exit(catalogues.main(sys.argv[1:]))
"""

from __future__ import annotations

from pathlib import Path

import opencc
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from forum.i18n_tool import KEYWORDS, _catalog, _mo_bytes, _po_bytes, to_hant

METHODS = [("*.py", "python"), ("templates/**.html", "jinja2")]
_HANS_PO = "zh_Hans/LC_MESSAGES/messages.po"
CORE_PO = Path(__file__).resolve().parent / "translations" / _HANS_PO


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="zh_Hans")


def _complete(strings: str | tuple | list) -> bool:
    """Whether a translation is there (every form of a plural one)."""
    return bool(strings) and not (isinstance(strings, tuple | list) and not all(strings))


def _hant(text: str | tuple, convert: opencc.OpenCC) -> str | tuple:
    """zh_Hant of a zh_Hans translation (each form of a plural one); empty stays empty."""
    if isinstance(text, tuple | list):
        return tuple(to_hant(s, convert) if s else "" for s in text)
    return to_hant(text, convert) if text else ""


def _blank(message_id: str | tuple) -> str | tuple:
    """An empty translation of the right shape (plural messages have two forms)."""
    return ("", "") if isinstance(message_id, tuple | list) else ""


def _translated(catalog: Catalog) -> Catalog:
    """The catalogue without its untranslated messages, for the compiled file: Babel leaves
    out an empty singular but keeps an empty plural, which would hide the core's
    translation of the same message (``%(num)d member``) on every page."""
    done = _catalog(str(catalog.locale))
    for message in catalog:
        if message.id and _complete(message.string):
            done.add(message.id, message.string)
    return done


class PluginCatalogues:
    """The zh_Hans and zh_Hant catalogues of the plugin package in folder ``package``."""

    def __init__(self, package: Path) -> None:
        self.package = package
        self.translations = package / "translations"

    def extract(self) -> Catalog:
        """Every message of the plugin's code and templates (not its tests)."""
        catalog = _catalog()
        options = {"templates/**.html": {"extensions": "jinja2.ext.do"}}
        for filename, lineno, message, comments, context in extract_from_dir(
            str(self.package), METHODS, keywords=KEYWORDS, options_map=options
        ):
            if filename.startswith("tests/"):
                continue
            catalog.add(
                message, None, [(filename, lineno)], auto_comments=comments, context=context
            )
        return catalog

    def _path(self, locale: str, suffix: str = "po") -> Path:
        return self.translations / locale / "LC_MESSAGES" / f"messages.{suffix}"

    def _read(self, locale: str) -> Catalog:
        path = self._path(locale)
        if not path.exists():
            return _catalog(locale)
        with path.open("rb") as fh:
            return read_po(fh, locale=locale)

    def build(self) -> dict[Path, bytes]:
        """The four files as they should be: zh_Hans (po, mo) and zh_Hant (po, mo)."""
        old = self._read("zh_Hans")
        hans, hant = _catalog("zh_Hans"), _catalog("zh_Hant")
        convert = opencc.OpenCC("s2tw")
        for message in self.extract():
            if not message.id:
                continue
            found = old.get(message.id)
            text = found.string if found is not None and found.string else _blank(message.id)
            hans.add(message.id, text)
            hant.add(message.id, _hant(text, convert))
        return {
            self._path("zh_Hans"): _po_bytes(hans),
            self._path("zh_Hans", "mo"): _mo_bytes(_translated(hans)),
            self._path("zh_Hant"): _po_bytes(hant),
            self._path("zh_Hant", "mo"): _mo_bytes(_translated(hant)),
        }

    def untranslated(self) -> list[str]:
        """Messages of the code without a zh_Hans translation (of every plural form)."""
        old = self._read("zh_Hans")
        missing = []
        for message in self.extract():
            if not message.id:
                continue
            found = old.get(message.id)
            if not _complete(found.string if found is not None else ""):
                missing.append(message.id if isinstance(message.id, str) else message.id[0])
        return missing

    def stale(self) -> list[str]:
        """The catalogue files that differ from what :meth:`build` writes."""
        return [
            str(path.relative_to(self.package))
            for path, data in self.build().items()
            if not path.exists() or path.read_bytes() != data
        ]

    def core_differences(self) -> dict[str, tuple[object, object]]:
        """Messages the core translates too, worded differently here: msgid → (the core's
        wording, this plugin's). The forum merges every plugin's catalogue over the core's,
        one entry per msgid, so a different wording would change the core's pages too."""
        core = _read_po(CORE_PO)
        differ = {}
        for message in self._read("zh_Hans"):
            theirs = core.get(message.id) if message.id else None
            if theirs is not None and theirs.string and message.string != theirs.string:
                differ[message.id] = (theirs.string, message.string)
        return differ

    def shared_with_core(self) -> int:
        """How many of this plugin's messages the core translates too."""
        core = _read_po(CORE_PO)
        return sum(
            1
            for m in self._read("zh_Hans")
            if m.id and core.get(m.id) is not None and core.get(m.id).string
        )

    def plugin_differences(self) -> dict[tuple[str, object], tuple[object, object]]:
        """Messages other plugins beside this one (``plugins/*``) translate differently:
        (their folder, msgid) → (their wording, this plugin's). Merged catalogues would
        show one plugin's wording on both plugins' pages."""
        mine = self._read("zh_Hans")
        differ = {}
        for other in sorted(self.package.parent.glob(f"*/translations/{_HANS_PO}")):
            if other.resolve() == self._path("zh_Hans").resolve():
                continue
            for message in _read_po(other):
                found = mine.get(message.id) if message.id else None
                if found is not None and message.string and found.string != message.string:
                    differ[(other.parts[-5], message.id)] = (message.string, found.string)
        return differ

    def update(self) -> None:
        """Write the catalogues."""
        for path, data in self.build().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def main(self, argv: list[str]) -> int:
        """``--check``: report problems (exit 1); otherwise write the files."""
        if "--check" in argv:
            problems = [f"untranslated: {m}" for m in self.untranslated()]
            problems += [f"stale: {p}" for p in self.stale()]
            problems += [
                f"worded unlike the core's: {m!r}: {theirs!r} there, {ours!r} here"
                for m, (theirs, ours) in self.core_differences().items()
            ]
            problems += [
                f"worded unlike {where}'s: {m!r}: {theirs!r} there, {ours!r} here"
                for (where, m), (theirs, ours) in self.plugin_differences().items()
            ]
            print("\n".join(problems) or "translations are complete and up to date")
            return 1 if problems else 0
        self.update()
        missing = self.untranslated()
        print(f"written; {len(missing)} untranslated" + "".join(f"\n  {m}" for m in missing))
        return 0
