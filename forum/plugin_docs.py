"""The generated part of the plugin guide (``docs/plugins.md``): ``forum plugins docs``.

Everything between :data:`BEGIN` and :data:`END` in the guide is written by
:func:`generate` from the code itself, so it cannot drift from it:

- the **hook reference**, from :mod:`forum.hookspecs`: each family (its description is the
  family's bullet in the module's docstring) and each hook (signature and docstring, with
  its example as a Python code block);
- the **API reference**, from :mod:`forum.plugin_api` (and :class:`forum.jobs.PeriodicJob`):
  docstrings and the fields of each value, with their types and defaults;
- the **slots**, from :data:`forum.hookspecs.SLOTS`, with where each one is on the page
  (:data:`SLOT_PLACES`) and what its ``context`` holds, read from the default theme's
  templates (every ``slot('name', key=...)`` call).

``forum plugins docs`` rewrites the part in place; ``forum plugins docs --check`` (and the
test ``tests/test_plugin_docs.py``) fails when the file differs from what would be written.
Docstrings use the reST of the code (````code````, ``:class:`x```, ``Example::`` blocks);
:func:`rst_to_markdown` turns that into Markdown.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from forum import hookspecs, plugin_api

BEGIN = "<!-- BEGIN GENERATED: `forum plugins docs` writes this part from the code; do not edit -->"
END = "<!-- END GENERATED -->"

#: Where each slot of :data:`forum.hookspecs.SLOTS` is on the page.
SLOT_PLACES: dict[str, str] = {
    "head": "Inside `<head>` of every page: a stylesheet or a `<meta>` tag.",
    "nav": "In the top bar of every page, after the links of `forum_nav_items`.",
    "board_header": "Above the thread list of a board.",
    "thread_header": "Above the posts of a thread.",
    "post_author_card": "Next to each post, under its author's name.",
    "post_footer": "Under each post.",
    "profile_card": "In the card at the top of a member's profile page.",
    "sidebar": "Beside the list of boards on the front page.",
    "composer_extra": "Inside the composer form (new thread, reply), before the buttons.",
    "gate": "On a board the viewer may see but not read: under a thread's teaser (title, "
    "author, first lines) and above the board's thread titles (`thread` is None there). A "
    "call to action (join, buy, apply); when no plugin fills it, the theme says who may read "
    "the board.",
}


def _api_items() -> list[tuple[str, Any]]:
    """(title, object) of the API reference, in the order the guide shows them."""
    from forum.jobs import PeriodicJob

    return [
        ("PluginMeta", plugin_api.PluginMeta),
        ("Setting", plugin_api.Setting),
        ("Field", plugin_api.Field),
        ("KindField", plugin_api.KindField),
        ("Permission", plugin_api.Permission),
        ("ThreadKind", plugin_api.ThreadKind),
        ("BoardFilter", plugin_api.BoardFilter),
        ("NotificationKind", plugin_api.NotificationKind),
        ("AdminPage", plugin_api.AdminPage),
        ("NavItem", plugin_api.NavItem),
        ("TrustFact", plugin_api.TrustFact),
        ("PeriodicJob", PeriodicJob),
        ("hookimpl", plugin_api.hookimpl),
        ("plugin_settings", plugin_api.plugin_settings),
        ("notify", plugin_api.notify),
        ("is_enabled", plugin_api.is_enabled),
    ]


def _link_targets() -> dict[str, str]:
    """Names docstrings may refer to (``Field``, ``forum.plugin_api.Field``) → anchor."""
    targets: dict[str, str] = {}
    for title, obj in _api_items():
        anchor = title.lower()
        targets[title] = anchor
        module = getattr(obj, "__module__", "forum.plugin_api")
        targets[f"{module}.{title}"] = anchor
        targets[f"forum.plugin_api.{title}"] = anchor
    for hook in hook_names():
        targets[hook] = hook
    return targets


# -- reST → Markdown ----------------------------------------------------------------------------

_ROLE = re.compile(r":(?:class|func|data|mod|meth|attr|exc|obj):`(~?)([\w.]+)(?:\(\))?`")
_LITERAL = re.compile(r"``(.+?)``")


def _inline(text: str, links: dict[str, str]) -> str:
    def role(match: re.Match[str]) -> str:
        short, target = match.group(1), match.group(2)
        shown = target.rsplit(".", 1)[-1] if short else target
        anchor = links.get(target)
        if anchor is not None:
            return f"[`{target.rsplit('.', 1)[-1]}`](#{anchor})"
        return f"`{shown}`"

    def literal(match: re.Match[str]) -> str:
        code = match.group(1)
        anchor = links.get(code) if code.startswith("forum_") else None
        return f"[`{code}`](#{anchor})" if anchor else f"`{code}`"

    text = _ROLE.sub(role, text)
    return _LITERAL.sub(literal, text)


def rst_to_markdown(doc: str, links: dict[str, str] | None = None) -> str:
    """A docstring's reST (as the code writes it) in Markdown.

    ````x```` becomes a code span, ``:class:`a.B``` a link to the API reference (or a code
    span), and a paragraph ending in ``::`` is followed by its indented block as a fenced
    Python block (``Example::`` becomes ``Example:``).
    """
    links = _link_targets() if links is None else links
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.endswith("::"):
            head = line[:-2]
            if head and not head.endswith(" "):
                head += ":"  # "Example::" → "Example:"; "text ::" → "text"
            if head.strip():
                out.append(_inline(head, links))
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(block)).strip("\n")
            out += ["", "```python", code, "```", ""]
            continue
        out.append(_inline(line, links))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# -- the parts ----------------------------------------------------------------------------------


def family_descriptions() -> dict[str, str]:
    """family → its description: the family's bullet in :mod:`forum.hookspecs`' docstring."""
    doc = inspect.cleandoc(hookspecs.__doc__ or "")
    found: dict[str, str] = {}
    for match in re.finditer(r"^- \*\*(\w+)\*\*(.*?)(?=^- \*\*|^\S|\Z)", doc, re.M | re.S):
        family, rest = match.group(1), " ".join(match.group(2).split())
        text = rest[1:].strip() if rest.startswith(":") else f"{family.capitalize()} {rest}"
        found[family] = text[:1].upper() + text[1:]
    return found


def hook_names() -> list[str]:
    """Every hook specification in :mod:`forum.hookspecs` (functions named ``forum_*``)."""
    return sorted(
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("forum_") and inspect.isfunction(obj)
    )


def signature(hook: str) -> str:
    """``forum_template_slot(slot, context)``."""
    return f"{hook}{inspect.signature(getattr(hookspecs, hook))}"


def _family_of(hook: str) -> str:
    for family, hooks in hookspecs.FAMILIES.items():
        if hook in hooks:
            return family
    return "?"


_CALLED_FOR = {
    "setup": "every installed plugin, enabled or not",
    "render": "enabled plugins",
    "before": "enabled plugins",
    "after": "enabled plugins",
    "search": "enabled plugins",
    "demo": "enabled plugins, once, by `forum demo`",
}


def hook_reference() -> str:
    """The ``## Hook reference`` section."""
    links = _link_targets()
    families = family_descriptions()
    parts = [
        "## Hook reference",
        "",
        "Every hook is a function of `forum/hookspecs.py`. Write a function with the same "
        "name in your plugin module and decorate it with `@hookimpl`. Your function may take "
        "any subset of the hook's arguments, by name: take only what you use.",
        "",
        "| Family | Hooks |",
        "| --- | --- |",
    ]
    for family, hooks in hookspecs.FAMILIES.items():
        cells = ", ".join(f"[`{h}`](#{h})" for h in hooks)
        parts.append(f"| {family} | {cells} |")
    parts.append("")
    for family, hooks in hookspecs.FAMILIES.items():
        intro = _inline(families.get(family, ""), links)
        parts += [f"### {family.capitalize()} hooks", "", intro, ""]
        for hook in hooks:
            doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
            parts += [
                f"#### {hook}",
                "",
                f"`{signature(hook)}` · {family} hook · called for "
                f"{_CALLED_FOR.get(family, 'enabled plugins')}",
                "",
                rst_to_markdown(doc, links).rstrip(),
                "",
            ]
    return "\n".join(parts).rstrip() + "\n"


