"""The Gradio app officers use every day: chat, sources, recommendation card, browse, record.

Everything that answers a question goes through `assistant.pipeline.ask`. The "Browse the
sources" tab reads the passage index and hybrid search directly (read-only): it does not ask the
assistant anything. All text from the corpus or from a question that ends up in HTML is escaped
here; Markdown links and images in a question are never rendered live.

`build_app(settings) -> gr.Blocks` builds the UI; `launch_options(settings)` gives the keyword
arguments for `Blocks.launch` (bind address, port, optional basic auth, CSS and the small script
that opens a source when its `[n]` marker is clicked).
"""

from __future__ import annotations

import datetime as dt
import html
import inspect
import json
import logging
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from assistant.config import Settings, get_settings
from assistant.contracts import Answer
from rules.engine import MODEL_LABELS

log = logging.getLogger(__name__)

# --- labels ---------------------------------------------------------------------------------

SOURCE_TYPES: dict[str, str] = {
    "toolkit": "Toolkit",
    "legal": "Legal",
    "case_study": "Case studies",
    "user": "Your documents",
}
ROUTES: dict[str, str] = {
    "competition": "Competition",
    "collaboration": "Collaboration",
    "mixed": "Mixed: collaboration run through a competitive procedure",
    "undetermined": "Not yet determined",
}
ROUTE_HELP: dict[str, str] = {
    "competition": "Buy through competition: a clear specification, competitive tension, the council as market manager.",
    "collaboration": "Commission through collaboration: shared goals, an emergent process, the council as system steward.",
    "mixed": "Some facts point each way: a collaborative model, run through a compliant competitive procedure.",
    "undetermined": "The assistant needs more facts before it can recommend a route. Answer the questions below, or set the facts yourself.",
}
MODELS = MODEL_LABELS
FLAG_KINDS: dict[str, str] = {
    "duty": "Duty",
    "option": "Option",
    "needs_information": "Needs information",
    "note": "Note",
}
ORIGINS: dict[str, str] = {
    "extracted": "from your question",
    "officer": "set by you",
    "earlier_turn": "from an earlier question",
}
EXAMPLES: list[str] = [
    "We want several local providers to work together on a homelessness service with shared goals. How should we commission it?",
    "Our community wants to hold land for affordable homes for the long term. What are our options?",
    "When does the Procurement Act 2023 allow a direct award?",
    "What did Plymouth do with its complex needs alliance?",
]
EMPTY_STATE = """### Ask about commissioning for social value

I answer from the **Social Value Toolkit**, UK **procurement law** (Procurement Act 2023, the
Provider Selection Regime, the Social Value Act and related guidance) and **case studies** of
what councils have done. Every sentence cites its source.

Describe what you want to commission and I will recommend **competition or collaboration**, with
the models that fit and the legal points to check. Or ask what the law or the toolkit says.

I do not give legal advice: check the sources with your legal team."""

UNKNOWN = ""  # the value of a fact control when the fact is not known
MAX_EXPORT_NAME = 40

CSS = """
.svt-card { border: 1px solid #c8ccd4; border-radius: 8px; padding: 12px 14px; background: #ffffff; color: #1b1f24; }
.svt-card h3 { margin: 0 0 6px 0; font-size: 1.05rem; color: #1b1f24; }
.svt-route { display: inline-block; padding: 4px 10px; border-radius: 6px; font-weight: 700; font-size: 1.1rem; }
.svt-route-competition { background: #dbe9ff; color: #0b3a7a; }
.svt-route-collaboration { background: #d9f2df; color: #145a2a; }
.svt-route-mixed { background: #fff0c7; color: #5c4100; }
.svt-route-undetermined { background: #eceef1; color: #2b3038; }
.svt-card table { border-collapse: collapse; width: 100%; margin-top: 6px; font-size: 0.92rem; }
.svt-card th, .svt-card td { border-bottom: 1px solid #dfe2e6; text-align: left; padding: 4px 6px; vertical-align: top; color: #1b1f24; }
.svt-card th { background: #f3f4f6; }
.svt-origin-officer { font-weight: 700; color: #5b2a86; }
.svt-muted { color: #4a515b; }
.svt-flag { margin: 4px 0; padding: 4px 8px; border-left: 4px solid #b35c00; background: #fff7ec; color: #1b1f24; }
.svt-source { border: 1px solid #c8ccd4; border-radius: 8px; margin: 8px 0; background: #ffffff; color: #1b1f24; }
.svt-source > summary { cursor: pointer; padding: 8px 10px; font-weight: 600; color: #1b1f24; }
.svt-source > summary:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.svt-source .svt-source-body { padding: 0 10px 10px 10px; }
.svt-passage { white-space: pre-wrap; font-size: 0.93rem; line-height: 1.45; border-left: 3px solid #c8ccd4; padding-left: 10px; margin: 6px 0; color: #1b1f24; }
mark.svt-quote { background: #ffe36e; color: #111111; padding: 0 2px; }
.svt-badge { display: inline-block; font-size: 0.78rem; padding: 1px 6px; border-radius: 4px; background: #eceef1; color: #2b3038; margin-left: 6px; font-weight: 600; }
.svt-source-flash { box-shadow: 0 0 0 3px #1a5fb4; }
.svt-card a, .svt-source a { color: #0b4fa8; text-decoration: underline; }
"""

