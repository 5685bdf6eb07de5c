"""The runner's scoring on a fake assistant: a perfect one scores 1.0, a broken one fails the gate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eval import runner
from eval.gold import load_gold


class _Answer:
    def __init__(self, data):
        self.data = data

    def model_dump(self, mode="json"):
        return self.data


class FakeAssistant:
    """Answers from the gold labels themselves (perfect) or with everything wrong (broken)."""

    def __init__(self, cases, broken=False):
        self.by_q = {c.question: c for c in cases}
        self.broken = broken
        passages = {pid for c in cases for pid in c.relevant} | {"x#filler"}
        self.index = SimpleNamespace(passages=[SimpleNamespace(id=p, text=f"Text of {p}. It says what {p} says.") for p in sorted(passages)], version="v")
        self.settings = SimpleNamespace(max_question_chars=4000)
        self.calls = 0

    def ask(self, question, *, now=None, record=True):
        self.calls += 1
        c = self.by_q[question]
        if self.broken:
            return _Answer({"question": question, "intent": "information", "answer": f"Made up claim about many things here [1]. Call {self.calls}.",
                            "recommendation": None, "citations": [{"marker": 1, "passage_id": "x#filler", "quote": "not in the passage"}],
                            "retrieved": [{"passage_id": "x#filler", "relevance": 0.9}], "clarifying_questions": []})
        rel = sorted(c.relevant, key=lambda p: -c.relevant[p])
        text = " ".join(f"Text of {p} [{i}]." for i, p in enumerate(rel, start=1))
        rec = {"route": c.route, "models": [{"model": m} for m in c.models]} if c.route else None
        return _Answer({"question": question, "intent": c.intent, "answer": text, "recommendation": rec,
                        "citations": [{"marker": i, "passage_id": p, "quote": f"Text of {p}."} for i, p in enumerate(rel, start=1)],
                        "retrieved": [{"passage_id": p, "relevance": 1.0 - i / 100} for i, p in enumerate(rel)], "clarifying_questions": []})


@pytest.fixture(scope="module")
def cases():
    return load_gold("test")


def test_perfect_answers_score_one(cases):
    r = runner.run("test", only="answers,determinism", assistant=FakeAssistant(cases))
    for key in ("route_accuracy", "model_hit_at_3", "recall_at_5", "mrr_at_10", "ndcg_at_10", "citation_validity",
                "groundedness", "paraphrase_consistency", "determinism", "oos_f1"):
        assert r[key] == 1.0, key
    assert r["latency_p50_ms"] is not None and r["latency_p95_ms"] >= r["latency_p50_ms"]
    assert not any(c["failures"] for c in r["cases"])
    by_round = r["details"]["route_accuracy_by_round"]
    assert "rounds 0-1" in by_round and "round 2" in by_round
    assert all(v["accuracy"] == 1.0 for v in by_round.values())
    assert sum(v["cases"] for v in by_round.values()) == r["details"]["counts"]["route_cases"]


def test_broken_answers_fail(cases):
    r = runner.run("test", only="answers,determinism", assistant=FakeAssistant(cases, broken=True))
    assert r["route_accuracy"] == 0.0
    assert r["recall_at_5"] == 0.0 and r["ndcg_at_10"] == 0.0
    assert r["citation_validity"] == 0.0
    assert r["groundedness"] == 0.0
    assert r["oos_f1"] == 0.0
    assert r["determinism"] == 0.0  # the answer text changes on every call
    assert all(v["right"] == 0 and v["accuracy"] == 0.0 for v in r["details"]["route_accuracy_by_round"].values())
    assert all(c["failures"] for c in r["cases"])
    full = dict(r, baselines={"bm25": {"ndcg_at_10": 0.5}, "dense": {"ndcg_at_10": 0.6}, "hybrid": {"ndcg_at_10": 0.55}})
    failures = runner.gate(full)
    assert any("hybrid nDCG" in f for f in failures) and any(f.startswith("route_accuracy") for f in failures)


def test_parse_only():
    assert runner.parse_only(None) == runner.PARTS
    assert runner.parse_only("answers, baselines") == ("answers", "baselines")
    with pytest.raises(ValueError):
        runner.parse_only("everything")


def test_system_ranking_uses_pipeline_relevance():
    ans = {"retrieved": [{"passage_id": "a", "relevance": 0.2}, {"passage_id": "b", "relevance": 0.9}, {"passage_id": "c", "relevance": 0.9}]}
    assert runner.system_ranking(ans) == ["b", "c", "a"]
    assert runner.system_ranking({"retrieved": [{"passage_id": "a"}, {"passage_id": "b"}]}) == ["a", "b"]
    assert runner.system_ranking(None) == []


def test_html_report_is_self_contained(cases):
    from eval.report import html_report

    r = runner.run("test", only="answers,determinism", assistant=FakeAssistant(cases, broken=True))
    page = html_report(r)
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Failing cases" in page and "Made up claim" in page


@pytest.mark.parametrize("case_id, expected", [("r2a01", "round 2"), ("r6b36", "round 6"), ("p01a", "rounds 0-1"),
                                               ("r27", "rounds 0-1"), ("a15", "rounds 0-1")])
def test_writing_round_of_a_case(case_id, expected):
    assert runner.writing_round(case_id) == expected


def test_report_lists_only_the_split_paraphrase_groups():
    from eval.report import html_paraphrase

    result = {"details": {"paraphrase_groups": {"q1": ["mixed", "mixed"], "q2": ["competition", "undetermined", "competition"]}}}
    html = html_paraphrase(result)
    assert "one route: 1 of 2" in html and "q2" in html and "competition, undetermined, competition" in html
    assert "q1" not in html
    assert "2 of 2" in html_paraphrase({"details": {"paraphrase_groups": {"a": ["x"], "b": ["y", "y"]}}})
    assert html_paraphrase({"details": {}}) == ""
