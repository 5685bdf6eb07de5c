"""eval/score_holdout.py: the tally of a hold-out round and its command line."""

from __future__ import annotations

import pytest
import yaml

from eval.score_holdout import main, tally


def test_tally_counts_routes_groups_and_misses():
    cases = [
        {"id": "a", "route": "collaboration", "group": "g1"},
        {"id": "b", "route": "collaboration", "group": "g1"},
        {"id": "c", "route": "competition", "group": "g2"},
        {"id": "d", "route": "competition", "group": "g2"},
        {"id": "e", "route": "undetermined"},
    ]
    got = {"a": "collaboration", "b": "mixed", "c": "competition", "d": "competition", "e": "none"}
    r = tally(cases, got)
    assert (r["right"], r["cases"], r["groups"]) == (3, 5, 2)
    assert r["paraphrase_consistency"] == 0.5
    assert r["split_groups"] == ["g1"]
    assert r["misses"] == {"collaboration -> mixed": 1, "undetermined -> none": 1}


def test_missing_round_file_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "round99.yaml")])
    assert exit_.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_a_round_or_the_dev_split_but_not_both(capsys):
    with pytest.raises(SystemExit):
        main([])
    with pytest.raises(SystemExit):
        main(["eval/gold/holdout/round28.yaml", "--split", "dev"])
    with pytest.raises(SystemExit):
        main(["--split", "test"])  # the test split is read by `svt eval` only
    assert "round file or --split dev" in capsys.readouterr().err


def test_split_cases_are_the_dev_cases_with_a_route():
    from eval.gold_split import GOLD_PATH
    from eval.score_holdout import split_cases

    cases = split_cases("dev")
    every = yaml.safe_load(GOLD_PATH.read_text(encoding="utf-8"))["cases"]
    assert cases and all(c["split"] == "dev" and c["route"] for c in cases)
    assert len(cases) == sum(c["split"] == "dev" and bool(c.get("route")) for c in every)
    assert any(c["kind"] != "recommendation" for c in cases)  # adversarial cases with a route count too
