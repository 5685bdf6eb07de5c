"""Optional: a LangChain chat model rewrites the deterministic answer for fluency, under a guard.

Runs only when `SVT_LLM` names a model (`ollama:llama3.1`, `openai:gpt-4o-mini`, or a bare
model name with `SVT_LLM_BASE_URL` for an OpenAI-compatible endpoint). Nothing here is imported
otherwise, and no LLM package is needed at run time without it.

The model sees the deterministic answer and the passages it cites, and may only rephrase. The
guard (`check_rewrite`) keeps the deterministic answer when the rewrite
  - changes the recommendation sentence (the route and the models it names come from the rules),
  - softens or hedges the route, or argues for another route,
  - adds or drops a commissioning model,
  - uses a `[n]` marker that has no citation,
  - has a sentence stating a fact with no marker,
  - is empty or drops most of the answer.
A timeout or an error from the model also falls back. Accepted rewrites have their markers
renumbered in order of first use and unused citations dropped, so markers always resolve.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from assistant.compose import RECOMMENDATION_PREFIX, Composed
from assistant.contracts import Citation, Passage
from assistant.text import first_use_order, flat, markers, sentences

MODEL_PATTERNS: dict[str, str] = {
    "open_procedure": r"open procedure",
    "competitive_flexible_procedure": r"competitive flexible procedure|flexible procedure",
    "public_commons_partnership": r"public[- ]commons? partnership|\bPCPs?\b",
    "alliance_contract": r"alliance contract|\balliances?\b|alliancing",
    "innovation_partnership": r"innovation partnership",
    "cooperative_contract": r"co-?operative contract|\bco-?operatives?\b",
    "community_land_trust": r"community land trusts?|\bCLTs?\b",
    "relational_imperatives": r"relational imperatives?",
    "direct_award": r"direct award",
    "framework": r"\bframeworks?\b|call-off",
}
HEDGES = (
    r"\bmight\b", r"\bperhaps\b", r"\bpossibly\b", r"\bpotentially\b", r"\barguably\b", r"\bprobably\b",
    r"\bmay (?:want|wish) to\b", r"\bcould consider\b", r"\bconsider whether\b", r"\bit depends\b",
    r"\bnot necessarily\b", r"\balternatively\b", r"\bmay or may not\b", r"\bnot (?:always|sure|clear)\b",
    r"\bit is unclear\b", r"\bcould also\b", r"\bmaybe\b", r"\bup to you\b",
)
ROUTE_WORDS = {
    "competition": r"\bcompetit\w*\b(?!\s+flexible)",
    "collaboration": r"\bcollaborat\w*",
    "mixed": r"\bmixed\b",
}
SYSTEM_PROMPT = """You edit answers for officers of UK councils so they read fluently in plain English.
Rules, all of which must be kept:
- Keep the first line (it starts with **Recommendation:**) exactly as it is.
- Keep the section headings and every [n] marker; each marker stays on the sentence it supports.
- Every sentence that states a fact must keep its [n] marker. Do not add facts, sources or markers.
- Use only the passages given. Do not mention any commissioning model the answer does not mention,
  and do not leave out any it mentions.
