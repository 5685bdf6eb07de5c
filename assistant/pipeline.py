"""`ask(question, facts=None) -> Answer`: the one entry point the CLI, the app and the eval use.

understand -> decide -> retrieve -> compose -> (optional LLM rewrite, guarded) -> audit.
Heavy objects (the embedding model, the index, BM25, the passage vectors) are built once per
Assistant and reused across questions. The answer is deterministic: the same question, facts,
earlier facts, source filter and date give the same text, citations and decision (the audit id
aside). See docs/answers.md for the relevance floor and the source balancing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from assistant.compose import MODEL_GLOSS, MODEL_LABELS, Lexicon, compose_information, compose_out_of_scope, compose_recommendation
from assistant.config import Settings, get_settings
from assistant.contracts import Answer, FactValue, ScoredPassage
from assistant.index import PassageIndex, SyncReport, model_fingerprint
from assistant.retrieve import HybridSearch

log = logging.getLogger(__name__)

# Relevance floor: a passage whose cosine similarity to the question is below FLOOR is never used.
# Measured on the 225 labelled questions of eval/understanding (docs/answers.md): the best passage
# of an out-of-scope question scores 0.05-0.35 (90% below 0.28), of an in-scope one 0.29-0.90 (90%
# above 0.39). A passage must also be within MARGIN of the best passage found for the question, so
# a weak passage is not cited beside a strong one just to fill a source type's share.
FLOOR = 0.30
MARGIN = 0.20
# A passage that is not among the question's own top hybrid results, taken only to give its source
# type a fair share, must be closer to the best passage: a loosely related example or aside is
# worse than none (e.g. a case study about who chairs a network, under a question about a PPN).
SHARE_MARGIN = 0.10
# Fair shares per source type (information answers; recommendation examples).
INFO_SHARE = 2
INFO_MAX = 6
INFO_SHARE_SINGLE_TYPE = 5
EXAMPLES_MAX = 2
SEARCH_DEPTH = 8
# The question's passages over all source types (plain hybrid order): the first TOP_KEEP that
# clear the floor are never dropped by the source balancing; GLOBAL_DEPTH of them are gathered.
GLOBAL_DEPTH = 10
TOP_KEEP = 5
FLAG_DEPTH = 3  # passages found by searching a legal flag's own text
# A question the understanding stage reads as out of scope is answered as information when it
# names a corpus topic: its best passage by cosine similarity scores at least TOPIC_SIM and is also
# among BM25's first TOPIC_BM25_DEPTH. Out-of-scope questions score 0.05-0.48 at best on the labelled
# sets (docs/answers.md) and their dense and BM25 leaders disagree.
TOPIC_SIM = 0.55
TOPIC_BM25_DEPTH = 3
SOURCE_TYPES = ("toolkit", "legal", "case_study", "user")
_ALSO_INFORMATION_RE = re.compile(
    r"\b(what (is|are|does|do|counts)|explain|does the (law|act)|is it (true|legal|lawful)|can we|do we (need|have) to)\b", re.IGNORECASE
)
_ROUTE_ASK_RE = re.compile(r"route|model|procedure|approach|recommend|should (we|i|the council)|competition or|collaboration or|how (should|do|would) we", re.IGNORECASE)
# A short follow-up that changes one condition ("And if the providers are all charities?",
# "What if it's worth £3m?", "Suppose we run it with the NHS"): with earlier facts it asks for the
# route again under that condition.
_CONDITIONAL_FOLLOW_UP_RE = re.compile(
    r"^\W*(?:(?:and|but|so|ok|okay|then|now)\W+)*(?:what\W+if|what\W+about|how\W+about|if|suppose|supposing|assuming|say|in\W+case|even\W+if|unless)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MAX_WORDS = 20
_EXAMPLES_RE = re.compile(r"\bexamples?\b|case stud|which councils|other councils|anyone else", re.IGNORECASE)


def information_part(question: str, sub_questions: list[str]) -> str | None:
    """The information request inside a recommendation question, if any (else None).

    A message of several questions keeps those that do not ask for the route; a single
    question counts when it also asks what something is or what the law says. A request for
    examples is answered by the Examples section, so it needs no information part.
    """
    parts = [q for q in sub_questions if not _ROUTE_ASK_RE.search(q)] if len(sub_questions) > 1 else []
    if not parts and _ALSO_INFORMATION_RE.search(question) and not sub_questions:
        parts = [question]
    parts = [p for p in parts if not _EXAMPLES_RE.search(p)]
    return " ".join(parts) or None


def is_conditional_follow_up(question: str) -> bool:
    """A short message that only changes a condition of the situation already described."""
    return len(question.split()) <= FOLLOW_UP_MAX_WORDS and bool(_CONDITIONAL_FOLLOW_UP_RE.search(question)) and not _ALSO_INFORMATION_RE.search(question)


class QuestionError(ValueError):
    """A question the assistant cannot take, with a message fit for the officer."""


@dataclass
class Candidate:
    """A passage gathered for an answer, how it was found and how relevant it is."""

    hit: ScoredPassage
    via: str  # question | model:<name> | flag:<id> | info | rule
    relevance: float  # cosine similarity used against the floor
    fused: float = 0.0  # the question's hybrid (RRF) score over all source types; 0 when outside its lists

    def record(self, used: bool, rank: int | None = None) -> dict[str, Any]:
        return {
            "passage_id": self.hit.passage.id,
            "source_type": self.hit.passage.source_type,
            "rank": rank,
            "fused": round(self.fused, 6),
            "score": self.hit.score,
            "similarity": self.hit.similarity,
            "relevance": round(self.relevance, 6),
            "via": self.via,
            "used": used,
        }


@dataclass
class Gathered:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    best: float = 0.0
    info_best: float = 0.0
    top: list[str] = field(default_factory=list)  # the question's passages in plain hybrid order

    def ranked(self) -> list[Candidate]:
        """Every candidate, best first: the question's hybrid order over all source types, then
        the rest (found by widening, by a flag or as rule sources) by relevance."""
        return sorted(self.candidates.values(), key=lambda c: (-c.fused, -c.relevance, c.hit.passage.id))

    def add(self, cand: Candidate) -> None:
        old = self.candidates.get(cand.hit.passage.id)
        if old is None or (cand.via == "rule" and old.via != "rule"):
            self.candidates[cand.hit.passage.id] = cand

    def relevant(self, cand: Candidate) -> bool:
        """Above the floor and within MARGIN of the best passage (rule passages always count)."""
        if cand.via == "rule":
            return True
        if cand.via.startswith("flag:"):  # support for a flag's sentence, against the flag's own text
            return cand.relevance >= FLOOR
        best = self.info_best if cand.via == "info" else self.best
        return cand.relevance >= FLOOR and cand.relevance >= best - MARGIN


class Assistant:
    """Holds the index and models for a process; `ask` answers one question."""

    def __init__(self, settings: Settings | None = None, index: PassageIndex | None = None, audit: bool = True):
        self.settings = settings or (index.settings if index is not None else get_settings())
        self.index = index or PassageIndex(self.settings)
        self.sync: SyncReport = self.index.ensure()
        self.audit_enabled = audit

    # --- shared heavy objects -------------------------------------------------------------------

    @cached_property
    def search(self) -> HybridSearch:
        return HybridSearch(self.index)

    @cached_property
    def lexicon(self) -> Lexicon:
        return Lexicon(self.index.passages)

    @cached_property
    def rule_sources(self) -> dict[str, tuple[str, ...]]:
        from rules.engine import load_ruleset

        return {r.id: tuple(r.source) for r in load_ruleset().rules}

    @cached_property
    def fact_labels(self) -> dict[str, str]:
        from rules.facts import FACTS

        return {name: spec.label for name, spec in FACTS.items()}

    @cached_property
    def audit_log(self):
        from assistant.audit import AuditLog

        return AuditLog(self.settings.audit_path)

    @cached_property
    def llm(self):
        """The optional rewriting model (None without SVT_LLM; nothing LLM-related is imported)."""
        if not self.settings.llm:
            return None
        from assistant.llm import load_chat_model

        return load_chat_model(self.settings)

    # --- the question ---------------------------------------------------------------------------

    def check_question(self, question: Any) -> tuple[str, list[str]]:
        """The question to answer and any notes; rejects what cannot be answered."""
        if not isinstance(question, str):
            raise QuestionError("The question must be text.")
        question = question.replace("\x00", "").strip()
        if not question:
            raise QuestionError("Please type a question: for example, 'When should we use an alliance contract?'")
        notes = []
        limit = self.settings.max_question_chars
        if len(question) > limit:
            question = question[:limit].rstrip()
            notes.append(f"Your question was longer than {limit} characters, so only the first {limit} were read.")
        return question, notes

    def officer_facts(self, facts: dict[str, Any] | None) -> dict[str, FactValue]:
        from rules.facts import validate_facts

        if facts is None:
            return {}
        if not isinstance(facts, dict):
            raise QuestionError("Facts must be a mapping of fact name to value.")
        raw = {k: (v.value if isinstance(v, FactValue) else v) for k, v in facts.items()}
        try:
            valid = validate_facts(raw)
        except ValueError as exc:
            raise QuestionError(f"A fact you set is not valid: {exc}") from exc
        out: dict[str, FactValue | None] = {k: None for k, v in raw.items() if v is None}  # cleared by the officer
        out.update({k: FactValue(value=v, origin="officer", method="officer") for k, v in valid.items()})
        return out

    # --- retrieval for an answer ----------------------------------------------------------------

    def _types(self, source_type: str | None) -> list[str]:
        if source_type:
            return [source_type]
        present = {p.source_type for p in self.index.passages}
        return [t for t in SOURCE_TYPES if t in present]

    def gather(self, question: str, decision: Any | None, source_type: str | None, info_query: str | None = None) -> Gathered:
        """The question's passages per source type, widened by the decision's models and rules.

        `info_query` is the information part of a recommendation question ("... and what does
        the law say about X?"): its passages are gathered too (via "info") for a short section.
        """
        g = Gathered()
        models = [item.model for item in decision.models[:3]] if decision is not None else []
        widened = [f"{MODEL_LABELS[m]}: {MODEL_GLOSS[m]}. {question}" for m in models]
        flags = list(decision.legal_flags) if decision is not None else []
        sims, *wsims = self.index.similarities([question, *widened, *[f.text for f in flags], *([info_query] if info_query else [])])
        fsims = [wsims.pop(len(widened)) for _ in flags]
        if info_query:
            isims = wsims.pop()
            for st in self._types(source_type):
                for hit in self.search.search(info_query, 4, st, sims=isims):
                    g.add(Candidate(hit, "info", isims.get(hit.passage.id, 0.0)))
        for st in self._types(source_type):
            for hit in self.search.search(question, SEARCH_DEPTH, st, sims=sims):
                g.add(Candidate(hit, "question", sims.get(hit.passage.id, 0.0)))
        # The question over all source types, as plain hybrid search ranks it: its order ranks the
        # answer's passages, and its best passages are gathered even beyond a type's depth.
        overall = self.search.search(question, None, source_type, sims=sims)
        g.top = [h.passage.id for h in overall]
        for hit in overall[:GLOBAL_DEPTH]:
            g.add(Candidate(hit, "question", sims.get(hit.passage.id, 0.0)))
        question_best = max((c.relevance for c in g.candidates.values() if c.via == "question"), default=0.0)
        # Widening: each model the decision names is searched with the question, so passages
        # (case studies especially) about that model are found even when the question does not
        # name it. Their relevance is the better of their similarity to the question and to that
        # widened query.
        widened_best = 0.0
        for model, query, ws in zip(models, widened, wsims):
            for st in self._types(source_type):
                for hit in self.search.search(query, 4, st, sims=ws):
                    rel = max(ws.get(hit.passage.id, 0.0), sims.get(hit.passage.id, 0.0))
                    widened_best = max(widened_best, rel)
                    g.add(Candidate(hit.model_copy(update={"similarity": sims.get(hit.passage.id)}), f"model:{model}", rel))
        # Each legal flag's own text is searched too, so a passage that states a flag's point is at
        # hand for the composer even when the ruleset cites a neighbouring passage.
        for flag, fs in zip(flags, fsims):
            for hit in self.search.search(flag.text, FLAG_DEPTH, source_type, sims=fs):
                g.add(Candidate(hit.model_copy(update={"similarity": sims.get(hit.passage.id)}), f"flag:{flag.id}", fs.get(hit.passage.id, 0.0)))
        if decision is not None:
            # The passages the fired rules rest on are part of the evidence by construction.
            for pid in self._rule_passages(decision):
                p = self.index.by_id.get(pid)
                if p is not None and (not source_type or p.source_type == source_type):
                    g.add(Candidate(ScoredPassage(passage=p, score=0.0, similarity=sims.get(pid)), "rule", sims.get(pid, 0.0)))
        g.best = max(question_best, widened_best)
        g.info_best = max((c.relevance for c in g.candidates.values() if c.via == "info"), default=0.0)
        fused = {h.passage.id: h.score for h in overall}
        for pid, c in g.candidates.items():
            c.fused = fused.get(pid, 0.0)
        return g

    def names_corpus_topic(self, question: str) -> bool:
        """True when one passage clearly answers the question: the dense leader scores at least
        TOPIC_SIM and BM25 ranks it in its first TOPIC_BM25_DEPTH."""
        sims = self.index.similarities([question])[0]
        if not sims:
            return False
        leader = min(sims, key=lambda pid: (-sims[pid], pid))
        return sims[leader] >= TOPIC_SIM and leader in {pid for pid, _ in self.search.bm25.search(question, TOPIC_BM25_DEPTH)}

    def _rule_passages(self, decision: Any) -> list[str]:
        ids: list[str] = []
        for t in decision.trace:
            if t.fired and t.effect.startswith("vote "):
                ids += self.rule_sources.get(t.rule, ())
        for item in decision.models[:3]:
            for r in item.rules:
                ids += self.rule_sources.get(r, ())
        for flag in decision.legal_flags:
            ids += flag.source
        return list(dict.fromkeys(ids))

    def balanced(self, g: Gathered, types: list[str], share: int, limit: int, exclude: set[str] = frozenset(), vias: tuple[str, ...] = ("question",)) -> list[ScoredPassage]:
        """Up to `share` relevant passages of each source type (hybrid rank order), best first overall.

        The question's first TOP_KEEP passages in plain hybrid order (all source types) that are
        relevant are always kept, whatever their type's share; the shares fill the rest.
        """
        def ok(c: Candidate) -> bool:
            return c.via.split(":")[0] in vias and c.hit.passage.id not in exclude and g.relevant(c)

        keep = [g.candidates[pid] for pid in g.top[:TOP_KEEP] if pid in g.candidates and ok(g.candidates[pid])] if "question" in vias else []
        kept = {c.hit.passage.id for c in keep}
        chosen: list[Candidate] = []
        rest: list[Candidate] = []
        own = set(g.top[:GLOBAL_DEPTH])
        best = g.info_best if vias == ("info",) else g.best

        def fills(c: Candidate) -> bool:
            return c.hit.passage.id in own or c.via == "rule" or c.relevance >= best - SHARE_MARGIN

        for st in types:
            pool = [c for c in g.candidates.values() if c.hit.passage.source_type == st and c.hit.passage.id not in kept and ok(c) and fills(c)]
            room = max(0, share - sum(c.hit.passage.source_type == st for c in keep))
            chosen += pool[:room]  # candidates keep the hybrid search's order within a type
            rest += pool[room:]
        chosen.sort(key=lambda c: (-c.relevance, c.hit.passage.id))
        chosen = keep + chosen[: max(0, limit - len(keep))]
        # A type with fewer relevant passages than its share leaves room for the others.
        rest.sort(key=lambda c: (-c.relevance, c.hit.passage.id))
        chosen += rest[: max(0, limit - len(chosen))]
        chosen.sort(key=lambda c: (-c.relevance, c.hit.passage.id))
        return [c.hit for c in chosen]

    def examples(self, g: Gathered, decision: Any) -> list[ScoredPassage]:
        """Up to EXAMPLES_MAX relevant case studies, one per case: those tagged with a model the
        decision names first, then those found by a model's widened search, then by relevance."""
        models = {m.model for m in decision.models[:3]}
        pool = [c for c in g.candidates.values() if c.hit.passage.source_type == "case_study" and c.via.split(":")[0] in ("question", "model") and g.relevant(c)]
        pool.sort(key=lambda c: (not set(c.hit.passage.models) & models, not c.via.startswith("model:"), -c.relevance, c.hit.passage.id))
        chosen: list[ScoredPassage] = []
        for c in pool:
            if c.hit.passage.doc_id not in {h.passage.doc_id for h in chosen}:
                chosen.append(c.hit)
        return chosen[:EXAMPLES_MAX]

    # --- ask ------------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        facts: dict[str, Any] | None = None,
        *,
        earlier_facts: dict[str, FactValue] | None = None,
        source_type: str | None = None,
        now: date | None = None,
        record: bool = True,
    ) -> Answer:
        """Answer one question (see the module docstring); records it in the audit log."""
        from assistant.understand import clarifying_questions, merge_facts, understand
        from rules.engine import decide

        question, notes = self.check_question(question)
        if source_type is not None and source_type not in SOURCE_TYPES:
            raise QuestionError(f"Unknown source type {source_type!r}; use one of: {', '.join(SOURCE_TYPES)}.")
        now = now or date.today()
        officer = self.officer_facts(facts)
        earlier = {k: (v if isinstance(v, FactValue) else FactValue(**v)) for k, v in (earlier_facts or {}).items()}

        understanding = understand(question, now=now)
        intent = understanding.intent
        merged = merge_facts(understanding.facts, officer, earlier)
        if intent == "out_of_scope" and merged and _ROUTE_ASK_RE.search(question):
            # A follow-up such as "which route then?" names no service itself, but the
            # conversation (or the officer) has already described the situation.
            intent = "recommendation"
        elif intent != "recommendation" and (earlier or any(v is not None for v in officer.values())) and is_conditional_follow_up(question):
            # "And if the providers are all charities?": the situation is already described, and
            # the message changes one condition of it, so it asks for the route again.
            intent = "recommendation"
        elif intent == "out_of_scope" and self.names_corpus_topic(question):
            # "What is Human Learning Systems?": no commissioning vocabulary, but the corpus has a
            # passage that both retrievers put first.
            intent = "information"
        notes += list(getattr(understanding, "notes", []) or [])
        if intent != "recommendation" and any(v is not None for v in officer.values()):
            notes.append("You set facts but asked for information; the facts are kept for your next recommendation question.")

        decision = None
        clarifying: list[str] = []
        # rows described both ways in this message, unless the officer or an earlier turn settled them
        contested = {k: v for k, v in (getattr(understanding, "contested", None) or {}).items() if k not in merged}
        if intent == "recommendation":
            try:
                decision = decide({k: fv.value for k, fv in merged.items()}, contested=contested)
            except ValueError as exc:
                raise QuestionError(f"A fact is not valid: {exc}") from exc
            clarifying = list(clarifying_questions(decision, limit=3))
            # For a clear route, "what would change this" lists the missing facts that could flip it.
            change = clarifying or [m.question for m in decision.missing if m.could_flip][:3]

        g = Gathered()
        used: list[str] = []
        if intent == "out_of_scope":
            composed = compose_out_of_scope()
        else:
            info_query = information_part(question, getattr(understanding, "sub_questions", []) or []) if decision is not None else None
            g = self.gather(question, decision, source_type, info_query)
            types = self._types(source_type)
            if decision is not None:
                examples = self.examples(g, decision) if "case_study" in types else []
                info: list[ScoredPassage] = []
                if info_query:
                    rule_ids = {pid for pid, c in g.candidates.items() if c.via == "rule"}
                    info = self.balanced(g, types, 1, 2, exclude=rule_ids | {h.passage.id for h in examples}, vias=("info",))
                retrieved = [c.hit for c in g.candidates.values() if g.relevant(c)]
                composed = compose_recommendation(
                    question, decision, merged, retrieved, self.rule_sources, change, self.lexicon,
                    examples=examples, information=info, fact_labels=self.fact_labels, information_query=info_query,
                    contested=contested,
                )
            else:
                share = INFO_SHARE_SINGLE_TYPE if len(types) == 1 else INFO_SHARE
                hits = self.balanced(g, types, share, INFO_MAX)
                composed = compose_information(question, hits, self.lexicon)
                if not hits:
                    notes.append("No passage cleared the relevance floor, so nothing is cited.")
        notes += composed.notes
        used = composed.cited_passages

        text, citations = composed.text, composed.citations
        llm_info: dict[str, Any] | None = None
        if self.settings.llm and composed.citations:
            from assistant.llm import rewrite

            result = rewrite(composed, self.llm, self.settings, passages={c.passage_id: self.index.by_id[c.passage_id] for c in citations})
            llm_info = result.audit()
            if result.accepted:
                text, citations = result.text, result.citations
            else:
                notes.append(f"The language model's rewrite was not used ({result.reason}); this is the checked original answer.")

        recommendation = None
        if decision is not None:
            recommendation = {
                "route": decision.route,
                "models": [m.model_dump(mode="json") for m in decision.models],
                "legal_flags": [f.model_dump(mode="json") for f in decision.legal_flags],
                "rule_trace": [t.model_dump(mode="json") for t in decision.trace],
                "ruleset_version": decision.ruleset_version,
                "missing": [m.model_dump(mode="json") for m in decision.missing],
                "scores": decision.scores.model_dump(mode="json"),
                # rows of the table described both ways, each side's words (counted for both sides)
                "contested": decision.contested,
                "contested_evidence": {k: [fv.model_dump(mode="json") for fv in contested[k]] for k in decision.contested},
            }
        answer = Answer(
            question=question,
            intent=intent,
            answer=text,
            facts=merged,
            recommendation=recommendation,
            clarifying_questions=clarifying,
            citations=citations,
            corpus_version=self.index.version,
            notes=list(dict.fromkeys(notes)),
            retrieved=[c.record(c.hit.passage.id in used, rank) for rank, c in enumerate(g.ranked(), start=1)],
        )
        if record and self.audit_enabled:
            answer = self._record(answer, decision, officer, earlier, source_type, now, llm_info)
        return answer

    # --- audit ----------------------------------------------------------------------------------

    def versions(self) -> dict[str, str | None]:
        from assistant.audit import package_version
        from rules.engine import load_ruleset

        return {
            "corpus": self.index.version,
            "ruleset": load_ruleset().version,
            "embedding_model": model_fingerprint(self.settings.embedding_model),
            "package": package_version(),
            "llm": self.settings.llm or None,
        }

    def _record(self, answer: Answer, decision: Any, officer: dict[str, FactValue], earlier: dict[str, FactValue], source_type: str | None, now: date, llm_info: dict[str, Any] | None) -> Answer:
        try:
            audit_id = self.audit_log.record(
                answer=answer,
                decision=decision.model_dump(mode="json") if decision is not None else None,
                inputs={
                    "officer_facts": {k: (v.model_dump(mode="json") if v is not None else None) for k, v in officer.items()},
                    "earlier_facts": {k: v.model_dump(mode="json") for k, v in earlier.items()},
                    "source_type": source_type,
                    "now": now.isoformat(),
                },
                versions=self.versions(),
                llm=llm_info,
            )
        except Exception as exc:  # noqa: BLE001 - the officer still gets the answer, with a warning
            log.exception("audit write failed")
            return answer.model_copy(update={"notes": [*answer.notes, f"This answer could not be recorded in the audit log ({type(exc).__name__})."]})
        return answer.model_copy(update={"audit_id": audit_id})


_DEFAULT: Assistant | None = None


def get_assistant() -> Assistant:
    """The process-wide Assistant (built on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Assistant()
    return _DEFAULT


def ask(question: str, facts: dict[str, Any] | None = None, **kwargs: Any) -> Answer:
    """Answer a question with the process-wide Assistant."""
    return get_assistant().ask(question, facts=facts, **kwargs)
