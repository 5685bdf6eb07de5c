"""The deterministic answer writer: Markdown where every sentence that states a fact is cited.

No text generation. The recommendation sentence is built from the Decision alone. Every cited
sentence is a sentence of a retrieved passage, verbatim (for a rule's reason, the sentence of the
rule's source passages that best states it), or a legal flag's sentence that such a sentence
supports; a flag sentence without support is shown as the rules' text, unmarked, leading into the
closest source sentence. The officer's words are quoted as theirs ("you said “…”"). Citations are numbered in
order of first use; each carries a verbatim sentence of its passage (`quote`). Only passages in
the retrieved set can be cited (`Citer` refuses anything else).

Answer layout (docs/answers.md):
  recommendation: **Recommendation:** / Why / How to do it lawfully / Examples / What would change this
  information:    What the toolkit says / What the law says / Examples from councils (best group first)
  out_of_scope:   a short polite note of what the assistant covers, nothing cited
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Sequence

from assistant.contracts import Citation, FactValue, Passage, ScoredPassage
from assistant.text import flat, safe_inline, safe_passage_sentence, sentences
from rules.engine import MODEL_LABELS

# Plain words for each model, used once in the recommendation sentence (jargon explained once).
MODEL_GLOSS: dict[str, str] = {
    "open_procedure": "a single-stage tender that any supplier can bid in",
    "competitive_flexible_procedure": "a tender the council designs itself, which can include dialogue and several rounds",
    "public_commons_partnership": "an enterprise owned and run jointly by the council and a community association",
    "alliance_contract": "one contract under which several providers share responsibility for outcomes",
    "innovation_partnership": "a partnership to research and develop a solution that does not yet exist",
    "cooperative_contract": "a contract with a co-operative, mutual or staff-owned provider",
    "community_land_trust": "a community body that holds land or homes for local benefit",
    "relational_imperatives": "choosing partners on trust, shared values and openness",
    "direct_award": "awarding a contract without a competition, where the law allows it",
    "framework": "calling off from an existing framework of approved suppliers",
}
ROUTE_SENTENCES: dict[str, str] = {
    "competition": "treat this as a **competition**: suppliers bid against each other and the best tender wins",
    "collaboration": "treat this as a **collaboration**: the council and its partners work towards a shared purpose",
    "mixed": "use a **mixed** approach: some parts of this point to competition and some to collaboration",
    "undetermined": "the rules **cannot yet say** whether competition or collaboration fits, because too little is known about the situation",
}
SECTION_TITLES = {"toolkit": "What the toolkit says", "legal": "What the law says", "case_study": "Examples from councils", "user": "From your documents"}
RECOMMENDATION_PREFIX = "**Recommendation:**"
OUT_OF_SCOPE_TEXT = (
    "Sorry, I can only help with commissioning and procurement questions for UK councils: choosing "
    "between competition and collaboration, social value, and what the toolkit, the law "
    "(such as the Procurement Act 2023) and other councils' examples say. "
    "Please ask about a service you are commissioning, or about one of those topics."
)
NOT_COVERED_TEXT = (
    "The assistant's sources (the CCIN Social Value Toolkit, the legal passages and the council "
    "case studies) do not cover this question closely enough to answer it with citations. "
    "Try naming the service, the procurement rule or the commissioning model you are asking about."
)

_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that
    these those there their they them we our you your i me my he she his her do does did doing have has had can
    could should would will shall may might must not no nor so than then too very what which who whom whose why how
    when where about into over under again further once all any both each few more most other some such only own
    same just also up down out off above below between through during before after while because until against
    council councils""".split()
)
_ANAPHOR_RE = re.compile(r"(?:This|That|These|Those|It|They|Such|The (?:first|second|third|other|latter|former)|By that|Both|Here|There)\b")
_WORD_RE = re.compile(r"[a-z0-9£]+(?:['’][a-z]+)?")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=20000)
def terms(text: str) -> tuple[str, ...]:
    """Stemmed content words of a text (stop words dropped), in order."""
    words = [w for w in _WORD_RE.findall(text.lower()) if w not in _STOP and len(w) > 1]
    return tuple(_stemmer().stemWords(words))


