"""Markdown → safe HTML: markdown-it-py renders, nh3 sanitises with an allow-list.

Posts are rendered once, when written, and the HTML is stored beside the source, so reading
a page never runs the renderer. ``@name`` becomes a link to the profile when ``name`` is a
member (the caller passes the set of existing usernames, see :func:`mention_candidates`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

#: What may follow ``@``: letters (any script), digits, ``_`` and ``-``; 2–20 of them.
MENTION_RE = re.compile(r"@([\w\-]{2,20})")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "s", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "width", "height", "loading"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
LINK_REL = "nofollow ugc noopener"


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src" and not value.startswith("/uploads/"):
        return None  # only our own re-encoded uploads; no tracking pixels from elsewhere
    if attr == "class" and not re.fullmatch(r"(mention|language-[\w+-]{1,30})", value):
        return None
    return value


def _mention_rule(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "@":
        return False
    if state.pos > 0 and re.match(r"[\w@.]", state.src[state.pos - 1]):
        return False  # an e-mail address or the middle of a word
    match = MENTION_RE.match(state.src, state.pos)
    known: set[str] = state.env.get("mentions", set())
    if not match or match.group(1).casefold() not in known:
        return False
    if not silent:
        name = match.group(1)
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": "/u/" + quote(name), "class": "mention"}
        text = state.push("text", "", 0)
        text.content = "@" + name
        state.push("link_close", "a", -1)
    state.pos = match.end()
    return True


def _build() -> MarkdownIt:
    md = MarkdownIt("gfm-like", {"breaks": True, "html": False, "linkify": True})
    md.inline.ruler.before("emphasis", "mention", _mention_rule)
    return md


_md = _build()


def mention_candidates(source: str) -> set[str]:
    """Names written as ``@name`` in ``source`` (case-folded), to look up before rendering."""
    return {m.group(1).casefold() for m in MENTION_RE.finditer(source)}


def render(source: str, mentions: Iterable[str] = ()) -> str:
    """Render Markdown to sanitised HTML. ``mentions`` are case-folded existing usernames."""
    html = _md.render(source, {"mentions": set(mentions)})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        link_rel=LINK_REL,
        url_schemes={"http", "https", "mailto"},
    )


def quote_source(author_name: str, source: str) -> str:
    """The Markdown that quotes a post in a reply."""
    body = "\n".join("> " + line for line in source.strip().splitlines())
    return f"> **@{author_name}**:\n{body}\n\n"


_MENTION_LINK = re.compile(r'<a [^>]*class="mention"[^>]*>@([^<]{2,20})</a>')
_QUOTE_HEAD = re.compile(
    r'<blockquote>\s*<p><strong><a [^>]*class="mention"[^>]*>@([^<]{2,20})</a></strong>:'
)
_BLOCKQUOTE_TAG = re.compile(r"<(/?)blockquote\b[^>]*>")


def addressed_names(html: str) -> tuple[set[str], set[str]]:
    """Who a rendered post addresses: ``(mentioned, quoted)`` case-folded usernames.

    *Mentioned*: ``@name`` links outside quotes (a mention inside quoted text was the quoted
    author's, not this one's). *Quoted*: the authors named in the heading that
    :func:`quote_source` writes at the top of a quote.
    """
    quoted = {m.group(1).casefold() for m in _QUOTE_HEAD.finditer(html)}
    mentioned: set[str] = set()
    depth, pos = 0, 0
    for tag in _BLOCKQUOTE_TAG.finditer(html):
        if depth == 0:
            mentioned.update(m.group(1) for m in _MENTION_LINK.finditer(html, pos, tag.start()))
        depth = max(0, depth + (-1 if tag.group(1) else 1))
        pos = tag.end()
    if depth == 0:
        mentioned.update(m.group(1) for m in _MENTION_LINK.finditer(html, pos))
    return {n.casefold() for n in mentioned}, quoted