# Clicking a `[n]` marker in the chat opens that source in the sources panel.
HEAD = """
<script>
document.addEventListener('click', function (event) {
  var link = event.target && event.target.closest ? event.target.closest('a') : null;
  if (!link) return;
  var match = (link.getAttribute('href') || '').match(/#source-(\\d+)$/);
  if (!match) return;
  event.preventDefault();
  event.stopPropagation();
  var item = document.getElementById('source-' + match[1]);
  if (!item) return;
  item.open = true;
  item.scrollIntoView({block: 'start'});
  item.classList.add('svt-source-flash');
  setTimeout(function () { item.classList.remove('svt-source-flash'); }, 1500);
  var summary = item.querySelector('summary');
  if (summary) summary.focus({preventScroll: true});
}, true);
</script>
"""

# --- the assistant (one per process, loaded in the background at start) --------------------

_LOCK = threading.Lock()
# A recommendation that names models and asks about the law takes every path of the pipeline, so
# everything it loads lazily is loaded before the first officer's question.
WARM_UP_QUESTION = (
    "Providers share our goals and the value will emerge through an iterative process; "
    "how should we commission a day service, and what does the law say?"
)


def _assistant():
    """The process-wide Assistant, built once (the first build indexes the corpus)."""
    from assistant.pipeline import get_assistant

    with _LOCK:
        return get_assistant()


def _warm_up() -> None:
    try:
        assistant = _assistant()
        assistant.search.bm25  # noqa: B018 - build the BM25 index before the first question
        from assistant.understand import warm_up

        warm_up()
        if "record" in inspect.signature(assistant.ask).parameters:
            # One unrecorded question loads what the pipeline builds lazily (lexicons, vectors).
            with _LOCK:
                assistant.ask(WARM_UP_QUESTION, record=False)
        print(f"Assistant ready: {len(assistant.index.passages)} passages, corpus version {assistant.index.version}.", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - the first question reports the error to the officer
        log.exception("warming up the assistant failed")


def _call_ask(question: str, facts: dict[str, Any] | None, earlier: dict[str, Any] | None, source_type: str | None) -> Answer:
    """`assistant.pipeline.ask`, passing only the keywords its signature takes."""
    from assistant import pipeline

    _assistant()  # wait for the warm-up rather than building a second Assistant
    params = inspect.signature(pipeline.ask).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, Any] = {}
    if earlier and ("earlier_facts" in params or takes_kwargs):
        kwargs["earlier_facts"] = earlier
    if source_type:
        kwargs["source_type"] = source_type
    return pipeline.ask(question, facts or None, **kwargs)


def _question_error() -> type[Exception]:
    from assistant.pipeline import QuestionError

    return QuestionError


# --- escaping -------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_escape(text: str) -> str:
    """Text shown literally by a Markdown renderer: no links, images, HTML or emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


_MARKER = re.compile(r"\[(\d{1,3})\]")


def answer_markdown(text: str, markers: set[int]) -> str:
    """The pipeline's Markdown answer, made safe: HTML escaped, links and images neutralised,
    and each known `[n]` marker turned into a link that opens source n."""
    safe = html.escape(text, quote=False)
    safe = safe.replace("![", "!\\[").replace("](", "]\\(").replace("://", ":&#47;&#47;")

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]](#source-{n})" if n in markers else match.group(0)

    return _MARKER.sub(link, safe)


def _attr(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url) else None


def highlight(text: str, quote: str) -> str:
    """Passage text, HTML-escaped, with the quoted span wrapped in <mark> (whitespace-tolerant)."""
    words = quote.split()
    if words:
        pattern = r"\s+".join(re.escape(w) for w in words)
        found = re.search(pattern, text)
        if found:
            return (
                html.escape(text[: found.start()])
                + '<mark class="svt-quote">'
                + html.escape(text[found.start() : found.end()])
                + "</mark>"
                + html.escape(text[found.end() :])
            )
    return html.escape(text)


# --- fact values ----------------------------------------------------------------------------


def _facts_schema() -> dict[str, Any]:
    from rules.facts import FACTS

    return FACTS


def value_text(value: Any) -> str:
    """A fact value as the text a control holds (stable, schema-typed)."""
    if value is None:
        return UNKNOWN
    try:
        from rules.facts import fact_value_text

        return fact_value_text(value)
    except Exception:  # noqa: BLE001
        return str(value).lower() if isinstance(value, bool) else str(value)


def value_label(name: str, value: Any) -> str:
    """A fact value in plain words for the card."""
    text = value_text(value)
    spec = _facts_schema().get(name)
    if spec is not None and spec.kind == "bool":
        return {"true": "yes", "false": "no"}.get(text, text)
    if spec is not None and spec.kind == "number" and name.endswith("_gbp"):
        try:
            return f"£{float(text):,.0f}"
        except ValueError:
            return text
    return text.replace("_", " ")


def _fact_dict(fact: Any) -> dict[str, Any]:
    if hasattr(fact, "model_dump"):
        return fact.model_dump()
    if isinstance(fact, dict):
        return fact
    return {"value": fact}


def fact_controls() -> list[gr.components.Component]:
    """One control per fact in rules/facts.py, in schema order (render inside a Blocks)."""
    controls = []
    for name, spec in _facts_schema().items():
        info = spec.question
        elem_id = f"fact-{name}"
        if spec.kind == "enum":
            choices = [("not known", UNKNOWN)] + [(v.replace("_", " "), v) for v in spec.values]
            control = gr.Dropdown(choices=choices, value=UNKNOWN, label=spec.label, info=info, elem_id=elem_id, interactive=True)
        elif spec.kind == "bool":
            choices = [("not known", UNKNOWN), ("yes", "true"), ("no", "false")]
            control = gr.Dropdown(choices=choices, value=UNKNOWN, label=spec.label, info=info, elem_id=elem_id, interactive=True)
        elif spec.kind == "number":
            control = gr.Textbox(value=UNKNOWN, label=spec.label, info=info + " Leave blank if not known.", elem_id=elem_id, max_lines=1)
        else:
            control = gr.Textbox(value=UNKNOWN, label=spec.label, info=info + " As YYYY-MM-DD; blank if not known.", elem_id=elem_id, max_lines=1)
        controls.append(control)
    return controls


# --- conversation state ---------------------------------------------------------------------


def new_conversation() -> dict[str, Any]:
    """Per-session state: nothing carries over from another conversation or user."""
    return {
        "facts": {},  # name -> FactValue as JSON (value, evidence, origin), after the last answer
        "officer": {},  # name -> value text (or None = cleared) the officer set in the card
        "earlier": {},  # the earlier facts the last question was asked with (for a re-run)
        "last_question": None,
        "last_source_type": None,
        "answer": None,  # the last Answer, as a JSON-safe dict
        "export_dir": None,
        "turns": 0,  # answers given in this conversation (the status line counts them)
    }


def understood_facts(answer: Answer) -> dict[str, dict[str, Any]]:
    """The answer's facts as JSON-safe FactValue dicts (what a follow-up passes as earlier facts)."""
    return {name: f.model_dump(mode="json") for name, f in answer.facts.items() if f.value is not None}