class Lexicon:
    """Inverse document frequencies over the passages, for choosing the best-supported sentences."""

    def __init__(self, passages: Iterable[Passage]):
        df: Counter[str] = Counter()
        n = 0
        for p in passages:
            n += 1
            df.update(set(terms(p.title + " " + p.text)))
        self.n = max(n, 1)
        self.idf = {t: math.log(1 + self.n / c) for t, c in df.items()}
        self.default_idf = math.log(1 + self.n)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default_idf)

    def overlap(self, query_terms: Iterable[str], sentence: str) -> float:
        """IDF-weighted share of the query's terms that the sentence contains."""
        q = set(query_terms)
        if not q:
            return 0.0
        got = set(terms(sentence))
        total = sum(self.weight(t) for t in q)
        return sum(self.weight(t) for t in q & got) / total if total else 0.0


class CitationError(ValueError):
    """A citation the composer must not make (a passage not retrieved, or a quote not in it)."""


class Citer:
    """Hands out `[n]` markers in order of first use; one per (passage, quote)."""

    def __init__(self, retrieved: Sequence[ScoredPassage]):
        self.retrieved = {h.passage.id: h for h in retrieved}
        self._keys: dict[tuple[str, str], int] = {}
        self.citations: list[Citation] = []

    def can_cite(self, passage_id: str) -> bool:
        return passage_id in self.retrieved

    def cite(self, passage_id: str, quote: str) -> int:
        hit = self.retrieved.get(passage_id)
        if hit is None:
            raise CitationError(f"{passage_id} was not retrieved for this answer")
        if not quote or quote not in hit.passage.text:
            raise CitationError(f"the quote is not a verbatim span of {passage_id}")
        key = (passage_id, quote)
        if key not in self._keys:
            p = hit.passage
            marker = len(self.citations) + 1
            self._keys[key] = marker
            score = hit.similarity if hit.similarity is not None else hit.score
            self.citations.append(
                Citation(marker=marker, passage_id=p.id, source_type=p.source_type, title=p.title, reference=p.reference, url=p.url, quote=quote, score=round(float(score), 4))
            )
        return self._keys[key]


@dataclass
class Composed:
    """The composer's output: Markdown text, its citations and what the guard must keep."""

    text: str
    citations: list[Citation]
    recommendation_sentence: str | None = None
    models: list[str] = field(default_factory=list)
    route: str | None = None
    notes: list[str] = field(default_factory=list)
    cited_passages: list[str] = field(default_factory=list)


def _with_marker(sentence: str, markers: Sequence[int]) -> str:
    """Put `[n]` markers before the sentence's closing punctuation: 'It applies [1].'"""
    tags = "".join(f"[{m}]" for m in dict.fromkeys(markers))
    body = sentence.rstrip()
    match = re.search(r"([.!?:;]+[\"'”’)]*)$", body)
    if match:
        return f"{body[: match.start()].rstrip()} {tags}{match.group(1)}"
    return f"{body} {tags}."


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and text[1].islower() else text


def usable(sentence: str) -> bool:
    """A passage sentence worth quoting: a statement of some length, not a heading or question."""
    words = flat(sentence).split()
    return len(words) >= 6 and not sentence.rstrip().endswith(("?", ":"))


def best_sentences(passage: Passage, query_terms: Sequence[str], lexicon: Lexicon, n: int = 1, exclude: set[str] | None = None) -> list[str]:
    """The `n` sentences of a passage that best support the query (passage order kept).

    Score: IDF-weighted overlap with the query, with a small bonus for the lead sentence, which
    usually says what the passage is about. Sentences already used (`exclude`, compared after
    whitespace collapsing) are skipped, so an answer never repeats itself.
    """
    exclude = exclude or set()
    candidates = []
    for pos, s in enumerate(sentences(passage.text)):
        if not usable(s) or _repeats(s, exclude):
            continue
        score = lexicon.overlap(query_terms, s) + (0.05 if pos == 0 else 0.0) - 0.002 * pos
        if _ANAPHOR_RE.match(s):  # "This matters because...", "The second is...": needs its context
            score -= 0.15
        candidates.append((score, pos, s))
    chosen = sorted(candidates, key=lambda c: (-c[0], c[1]))[:n]
    return [s for _, _, s in sorted(chosen, key=lambda c: c[1])]


def _norm(sentence: str) -> str:
    return " ".join(terms(sentence))


def _repeats(sentence: str, used: set[str]) -> bool:
    """True when the sentence says what an already used one says (same content words, mostly)."""
    mine = set(terms(sentence))
    for other in used:
        theirs = set(other.split())
        if mine and theirs and len(mine & theirs) / len(mine | theirs) >= 0.5:
            return True
    return False


_PLAIN_WORD_RE = re.compile(r"[a-z0-9£%]+")
# A passage sentence supports a sentence of the rules when it holds at least this share of the
# rules sentence's content words, as written (no stemming, so "service" does not match
# "services": stricter than the eval's groundedness check, which stems).
SUPPORT = 0.7


