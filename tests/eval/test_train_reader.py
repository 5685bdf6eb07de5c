"""The similarity step's reader: its training data, its loss, and the shipped weights being in step with the bank."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import yaml

from assistant.embeddings import READER, READER_DIR, READER_MANIFEST_NAME, READER_WEIGHTS_NAME
from eval import train_reader as T


def test_training_set_has_one_class_per_fact_value_and_a_neutral_class():
    prototypes = {"facts": {"interests": {"converge": ["we all want the same"], "diverge": ["they want profit"]},
                            "needs_development": {True: ["nothing like it exists yet"]}},
                  "neutral": ["the contract ends in March"]}
    mined = {"facts": {"interests": {"converge": [{"text": "everyone is after one outcome", "case": "r3a01"}]}}}
    pairs = T.training_set(prototypes, mined)
    assert ("everyone is after one outcome", "interests=converge") in pairs
    assert ("nothing like it exists yet", "needs_development=True") in pairs
    assert ("the contract ends in March", T.NEUTRAL) in pairs
    assert len(pairs) == 5


def test_digest_changes_with_any_sentence_or_label():
    pairs = [("a b c", "x=1"), ("d e f", "neutral")]
    assert T.digest(pairs) == T.digest(list(pairs))
    assert T.digest(pairs) != T.digest([("a b c", "x=2"), ("d e f", "neutral")])
    assert T.digest(pairs) != T.digest([("a b c", "x=1"), ("d e g", "neutral")])


def test_bank_pairs_without_a_round_drop_only_that_rounds_mined_phrases():
    whole = T.bank_pairs()
    without = T.bank_pairs(frozenset({"round 27"}))
    assert 0 < len(whole) - len(without) < len(whole) // 10
    assert set(without) <= set(whole)


def test_supervised_contrastive_loss_is_lower_when_classes_are_apart():
    torch = pytest.importorskip("torch")
    y = torch.tensor([0, 0, 1, 1])
    apart = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]]), dim=1)
    mixed = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.99, 0.1], [0.1, 0.99]]), dim=1)
    assert T._supcon(apart, y, 0.1).item() < T._supcon(mixed, y, 0.1).item()


def test_the_shipped_reader_is_in_step_with_the_bank():
    manifest = yaml.safe_load((READER_DIR / READER_MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["training_digest"] == T.digest(T.bank_pairs()), \
        "the prototype bank changed since the reader was trained: run `python -m eval.train_reader`"
    assert manifest["without_rounds"] == []
    weights = (READER_DIR / READER_WEIGHTS_NAME).read_bytes()
    assert manifest["weights_sha256"] == hashlib.sha256(weights).hexdigest()


def test_the_reader_loads_offline_and_differs_from_the_base_model_only_in_its_top_layers():
    from assistant.config import default_embedding_model
    from assistant.embeddings import embed, load_model

    reader, base = load_model(READER), load_model(default_embedding_model())
    assert reader is not base
    r_params, b_params = dict(reader[0].auto_model.named_parameters()), dict(base[0].auto_model.named_parameters())
    changed = {n for n in r_params if not np.array_equal(r_params[n].detach().numpy(), b_params[n].detach().numpy())}
    trained = T.TrainSettings().layers
    n_layers = len(base[0].auto_model.encoder.layer)
    assert changed and all(any(n.startswith(f"encoder.layer.{i}.") for i in range(n_layers - trained, n_layers)) for n in changed)
    vectors = embed(["we all want the same thing for these families"], READER)
    assert vectors.shape == (1, 384) and abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-4
