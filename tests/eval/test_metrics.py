"""Each metric on small hand-made inputs: a perfect case, a broken case, and an edge case."""

from __future__ import annotations

import math

import pytest

from eval import metrics as m

GOLD = {"a": 2, "b": 1, "c": 0}


def test_recall_at_k():
    assert m.recall_at_k(["a", "b", "x"], GOLD, 5) == 1.0
    assert m.recall_at_k(["x", "y", "z", "w", "v", "a", "b"], GOLD, 5) == 0.0
    assert m.recall_at_k(["a", "x"], GOLD, 5) == 0.5
    assert m.recall_at_k(["c"], GOLD, 5) == 0.0  # grade 0 is not relevant
    with pytest.raises(ValueError):
        m.recall_at_k(["a"], {"a": 0}, 5)


def test_mrr_at_k():
    assert m.mrr_at_k(["a"], GOLD) == 1.0
    assert m.mrr_at_k(["x", "x2", "b"], GOLD) == pytest.approx(1 / 3)
    assert m.mrr_at_k(["x"] * 10 + ["a"], GOLD, 10) == 0.0


def test_ndcg_at_k():
    assert m.ndcg_at_k(["a", "b"], GOLD) == pytest.approx(1.0)
    worse = m.ndcg_at_k(["b", "a"], GOLD)
    ideal = 3 + 1 / math.log2(3)
    assert worse == pytest.approx((1 + 3 / math.log2(3)) / ideal)
    assert worse < 1.0
    assert m.ndcg_at_k(["x", "y"], GOLD) == 0.0
    assert m.ndcg_at_k(["a", "a", "b"], GOLD) < 1.0  # duplicates earn nothing


def test_route_accuracy_and_confusion():
    pairs = [("competition", "competition"), ("collaboration", "mixed"), ("mixed", "none")]
    assert m.route_accuracy(pairs) == pytest.approx(1 / 3)
    assert m.route_accuracy([("mixed", "mixed")]) == 1.0
    assert m.route_accuracy([]) is None
    cm = m.confusion_matrix(pairs, ["competition", "collaboration", "mixed", "undetermined"])
    assert cm["collaboration"]["mixed"] == 1 and cm["mixed"]["none"] == 1 and cm["competition"]["competition"] == 1
    assert sum(sum(r.values()) for r in cm.values()) == 3


def test_model_hit_at_3():
    assert m.model_hit_at_k(["open_procedure", "framework", "alliance_contract"], ["alliance_contract"])
    assert not m.model_hit_at_k(["open_procedure", "framework", "direct_award", "alliance_contract"], ["alliance_contract"])
    assert not m.model_hit_at_k([], ["alliance_contract"])


PASSAGES = {"p1": "The open procedure has a single stage.\nAny supplier may\n submit a tender.", "p2": "Other text."}


def test_citation_validity_perfect_and_broken():
    good = [{"marker": 1, "passage_id": "p1", "quote": "Any supplier may submit a tender."}]
    assert m.citation_check("Anyone may bid [1].", good, ["p1"], PASSAGES) == (1, 1, [])
    # marker without a citation
    v, n, problems = m.citation_check("Claim [2].", good, ["p1"], PASSAGES)
    assert (v, n) == (0, 1) and "no citation" in problems[0]
    # citation of a passage that was not retrieved
    v, n, problems = m.citation_check("Claim [1].", good, ["p2"], PASSAGES)
    assert (v, n) == (0, 1) and "not retrieved" in problems[0]
    # paraphrased quote
    bad = [{"marker": 1, "passage_id": "p1", "quote": "Every supplier can submit a tender."}]
    v, n, problems = m.citation_check("Claim [1].", bad, ["p1"], PASSAGES)
    assert (v, n) == (0, 1) and "verbatim" in problems[0]
    # no markers: nothing to score
    assert m.citation_check("No claims here.", [], [], PASSAGES) == (0, 0, [])


def test_groundedness():
    cites = [{"marker": 1, "quote": "The open procedure is a single-stage competitive tendering procedure."}]
    g, t, _ = m.groundedness("The open procedure is a single-stage competitive tendering procedure [1].", cites)
    assert (g, t) == (1, 1)
    # an uncited claim is ungrounded
    g, t, _ = m.groundedness("Councils must always use the open procedure for everything.", cites)
    assert (g, t) == (0, 1)
    # a cited claim whose words are not in the quote is ungrounded
    g, t, d = m.groundedness("Alliances share risk between many providers in housing [1].", cites)
    assert (g, t) == (0, 1) and d[0]["coverage"] < m.GROUNDED_THRESHOLD
    # decision text from the rules and short labels are not claims
    text = "**Recommendation: collaboration.**\n\nThe rules recommend collaboration for this situation.\n- Sources"
    g, t, _ = m.groundedness(text, [], exempt_texts=["The rules recommend collaboration for this situation."])
    assert (g, t) == (0, 0)