def support(claim: str, quote: str) -> float:
    """Share of the claim's content words (as written, stop words dropped) found in the quote."""
    mine = {w for w in _PLAIN_WORD_RE.findall(claim.lower()) if w not in _STOP and len(w) > 1}
    if not mine:
        return 0.0
    theirs = set(_PLAIN_WORD_RE.findall(quote.lower()))
    return len(mine & theirs) / len(mine)


def _candidate_sentences(passage_ids: Sequence[str], citer: Citer):
    for rank, pid in enumerate(passage_ids):
        if citer.can_cite(pid):
            for pos, s in enumerate(sentences(citer.retrieved[pid].passage.text)):
                if usable(s):
                    yield rank, pos, pid, s


def best_quote(text: str, passage_ids: Sequence[str], citer: Citer, lexicon: Lexicon, exclude: set[str] | None = None) -> tuple[str, str] | None:
    """The retrieved passage sentence (among `passage_ids`) that best states the point of `text`.

    Score: IDF-weighted overlap with `text`; a sentence that leans on the one before it ("This
    means...") loses a little, since it is quoted on its own. Sentences in `exclude` (already
    quoted in this answer, compared by `_norm`) are skipped, so the answer does not repeat itself.
    """
    q = terms(text)
    best: tuple[float, int, str, str] | None = None
    for rank, pos, pid, s in _candidate_sentences(passage_ids, citer):
        if exclude and _norm(s) in exclude:
            continue
        score = lexicon.overlap(q, s) - (0.1 if _ANAPHOR_RE.match(s) else 0.0)
        key = (score, -rank * 1000 - pos)
        if best is None or key > (best[0], best[1]):
            best = (score, -rank * 1000 - pos, pid, s)
    if best is None or best[0] <= 0:
        return None
    return best[2], best[3]


def supported_quote(claim: str, passage_ids: Sequence[str], citer: Citer) -> tuple[str, str] | None:
    """A passage sentence that says what `claim` says (support >= SUPPORT), the best one, or None."""
    best: tuple[float, int, str, str] | None = None
    for rank, pos, pid, s in _candidate_sentences(passage_ids, citer):
        score = support(claim, s)
        key = (score, -rank * 1000 - pos)
        if score >= SUPPORT and (best is None or key > (best[0], best[1])):
            best = (score, -rank * 1000 - pos, pid, s)
    return (best[2], best[3]) if best else None


# --- recommendation ------------------------------------------------------------------------------


def recommendation_sentence(decision: Any) -> str:
    """One sentence from the Decision only: the route and, where named, the best-fitting model."""
    route = decision.route
    text = f"{RECOMMENDATION_PREFIX} {ROUTE_SENTENCES[route]}"
    if route == "mixed":
        text += _balance(decision.scores.competition, decision.scores.collaboration)
    models = [m.model for m in decision.models]
    if models and route != "undetermined":
        first = models[0]
        text += f". The model that fits best is the **{MODEL_LABELS[first].lower()}** ({MODEL_GLOSS[first]})"
        if len(models) > 1:
            text += ", with " + _join([f"the {MODEL_LABELS[m].lower()}" for m in models[1:3]]) + " also possible"
    elif models:
        text += f". The rules name the **{MODEL_LABELS[models[0]].lower()}** ({MODEL_GLOSS[models[0]]}) as a possible model"
    return text + "."


def _balance(comp: int, coll: int) -> str:
    """How the points of a mixed situation fall: a mixed call with one side far ahead reads
    differently from an even one, and the officer should see which."""
    def pts(n: int) -> str:
        return f"{n} point{'' if n == 1 else 's'}"

    if comp == coll:
        return f" (the two sides weigh the same, {pts(comp)} each)"
    lead, lead_pts, other_pts = ("collaboration", coll, comp) if coll > comp else ("competition", comp, coll)
    return f" (more of what you described points to {lead}: {pts(lead_pts)} to {other_pts})"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _evidence_phrase(name: str, facts: dict[str, FactValue]) -> str:
    fv = facts.get(name)
    if fv is None:
        return ""
    if fv.origin == "officer":
        return " (you set this)"
    if fv.evidence:
        words = flat(fv.evidence)
        cut = re.search(r"[.!?](?=\s)", words)  # one sentence of the officer's words, no more
        if cut:
            words = words[: cut.start()] + "…"
        if len(words) > 80:
            words = words[:77].rsplit(" ", 1)[0] + "…"
        words = words.replace("“", '"').replace("”", '"')  # the closing ” marks the end of the officer's words
        return f" (you said “{safe_inline(words)}”)"
    return ""


