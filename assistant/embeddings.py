"""Sentence-transformers embeddings of the configured model, loaded once per process, offline."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import get_settings


@lru_cache(maxsize=4)
def load_model(name_or_path: str):
    """Load a SentenceTransformer on the CPU (cached per name; never downloads: HF_HUB_OFFLINE=1)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name_or_path, device="cpu")


# (model, text) -> vector. Passages are re-embedded when a store is rebuilt or a second store
# (server mode) is filled in the same process; the model is deterministic, so reuse is exact.
_CACHE: dict[tuple[str, str], np.ndarray] = {}
_CACHE_LIMIT = 50_000


def embed(texts: list[str], model: str | None = None, batch_size: int | None = None) -> np.ndarray:
    """Unit-normalised float32 embeddings, one row per text (cosine = dot product)."""
    settings = get_settings()
    name = model or settings.embedding_model
    st = load_model(name)
    dim = (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
    todo = sorted({t for t in texts if (name, t) not in _CACHE})
    if todo:
        vectors = st.encode(
            todo,
            batch_size=batch_size or settings.embedding_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if len(_CACHE) + len(todo) > _CACHE_LIMIT:
            _CACHE.clear()
        for text, vector in zip(todo, np.asarray(vectors, dtype=np.float32)):
            _CACHE[(name, text)] = vector
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([_CACHE[(name, t)] for t in texts])


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain `Embeddings` over `embed`, so Chroma never falls back to its downloading default."""

    def __init__(self, model: str | None = None, batch_size: int | None = None):
        self.model = model or get_settings().embedding_model
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return embed(texts, self.model, self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        return embed([text], self.model, self.batch_size)[0].tolist()