def test_groundedness_officer_words_and_decision_text():
    cites = [{"marker": 1, "quote": "The open procedure is a single-stage competitive tendering procedure."}]
    # the officer's quoted words are not a claim; the cited sentence beside them still is
    text = "- **Interests of the parties** (you said “we all want the same thing for residents”): The open procedure is a single-stage competitive tendering procedure [1]."
    g, t, d = m.groundedness(text, cites)
    assert (g, t) == (1, 1) and d[0]["coverage"] == 0.75  # the label words, not the officer's
    g, t, _ = m.groundedness("You said: “we all want the same thing for residents here”.", cites)
    assert (g, t) == (0, 0)
    # quoting the officer does not hide an ungrounded claim in the same sentence
    g, t, _ = m.groundedness("You said: “shared goals”. Alliances share risk between many providers in housing [1].", cites)
    assert (g, t) == (0, 1)
    g, t, _ = m.groundedness("You said “shared goals”, so alliances always share risk between many providers [1].", cites)
    assert (g, t) == (0, 1)
    # decision text is exempt with its Markdown emphasis and as a lead-in ending in ":"
    decision = "**Recommendation:** treat this as a **collaboration**: the partners work towards a shared purpose."
    g, t, _ = m.groundedness(decision + "\n\n**Why**", [], exempt_texts=[decision])
    assert (g, t) == (0, 0)
    g, t, _ = m.groundedness("- A tender notice is still needed unless a direct award applies:", [], exempt_texts=["A tender notice is still needed unless a direct award applies."])
    assert (g, t) == (0, 0)
    # ...but decision text that carries a marker is checked against its quote
    g, t, _ = m.groundedness("A tender notice is still needed unless a direct award applies [1].", cites, exempt_texts=["A tender notice is still needed unless a direct award applies."])
    assert (g, t) == (0, 1)
    # text that is not in the decision is a claim even beside decision text
    g, t, _ = m.groundedness("A tender notice is never needed for care.", cites, exempt_texts=["A tender notice is still needed unless a direct award applies."])
    assert (g, t) == (0, 1)

def test_paraphrase_consistency():
    assert m.paraphrase_consistency({"g1": ["a", "a"], "g2": ["b", "b", "b"]}) == 1.0
    assert m.paraphrase_consistency({"g1": ["a", "b"], "g2": [None, None]}) == 0.5
    assert m.paraphrase_consistency({}) is None


def test_determinism():
    assert m.determinism([{"x": 1}, {"y": 2}], [{"x": 1}, {"y": 2}]) == 1.0
    assert m.determinism([{"x": 1}, {"y": 2}], [{"x": 1}, {"y": 3}]) == 0.5
    with pytest.raises(ValueError):
        m.determinism([1], [1, 2])


def test_prf():
    perfect = m.prf([True, False, True], [True, False, True])
    assert perfect["f1"] == 1.0
    none = m.prf([True, False], [False, False])
    assert none["precision"] == 0.0 and none["recall"] == 0.0 and none["f1"] == 0.0
    half = m.prf([True, True, False, False], [True, False, True, False])
    assert half["precision"] == 0.5 and half["recall"] == 0.5 and half["f1"] == 0.5


def test_percentile():
    assert m.percentile([1, 2, 3, 4, 5], 50) == 3
    assert m.percentile([10, 20], 95) == pytest.approx(19.5)
    assert m.percentile([], 50) is None


def test_accuracy_by_group_counts_each_group_both_ways():
    from eval.metrics import accuracy_by_group

    got = accuracy_by_group([("b", "mixed", "mixed"), ("a", "mixed", "collaboration"), ("a", "competition", "competition")])
    assert list(got) == ["a", "b"]
    assert got["a"] == {"right": 1, "cases": 2, "accuracy": 0.5}
    assert got["b"] == {"right": 1, "cases": 1, "accuracy": 1.0}
    assert accuracy_by_group([]) == {}
    rounds = accuracy_by_group([("round 10", "mixed", "mixed"), ("round 2", "mixed", "mixed"), ("rounds 0-1", "mixed", "mixed")])
    assert list(rounds) == ["round 2", "round 10", "rounds 0-1"]
