"""The Chroma index: incremental sync by id, corpus version, recovery from a broken store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings
from assistant.index import PassageIndex, corpus_version

pytestmark = pytest.mark.slow

DOC = """---
id: {doc}
title: {doc} title
source_type: toolkit
source: Test source
reference: Test source, part 1
url: https://www.gov.uk/test
as_of: 2026-01-31
---

## Alpha
Alliance contracts bring several providers together around shared outcomes.

## Beta
A council acting as system steward convenes partners rather than buying outputs.
"""


@pytest.fixture()
def small(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "toolkit").mkdir(parents=True)
    for doc in ("doc-one", "doc-two"):
        (corpus / "toolkit" / f"{doc}.md").write_text(DOC.format(doc=doc), encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus, collection="svt_small")


class CountingEmbeddings:
    """Wraps the real embeddings to count how many texts get embedded."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def counting_index(settings) -> tuple[PassageIndex, CountingEmbeddings]:
    index = PassageIndex(settings)
    counter = CountingEmbeddings(index.embeddings)
    index.__dict__["embeddings"] = counter
    return index, counter


def test_first_build_then_nothing_to_do(small):
    index, counter = counting_index(small)
    report = index.ensure()
    assert sorted(report.added) == sorted(p.id for p in index.passages) and len(counter.embedded) == 4
    again, counter2 = counting_index(small)
    assert again.is_current()
    assert not again.ensure().changed and counter2.embedded == []


def test_changing_one_passage_re_embeds_only_that_one(small):
    PassageIndex(small).ensure()
    path = small.corpus_dir / "toolkit" / "doc-two.md"
    path.write_text(path.read_text().replace("convenes partners", "brings partners together"), encoding="utf-8")
    index, counter = counting_index(small)
    assert not index.is_current()
    report = index.ensure()
    assert report.updated == ["doc-two#beta"] and report.added == [] and report.deleted == []
    assert len(counter.embedded) == 1 and "brings partners together" in counter.embedded[0]
    assert index.is_current()


def test_removed_document_is_deleted_by_id(small):
    PassageIndex(small).ensure()
    (small.corpus_dir / "toolkit" / "doc-one.md").unlink()
    index = PassageIndex(small)
    report = index.ensure()
    assert sorted(report.deleted) == ["doc-one#alpha", "doc-one#beta"]
    _, stored = index.stored_state()
    assert set(stored) == {"doc-two#alpha", "doc-two#beta"}


def test_version_depends_on_text_and_model(small):
    passages = PassageIndex(small).passages
    assert corpus_version(passages, "model-a") != corpus_version(passages, "model-b")
    changed = [passages[0].model_copy(update={"text": "other"})] + passages[1:]
    assert corpus_version(passages, "m") != corpus_version(changed, "m")
    assert corpus_version(passages, "m") == corpus_version(list(reversed(passages)), "m")


def test_corrupt_store_is_rebuilt_with_a_message(small):
    PassageIndex(small).ensure()
    for path in Path(small.chroma_path).rglob("*"):
        if path.is_file():
            path.write_bytes(b"this is not a database")
    index = PassageIndex(small)
    report = index.ensure()
    assert report.rebuilt and "rebuilt" in (report.message or "")
    assert index.is_current()
    assert index.dense_search("alliance contracts", 1)[0][0].endswith("#alpha")


def test_half_written_store_is_completed(small):
    index = PassageIndex(small)
    first = index.passages[:1]
    index.store.add_texts([first[0].text], metadatas=[first[0].metadata()], ids=[first[0].id])  # no version recorded
    fresh = PassageIndex(small)
    assert not fresh.is_current()
    report = fresh.ensure()
    assert fresh.is_current() and len(report.added) + len(report.updated) == 4


def test_missing_store_folder_is_rebuilt(small):
    PassageIndex(small).ensure()
    shutil.rmtree(small.chroma_path)
    index = PassageIndex(small)
    assert not index.is_current()
    assert len(index.ensure().added) == 4


def test_real_corpus_index_is_current(built_index):
    assert built_index.is_current()
    assert len(built_index.passages) >= 160
    assert built_index.settings.corpus_dir == REPO_ROOT / "corpus"