class _Annotation(str):
    """An annotation (a string here, with postponed evaluation) shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _signature(func: Any) -> str:
    sig = inspect.signature(func)

    def bare(annotation: Any) -> Any:
        return _Annotation(annotation) if isinstance(annotation, str) else annotation

    params = [p.replace(annotation=bare(p.annotation)) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=bare(sig.return_annotation)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
        if isinstance(value, str):
            return f'`"{value}"`'
        return f"`{value!r}`"
    if f.default_factory is not dataclasses.MISSING:
        return f"`{f.default_factory()!r}`"
    return "required"


def _fields_table(cls: type) -> list[str]:
    rows = ["| Field | Type | Default |", "| --- | --- | --- |"]
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", repr(f.type))
        rows.append(f"| `{f.name}` | {_cell(f'`{kind}`')} | {_cell(_default(f))} |")
    return rows


def api_reference() -> str:
    """The ``## API reference`` section (values and functions a plugin uses)."""
    links = _link_targets()
    parts = [
        "## API reference",
        "",
        "Import these from `forum.plugin_api` (and `PeriodicJob` from `forum.jobs`). They are "
        "frozen dataclasses: create them with keyword arguments, for example "
        '`Setting("top", "int", 10, label=_l("Members listed"), min=1)`.',
        "",
    ]
    for title, obj in _api_items():
        if dataclasses.is_dataclass(obj):
            module = obj.__module__
            parts += [f"### {title}", "", f"`{module}.{title}`", ""]
            parts += [rst_to_markdown(inspect.getdoc(obj) or "", links).rstrip(), ""]
            base = next((b for b in obj.__bases__ if dataclasses.is_dataclass(b)), None)
            same = base is not None and [f.name for f in dataclasses.fields(base)] == [
                f.name for f in dataclasses.fields(obj)
            ]
            if same:
                parts += [f"Fields: as [`{base.__name__}`](#{base.__name__.lower()}).", ""]
            else:
                parts += [*_fields_table(obj), ""]
        elif inspect.isfunction(obj):
            parts += [
                f"### {title}",
                "",
                f"`forum.plugin_api.{title}{_signature(obj)}`",
                "",
                rst_to_markdown(inspect.getdoc(obj) or "", links).rstrip(),
                "",
            ]
        else:  # the hookimpl marker
            parts += [
                f"### {title}",
                "",
                f'`forum.plugin_api.{title}`: `pluggy.HookimplMarker("forum")`',
                "",
                "Decorate each hook implementation with `@hookimpl`. pluggy's options work: "
                "`@hookimpl(tryfirst=True)` or `@hookimpl(trylast=True)` moves your "
                "implementation to the front or the back of the call order. The forum calls "
                "implementations one at a time, so `hookwrapper=True` and `wrapper=True` "
                "implementations are not called.",
                "",
            ]
    return "\n".join(parts).rstrip() + "\n"


