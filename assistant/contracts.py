"""The typed contracts passed between pipeline stages: Passage, FactValue, Citation, Answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SourceType = Literal["toolkit", "legal", "case_study", "user"]
Intent = Literal["recommendation", "information", "out_of_scope"]
FactOrigin = Literal["extracted", "officer", "earlier_turn"]


class Passage(BaseModel):
    """One citable unit of the corpus: the text under one heading, with its pinpoint reference."""

    model_config = ConfigDict(frozen=True)

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    source_type: SourceType
    source: str
    reference: str
    url: str
    as_of: str
    models: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    path: str = ""
    line: int = 0

    @property
    def heading(self) -> str:
        return self.heading_path[-1] if self.heading_path else self.title

    def metadata(self) -> dict[str, Any]:
        """Flat, Chroma-safe metadata (strings only; lists joined)."""
        return {
            "passage_id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "heading": " > ".join(self.heading_path),
            "source_type": self.source_type,
            "source": self.source,
            "reference": self.reference,
            "url": self.url,
            "as_of": self.as_of,
            "models": ",".join(self.models),
            "topics": ",".join(self.topics),
        }


class ScoredPassage(BaseModel):
    """A retrieved passage with its fused score and the per-retriever ranks behind it."""

    passage: Passage
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    similarity: float | None = None  # cosine similarity to the query (the relevance floor uses it)


class FactValue(BaseModel):
    """A situation fact with where it came from: the words of the question, or the officer."""

    value: Any
    evidence: str | None = None
    span: tuple[int, int] | None = None
    origin: FactOrigin = "extracted"
    method: str | None = None  # lexicon | similarity | parse | officer


class Citation(BaseModel):
    """One `[n]` marker's target: a retrieved passage and the verbatim sentence relied on."""

    marker: int
    passage_id: str
    source_type: SourceType
    title: str
    reference: str
    url: str
    quote: str
    score: float


class Answer(BaseModel):
    """The answer contract printed by `svt ask --json` (ARCHITECTURE.md); fields may be added."""

    question: str
    intent: Intent
    answer: str
    facts: dict[str, FactValue] = Field(default_factory=dict)
    recommendation: dict[str, Any] | None = None
    clarifying_questions: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    audit_id: str | None = None
    corpus_version: str
    notes: list[str] = Field(default_factory=list)
    retrieved: list[dict[str, Any]] = Field(default_factory=list)
