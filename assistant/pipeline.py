"""`ask(question, facts=None) -> Answer`: the one entry point the CLI, the app and the eval use.

understand -> decide -> retrieve -> compose -> audit. Heavy objects (the embedding model, the
index, BM25) are built once per Assistant and reused across questions.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from assistant.config import Settings, get_settings
from assistant.contracts import Answer, Citation, ScoredPassage
from assistant.index import PassageIndex, SyncReport
from assistant.retrieve import HybridSearch


class QuestionError(ValueError):
    """A question the assistant cannot take, with a message fit for the officer."""


_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """Split passage text into sentences (verbatim substrings of the text)."""
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return [s.strip() for s in _SENTENCE_RE.split(flat) if s.strip()]


class Assistant:
    """Holds the index and models for a process; `ask` answers one question."""

    def __init__(self, settings: Settings | None = None, index: PassageIndex | None = None):
        self.settings = settings or get_settings()
        self.index = index or PassageIndex(self.settings)
        self.sync: SyncReport = self.index.ensure()

    @cached_property
    def search(self) -> HybridSearch:
        return HybridSearch(self.index)

    def check_question(self, question: Any) -> str:
        """Reject what cannot be answered, with a specific message."""
        if not isinstance(question, str):
            raise QuestionError("The question must be text.")
        if not question.strip():
            raise QuestionError("Please type a question: for example, 'When should we use an alliance contract?'")
        return question.strip()

    def ask(self, question: str, facts: dict[str, Any] | None = None, source_type: str | None = None) -> Answer:
        """Answer one question with cited passages."""
        question = self.check_question(question)
        hits = self.search.search(question[: self.settings.max_question_chars], k=5, source_type=source_type)
        return compose_passages(question, hits, self.index.version)


def compose_passages(question: str, hits: list[ScoredPassage], corpus_version: str) -> Answer:
    """Interim composer: the lead sentence of each top passage, each cited."""
    lines, citations = [], []
    for marker, hit in enumerate(hits, start=1):
        quote = (sentences(hit.passage.text) or [hit.passage.text])[0]
        lines.append(f"- {quote} [{marker}]")
        p = hit.passage
        citations.append(Citation(marker=marker, passage_id=p.id, source_type=p.source_type, title=p.title, reference=p.reference, url=p.url, quote=quote, score=hit.score))
    text = "\n".join(lines) if lines else "The corpus does not cover this question."
    return Answer(question=question, intent="information", answer=text, citations=citations, corpus_version=corpus_version)


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