- Do not soften or hedge the recommendation and do not argue for a different route.
- Keep the questions at the end as questions.
Reply with the edited answer in Markdown only."""


@dataclass
class RewriteResult:
    """What happened to the rewrite, for the answer and for the audit record."""

    accepted: bool
    text: str
    citations: list[Citation]
    reason: str | None = None
    model: str | None = None
    rewrite: str | None = None
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)

    def audit(self) -> dict[str, Any]:
        return {"model": self.model, "accepted": self.accepted, "reason": self.reason, "rewrite": self.rewrite, "seconds": round(self.seconds, 3)}


def load_chat_model(settings: Any):
    """The configured LangChain chat model (temperature 0), or raise a clear error."""
    spec = (settings.llm or "").strip()
    if not spec:
        return None
    provider, _, name = spec.partition(":") if ":" in spec else ("", "", spec)
    if not provider:
        provider = "openai" if settings.llm_base_url else "ollama"
    kwargs: dict[str, Any] = {"temperature": 0}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    if provider == "openai":
        kwargs["api_key"] = settings.llm_api_key or "not-needed"
        kwargs["timeout"] = settings.llm_timeout_s
        kwargs["max_retries"] = 0
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(name, model_provider=provider, **kwargs)
    except ImportError as exc:  # the optional `llm` extra is not installed
        raise RuntimeError(f"SVT_LLM={spec!r} needs the optional LLM packages: pip install 'social-value-assistant[llm]' ({exc})") from exc


def model_name(model: Any, settings: Any = None) -> str:
    if settings is not None and getattr(settings, "llm", None):
        return settings.llm
    return getattr(model, "model", None) or getattr(model, "model_name", None) or type(model).__name__


def build_messages(composed: Composed, passages: dict[str, Passage]) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    sources = "\n\n".join(
        f"[{c.marker}] {c.title} ({c.reference})\nQuote relied on: {flat(c.quote)}\nPassage: {flat(passages[c.passage_id].text) if c.passage_id in passages else ''}"
        for c in composed.citations
    )
    return [SystemMessage(content=SYSTEM_PROMPT), HumanMessage(content=f"Passages:\n{sources}\n\nAnswer to edit:\n{composed.text}")]


def _content(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, list):  # content blocks
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "").strip()


_STRIP_LINE_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _is_heading(line: str) -> bool:
    s = line.strip()
    return s.startswith("#") or bool(re.fullmatch(r"\*\*[^*]+\*\*:?", s))


def uncited_sentences(text: str) -> list[str]:
    """Sentences that state something but carry no `[n]` marker.

    Exempt: headings, the recommendation line (it comes from the rules, not from a passage),
    questions, lead-ins ending in ':' and fragments under four words.
    """
    out = []
    for line in text.splitlines():
        if not line.strip() or _is_heading(line) or line.strip().startswith(RECOMMENDATION_PREFIX):
            continue
        body = _STRIP_LINE_RE.sub("", line)
        for s in sentences(body):
            if markers(s) or s.rstrip().endswith(("?", ":")) or len(s.split()) < 4:
                continue
            out.append(s)
    return out


def models_mentioned(text: str) -> set[str]:
    return {m for m, pattern in MODEL_PATTERNS.items() if re.search(pattern, text, re.IGNORECASE)}


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text, re.IGNORECASE))


def check_rewrite(original: Composed, rewrite: str) -> str | None:
    """None when the rewrite is acceptable, else the (first) reason it is not."""
    if not rewrite.strip():
        return "the rewrite was empty"
    if len(flat(rewrite)) < 0.4 * len(flat(original.text)):
        return "the rewrite dropped most of the answer"
    if original.recommendation_sentence and original.recommendation_sentence not in rewrite:
        return "the rewrite changed the recommendation sentence"
    for pattern in HEDGES:
        if _count(pattern, rewrite) > _count(pattern, original.text):
            return "the rewrite hedged or softened the answer"
    if original.route:
        for route, pattern in ROUTE_WORDS.items():
            if route != original.route and _count(pattern, rewrite) > _count(pattern, original.text):
                return f"the rewrite argues for another route ({route})"
    # Compared outside the recommendation sentence (which is kept verbatim), so a model dropped
    # from the body of the answer is caught too.
    rec = original.recommendation_sentence or ""
    before, after = models_mentioned(original.text.replace(rec, "")), models_mentioned(rewrite.replace(rec, "") if rec else rewrite)
    if after - before:
        return "the rewrite added a model: " + ", ".join(sorted(after - before))
    if before - after:
        return "the rewrite dropped a model: " + ", ".join(sorted(before - after))
    known = {c.marker for c in original.citations}
    unknown = sorted(set(markers(rewrite)) - known)
    if unknown:
        return "the rewrite used a marker with no citation: " + ", ".join(f"[{m}]" for m in unknown)
    bare = uncited_sentences(rewrite)
    if bare:
        return f"the rewrite has a sentence stating a fact with no citation: {bare[0][:80]!r}"
    return None


def renumber(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """Markers in order of first use, 1..n; citations not used are dropped."""
    order = first_use_order(text)
    mapping = {old: new for new, old in enumerate(order, start=1)}
    by_marker = {c.marker: c for c in citations}
    new_text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]", text)
    return new_text, [by_marker[old].model_copy(update={"marker": new}) for old, new in mapping.items()]


_EXECUTOR: ThreadPoolExecutor | None = None


def _invoke(model: Any, messages: list[Any], timeout: float) -> str:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="svt-llm")
    future = _EXECUTOR.submit(model.invoke, messages)
    try:
        return _content(future.result(timeout=timeout))
    except FutureTimeout:
        future.cancel()
        raise TimeoutError(f"no reply within {timeout:g} s") from None


def rewrite(composed: Composed, model: Any, settings: Any, passages: dict[str, Passage]) -> RewriteResult:
    """Ask the model for a fluent version; keep it only if the guard accepts it."""
    name = model_name(model, settings)
    fallback = RewriteResult(accepted=False, text=composed.text, citations=composed.citations, model=name)
    if model is None:
        fallback.reason = "no language model is configured"
        return fallback
    started = time.perf_counter()
    try:
        text = _invoke(model, build_messages(composed, passages), float(getattr(settings, "llm_timeout_s", 30.0)))
    except TimeoutError as exc:
        fallback.reason, fallback.seconds = f"the language model timed out ({exc})", time.perf_counter() - started
        return fallback
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to the checked answer
        fallback.reason, fallback.seconds = f"the language model failed ({type(exc).__name__})", time.perf_counter() - started
        return fallback
    seconds = time.perf_counter() - started
    text = re.sub(r"^```(?:markdown|md)?\s*\n|\n```\s*$", "", text.strip())
    reason = check_rewrite(composed, text)
    if reason:
        return RewriteResult(accepted=False, text=composed.text, citations=composed.citations, reason=reason, model=name, rewrite=text, seconds=seconds)
    new_text, citations = renumber(text, composed.citations)
    return RewriteResult(accepted=True, text=new_text, citations=citations, model=name, rewrite=text, seconds=seconds)
