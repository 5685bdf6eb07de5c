"""Sentence-transformers embeddings of the configured model, loaded once per process, offline."""

from __future__ import annotations

import re
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
        _remember([((name, text), vector) for text, vector in zip(todo, np.asarray(vectors, dtype=np.float32))])
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([_CACHE[(name, t)] for t in texts])


def _remember(items: list[tuple[tuple[str, str], np.ndarray]]) -> None:
    """Put (model, text) -> vector pairs in the cache (emptied first when they would overflow it);
    a vector already cached stays as it was."""
    if len(_CACHE) + len(items) > _CACHE_LIMIT:
        _CACHE.clear()
    for key, vector in items:
        _CACHE.setdefault(key, vector)


# --- a reader and its base model in one pass of their shared lower layers -----------------------
#
# The reader is the base model with its top layers replaced (eval/train_reader.py fine-tunes only
# those): the embeddings and the lower encoder layers are the same weights, so for the similarity
# step, which reads every clause piece with both models, they need running only once per text.

_LAYER_KEY = re.compile(r"encoder\.layer\.(\d+)\.")


def embed_models(texts: list[str], models: list[str | None], batch_size: int | None = None) -> list[np.ndarray]:
    """`[embed(texts, m) for m in models]`: the same vectors and the same per-(model, text) cache,
    but when `models` are a reader and its base model (`shared_layers`), each text's embeddings
    and lower encoder layers are computed once and only the two top stacks run separately."""
    settings = get_settings()
    names = [m or settings.embedding_model for m in models]
    if len(set(names)) == 2:
        a, b = dict.fromkeys(names)
        reader, base = (a, b) if shared_layers(a, b) else (b, a)
        shared = shared_layers(reader, base)  # cached: 0 when neither is the other's reader
        todo = sorted({t for t in texts if (reader, t) not in _CACHE or (base, t) not in _CACHE}) if shared else []
        if todo:
            reader_vecs, base_vecs = _embed_shared(todo, reader, base, shared, batch_size or settings.embedding_batch_size)
            _remember([((reader, t), v) for t, v in zip(todo, reader_vecs)] + [((base, t), v) for t, v in zip(todo, base_vecs)])
    return [embed(texts, name, batch_size) for name in names]


@lru_cache(maxsize=8)
def shared_layers(reader: str, base: str) -> int:
    """How many lower encoder layers the model `reader` shares with `base` (0: none, embed apart).

    Not 0 only when `reader` names a reader (`_reader_weights`) whose weights file holds the top
    layers of the encoder and nothing else, `base` is the model it is built on, both are the plain
    Transformer -> Pooling -> (Normalize) pipeline over a padded encoder, and every weight outside
    those top layers, embeddings included, is equal in the two loaded models.
    """
    weights = _reader_weights(reader)
    if weights is None or _reader_weights(base) is not None:
        return 0
    from assistant.config import default_embedding_model

    if base != default_embedding_model() and Path(base).resolve() != Path(default_embedding_model()).resolve():
        return 0  # _load_reader puts the layers on the packaged model, not on this one
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        keys = list(f.keys())
    if not keys or not all(_LAYER_KEY.match(k) for k in keys):
        return 0  # something besides whole encoder layers (embeddings, pooler...) differs
    layers = {int(_LAYER_KEY.match(k).group(1)) for k in keys}
    b_st = load_model(base)
    if not _plain_pipeline(b_st):
        return 0
    n, first = len(b_st[0].auto_model.encoder.layer), min(layers)
    if first == 0 or layers != set(range(first, n)):
        return 0  # not exactly the top layers
    r_st = load_model(reader)
    if not _plain_pipeline(r_st) or r_st.max_seq_length != b_st.max_seq_length:
        return 0
    r_auto, b_auto = r_st[0].auto_model, b_st[0].auto_model
    if len(r_auto.encoder.layer) != n:
        return 0
    r_params, b_params = dict(r_auto.named_parameters()), dict(b_auto.named_parameters())
    if r_params.keys() != b_params.keys():
        return 0
    import torch

    top = tuple(f"encoder.layer.{i}." for i in layers)
    for name, param in b_params.items():
        if not name.startswith(top) and not torch.equal(param, r_params[name]):
            return 0
    return first


def _plain_pipeline(st) -> bool:
    """A SentenceTransformer whose first module runs a BERT-like encoder on padded text
    (embeddings, then encoder.layer[i] in turn) and whose other modules read its token embeddings."""
    try:
        from sentence_transformers.base.modules import Transformer
    except ImportError:  # another sentence-transformers layout: do not guess
        return False

    first = st[0]
    auto = getattr(first, "auto_model", None)
    text = (getattr(first, "modality_config", None) or {}).get("text") or {}
    return (isinstance(first, Transformer) and getattr(first, "can_flatten_inputs", True) is False
            and getattr(first, "module_output_name", None) == "token_embeddings"
            and text.get("method") == "forward" and text.get("method_output_name") == "last_hidden_state"
            and auto is not None and not auto.config.is_decoder
            and hasattr(auto, "embeddings") and hasattr(auto, "_create_attention_masks")
            and hasattr(getattr(auto, "encoder", None), "layer")
            and [type(m).__name__ for m in list(st)[1:]] in (["Pooling"], ["Pooling", "Normalize"]))


def _embed_shared(texts: list[str], reader: str, base: str, shared: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(reader, base) unit vectors of `texts`, the lower `shared` layers run once.

    Each batch goes as `SentenceTransformer.encode` takes it (longest texts first, padded to the
    batch's longest, the model's own tokenisation); the encoder's output then goes through each
    model's own Pooling (mean over the attention mask) and Normalize modules, and is L2-normalised
    as `encode(normalize_embeddings=True)` does.
    """
    import torch

    r_st, b_st = load_model(reader), load_model(base)
    r_st.eval(), b_st.eval()
    b_auto, r_auto = b_st[0].auto_model, r_st[0].auto_model
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out_r: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    out_b: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            features = b_st.preprocess([texts[i] for i in idx])
            hidden = b_auto.embeddings(input_ids=features["input_ids"], token_type_ids=features.get("token_type_ids"))
            mask, _ = b_auto._create_attention_masks(attention_mask=features["attention_mask"], encoder_attention_mask=None,
                                                     embedding_output=hidden, encoder_hidden_states=None,
                                                     cache=None, position_ids=None)
            for layer in b_auto.encoder.layer[:shared]:
                hidden = layer(hidden, mask)
            for st, auto, out in ((r_st, r_auto, out_r), (b_st, b_auto, out_b)):
                top = hidden
                for layer in auto.encoder.layer[shared:]:
                    top = layer(top, mask)
                feats = {**features, "token_embeddings": top}
                for module in list(st)[1:]:
                    feats = module(feats)
                vecs = torch.nn.functional.normalize(feats["sentence_embedding"], p=2, dim=1)
                for i, v in zip(idx, vecs.cpu().numpy().astype(np.float32)):
                    out[i] = v
    return np.stack(out_r), np.stack(out_b)


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain `Embeddings` over `embed`, so Chroma never falls back to its downloading default."""

    def __init__(self, model: str | None = None, batch_size: int | None = None):
        self.model = model or get_settings().embedding_model
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return embed(texts, self.model, self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        return embed([text], self.model, self.batch_size)[0].tolist()
