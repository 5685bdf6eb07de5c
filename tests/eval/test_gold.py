"""The gold set is well formed, split by the fixed rule, and every gold passage id exists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from eval.gold import ROUTES, MODELS, load_gold
from eval.gold_split import split_key, split_of

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cases():
    return load_gold("all")


def test_size_and_kinds(cases):
    assert len(cases) >= 120
    kinds = Counter(c.kind for c in cases)
    assert kinds["recommendation"] and kinds["information"] and kinds["out_of_scope"] and kinds["adversarial"]
    attacks = {c.attack for c in cases if c.kind == "adversarial"}
    assert {"injection", "html", "long", "multi"} <= attacks
    assert max(len(c.question) for c in cases) > 2000  # 2,225 characters  # the very long question


def test_paraphrase_groups(cases):
    groups = Counter(c.group for c in cases if c.group)
    assert len(groups) >= 10
    assert all(3 <= n <= 4 for n in groups.values()), groups


def test_split_follows_the_fixed_rule(cases):
    for c in cases:
        assert c.split == split_of(split_key({"id": c.id, "group": c.group})), c.id
    assert {c.split for c in cases} == {"dev", "test"}
    assert len(load_gold("dev")) + len(load_gold("test")) == len(cases)


def test_labels_are_well_formed(cases):
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    for c in cases:
        assert c.why, c.id
        assert c.intent in ("recommendation", "information", "out_of_scope"), c.id
        if c.kind == "recommendation":
            assert c.intent == "recommendation" and c.route in ROUTES, c.id
        if c.route:
            assert c.route in ROUTES
        assert set(c.models) <= MODELS, c.id
        if c.kind == "information":
            assert c.relevant, c.id
        assert all(g in (1, 2) for g in c.relevant.values()), c.id
        if c.relevant:
            assert 2 in c.relevant.values(), c.id


def test_gold_passage_ids_exist_in_the_corpus(cases):
    from assistant.corpus import load_corpus

    known = {p.id for p in load_corpus(REPO / "corpus")}
    missing = sorted({pid for c in cases for pid in c.relevant} - known)
    assert not missing, f"gold passage ids not in the corpus: {missing}"


def test_holdout_rounds_are_well_formed_and_not_in_the_gold_set(cases):
    gold_ids = {c.id for c in cases}
    for path in (REPO / "eval/gold/holdout").glob("*.yaml"):
        held = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert held and not {c["id"] for c in held} & gold_ids, path
        assert all(c["route"] in ROUTES and c["question"] for c in held)
