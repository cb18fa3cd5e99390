"""Text analysis shared by every search backend: folding, segmentation, query parsing, snippets.

One pipeline turns text into index terms, so both backends (and the query side) agree:

1. **fold**: Traditional → Simplified with OpenCC (``t2s``), full-width ASCII → ASCII. The
   folded text always has the same length as the original (a phrase conversion that would
   change the length falls back to character by character), so a term's offsets in the
   folded text are its offsets in the original — snippets highlight the member's own text.
2. **segment** with jieba: search-engine mode at index time (a long word and its parts),
   precise mode for queries (a query word then matches a document's long word or its part).
   jieba's HMM guessing of unknown words is off on both sides: a word missing from the
   dictionary is then split into single characters the same way in a query as in a post,
   so it is still found (its guessed segmentation could differ between the two contexts),
   and segmenting is about twice as fast.
3. **normalise**: lowercase, English stop words dropped, Porter2 (Snowball English)
   stemming (``running`` → ``run``); tokens without a letter or digit (punctuation, spaces) dropped.

Queries are never given to a query-language parser: :func:`parse_query` reads words,
``-word`` (exclude) and nothing else, so quotes, ``AND OR``, ``*``, SQL or Whoosh syntax
characters are just text.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape

from forum.services.errors import ServiceError

#: A query longer than this (in characters) is refused with a message.
QUERY_MAX = 200
#: At most this many distinct words of a query are used.
TERMS_MAX = 16
#: Index terms longer than this are dropped (a URL or a base64 blob is no word).
TERM_MAX = 60

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "have",
        "if",
        "in",
        "is",
        "it",
        "may",
        "not",
        "of",
        "on",
        "or",
        "tbd",
        "that",
        "the",
        "this",
        "to",
        "us",
        "we",
        "when",
        "will",
        "with",
        "yet",
        "you",
        "your",
    ]
)

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_ASCII_WORD = re.compile(r"[a-z]+")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _stem():
    from whoosh.lang.porter2 import stem

    return lru_cache(maxsize=50_000)(stem)


def fold(text: str) -> str:
    """``text`` with Traditional characters made Simplified and full-width ASCII made ASCII,
    of the same length (see the module)."""
    text = text.translate(_FULLWIDTH)
    if text.isascii():
        return text
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    convert = _converter().convert
    return "".join(c if len(c := convert(ch)) == 1 else ch for ch in text)


def _normalise(word: str) -> str | None:
    word = word.lower()
    if len(word) > TERM_MAX or not any(c.isalnum() for c in word):
        return None
    if word in STOP_WORDS:
        return None
    if _ASCII_WORD.fullmatch(word):
        return _stem()(word)
    return word


def analyse(text: str, *, query: bool = False) -> Iterator[tuple[str, int, int]]:
    """The index terms of ``text`` as ``(term, start, end)`` (offsets into ``text``).

    ``query=True`` segments in precise mode (for the words a member typed), otherwise in
    search-engine mode (for documents)."""
    if not text:
        return
    folded = fold(text)
    mode = "default" if query else "search"
    for word, start, end in _jieba().tokenize(folded, mode=mode, HMM=False):
        term = _normalise(word)
        if term is not None:
            yield term, start, end


def terms(text: str, *, query: bool = False) -> list[str]:
    """Just the terms of :func:`analyse`, in order."""
    return [t for t, _, _ in analyse(text, query=query)]


class QueryError(ServiceError):
    """A query that cannot be searched for; ``message`` is a message for the member."""


@dataclass(frozen=True)
class ParsedQuery:
    """What to look for: every term of ``required`` (in title or text), none of the term
    groups of ``excluded`` (a group is the terms of one ``-word``). ``words`` are the
    member's words as typed, for display."""

    required: tuple[str, ...] = ()
    excluded: tuple[tuple[str, ...], ...] = ()
    words: tuple[str, ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        """True when there is nothing to match (a browse by filters only)."""
        return not self.required


def parse_query(raw: str | None, *, allow_empty: bool = False) -> ParsedQuery:
    """Read a member's query. Raises :class:`QueryError` (with a translated message) for a
    query that is too long or has no searchable word — unless ``allow_empty`` (filters
    alone select the posts) and the query is blank."""
    from flask_babel import gettext as _

    raw = " ".join((raw or "").split())
    if len(raw) > QUERY_MAX:
        raise QueryError(_("A search has at most %(n)d characters.", n=QUERY_MAX))
    required: list[str] = []
    excluded: list[tuple[str, ...]] = []
    words: list[str] = []
    for chunk in raw.split(" "):
        negative = chunk.startswith("-") and len(chunk) > 1
        found = terms(chunk[1:] if negative else chunk, query=True)
        if not found:
            continue
        if negative:
            excluded.append(tuple(dict.fromkeys(found)))
        else:
            words.append(chunk)
            required.extend(t for t in found if t not in required)
    if not required:
        if not raw and allow_empty:
            return ParsedQuery()
        if not raw:
            raise QueryError(_("Type a word to search for."))
        raise QueryError(_("Nothing to search for: type at least one word (not only signs)."))
    return ParsedQuery(tuple(required[:TERMS_MAX]), tuple(excluded[:TERMS_MAX]), tuple(words))


# -- documents ------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|blockquote|pre|tr|td|th|table)\b[^>]*>", re.I)
_SPACE = re.compile(r"\s+")


def html_text(markup: str) -> str:
    """The readable text of a post's safe HTML: tags removed, entities decoded, blanks
    squeezed."""
    text = _BLOCK.sub(" ", markup or "")
    text = html.unescape(_TAG.sub("", text))
    return _SPACE.sub(" ", text).strip()


SNIPPET_CHARS = 160
_SCAN_CHARS = 4000


@lru_cache(maxsize=512)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """A regex finding ``terms`` in folded, lowercased text: longest first; a Latin term
    (stemmed: ``run``) from a word's start to the word's end (``running``)."""
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        part = re.escape(term)
        if term.isascii() and term[:1].isalnum():
            part = r"(?<![a-z0-9])" + part + r"[a-z0-9]*"
        parts.append(part)
    return re.compile("|".join(parts))


def _match_spans(text: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where ``terms`` occur in ``text`` (offsets into ``text``: folding keeps the length).
    A plain search of the folded text, much cheaper than segmenting it again."""
    folded = fold(text)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        folded = lowered
    return [(m.start(), m.end()) for m in _term_pattern(terms).finditer(folded)]


def snippet(text: str, query: ParsedQuery, length: int = SNIPPET_CHARS) -> Markup:
    """An escaped excerpt of ``text`` around the first matching term, matches in ``<mark>``."""
    if not text:
        return Markup("")
    spans = _match_spans(text[:_SCAN_CHARS], query.required) if query.required else []
    start = 0
    if spans:
        start = max(0, spans[0][0] - length // 4)
    end = min(len(text), start + length)
    if end - start < length:
        start = max(0, end - length)
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in merged:
        out.append(str(escape(text[pos:s])))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(str(escape(text[pos:end])))
    if end < len(text):
        out.append("…")
    return Markup("".join(out))