def fact_texts(facts: dict[str, Any]) -> dict[str, str]:
    """name -> the value text a fact control holds."""
    return {name: value_text(_fact_dict(f).get("value")) for name, f in facts.items()}


# --- rendering ------------------------------------------------------------------------------


def _item_text(item: Any, keys: tuple[str, ...]) -> str:
    if isinstance(item, dict):
        for key in keys:
            if item.get(key):
                return str(item[key])
        return "; ".join(f"{k}: {v}" for k, v in item.items() if v not in (None, "", [], {}))
    return str(item)


def _model_name(item: Any) -> str:
    name = _item_text(item, ("model", "name", "id"))
    return MODELS.get(name, name.replace("_", " "))


def render_card(answer: dict[str, Any] | None, officer: dict[str, Any] | None = None) -> str:
    """The recommendation card: route, ranked models, legal flags, facts with their words, trace."""
    if not answer:
        return (
            '<div class="svt-card" id="svt-card"><h3>Recommendation</h3>'
            '<p class="svt-muted">Ask how to commission something and the recommendation appears here: '
            "the route, the models that fit, the legal points to check, and the facts it rests on, "
            "which you can correct.</p></div>"
        )
    officer = officer or {}
    schema = _facts_schema()
    rec = answer.get("recommendation")
    parts = ['<div class="svt-card" id="svt-card">']
    if rec:
        route = str(rec.get("route") or "undetermined")
        parts.append("<h3>Recommendation</h3>")
        parts.append(
            f'<p>Route: <span class="svt-route svt-route-{_attr(route)}" id="svt-route" data-route="{_attr(route)}">'
            f"{html.escape(ROUTES.get(route, route))}</span></p>"
        )
        parts.append(f'<p class="svt-muted">{html.escape(ROUTE_HELP.get(route, ""))}</p>')
        scores = rec.get("scores")
        if isinstance(scores, dict) and "competition" in scores and "collaboration" in scores:
            parts.append(
                f'<p class="svt-muted">Weight of the facts: competition {html.escape(str(scores["competition"]))}, '
                f'collaboration {html.escape(str(scores["collaboration"]))}.</p>'
            )
        models = rec.get("models") or []
        if models:
            parts.append("<p><strong>Models that fit, best first</strong></p><ol>")
            for item in models:
                why = _item_text(item, ("because", "why", "reason", "summary")) if isinstance(item, dict) and any(k in item for k in ("why", "reason", "because", "summary")) else ""
                parts.append(f"<li><strong>{html.escape(_model_name(item))}</strong>" + (f'<br><span class="svt-muted">{html.escape(why)}</span>' if why else "") + "</li>")
            parts.append("</ol>")
        flags = rec.get("legal_flags") or []
        if flags:
            parts.append("<p><strong>Legal points to check</strong></p>")
            for flag in flags:
                kind = FLAG_KINDS.get(flag.get("kind"), "") if isinstance(flag, dict) else ""
                prefix = f"<strong>{html.escape(kind)}:</strong> " if kind else ""
                parts.append(f'<div class="svt-flag">{prefix}{html.escape(_item_text(flag, ("message", "text", "summary", "flag", "id")))}</div>')
        missing = rec.get("missing") or []
        questions = [str(q) for q in answer.get("clarifying_questions") or []]
        if not questions:  # the facts that could change the route first, at most three
            ranked = sorted(missing, key=lambda m: not (isinstance(m, dict) and m.get("could_flip")))
            for m in ranked[:3]:
                if isinstance(m, str):
                    questions.append(schema[m].question if m in schema else m)
                else:
                    questions.append(_item_text(m, ("question", "fact", "name")))
        if questions:
            parts.append("<p><strong>To firm this up, tell me</strong></p><ul>")
            parts += [f"<li>{html.escape(q)}</li>" for q in questions]
            parts.append("</ul>")
        others = len(missing) - len(questions)
        if missing and others > 0:
            parts.append(f'<p class="svt-muted">{others} other fact(s) are not known; you can set them under "Correct the facts and re-run".</p>')
    else:
        parts.append("<h3>Facts understood</h3>")
        parts.append('<p class="svt-muted">This question asked for information, so no route was recommended.</p>')

    facts = answer.get("facts") or {}
    contested = (rec or {}).get("contested_evidence") or {}
    if facts or officer or contested:
        parts.append('<table id="svt-facts" aria-label="Facts the assistant understood"><thead><tr><th scope="col">Fact</th><th scope="col">Value</th><th scope="col">From</th></tr></thead><tbody>')
        for name, spec in schema.items():
            if name in contested and name not in facts:
                # described both ways: both sides counted until the officer sets it below
                said = "; ".join(f"{html.escape(value_label(name, fv.get('value')))}: <q>{html.escape(str(fv.get('evidence') or ''))}</q>"
                                 for fv in contested[name])
                parts.append(
                    f'<tr data-fact="{_attr(name)}" data-origin="contested"><td>{html.escape(spec.label)}</td>'
                    f"<td>both sides described (set it to settle)</td><td>your question: {said}</td></tr>"
                )
                continue
            if name not in facts:
                continue
            fact = _fact_dict(facts[name])
            origin = fact.get("origin") or "extracted"
            if name in officer and officer[name] is not None and value_text(fact.get("value")) == officer[name]:
                origin = "officer"
            evidence = fact.get("evidence")
            if origin == "officer":
                source = '<span class="svt-origin-officer">set by you</span>'
            else:
                source = html.escape(ORIGINS.get(origin, origin))
                if evidence:
                    source += f": <q>{html.escape(str(evidence))}</q>"
            parts.append(
                f'<tr data-fact="{_attr(name)}" data-origin="{_attr(origin)}"><td>{html.escape(spec.label)}</td>'
                f"<td>{html.escape(value_label(name, fact.get('value')))}</td><td>{source}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="svt-muted">No situation facts were found in the question.</p>')

    if rec:
        trace = rec.get("rule_trace") or rec.get("trace") or []
        version = rec.get("ruleset_version")
        parts.append('<details id="svt-trace"><summary>Show the rule trace</summary>')
        if version:
            parts.append(f'<p class="svt-muted">Ruleset version {html.escape(str(version))}</p>')
        parts.append(render_trace(trace))
        parts.append("</details>")
    if answer.get("audit_id"):
        parts.append(f'<p class="svt-muted">Audit record: <code id="svt-audit-id">{html.escape(str(answer["audit_id"]))}</code></p>')
    parts.append("</div>")
    return "".join(parts)


def render_trace(trace: list[Any]) -> str:
    """The rules that fired (with their reasons), then the ones that did not, collapsed."""
    fired, idle = [], []
    for step in trace:
        if isinstance(step, dict) and "rule" in step:
            values = ", ".join(f"{k} = {v}" for k, v in (step.get("values") or {}).items())
            line = (
                f"<code>{html.escape(str(step['rule']))}</code>"
                + (f" ({html.escape(values)})" if values else "")
                + (f": {html.escape(str(step.get('effect')))}" if step.get("effect") else "")
                + (f'<br><span class="svt-muted">{html.escape(str(step.get("because")))}</span>' if step.get("because") else "")
            )
            (fired if step.get("fired") else idle).append(line)
        else:
            fired.append(html.escape(_item_text(step, ()) if isinstance(step, dict) else str(step)))
    out = [f"<p><strong>{len(fired)} rule(s) fired</strong></p><ol>"] + [f"<li>{x}</li>" for x in fired] + ["</ol>"]
    if idle:
        out += [f"<details><summary>{len(idle)} rule(s) did not fire</summary><ul>"] + [f"<li>{x}</li>" for x in idle] + ["</ul></details>"]
    return "".join(out)


def render_sources(answer: dict[str, Any] | None, shown_types: list[str] | None) -> str:
    """The sources panel: one expandable entry per citation, the quote highlighted."""
    if not answer or not answer.get("citations"):
        return '<div id="svt-sources"><p class="svt-muted">The sources of each answer appear here. Click a marker such as [1] in the answer to open its source.</p></div>'
    shown = set(shown_types or SOURCE_TYPES)
    try:
        by_id = _assistant().index.by_id
    except Exception:  # noqa: BLE001 - the panel still lists the citation without its passage
        by_id = {}
    parts = ['<div id="svt-sources">']
    hidden = 0
    for c in answer["citations"]:
        if c.get("source_type") not in shown:
            hidden += 1
            continue
        n = int(c["marker"])
        passage = by_id.get(c.get("passage_id"))
        kind = SOURCE_TYPES.get(c.get("source_type"), str(c.get("source_type")))
        parts.append(
            f'<details class="svt-source" id="source-{n}" data-source-type="{_attr(c.get("source_type"))}">'
            f"<summary>[{n}] {html.escape(c.get('title') or '')}"
            + (f": {html.escape(passage.heading)}" if passage is not None and passage.heading != c.get("title") else "")
            +
            f'<span class="svt-badge">{html.escape(kind)}</span></summary><div class="svt-source-body">'
        )
        if passage is not None:
            parts.append(f"<p><strong>Source document:</strong> {html.escape(passage.source)}</p>")
        parts.append(f"<p><strong>Reference:</strong> {html.escape(c.get('reference') or '')}</p>")
        url = _safe_url(c.get("url"))
        if url:
            parts.append(f'<p><a href="{_attr(url)}" target="_blank" rel="noopener noreferrer">Open the original (new tab)</a></p>')
        text = passage.text if passage is not None else c.get("quote", "")
        parts.append(f'<div class="svt-passage" aria-label="Passage text">{highlight(text, c.get("quote") or "")}</div>')
        parts.append("</div></details>")
    if hidden:
        parts.append(f'<p class="svt-muted">{hidden} source(s) hidden by the filter.</p>')
    parts.append("</div>")
    return "".join(parts)


def render_passage(passage: Any) -> str:
    """One passage, whole, with its reference and link (the Browse tab's reader)."""
    if passage is None:
        return '<div id="svt-reader"><p class="svt-muted">Choose a passage to read it whole.</p></div>'
    url = _safe_url(passage.url)
    heading = " > ".join(passage.heading_path)
    return (
        f'<div class="svt-card" id="svt-reader"><h3>{html.escape(passage.title)}</h3>'
        + (f'<p class="svt-muted">{html.escape(heading)}</p>' if heading else "")
        + f"<p><strong>Source document:</strong> {html.escape(passage.source)}"
        f'<span class="svt-badge">{html.escape(SOURCE_TYPES.get(passage.source_type, passage.source_type))}</span></p>'
        f"<p><strong>Reference:</strong> {html.escape(passage.reference)}</p>"
        f"<p><strong>Passage id:</strong> <code>{html.escape(passage.id)}</code> (as of {html.escape(passage.as_of)})</p>"
        + (f'<p><a href="{_attr(url)}" target="_blank" rel="noopener noreferrer">Open the original (new tab)</a></p>' if url else "")
        + f'<div class="svt-passage">{html.escape(passage.text)}</div></div>'
    )


# --- the record: Markdown and JSON ----------------------------------------------------------


def answer_to_markdown(answer: dict[str, Any]) -> str:
    """A file note: the question, the answer with its citations, the decision, the audit id."""
    lines = [
        "# Social Value Commissioning Assistant: file note",
        "",
        f"- Date: {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- Audit id: {answer.get('audit_id') or 'not recorded'}",
        f"- Corpus version: {answer.get('corpus_version')}",
    ]
    rec = answer.get("recommendation")
    if rec and rec.get("ruleset_version"):
        lines.append(f"- Ruleset version: {rec['ruleset_version']}")
    lines += ["", "## Question", "", answer.get("question", ""), "", "## Answer", "", answer.get("answer", ""), ""]
    if rec:
        route = str(rec.get("route") or "undetermined")
        lines += ["## Recommendation", "", f"- Route: **{ROUTES.get(route, route)}**"]
        for i, model in enumerate(rec.get("models") or [], start=1):
            lines.append(f"- Model {i}: {_model_name(model)}")
        for flag in rec.get("legal_flags") or []:
            lines.append(f"- Legal point: {_item_text(flag, ('message', 'text', 'summary', 'flag', 'id'))}")
        lines.append("")
    facts = answer.get("facts") or {}
    if facts:
        lines += ["## Facts", "", "| Fact | Value | From |", "|---|---|---|"]
        schema = _facts_schema()
        for name, fact in facts.items():
            fact = _fact_dict(fact)
            origin = ORIGINS.get(fact.get("origin") or "extracted", fact.get("origin"))
            evidence = f': "{fact["evidence"]}"' if fact.get("evidence") else ""
            label = schema[name].label if name in schema else name
            lines.append(f"| {label} | {value_label(name, fact.get('value'))} | {origin}{evidence} |".replace("\n", " "))
        lines.append("")
    if answer.get("citations"):
        lines += ["## Sources", ""]
        for c in answer["citations"]:
            lines.append(f"[{c['marker']}] {c.get('title')}, {c.get('reference')}. {c.get('url')}  ")
            lines.append(f"    Quote: \"{c.get('quote')}\" (passage {c.get('passage_id')})")
        lines.append("")
    return "\n".join(lines)


def decision_to_json(answer: dict[str, Any]) -> str:
    payload = {
        "question": answer.get("question"),
        "audit_id": answer.get("audit_id"),
        "corpus_version": answer.get("corpus_version"),
        "intent": answer.get("intent"),
        "facts": answer.get("facts"),
        "recommendation": answer.get("recommendation"),
        "citations": answer.get("citations"),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def write_exports(conv: dict[str, Any], answer: dict[str, Any]) -> tuple[str, str]:
    folder = conv.get("export_dir")
    if not folder or not Path(folder).is_dir():
        folder = tempfile.mkdtemp(prefix="svt-export-")
        conv["export_dir"] = folder
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", str(answer.get("audit_id") or dt.datetime.now().strftime("%Y%m%d-%H%M%S")))[:MAX_EXPORT_NAME]
    md_path = Path(folder) / f"svt-answer-{stem}.md"
    json_path = Path(folder) / f"svt-decision-{stem}.json"
    md_path.write_text(answer_to_markdown(answer), encoding="utf-8")
    json_path.write_text(decision_to_json(answer), encoding="utf-8")
    return str(md_path), str(json_path)


# --- handlers -------------------------------------------------------------------------------

FRIENDLY_FAILURE = (
    "Sorry, something went wrong on our side while answering. Please try again; "
    "if it keeps happening, tell the team that runs the assistant (the error has been logged)."
)


def _chunks(text: str, most: int = 8) -> list[str]:
    """The answer in at most `most` growing prefixes, cut at line ends, for progressive display."""
    ends = [m.end() for m in re.finditer(r"\n", text)] + [len(text)]
    step = max(1, -(-len(ends) // most))
    cuts = ends[step - 1 :: step]
    if cuts[-1] != len(text):
        cuts.append(len(text))
    return [text[:cut] for cut in cuts]


class Handlers:
    """Event handlers; closed over the settings and the fact controls' schema order."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.fact_names = list(_facts_schema())

    # outputs: state, chatbot, question, status, card, sources, dl_md, dl_json, feedback_status, *controls

    def _controls(self, facts: dict[str, str]) -> list[Any]:
        return [gr.update(value=facts.get(name, UNKNOWN)) for name in self.fact_names]

    def _skip_rest(self) -> list[Any]:
        return [gr.skip()] * (5 + len(self.fact_names))

    def _run(
        self,
        conv: dict[str, Any],
        history: list[dict[str, Any]],
        question: str,
        officer: dict[str, Any],
        earlier: dict[str, Any],
        source_type: str | None,
        shown_types: list[str],
        intro: str = "",
    ) -> Iterator[list[Any]]:
        working = history + [{"role": "assistant", "content": "_Working on it: reading your question, applying the rules, searching the toolkit, legal and case-study passages…_"}]
        yield [conv, working, "", "Working…"] + self._skip_rest()
        started = time.perf_counter()
        try:
            answer = _call_ask(question, {k: v for k, v in officer.items() if v is not None}, earlier, source_type)
        except _question_error() as exc:
            done = history + [{"role": "assistant", "content": md_escape(str(exc))}]
            yield [conv, done, gr.skip(), md_escape(str(exc))] + self._skip_rest()
            return
        except Exception:  # noqa: BLE001 - never show a traceback to the officer
            log.exception("ask failed")
            done = history + [{"role": "assistant", "content": FRIENDLY_FAILURE}]
            yield [conv, done, gr.skip(), FRIENDLY_FAILURE] + self._skip_rest()
            return
        elapsed = time.perf_counter() - started
        data = answer.model_dump(mode="json")
        markers = {c.marker for c in answer.citations}
        text = intro + answer_markdown(answer.answer, markers)
        for partial in _chunks(text)[:-1]:
            yield [conv, history + [{"role": "assistant", "content": partial}], gr.skip(), "Writing the answer…"] + self._skip_rest()
            time.sleep(0.02)
        understood = understood_facts(answer)
        conv = {
            **conv,
            "facts": understood,
            "officer": officer,
            "earlier": earlier,
            "last_question": question,
            "last_source_type": source_type,
            "answer": data,
            "turns": int(conv.get("turns") or 0) + 1,
        }
        md_path, json_path = write_exports(conv, data)
        done = history + [{"role": "assistant", "content": text}]
        status = f"Answer {conv['turns']} of this conversation, in {elapsed:.1f} s." + (f" Audit id {answer.audit_id}." if answer.audit_id else "")
        yield [
            conv,
            done,
            gr.skip(),
            md_escape(status),
            render_card(data, officer),
            render_sources(data, shown_types),
            gr.update(value=md_path, visible=True),
            gr.update(value=json_path, visible=True),
            gr.update(value="", visible=False),
        ] + self._controls(fact_texts(understood))

    def respond(self, message: str, source_choice: str, shown_types: list[str], conv: dict[str, Any], history: list[dict[str, Any]]):
        conv = conv or new_conversation()
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            hint = "Please type a question first. For example: *" + md_escape(EXAMPLES[0]) + "*"
            yield [conv, history + [{"role": "assistant", "content": hint}], "", "Please type a question first."] + self._skip_rest()
            return
        if len(message) > self.settings.max_question_chars:
            hint = f"That question is {len(message)} characters long; please keep it under {self.settings.max_question_chars}."
            yield [conv, history + [{"role": "assistant", "content": hint}], gr.skip(), hint] + self._skip_rest()
            return
        history = history + [{"role": "user", "content": md_escape(message)}]
        # Follow-ups: the facts understood so far carry over (the officer's own settings win).
        earlier = {k: v for k, v in (conv.get("facts") or {}).items() if k not in (conv.get("officer") or {})}
        officer = dict(conv.get("officer") or {})
        source_type = source_choice or None
        yield from self._run(conv, history, message, officer, earlier, source_type, shown_types)

    def rerun(self, conv: dict[str, Any], history: list[dict[str, Any]], shown_types: list[str], *values: Any):
        conv = conv or new_conversation()
        history = list(history or [])
        if not conv.get("last_question"):
            msg = "Ask a question first; then you can correct the facts and re-run it."
            yield [conv, history, gr.skip(), msg] + self._skip_rest()
            return
        understood = fact_texts(conv.get("facts") or {})
        officer = dict(conv.get("officer") or {})
        earlier = dict(conv.get("earlier") or {})
        set_now: dict[str, str] = {}
        cleared: list[str] = []
        for name, value in zip(self.fact_names, values):
            value = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
            if value == understood.get(name, UNKNOWN):
                continue
            if value:
                set_now[name] = value
            else:
                cleared.append(name)
        try:
            from rules.facts import validate_facts

            validate_facts(set_now)
        except ValueError as exc:
            msg = f"Please check the facts: {exc}"
            yield [conv, history, gr.skip(), md_escape(msg)] + self._skip_rest()
            return
        officer.update(set_now)
        for name in cleared:  # "not known": forget the officer's value and the earlier turn's
            officer.pop(name, None)
            earlier.pop(name, None)
        schema = _facts_schema()
        changes = [f"{schema[k].label.lower()}: {value_label(k, v)}" for k, v in set_now.items()]
        changes += [f"{schema[k].label.lower()}: not known" for k in cleared]
        intro = f"_Re-run with the facts you set ({md_escape('; '.join(changes) or 'no changes')})._\n\n"
        yield from self._run(conv, history, conv["last_question"], officer, earlier, conv.get("last_source_type"), shown_types, intro=intro)

    def clear(self):
        conv = new_conversation()
        return [
            conv,
            [],
            "",
            "New conversation: nothing carries over from the last one.",
            render_card(None),
            render_sources(None, None),
            gr.update(value=None, visible=False),
            gr.update(value=None, visible=False),
            gr.update(value="", visible=False),
        ] + self._controls({})

    @staticmethod
    def refilter(conv: dict[str, Any], shown_types: list[str]) -> str:
        return render_sources((conv or {}).get("answer"), shown_types)

    @staticmethod
    def feedback(conv: dict[str, Any], verdict: str | None, comment: str):
        answer = (conv or {}).get("answer")
        if not answer:
            return gr.update(value="Ask a question first; feedback is about an answer.", visible=True), comment
        if verdict not in ("helpful", "not_helpful"):
            return gr.update(value="Please choose helpful or not helpful.", visible=True), comment
        audit_id = answer.get("audit_id")
        if not audit_id:
            return gr.update(value="This answer has no audit record, so feedback cannot be stored with it.", visible=True), comment
        try:
            from assistant.audit import record_feedback

            record_feedback(audit_id, verdict == "helpful", (comment or "").strip())
        except Exception:  # noqa: BLE001
            log.exception("record_feedback failed")
            return gr.update(value="Sorry, the feedback could not be saved. Please try again.", visible=True), comment
        return gr.update(value=f"Thank you: your feedback is stored with audit record {md_escape(str(audit_id))}.", visible=True), ""


# --- browse ---------------------------------------------------------------------------------

BROWSE_LIMIT = 25


def browse(query: str, source_choice: str):
    """Search the corpus directly (read-only) and list the passages found."""
    source_type = source_choice or None
    query = (query or "").strip()
    try:
        assistant = _assistant()
    except Exception:  # noqa: BLE001
        log.exception("loading the index failed")
        return gr.update(choices=[], value=None), "Sorry, the sources could not be loaded. Please try again.", render_passage(None)
    if query:
        hits = assistant.search.search(query[:1000], k=BROWSE_LIMIT, source_type=source_type)
        passages = [h.passage for h in hits]
        note = f"{len(passages)} passage(s) best matching “{md_escape(query)}”" if passages else f"No passage matches “{md_escape(query)}”."
    else:
        passages = [p for p in assistant.index.passages if not source_type or p.source_type == source_type]
        passages.sort(key=lambda p: (p.title, p.reference))
        note = f"All {len(passages)} passages" + (f" of type {SOURCE_TYPES.get(source_type, source_type)}" if source_type else "") + "; type words to search."
    choices = [(f"{p.title}" + (f" › {p.heading}" if p.heading != p.title else "") + f" ({p.reference})", p.id) for p in passages]
    return gr.update(choices=choices, value=None), note, render_passage(None)


def read_passage(passage_id: str | None) -> str:
    if not passage_id:
        return render_passage(None)
    return render_passage(_assistant().index.by_id.get(passage_id))


# --- the app --------------------------------------------------------------------------------


def build_app(settings: Settings | None = None) -> gr.Blocks:
    """The whole UI. Launch it with `demo.launch(**launch_options(settings))`."""
    settings = settings or get_settings()
    handlers = Handlers(settings)
    threading.Thread(target=_warm_up, name="svt-warm-up", daemon=True).start()

    source_choices = [("All sources", "")] + [(label, key) for key, label in SOURCE_TYPES.items() if key != "user"]
    filter_choices = [(label, key) for key, label in SOURCE_TYPES.items()]

    with gr.Blocks(title="Social Value Commissioning Assistant") as demo:
        gr.Markdown("# Social Value Commissioning Assistant\nCited answers from the toolkit, the law and case studies, and a rules-based competition / collaboration recommendation.")
        conv = gr.State(new_conversation())
        with gr.Tabs():
            with gr.Tab("Ask the assistant", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="svt-chat",
                            height=520,
                            placeholder=EMPTY_STATE,
                            examples=[{"text": q, "display_text": q} for q in EXAMPLES],
                            feedback_options=None,
                            buttons=["copy"],
                            sanitize_html=True,
                            group_consecutive_messages=False,  # a re-run is its own answer
                        )
                        question = gr.Textbox(
                            label="Your question",
                            placeholder="e.g. We want providers to work together on a shared goal. Competition or collaboration?",
                            info="Press Enter or Send to ask.",
                            lines=1,  # one line grows as you type; Enter sends (Gradio sends on Shift+Enter when lines > 1)
                            max_lines=8,
                            elem_id="svt-question",
                            submit_btn=False,
                        )
                        with gr.Row():
                            send = gr.Button("Send", variant="primary", elem_id="svt-send", scale=2)
                            new = gr.Button("New conversation", elem_id="svt-new", scale=1)
                            answer_from = gr.Dropdown(choices=source_choices, value="", label="Answer from", elem_id="svt-answer-from", scale=2)
                        status = gr.Markdown("", elem_id="svt-status")
                        with gr.Row():
                            dl_md = gr.DownloadButton("Download answer (Markdown)", visible=False, elem_id="svt-dl-md")
                            dl_json = gr.DownloadButton("Download decision (JSON)", visible=False, elem_id="svt-dl-json")
                        with gr.Accordion("Was this answer helpful?", open=False, elem_id="svt-feedback"):
                            verdict = gr.Radio(choices=[("Helpful", "helpful"), ("Not helpful", "not_helpful")], label="Your verdict", elem_id="svt-verdict")
                            comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="svt-comment")
                            send_feedback = gr.Button("Send feedback", elem_id="svt-send-feedback")
                            feedback_status = gr.Markdown("", visible=False, elem_id="svt-feedback-status")
                    with gr.Column(scale=5):
                        card = gr.HTML(render_card(None), elem_id="svt-card-wrap")
                        with gr.Accordion("Correct the facts and re-run", open=False, elem_id="svt-correct"):
                            gr.Markdown("Change any fact the assistant got wrong, or add one it missed, then re-run. Facts you set are marked *set by you* and recorded as officer-set.")
                            rerun = gr.Button("Re-run with these facts", variant="primary", elem_id="svt-rerun")
                            controls = fact_controls()
                        gr.Markdown("### Sources")
                        shown = gr.CheckboxGroup(choices=filter_choices, value=list(SOURCE_TYPES), label="Show sources of type", elem_id="svt-source-filter")
                        sources = gr.HTML(render_sources(None, None), elem_id="svt-sources-wrap")

            with gr.Tab("Browse the sources", id="browse"):
                gr.Markdown("Search the toolkit, legal and case-study passages directly and read any passage whole. This does not ask the assistant.")
                with gr.Row():
                    query = gr.Textbox(label="Search the sources", placeholder="e.g. direct award, alliance, threshold", elem_id="svt-browse-query", scale=4, max_lines=1)
                    browse_type = gr.Dropdown(choices=source_choices, value="", label="Source type", elem_id="svt-browse-type", scale=2)
                    browse_btn = gr.Button("Search", variant="primary", elem_id="svt-browse-search", scale=1)
                browse_note = gr.Markdown("", elem_id="svt-browse-note")
                with gr.Row(equal_height=False):
                    results = gr.Radio(choices=[], label="Passages found (choose one to read it)", elem_id="svt-browse-results", scale=2)
                    reader = gr.HTML(render_passage(None), elem_id="svt-reader-wrap")

        outputs = [conv, chatbot, question, status, card, sources, dl_md, dl_json, feedback_status, *controls]
        ask_inputs = [question, answer_from, shown, conv, chatbot]
        send.click(handlers.respond, ask_inputs, outputs, concurrency_limit=2, concurrency_id="ask")
        question.submit(handlers.respond, ask_inputs, outputs, concurrency_limit=2, concurrency_id="ask")
        chatbot.example_select(_example_text, None, question).then(handlers.respond, ask_inputs, outputs, concurrency_limit=2, concurrency_id="ask")
        rerun.click(handlers.rerun, [conv, chatbot, shown, *controls], outputs, concurrency_limit=2, concurrency_id="ask")
        new.click(handlers.clear, None, outputs)
        shown.change(handlers.refilter, [conv, shown], sources)
        send_feedback.click(handlers.feedback, [conv, verdict, comment], [feedback_status, comment])
        browse_btn.click(browse, [query, browse_type], [results, browse_note, reader])
        query.submit(browse, [query, browse_type], [results, browse_note, reader])
        browse_type.change(browse, [query, browse_type], [results, browse_note, reader])
        results.change(read_passage, results, reader)
    demo.queue(default_concurrency_limit=4)
    return demo


def _example_text(evt: gr.SelectData) -> str:
    value = evt.value
    return value.get("text", "") if isinstance(value, dict) else str(value or "")


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`: bind address, port, optional basic auth, CSS, script."""
    settings = settings or get_settings()
    options: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "css": CSS,
        # Blue primary: white on blue-700 passes WCAG AA contrast (the default orange does not).
        "theme": gr.themes.Default(primary_hue=gr.themes.colors.blue, secondary_hue=gr.themes.colors.slate).set(
            button_primary_background_fill="*primary_700",
            button_primary_background_fill_hover="*primary_800",
            button_primary_text_color="white",
            block_info_text_color="*neutral_700",  # the fact questions under each control: readable grey
        ),
        "head": HEAD,
        "footer_links": [],
        "show_error": False,
    }
    if settings.auth_user and settings.auth_password:
        options["auth"] = (settings.auth_user, settings.auth_password)
        options["auth_message"] = "Sign in to the Social Value Commissioning Assistant."
    return options


def main(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    build_app(settings).launch(**launch_options(settings))
