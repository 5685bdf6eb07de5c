"""Text helpers shared by the composer, the guard and the UI: sentence spans and safe Markdown.

Sentences are returned as exact spans of the text they come from (`text[start:end]`), so a
citation's quote is always a verbatim substring of its passage, line breaks included.
`flat` collapses whitespace for display. `safe_inline` makes untrusted text (a question, a
passage, an ingested document) safe to put in Markdown that a page renders: HTML is escaped and
Markdown links and images are defused, so nothing from a question or a passage renders live.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) and is followed
# by whitespace and an upper-case letter, digit, quote or bracket. Common abbreviations and
# legal pinpoints ("s. 12", "e.g. a", "No. 3") do not end a sentence.
_END_RE = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9£])")
_ABBREVIATIONS = (
    "e.g", "i.e", "etc", "cf", "s", "ss", "reg", "regs", "para", "paras", "no", "nos", "art", "arts",
    "sch", "pt", "ch", "mr", "mrs", "ms", "dr", "prof", "st", "vol", "p", "pp", "v", "vs", "c", "inc",
    "ltd", "co", "sec", "fig", "approx", "min", "max", "govt", "dept",
)
_ABBREV_RE = re.compile(r"(?:^|[\s(])(" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")$", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")
_MARKER_RE = re.compile(r"\[(\d+)\]")


def flat(text: str) -> str:
    """Collapse runs of whitespace (line breaks included) to one space."""
    return _WS_RE.sub(" ", text).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`; `text[start:end]` is the sentence, verbatim."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END_RE.finditer(text):
        end = match.end()
        head = text[start : match.start()]
        if _ABBREV_RE.search(head) or re.search(r"\b[A-Z]$", head):  # "s. 12", "J. Smith"
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


@lru_cache(maxsize=4096)
def _cached_sentences(text: str) -> tuple[str, ...]:
    return tuple(text[s:e] for s, e in sentence_spans(text))


def sentences(text: str) -> list[str]:
    """The sentences of `text`, each a verbatim substring of it."""
    return list(_cached_sentences(text))


def markers(text: str) -> list[int]:
    """The `[n]` citation markers in `text`, in order of appearance (repeats kept)."""
    return [int(m) for m in _MARKER_RE.findall(text)]


def first_use_order(text: str) -> list[int]:
    """Distinct markers in order of first use."""
    seen: list[int] = []
    for m in markers(text):
        if m not in seen:
            seen.append(m)
    return seen


# --- safety -------------------------------------------------------------------------------------

_MD_SPECIAL_RE = re.compile(r"([\\`*_\[\]!<>#|~])")
_URL_RE = re.compile(r"\b(https?|ftp|javascript|data|vbscript):", re.IGNORECASE)
_SCRIPT_URL_RE = re.compile(r"\b(javascript|data|vbscript):", re.IGNORECASE)


def escape_html(text: str) -> str:
    """HTML-escape (&, <, >, quotes)."""
    return html.escape(text, quote=True)


def safe_inline(text: str) -> str:
    """Untrusted text made inert inside Markdown: no HTML, no links, no images, no emphasis tricks.

    HTML is escaped to entities; Markdown punctuation that can build links, images, code or
    headings is backslash-escaped; a bare URL scheme is broken (`https\\:`) so auto-linking does
    not make it clickable. Whitespace is collapsed to one line.
    """
    text = flat(text)
    text = html.escape(text, quote=False)  # & < > (the Markdown escapes below then skip < and >)
    text = _MD_SPECIAL_RE.sub(lambda m: "\\" + m.group(1) if m.group(1) not in "<>" else m.group(1), text)
    return _URL_RE.sub(lambda m: m.group(1) + "\\:", text)


def safe_passage_sentence(text: str) -> str:
    """A corpus sentence for the answer body: HTML escaped, links/images defused, one line.

    Lighter than `safe_inline` so ordinary punctuation in legal text stays readable: only what
    could render as HTML, a link or an image is escaped.
    """
    text = flat(text)
    text = html.escape(text, quote=False)
    text = text.replace("](", "]\\(").replace("![", "!\\[")
    text = re.sub(r"\[(\d+)\]", r"(\1)", text)  # a "[3]" in a passage must not look like our marker
    return _SCRIPT_URL_RE.sub(lambda m: m.group(1) + "\\:", text)