_SLOT_CALL = re.compile(r"slot\(\s*['\"](\w+)['\"]\s*((?:,[^)]*)?)\)")


def slot_contexts(template_dirs: Iterable[Path] | None = None) -> dict[str, dict[str, set[str]]]:
    """slot → {"templates": files that render it, "keys": the ``context`` keys they pass}.

    Read from the default theme's templates (each ``slot('name', key=value, ...)`` call).
    """
    if template_dirs is None:
        import forum_themes

        template_dirs = [Path(forum_themes.__file__).parent / "default" / "templates"]
    found: dict[str, dict[str, set[str]]] = {}
    for directory in template_dirs:
        for path in sorted(Path(directory).rglob("*.html")):
            text = path.read_text(encoding="utf-8")
            for match in _SLOT_CALL.finditer(text):
                entry = found.setdefault(match.group(1), {"templates": set(), "keys": set()})
                entry["templates"].add(path.relative_to(directory).as_posix())
                entry["keys"].update(re.findall(r"(\w+)\s*=(?!=)", match.group(2)))
    return found


def slot_reference() -> str:
    """The ``## Slots`` section."""
    contexts = slot_contexts()
    parts = [
        "## Slots",
        "",
        "The places of the theme where `forum_template_slot(slot, context)` is called. "
        "`context` always has `viewer` (the signed-in member, or None for a guest), plus the "
        "keys below. *Template* is the default theme's file that renders the slot.",
        "",
        "| Slot | Where | `context` | Template |",
        "| --- | --- | --- | --- |",
    ]
    for name in hookspecs.SLOTS:
        entry = contexts.get(name, {"templates": set(), "keys": set()})
        keys = ", ".join(f"`{k}`" for k in sorted(entry["keys"] | {"viewer"}))
        templates = ", ".join(f"`{t}`" for t in sorted(entry["templates"])) or "(none yet)"
        parts.append(f"| `{name}` | {SLOT_PLACES.get(name, '')} | {keys} | {templates} |")
    return "\n".join(parts) + "\n"


