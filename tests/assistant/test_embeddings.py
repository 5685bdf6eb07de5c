"""embed_models: the reader and its base model in one pass of their shared lower layers gives the
vectors of two plain passes; any other pair of models is embedded apart."""

from __future__ import annotations

import numpy as np
import pytest

import assistant.embeddings as E
from assistant.config import default_embedding_model

pytestmark = pytest.mark.slow

BASE = default_embedding_model()

SHORT = [
    "we want providers to work together",
    "nobody knows what will work yet",
    "a fixed budget",
    "alliance",
    "Homelessness services here are twenty separate contracts.",
    "the output is fixed and measurable",
]
SENTENCES = [
    "Our adult social care team commissions home care from fourteen providers across the district.",
    "Residents told us the service feels fragmented and nobody owns the whole picture.",
    "Members want local organisations to share responsibility for outcomes rather than compete on price.",
    "The budget is about two million pounds a year for five years, with an option to extend.",
    "We are not sure what the right model is, and we expect it to change as we learn.",
]
# a memo longer than the model's 256 tokens (truncated) and some of middling length
LONG = [" ".join(SENTENCES * 4), " ".join(SENTENCES), " ".join(SENTENCES[:2]), " ".join(SENTENCES[2:4])]
# more texts than one batch (32), so several batches with their own padding
TEXTS = SHORT + LONG + [f"{s} ({i})" for i, s in enumerate(SENTENCES * 6)] + SHORT[:2]  # with repeats


@pytest.fixture
def fresh_cache(monkeypatch):
    cache: dict = {}
    monkeypatch.setattr(E, "_CACHE", cache)
    return cache


def _plain(texts, models):
    return [E.embed(texts, m) for m in models]


def test_the_reader_shares_all_but_its_fine_tuned_top_layers():
    from safetensors import safe_open

    with safe_open(str(E._reader_weights(E.READER)), framework="pt") as f:
        top = {int(k.split(".")[2]) for k in f.keys()}
    n = len(E.load_model(BASE)[0].auto_model.encoder.layer)
    assert top == set(range(n - len(top), n))
    assert E.shared_layers(E.READER, BASE) == n - len(top) > 0
    assert E.shared_layers(BASE, E.READER) == 0  # the base model is not a reader
    assert E.shared_layers(BASE, BASE) == 0


def test_shared_pass_equals_two_plain_passes(fresh_cache, monkeypatch):
    plain_reader, plain_base = _plain(TEXTS, [E.READER, BASE])
    fresh_cache.clear()
    calls = []
    shared = E._embed_shared
    monkeypatch.setattr(E, "_embed_shared", lambda texts, *a: calls.append(len(texts)) or shared(texts, *a))
    reader, base = E.embed_models(TEXTS, [E.READER, BASE])
    assert calls == [len(set(TEXTS))]  # one shared pass over the distinct texts
    assert reader.shape == base.shape == (len(TEXTS), plain_base.shape[1]) and reader.dtype == np.float32
    np.testing.assert_allclose(reader, plain_reader, rtol=0, atol=1e-5)
    np.testing.assert_allclose(base, plain_base, rtol=0, atol=1e-5)
    assert np.abs(reader - base).max() > 1e-2  # two different models all the same
    np.testing.assert_allclose(np.linalg.norm(reader, axis=1), 1.0, atol=1e-5)
    # the per-(model, text) cache holds them: embed returns the very same vectors, no model call
    assert np.array_equal(E.embed(TEXTS, E.READER), reader) and np.array_equal(E.embed(TEXTS, BASE), base)
    # either order, and nothing embedded twice
    base2, reader2 = E.embed_models(TEXTS, [BASE, E.READER])
    assert np.array_equal(base2, base) and np.array_equal(reader2, reader) and len(calls) == 1


def test_shared_pass_keeps_vectors_already_cached(fresh_cache):
    cached = E.embed(SHORT[:3], BASE)
    before = {t: fresh_cache[(BASE, t)] for t in SHORT[:3]}
    reader, base = E.embed_models(SHORT, [E.READER, BASE])
    assert np.array_equal(base[:3], cached) and all(fresh_cache[(BASE, t)] is v for t, v in before.items())
    assert all((m, t) in fresh_cache for m in (E.READER, BASE) for t in SHORT)
    assert E.embed_models([], [E.READER, BASE])[0].shape == (0, cached.shape[1])


def test_a_similarity_model_that_is_not_a_reader_is_embedded_apart(fresh_cache, monkeypatch, tmp_path):
    # SVT_SIMILARITY_MODEL naming another sentence-transformers model (here the base model under
    # another path): two plain passes
    other = tmp_path / "other-model"
    other.symlink_to(BASE, target_is_directory=True)
    monkeypatch.setattr(E, "_embed_shared", lambda *a: pytest.fail("shared pass for a model that is not a reader"))
    assert E.shared_layers(str(other), BASE) == 0
    got = E.embed_models(TEXTS[:8], [str(other), BASE])
    fresh_cache.clear()
    for vectors, expected in zip(got, _plain(TEXTS[:8], [str(other), BASE])):
        np.testing.assert_allclose(vectors, expected, rtol=0, atol=1e-5)
    # one model only (the reader off, or both settings naming the same model)
    assert len(E.embed_models(SHORT, [BASE, BASE])) == 2
    assert np.array_equal(E.embed_models(SHORT, [None])[0], E.embed(SHORT, BASE))


@pytest.mark.parametrize("layers", [(2, 3), (0, 1), (3, 5)])
def test_a_reader_whose_weights_are_not_the_top_layers_is_embedded_apart(tmp_path, layers):
    from safetensors.torch import load_file, save_file

    renamed = {f"encoder.layer.{i}.": f"encoder.layer.{j}." for i, j in zip((4, 5), layers)}
    tensors = {}
    for key, tensor in load_file(str(E._reader_weights(E.READER))).items():
        old = next(o for o in renamed if key.startswith(o))
        tensors[renamed[old] + key[len(old):]] = tensor
    save_file(tensors, str(tmp_path / E.READER_WEIGHTS_NAME))
    assert E.shared_layers(str(tmp_path), BASE) == 0


def test_a_reader_that_changes_more_than_encoder_layers_is_embedded_apart(tmp_path):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(E._reader_weights(E.READER)))
    tensors["embeddings.LayerNorm.weight"] = E.load_model(BASE)[0].auto_model.embeddings.LayerNorm.weight.detach().clone()
    save_file(tensors, str(tmp_path / E.READER_WEIGHTS_NAME))
    assert E.shared_layers(str(tmp_path), BASE) == 0
