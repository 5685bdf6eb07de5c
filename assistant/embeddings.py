"""Sentence-transformers embeddings of the configured model, loaded once per process, offline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import get_settings


# The similarity step's reader (assistant/understand.py): the shipped model with its top layers
# replaced by ones fine-tuned on the prototype bank (eval/train_reader.py). Only those layers are
# stored, in float16, so the repository carries megabytes rather than the whole model.
READER = "svt-reader"
READER_DIR = Path(__file__).resolve().parent / "reader"
READER_WEIGHTS_NAME, READER_MANIFEST_NAME = "top_layers.safetensors", "reader.yaml"


@lru_cache(maxsize=4)
def load_model(name_or_path: str):
    """Load a SentenceTransformer on the CPU (cached per name; never downloads: HF_HUB_OFFLINE=1).

    `READER` (or a directory holding a reader's weights) loads the base model with the reader's
    fine-tuned layers in place.
    """
    from sentence_transformers import SentenceTransformer

    weights = _reader_weights(name_or_path)
    if weights:
        return _load_reader(weights)
    return SentenceTransformer(name_or_path, device="cpu")


def _reader_weights(name_or_path: str) -> Path | None:
    """The reader's weights file when `name_or_path` names a reader (READER or a reader directory)."""
    weights = (READER_DIR if name_or_path == READER else Path(name_or_path)) / READER_WEIGHTS_NAME
    return weights if weights.is_file() else None


def _load_reader(weights: Path):
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    from assistant.config import default_embedding_model

    model = SentenceTransformer(default_embedding_model(), device="cpu")  # its own copy, not the cached base
    layers = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
    result = model[0].auto_model.load_state_dict(layers, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"{weights} does not fit the base model: {result.unexpected_keys[:3]}")
    model.eval()
    return model


def model_id(name_or_path: str) -> str:
    """A name that changes when the model's weights do (for caches keyed by model): the reader's
    carries the digest of its weights."""
    weights = _reader_weights(name_or_path)
    if weights:
        import hashlib

        return f"{READER}:{hashlib.sha256(weights.read_bytes()).hexdigest()[:16]}"
    return name_or_path


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