def generate() -> str:
    """The generated part of the guide, markers included."""
    body = "\n".join([hook_reference(), api_reference(), slot_reference()])
    return f"{BEGIN}\n\n{body.rstrip()}\n\n{END}"


# -- the guide file -----------------------------------------------------------------------------


def guide_path() -> Path:
    """``docs/plugins.md`` of the source tree the ``forum`` package lives in."""
    return Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


class GuideError(Exception):
    """The guide cannot be updated (missing file or markers)."""


def updated(text: str) -> str:
    """``text`` (the whole guide) with its generated part replaced by :func:`generate`."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise GuideError(
            f"the guide has no generated part: put the lines {BEGIN!r} and {END!r} in it"
        )
    return text[:start] + generate() + text[end + len(END) :]


def write_guide(path: Path | None = None, check: bool = False) -> bool:
    """Rewrite the generated part of the guide; True when the file changed (or, with
    ``check``, would change: the file is then left alone)."""
    path = path or guide_path()
    if not path.is_file():
        raise GuideError(f"{path} does not exist (the guide lives in Shequn's source tree)")
    text = path.read_text(encoding="utf-8")
    new = updated(text)
    if new == text:
        return False
    if not check:
        path.write_text(new, encoding="utf-8")
    return True


def problems() -> list[str]:
    """What the hook specifications lack for the guide (empty when all is well).

    Every hook must be in exactly one family of :data:`forum.hookspecs.FAMILIES`, every
    family entry must be a hook, every hook needs a docstring with an ``Example::``, every
    family a description, every slot a place.
    """
    found: list[str] = []
    names = set(hook_names())
    listed: dict[str, list[str]] = {}
    for family, hooks in hookspecs.FAMILIES.items():
        for hook in hooks:
            listed.setdefault(hook, []).append(family)
    for hook in sorted(names):
        if hook not in listed:
            found.append(f"{hook} is in no family of hookspecs.FAMILIES")
        elif len(listed[hook]) > 1:
            found.append(f"{hook} is in several families: {', '.join(listed[hook])}")
        doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
        if not doc.strip():
            found.append(f"{hook} has no docstring")
        elif "Example::" not in doc:
            found.append(f"{hook}'s docstring has no Example:: block")
    for hook in sorted(set(listed) - names):
        found.append(f"hookspecs.FAMILIES names {hook}, which is not a hook")
    descriptions = family_descriptions()
    for family in hookspecs.FAMILIES:
        if not descriptions.get(family):
            found.append(
                f"family {family!r} has no '- **{family}** ...' bullet in hookspecs' docstring"
            )
    for slot in hookspecs.SLOTS:
        if slot not in SLOT_PLACES:
            found.append(f"slot {slot!r} has no entry in plugin_docs.SLOT_PLACES")
    documented = {title for title, _obj in _api_items()}
    for name in plugin_api.__all__:
        if name not in documented:
            found.append(f"forum.plugin_api.{name} is not in the API reference")
    return found
