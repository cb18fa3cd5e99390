"""The plugin guide's reference is generated from the code, and cannot drift from it."""

from __future__ import annotations

import inspect
import re
import textwrap

from click.testing import CliRunner

from forum import hookspecs, plugin_api, plugin_docs
from forum.cli import cli
from forum.plugin_docs import BEGIN, END


def _guide() -> str:
    return plugin_docs.guide_path().read_text(encoding="utf-8")


def test_guide_is_what_the_code_generates():
    text = _guide()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert plugin_docs.updated(text) == text, (
        "docs/plugins.md differs from forum/plugin_docs.py's output: run `forum plugins docs`"
    )


def test_hookspecs_have_what_the_guide_needs():
    assert plugin_docs.problems() == []


def test_every_hook_is_in_one_family():
    in_families = [hook for hooks in hookspecs.FAMILIES.values() for hook in hooks]
    assert sorted(in_families) == plugin_docs.hook_names()
    assert len(in_families) == len(set(in_families))


def test_every_hook_is_documented_with_its_example():
    text = _guide()
    for hook in plugin_docs.hook_names():
        doc = inspect.getdoc(getattr(hookspecs, hook))
        assert doc and "Example::" in doc, hook
        assert f"\n#### {hook}\n" in text, hook
        assert f"`{plugin_docs.signature(hook)}`" in text, hook
        example = textwrap.dedent(doc.split("Example::", 1)[1]).strip()
        assert f"```python\n{example}\n```" in text, hook


def test_every_api_value_and_slot_is_documented():
    text = _guide()
    for name in plugin_api.__all__:
        assert f"\n### {name}\n" in text, name
    for slot in hookspecs.SLOTS:
        assert f"| `{slot}` |" in text, slot
    assert "\n### PeriodicJob\n" in text


def test_slot_contexts_are_read_from_the_theme():
    contexts = plugin_docs.slot_contexts()
    assert set(hookspecs.SLOTS) <= set(contexts), "a slot that no template renders"
    assert "member" in contexts["profile_card"]["keys"]
    assert "profile.html" in contexts["profile_card"]["templates"]


def test_rst_to_markdown():
    doc = """Return a list of :class:`forum.plugin_api.Permission`, ``code`` and :func:`~a.b.c`.

    See ``forum_post_created``. Example::

        @hookimpl
        def forum_blueprints():
            return [bp]

    After.
    """
    md = plugin_docs.rst_to_markdown(doc)
    assert "[`Permission`](#permission), `code` and `c`." in md
    assert "See [`forum_post_created`](#forum_post_created). Example:" in md
    assert "```python\n@hookimpl\ndef forum_blueprints():\n    return [bp]\n```" in md
    assert md.rstrip().endswith("After.")


def test_family_descriptions_come_from_the_hookspecs_docstring():
    families = plugin_docs.family_descriptions()
    assert set(families) >= set(hookspecs.FAMILIES)
    assert families["setup"].startswith("Setup hooks run once per process")


def test_docs_command_checks_and_rewrites(tmp_path):
    guide = tmp_path / "plugins.md"
    stale = f"# Guide\n\nHand-written.\n\n{BEGIN}\nold reference\n{END}\n\nThe end.\n"
    guide.write_text(stale, encoding="utf-8")
    runner = CliRunner()

    result = runner.invoke(cli, ["plugins", "docs", "--check", "--path", str(guide)])
    assert result.exit_code == 1 and "out of date" in result.output
    assert guide.read_text(encoding="utf-8") == stale

    result = runner.invoke(cli, ["plugins", "docs", "--path", str(guide)])
    assert result.exit_code == 0 and "updated" in result.output
    text = guide.read_text(encoding="utf-8")
    assert text.startswith("# Guide\n\nHand-written.\n\n") and text.endswith("\n\nThe end.\n")
    assert "old reference" not in text and "#### forum_blueprints" in text

    result = runner.invoke(cli, ["plugins", "docs", "--check", "--path", str(guide)])
    assert result.exit_code == 0 and "up to date" in result.output


def test_docs_command_needs_the_markers(tmp_path):
    guide = tmp_path / "plugins.md"
    guide.write_text("# A guide without a generated part\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["plugins", "docs", "--path", str(guide)])
    assert result.exit_code == 1
    assert re.search(r"no generated part", result.output)
