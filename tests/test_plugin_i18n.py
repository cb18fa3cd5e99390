"""A plugin's catalogue tool (forum.plugin_i18n): it extracts the plugin's messages, and
``--check`` reports untranslated ones and wordings that disagree with the core's or another
plugin's (the forum merges every catalogue into one, one entry per message)."""

from __future__ import annotations

from pathlib import Path

from forum.plugin_i18n import PluginCatalogues

PO_HEAD = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def _plugin(root: Path, name: str, source: str, po: dict[str, str]) -> PluginCatalogues:
    package = root / name
    (package / "translations/zh_Hans/LC_MESSAGES").mkdir(parents=True)
    (package / "__init__.py").write_text(source, encoding="utf-8")
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in po.items())
    (package / "translations/zh_Hans/LC_MESSAGES/messages.po").write_text(
        PO_HEAD + body, encoding="utf-8"
    )
    return PluginCatalogues(package)


SOURCE = 'from flask_babel import gettext as _\n\nA = _("Cancel")\nB = _("Only in plugins")\n'


def test_disagreements_with_the_core_and_other_plugins_are_found(tmp_path, capsys):
    alpha = _plugin(tmp_path, "alpha", SOURCE, {"Cancel": "作废", "Only in plugins": "甲"})
    _plugin(tmp_path, "beta", SOURCE, {"Cancel": "取消", "Only in plugins": "乙"})
    assert alpha.shared_with_core() == 1
    assert alpha.core_differences() == {"Cancel": ("取消", "作废")}
    assert alpha.plugin_differences() == {
        ("beta", "Cancel"): ("取消", "作废"),
        ("beta", "Only in plugins"): ("乙", "甲"),
    }
    assert alpha.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "worded unlike the core's: 'Cancel'" in out
    assert "worded unlike beta's: 'Only in plugins': '乙' there, '甲' here" in out


def test_an_agreeing_complete_catalogue_passes_the_check(tmp_path, capsys):
    alpha = _plugin(tmp_path, "alpha", SOURCE, {"Cancel": "取消", "Only in plugins": "甲"})
    _plugin(tmp_path, "beta", SOURCE, {"Cancel": "取消", "Only in plugins": "甲"})
    alpha.update()  # zh_Hant and the compiled files
    assert alpha.core_differences() == {} and alpha.plugin_differences() == {}
    assert alpha.untranslated() == [] and alpha.stale() == []
    assert alpha.main(["--check"]) == 0
    assert "complete and up to date" in capsys.readouterr().out