def _quoted_points(text: str, sources: Sequence[str], citer: Citer, lexicon: Lexicon, used: set[str]) -> tuple[list[str], list[str]]:
    """The toolkit's or the law's own sentences for each sentence of a ruleset text, cited.

    Each sentence of `text` (a rule's reason) is replaced by the passage sentence among `sources`
    that best states its point, verbatim, so every cited sentence is the passage's own. Returns
    the cited sentences and the rule sentences no source sentence could stand for.
    """
    out, dropped = [], []
    for s in sentences(flat(text)):
        found = best_quote(s, sources, citer, lexicon, exclude=used)
        if found is None:
            dropped.append(s)
            continue
        used.add(_norm(found[1]))
        out.append(_with_marker(safe_passage_sentence(found[1]), [citer.cite(*found)]))
    return out, dropped


def _flag_lines(text: str, sources: Sequence[str], citer: Citer, lexicon: Lexicon, used: set[str]) -> tuple[str | None, list[str]]:
    """A legal flag: each of its sentences cited where a passage sentence supports it.

    A flag sentence is the rules' legal reading of the facts (figures, dates, duties). It carries
    a marker only when a retrieved sentence supports it (`supported_quote`: the flag's own source
    passages first, then any other retrieved passage). Otherwise it is shown as the rules' text,
    without a marker, as a lead-in ending in ":" to the closest sentence of the flag's sources,
    which follows verbatim with its own marker. A sentence with neither is left out (returned).
    """
    lines: list[str] = []
    current: list[str] = []
    dropped: list[str] = []
    others = [pid for pid in citer.retrieved if pid not in sources]
    for s in sentences(flat(text)):
        found = supported_quote(s, sources, citer) or supported_quote(s, others, citer)
        if found is not None:
            used.add(_norm(found[1]))
            current.append(_with_marker(safe_passage_sentence(s), [citer.cite(*found)]))
            continue
        evidence = best_quote(s, sources, citer, lexicon, exclude=used) or best_quote(s, sources, citer, lexicon)
        if evidence is None:
            dropped.append(s)
            continue
        current.append(safe_passage_sentence(s).rstrip().rstrip(".!?;:") + ":")
        lines.append(" ".join(current))  # the evidence goes on its own (continuation) line
        used.add(_norm(evidence[1]))
        current = [_with_marker(safe_passage_sentence(evidence[1]), [citer.cite(*evidence)])]
    if current:
        lines.append(" ".join(current))
    return ("\n  ".join(lines) if lines else None), dropped


