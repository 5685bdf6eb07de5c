"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s) rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.contracts import Passage, ScoredPassage
from assistant.index import PassageIndex, embedding_text

Mode = Literal["hybrid", "dense", "bm25"]
RRF_K = 60  # the usual constant from Cormack et al. (2009): damps the weight of top ranks
CANDIDATES = 30  # each retriever's depth before fusion


class BM25Index:
    """An in-memory bm25s index over the same passages as the vector store (same version)."""

    def __init__(self, index: PassageIndex):
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.ids = [p.id for p in index.passages]
        self.source_types = [p.source_type for p in index.passages]
        self.version = index.version
        tokens = bm25s.tokenize([embedding_text(p) for p in index.passages], stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)

    def search(self, query: str, k: int, source_type: str | None = None) -> list[tuple[str, float]]:
        """(passage id, BM25 score) best first; only passages with a positive score."""
        if not self.ids:
            return []
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        mask = None
        if source_type:
            import numpy as np

            mask = np.array([st == source_type for st in self.source_types], dtype=float)
        docs, scores = self.model.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False, weight_mask=mask)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several best-first id lists; ties broken by id for determinism."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, start=1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def scored_passages(
    by_id: dict[str, Passage],
    ranking: list[tuple[str, float]],
    dense_ids: list[str],
    sparse_ids: list[str],
    similarity: dict[str, float],
) -> list[ScoredPassage]:
    """A (passage id, score) ranking as scored passages, with each retriever's rank and the
    cosine similarity where known."""
    dense_rank = {pid: r for r, pid in enumerate(dense_ids, start=1)}
    sparse_rank = {pid: r for r, pid in enumerate(sparse_ids, start=1)}
    return [
        ScoredPassage(
            passage=by_id[pid],
            score=round(score, 6),
            dense_rank=dense_rank.get(pid),
            bm25_rank=sparse_rank.get(pid),
            similarity=round(similarity[pid], 6) if pid in similarity else None,
        )
        for pid, score in ranking
    ]


class HybridSearch:
    """Dense + BM25 search over one PassageIndex, returning scored passages."""

    def __init__(self, index: PassageIndex):
        self.index = index

    @cached_property
    def bm25(self) -> BM25Index:
        return BM25Index(self.index)

    def search(self, query: str, k: int | None = 10, source_type: str | None = None, mode: Mode = "hybrid",
               sims: dict[str, float] | None = None) -> list[ScoredPassage]:
        """Top-k passages for a query (k None: every passage either retriever ranks); `mode` picks
        hybrid (default) or one retriever alone; `sims`: the query's exact similarities to every
        passage, when the caller has them already (the pipeline embeds a question once)."""
        depth = max(k or 0, CANDIDATES)
        if mode != "bm25" and sims is None:
            sims = self.index.similarities([query])[0]
        dense = self.index.dense_search(query, depth, source_type, sims=sims) if mode != "bm25" else []
        sparse = self.bm25.search(query, depth, source_type) if mode != "dense" else []
        if mode == "dense":
            ranking = dense
        elif mode == "bm25":
            ranking = sparse
        else:
            ranking = rrf([[pid for pid, _ in dense], [pid for pid, _ in sparse]])
        return scored_passages(self.index.by_id, ranking if k is None else ranking[:k],
                               [pid for pid, _ in dense], [pid for pid, _ in sparse], sims or {})


class HybridRetriever(BaseRetriever):
    """LangChain retriever over HybridSearch: Documents carry the passage metadata and scores."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    k: int = 8
    source_type: str | None = None
    mode: Mode = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.search.search(query, k=self.k, source_type=self.source_type, mode=self.mode)
        return [
            Document(
                id=h.passage.id,
                page_content=h.passage.text,
                metadata={**h.passage.metadata(), "score": h.score, "dense_rank": h.dense_rank, "bm25_rank": h.bm25_rank, "similarity": h.similarity},
            )
            for h in hits
        ]
