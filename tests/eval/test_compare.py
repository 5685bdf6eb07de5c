"""eval/compare.py: metric deltas and case changes between two saved eval results."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from eval.compare import compare, html_comparison, load_result


def result(split="test", route=0.8, p95=300.0, cases=(), hybrid_ndcg=0.8):
    return {
        "route_accuracy": route, "latency_p95_ms": p95, "recall_at_5": 0.9,
        "baselines": {"hybrid": {"recall_at_5": 0.9, "mrr_at_10": 0.9, "ndcg_at_10": hybrid_ndcg}},
        "details": {"split": split},
        "cases": [{"id": cid, "kind": "recommendation", "route": {"expected": exp, "got": got},
                   "failures": [] if exp == got else [f"route: expected {exp}, got {got}"]}
                  for cid, exp, got in cases],
    }


def test_metric_changes_know_which_way_is_better():
    cmp = compare(result(route=0.80, p95=300.0), result(route=0.85, p95=250.0))
    by_key = {m.key: m for m in cmp.metrics}
    assert by_key["route_accuracy"].delta == pytest.approx(0.05) and by_key["route_accuracy"].better is True
    assert by_key["latency_p95_ms"].delta == pytest.approx(-50.0) and by_key["latency_p95_ms"].better is True
    assert by_key["recall_at_5"].delta == 0.0 and by_key["recall_at_5"].better is None
    assert by_key["mrr_at_10"].delta is None  # missing on both sides: not a change
    worse = compare(result(hybrid_ndcg=0.8), result(hybrid_ndcg=0.7)).baselines["hybrid"]
    assert [m.better for m in worse if m.key == "ndcg_at_10"] == [False]


def test_cases_fixed_broken_and_rerouted():
    before = result(cases=[("a", "mixed", "competition"), ("b", "competition", "competition"),
                           ("c", "collaboration", "collaboration"), ("old", "mixed", "mixed")])
    after = result(cases=[("a", "mixed", "mixed"), ("b", "competition", "undetermined"),
                          ("c", "collaboration", "collaboration"), ("new", "mixed", "mixed")])
    cmp = compare(before, after)
    assert [c.id for c in cmp.fixed] == ["a"] and cmp.fixed[0].route_before == "competition"
    assert [c.id for c in cmp.broken] == ["b"] and cmp.broken[0].failures_after
    assert [c.id for c in cmp.route_changed] == ["a", "b"]
    assert cmp.only_before == ["old"] and cmp.only_after == ["new"]
    assert any("gold sets differ" in w for w in cmp.warnings)


def test_different_splits_are_flagged():
    assert any("different splits" in w for w in compare(result(split="dev"), result(split="test")).warnings)
    same = [("a", "mixed", "mixed")]
    assert not compare(result(cases=same), result(cases=same)).warnings
    assert any("no per-case list" in w for w in compare(result(), result(cases=same)).warnings)


def test_the_html_section_lists_broken_cases():
    cmp = compare(result(cases=[("b", "competition", "competition")]),
                  result(cases=[("b", "competition", "mixed")])).to_dict()
    page = html_comparison(cmp)
    assert "Cases broken" in page and "<td>b</td>" in page and "<td>mixed</td>" in page
    assert html_comparison(None) == ""


def test_a_file_that_is_not_a_result_gets_a_plain_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable JSON file"):
        load_result(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ValueError, match="not an `svt eval --json` result"):
        load_result(other)
    with pytest.raises(ValueError, match="no such file"):
        load_result(tmp_path / "missing.json")


def test_cli_eval_compare(tmp_path):
    from assistant.cli import main

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(result(route=0.8, cases=[("x", "mixed", "competition")])), encoding="utf-8")
    b.write_text(json.dumps(result(route=0.9, cases=[("x", "mixed", "mixed")])), encoding="utf-8")
    out = CliRunner().invoke(main, ["eval-compare", str(a), str(b)])
    assert out.exit_code == 0, out.output
    assert "+0.100" in out.output and "cases fixed: 1, broken: 0" in out.output
    bad = CliRunner().invoke(main, ["eval-compare", str(a), str(tmp_path / "missing.json")])
    assert bad.exit_code != 0 and "no such file" in bad.output and "Traceback" not in bad.output


def test_svt_eval_checks_the_compare_file_before_the_long_run(tmp_path):
    from assistant.cli import main

    out = CliRunner().invoke(main, ["eval", "--split", "dev", "--compare", str(tmp_path / "missing.json")])
    assert out.exit_code != 0 and "no such file" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(main, ["eval", "--only", "understanding", "--compare", str(tmp_path / "x.json")])
    assert out.exit_code != 0 and "--compare works with the answer-quality suite" in out.output
