"""Sentence-transformers embeddings of the configured model, loaded once per process, offline."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from assistant.config import get_settings


@lru_cache(maxsize=4)
def load_model(name_or_path: str):
    """Load a SentenceTransformer on the CPU (cached per name; never downloads: HF_HUB_OFFLINE=1)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name_or_path, device="cpu")


def embed(texts: list[str], model: str | None = None, batch_size: int | None = None) -> np.ndarray:
    """Unit-normalised float32 embeddings, one row per text (cosine = dot product)."""
    settings = get_settings()
    st = load_model(model or settings.embedding_model)
    if not texts:
        return np.zeros((0, st.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = st.encode(
        list(texts),
        batch_size=batch_size or settings.embedding_batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


class SentenceTransformerEmbeddings:
    """LangChain `Embeddings` over `embed`, so Chroma never falls back to its downloading default."""

    def __init__(self, model: str | None = None, batch_size: int | None = None):
        self.model = model or get_settings().embedding_model
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return embed(texts, self.model, self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        return embed([text], self.model, self.batch_size)[0].tolist()
