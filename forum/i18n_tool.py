"""Translation catalogs: extract, update, convert and compile (``forum i18n update|check``).

English is the source language of every message. ``zh_Hans`` is translated by hand in
``forum/translations/zh_Hans/LC_MESSAGES/messages.po``; ``zh_Hant`` is generated from it with
OpenCC (Simplified → Traditional, Taiwan standard characters), so the two never drift; ``en``
needs no catalog. ``check`` fails when a message is untranslated or a generated file is stale.

OpenCC's ``s2tw`` converts characters only, so mainland UI words would stay as they are
(登錄, 賬號, 設置, 默認 …); :data:`HANT_PHRASES` then replaces them with the words Taiwan and
Hong Kong users expect (登入, 帳號, 設定, 預設 …). The table is fixed and applied in order,
so the generated files stay byte-identical between runs.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import opencc
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [
    ("forum/**.py", "python"),
    ("themes/**/templates/**.html", "jinja2"),
]


#: After OpenCC ``s2tw``: mainland UI words → the words used in Taiwan and Hong Kong.
#: Applied in this order (longer phrases before the words they contain). Keep it to words of the
#: interface; add a pair when a zh_Hans translation brings a new mainland-only word.
HANT_PHRASES: tuple[tuple[str, str], ...] = (
    ("退出登錄", "登出"),
    ("登錄", "登入"),
    ("賬號", "帳號"),
    ("用戶名", "使用者名稱"),
    ("用戶組", "群組"),
    ("郵箱", "電子郵件"),
    ("設置", "設定"),
    ("默認", "預設"),
    ("鏈接", "連結"),
    ("保存", "儲存"),
    ("創建", "建立"),
    ("文件", "檔案"),
    ("支持", "支援"),
    ("搜索", "搜尋"),
    ("字符", "字元"),
    ("當前", "目前"),
    ("站點", "網站"),
    ("插件", "外掛"),
    ("命令行", "命令列"),
    ("分辨率", "解析度"),
    ("下劃線", "底線"),
    ("添加", "新增"),
    ("新建", "新增"),
    ("重置", "重設"),
    ("導航", "導覽"),
    ("後臺", "後台"),
    ("發佈", "發布"),
    ("內置", "內建"),
    ("設備", "裝置"),
    ("自定義", "自訂"),
    ("概覽", "總覽"),
    ("打開", "開啟"),
    ("獲取", "取得"),
    ("最後在線", "最後上線"),
    ("“", "「"),
    ("”", "」"),
)


def to_hant(text: str, convert: opencc.OpenCC) -> str:
    """Simplified → Traditional as read in Taiwan and Hong Kong (OpenCC, then :data:`HANT_PHRASES`)."""
    text = convert.convert(text)
    for mainland, local in HANT_PHRASES:
        text = text.replace(mainland, local)
    return text


#: Fixed header dates keep generated files byte-identical between runs.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _catalog(locale: str | None = None) -> Catalog:
    return Catalog(
        locale=locale,
        project="shequn",
        charset="utf-8",
        creation_date=EPOCH,
        revision_date=EPOCH,
        fuzzy=False,
    )


def extract() -> Catalog:
    """All messages in the core and the default theme."""
    catalog = _catalog()
    options = {"themes/**/templates/**.html": {"extensions": "jinja2.ext.do"}}
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map=options
    ):
        if "/bench/" in filename or "/tests/" in filename:
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read(locale: str) -> Catalog:
    path = _po_path(locale)
    if not path.exists():
        return _catalog(locale)
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def build() -> dict[str, bytes]:
    """path → the bytes each generated file should have (zh_Hans po/mo, zh_Hant po/mo)."""
    template = extract()
    hans = _read("zh_Hans")
    hans.update(template, no_fuzzy_matching=True)
    hans.obsolete.clear()
    convert = opencc.OpenCC("s2tw")
    hans.revision_date = EPOCH
    hans.fuzzy = False
    hant = _catalog("zh_Hant")
    for message in hans:
        if not message.id:
            continue
        if isinstance(message.string, tuple | list):
            string = tuple(to_hant(s, convert) for s in message.string)
        else:
            string = to_hant(message.string, convert) if message.string else ""
        hant.add(message.id, string, context=message.context)
    files: dict[str, bytes] = {}
    for locale, catalog in (("zh_Hans", hans), ("zh_Hant", hant)):
        po = _po_path(locale)
        files[str(po)] = _po_bytes(catalog)
        files[str(po.with_suffix(".mo"))] = _mo_bytes(catalog)
    return files


def untranslated() -> list[str]:
    """Messages of the code that have no zh_Hans translation yet."""
    hans = _read("zh_Hans")
    missing = []
    for message in extract():
        if not message.id:
            continue
        found = hans.get(message.id, context=message.context)
        strings = found.string if found else ""
        if not found or not strings or (isinstance(strings, tuple) and not all(strings)):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update() -> list[str]:
    """Write the catalogs (new messages appear untranslated in zh_Hans). Returns paths written."""
    written = []
    for path, data in build().items():
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_bytes() != data:
            p.write_bytes(data)
            written.append(path)
    return written


def stale() -> list[str]:
    """Generated files that differ from what :func:`update` would write."""
    return [
        path
        for path, data in build().items()
        if not Path(path).exists() or Path(path).read_bytes() != data
    ]