def compose_recommendation(
    question: str,
    decision: Any,
    facts: dict[str, FactValue],
    retrieved: Sequence[ScoredPassage],
    rule_sources: dict[str, Sequence[str]],
    clarifying: Sequence[str],
    lexicon: Lexicon,
    examples: Sequence[ScoredPassage] = (),
    information: Sequence[ScoredPassage] = (),
    fact_labels: dict[str, str] | None = None,
    information_query: str | None = None,
    contested: dict[str, Sequence[FactValue]] | None = None,
) -> Composed:
    """The recommendation answer (layout in the module docstring).

    `contested`: rows of the table the officer described both ways, with the words for each side;
    both of their vote rules fired, and each Why line quotes the words for its own side.
    """
    citer = Citer(retrieved)
    notes: list[str] = []
    lines = [recommendation_sentence(decision), ""]
    fact_labels = fact_labels or {}

    # Why: the dimension votes that fired, the winning side first. Each line names the fact and
    # the side it points to, quotes the officer's words (not a claim) and gives the toolkit's own
    # sentence for the rule's reason, cited.
    used: set[str] = set()
    votes = [t for t in decision.trace if t.fired and t.effect.startswith("vote ")]
    side_of = {t.rule: t.effect.split()[1] for t in votes}
    if decision.route in ("competition", "collaboration"):
        votes.sort(key=lambda t: side_of[t.rule] != decision.route)
    why = []
    for t in votes:
        fact = t.facts[0] if t.facts else ""
        label = fact_labels.get(fact, fact.replace("_", " ").capitalize())
        points, dropped = _quoted_points(t.because, rule_sources.get(t.rule, ()), citer, lexicon, used)
        evidence_facts = facts
        if getattr(t, "contested", False):
            said = {str(fv.value): fv for fv in (contested or {}).get(fact, ())}
            evidence_facts = {fact: said[t.values[fact]]} if t.values.get(fact) in said else {}
        if points:
            why.append(f"- **{label}** points to {side_of[t.rule]}{_evidence_phrase(fact, evidence_facts)}: " + " ".join(points))
        notes += [f"Not shown (no retrieved passage supports it): {s}" for s in dropped]
    if why:
        lines += ["**Why**", *why, ""]

    # How to do it lawfully: the candidate models (the sources' own sentences for each model's
    # reasons, legal passages first), then the legal flags.
    lawful = []
    for item in decision.models[:3]:
        sources = [s for r in item.rules for s in rule_sources.get(r, ())]
        sources = sorted(dict.fromkeys(sources), key=lambda pid: citer.retrieved[pid].passage.source_type != "legal" if pid in citer.retrieved else True)
        points, dropped = _quoted_points(item.because, sources, citer, lexicon, used)
        if points:
            lawful.append(f"- **{MODEL_LABELS.get(item.model, item.model)}**: " + " ".join(points))
        notes += [f"Not shown (no retrieved passage supports it): {s}" for s in dropped]
    for flag in decision.legal_flags:
        line, dropped = _flag_lines(flag.text, flag.source, citer, lexicon, used)
        if line:
            lawful.append(f"- {line}")
        notes += [f"Legal point not shown (its passage is not in the index): {s}" for s in dropped]
    if lawful:
        lines += ["**How to do it lawfully**", *lawful, ""]

    # Examples: case studies, most relevant first, one sentence each.
    ex_lines = []
    qterms = terms(question + " " + " ".join(MODEL_LABELS[m.model] for m in decision.models[:3]))
    for hit in examples:
        for s in best_sentences(hit.passage, qterms, lexicon, n=1, exclude=used):
            used.add(_norm(s))
            ex_lines.append(f"- {_with_marker(safe_passage_sentence(s), [citer.cite(hit.passage.id, s)])}")
    if ex_lines:
        lines += ["**Examples**", *ex_lines, ""]

    if information:
        info_lines = _information_lines(information_query or question, information, citer, lexicon, per_passage=1, used=used)
        if info_lines:
            lines += ["**You also asked**", *info_lines, ""]

    if clarifying:
        heading = "**What would change this**" if decision.route != "undetermined" else "**What I need to know**"
        lines += [heading, *[f"- {safe_inline(q)}" for q in clarifying], ""]

    return Composed(
        text="\n".join(lines).strip(),
        citations=citer.citations,
        recommendation_sentence=lines[0],
        models=[m.model for m in decision.models],
        route=decision.route,
        notes=notes,
        cited_passages=list(dict.fromkeys(c.passage_id for c in citer.citations)),
    )


# --- information ---------------------------------------------------------------------------------


def _information_lines(question: str, hits: Sequence[ScoredPassage], citer: Citer, lexicon: Lexicon, per_passage: int, used: set[str]) -> list[str]:
    """One bullet per passage: its best sentences (the group's lead passage may give `per_passage`)."""
    qterms = terms(question)
    out = []
    for rank, hit in enumerate(hits):
        chosen = best_sentences(hit.passage, qterms, lexicon, n=per_passage if rank == 0 else 1, exclude=used)
        cited = []
        for s in chosen:
            used.add(_norm(s))
            cited.append(_with_marker(safe_passage_sentence(s), [citer.cite(hit.passage.id, s)]))
        if cited:
            out.append("- " + " ".join(cited))
    return out


def compose_information(question: str, hits: Sequence[ScoredPassage], lexicon: Lexicon, per_passage: int = 2) -> Composed:
    """Best-supported sentences of the top passages, grouped by source type, each cited."""
    if not hits:
        return Composed(text=NOT_COVERED_TEXT, citations=[])
    citer = Citer(hits)
    groups: dict[str, list[ScoredPassage]] = {st: [] for st in SECTION_TITLES}  # fixed order: toolkit, law, examples
    for hit in hits:  # best first within a group
        groups.setdefault(hit.passage.source_type, []).append(hit)
    lines: list[str] = []
    used: set[str] = set()
    for source_type, group in groups.items():
        body = _information_lines(question, group, citer, lexicon, per_passage, used)
        if body:
            lines += [f"**{SECTION_TITLES.get(source_type, source_type)}**", *body, ""]
    return Composed(text="\n".join(lines).strip(), citations=citer.citations, cited_passages=list(dict.fromkeys(c.passage_id for c in citer.citations)))


def compose_out_of_scope() -> Composed:
    return Composed(text=OUT_OF_SCOPE_TEXT, citations=[])
