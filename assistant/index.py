"""The passage store and its Chroma index: embedded by default, a Chroma server when configured.

The corpus files (plus documents a user ingested) are the source of truth; Chroma holds their
vectors. The index records a corpus version (a hash of the passages, the chunking and the
embedding model) and is brought up to date incrementally: changed passages are re-embedded,
removed ones deleted, by id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.config import Settings, get_settings
from assistant.contracts import Passage
from assistant.corpus import CHUNKING, load_corpus

log = logging.getLogger(__name__)

VERSION_KEY = "corpus_version"
HASH_KEY = "content_hash"


def passage_hash(p: Passage) -> str:
    """Content hash of everything about a passage that is embedded or cited."""
    payload = json.dumps([p.text, p.metadata()], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def model_fingerprint(model: str) -> str:
    """A machine-independent name for the embedding model (a local path hashes its config)."""
    path = Path(model)
    if path.is_dir():
        digest = hashlib.sha256()
        for name in ("config.json", "modules.json", "sentence_bert_config.json"):
            if (path / name).exists():
                digest.update((path / name).read_bytes())
        return f"local:{digest.hexdigest()[:12]}"
    return model


def corpus_version(passages: list[Passage], model: str) -> str:
    """Hash of the passages, the chunking settings and the embedding model."""
    digest = hashlib.sha256(f"{CHUNKING}|{model_fingerprint(model)}".encode())
    for p in sorted(passages, key=lambda p: p.id):
        digest.update(f"{p.id}={passage_hash(p)};".encode())
    return digest.hexdigest()[:16]


def ingested_dir(settings: Settings) -> Path:
    return settings.data_dir / "ingested"


def load_ingested(settings: Settings) -> list[Passage]:
    """Passages of documents the user ingested (`svt ingest`), kept under the data folder."""
    folder = ingested_dir(settings)
    passages: list[Passage] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            passages.extend(Passage(**item) for item in json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            log.warning("skipping unreadable ingested file %s: %s", path, exc)
    return passages


@dataclass
class SyncReport:
    """What one `ensure` did, for the CLI to print and the tests to check."""

    version: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rebuilt: bool = False
    message: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.rebuilt)


class PassageIndex:
    """Passages, their Chroma vector store and the corpus version; one per process."""

    def __init__(self, settings: Settings | None = None, passages: list[Passage] | None = None):
        self.settings = settings or get_settings()
        self.passages = passages if passages is not None else self._load_passages()
        self.by_id = {p.id: p for p in self.passages}
        self.version = corpus_version(self.passages, self.settings.embedding_model)

    def _load_passages(self) -> list[Passage]:
        corpus = load_corpus(self.settings.corpus_dir)
        ingested = [p for p in load_ingested(self.settings) if p.id not in {c.id for c in corpus}]
        return corpus + ingested

    # --- Chroma ---------------------------------------------------------------------------

    def _client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.server_mode:
            return chromadb.HttpClient(host=self.settings.chroma_host, port=self.settings.chroma_port, settings=chroma_settings)
        if not (self.settings.chroma_path / "chroma.sqlite3").exists():
            # The folder was removed under us: a cached client would still point at the old files.
            _forget_cached_client(self.settings.chroma_path)
        self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.settings.chroma_path), settings=chroma_settings)

    @cached_property
    def embeddings(self):
        from assistant.embeddings import SentenceTransformerEmbeddings

        return SentenceTransformerEmbeddings(self.settings.embedding_model, self.settings.embedding_batch_size)

    @cached_property
    def store(self):
        """LangChain's Chroma vector store over our client, cosine space, our embeddings."""
        from langchain_chroma import Chroma

        return Chroma(
            collection_name=self.settings.collection,
            embedding_function=self.embeddings,
            client=self._client(),
            collection_configuration={"hnsw": {"space": "cosine"}},
        )

    def _reset_store(self, reason: str) -> None:
        """Throw away an unusable store and start an empty one."""
        log.warning("rebuilding the index: %s", reason)
        self.__dict__.pop("store", None)
        self.__dict__.pop("vectors", None)
        if self.settings.server_mode:
            try:
                self._client().delete_collection(self.settings.collection)
            except Exception:  # noqa: BLE001 - absent collection is fine
                pass
        else:
            _forget_cached_client(self.settings.chroma_path)
            shutil.rmtree(self.settings.chroma_path, ignore_errors=True)

    def stored_state(self) -> tuple[str | None, dict[str, str]]:
        """(recorded corpus version, {passage id: content hash}) of the store as it is."""
        collection = self.store._collection
        got = collection.get(include=["metadatas"])
        hashes = {i: (m or {}).get(HASH_KEY, "") for i, m in zip(got["ids"], got["metadatas"] or [])}
        return (collection.metadata or {}).get(VERSION_KEY), hashes

    def is_current(self) -> bool:
        """True when the store holds exactly this corpus version."""
        try:
            version, _ = self.stored_state()
        except Exception:  # noqa: BLE001 - an unreadable store is not current
            return False
        return version == self.version

    def ensure(self, rebuild: bool = False, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Bring the store up to this corpus version: upsert changed passages, delete removed."""
        report = SyncReport(version=self.version)
        if rebuild:
            self._reset_store("rebuild requested")
            report.rebuilt = True
        try:
            stored_version, stored = self.stored_state()
        except Exception as exc:  # noqa: BLE001 - corrupt or half-written store
            self._reset_store(f"the store could not be read ({type(exc).__name__}: {exc})")
            report.rebuilt = True
            report.message = "The index store was unreadable, so it was rebuilt from the corpus."
            stored_version, stored = self.stored_state()
        if stored_version == self.version and set(stored) == set(self.by_id):
            return report

        wanted = {p.id: passage_hash(p) for p in self.passages}
        todo = [p for p in self.passages if stored.get(p.id) != wanted[p.id]]
        report.added = [p.id for p in todo if p.id not in stored]
        report.updated = [p.id for p in todo if p.id in stored]
        report.deleted = sorted(set(stored) - set(wanted))
        if report.deleted:
            self.store.delete(ids=report.deleted)
        batch = self.settings.embedding_batch_size
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            self.store.add_texts(
                texts=[embedding_text(p) for p in chunk],
                metadatas=[{**p.metadata(), HASH_KEY: wanted[p.id]} for p in chunk],
                ids=[p.id for p in chunk],
            )
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
        # The version is written last: a build cut off half way is seen as stale next time.
        self.store._collection.modify(metadata={VERSION_KEY: self.version})
        self.__dict__.pop("vectors", None)  # read the vectors again after any change
        return report

    @cached_property
    def vectors(self) -> tuple[list[str], np.ndarray]:
        """(ids, unit vectors) of every indexed passage, sorted by id, read from the store once
        (`ensure` and a store reset drop them, so a changed store is read again)."""
        got = self.store._collection.get(include=["embeddings"])
        order = sorted((i for i in range(len(got["ids"])) if got["ids"][i] in self.by_id), key=lambda i: got["ids"][i])
        ids = [got["ids"][i] for i in order]
        matrix = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32).reshape(len(ids), -1)
        return ids, matrix

    def similarities(self, queries: list[str]) -> list[dict[str, float]]:
        """Exact cosine similarity of each query to every passage (one batched embedding call).

        Exact rather than Chroma's approximate HNSW search: a few hundred passages cost well under
        a millisecond, and the ranking is then the same on every build of the store.
        """
        from assistant.embeddings import embed

        ids, matrix = self.vectors
        if not ids or not queries:
            return [{} for _ in queries]
        vecs = embed(list(queries), self.settings.embedding_model, self.settings.embedding_batch_size)
        return [{pid: round(float(x), 6) for pid, x in zip(ids, matrix @ np.asarray(v, dtype=np.float32))} for v in vecs]

    def dense_search(self, query: str, k: int, source_type: str | None = None,
                     sims: dict[str, float] | None = None) -> list[tuple[str, float]]:
        """(passage id, cosine similarity) best first, exact (ties by id); `sims`: the query's
        similarities if they are already computed."""
        if sims is None:
            sims = self.similarities([query])[0]
        ranked = sorted((pid for pid in sims if source_type is None or self.by_id[pid].source_type == source_type),
                        key=lambda pid: (-sims[pid], pid))
        return [(pid, sims[pid]) for pid in ranked[:k]]


def _forget_cached_client(path: Path) -> None:
    """Chroma caches one client per store path; drop this path's so a fresh store is opened."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def embedding_text(p: Passage) -> str:
    """What is embedded: the heading path gives a short passage its subject."""
    heading = " > ".join(p.heading_path)
    return f"{p.title}. {heading}.\n{p.text}" if heading else f"{p.title}.\n{p.text}"
