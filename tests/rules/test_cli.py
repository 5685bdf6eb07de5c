"""`svt rules explain | lint | facts` through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assistant.cli import main
from rules.engine import decide
from rules.facts import FACTS

FACTS_IN = {"outputs": "emergent_uncertain", "value_delivery": "emergent_process", "multiple_providers_coordinate": True,
            "contract_type": "light_touch_services", "contract_value_gbp": 1200000,
            "procurement_start_date": "2026-04-01", "authority_type": "local_authority"}


def _write(tmp_path, data, name="facts.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_explain_json_is_the_decision(tmp_path):
    result = CliRunner().invoke(main, ["rules", "explain", "--facts", _write(tmp_path, FACTS_IN), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(decide(FACTS_IN).model_dump_json())


def test_explain_prints_route_models_flags_and_trace(tmp_path):
    result = CliRunner().invoke(main, ["rules", "explain", "--facts", _write(tmp_path, FACTS_IN)])
    assert result.exit_code == 0, result.output
    for text in ("Route: collaboration", "alliance_contract", "covered-procurement", "Rule trace", "model-alliance"):
        assert text in result.output
    assert "vote-interests-diverge" not in result.output  # did not fire; shown only with --all
    every = CliRunner().invoke(main, ["rules", "explain", "--facts", _write(tmp_path, FACTS_IN), "--all"])
    assert "vote-interests-diverge" in every.output


def test_explain_reports_bad_facts_clearly(tmp_path):
    result = CliRunner().invoke(main, ["rules", "explain", "--facts", _write(tmp_path, {"interests": "maybe"})])
    assert result.exit_code != 0
    assert "interests" in result.output and "diverge, converge" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["rules", "explain", "--facts", _write(tmp_path, [1, 2])])
    assert result.exit_code != 0 and "JSON object" in result.output


def test_explain_takes_rows_described_on_both_sides(tmp_path):
    path = _write(tmp_path, {"outputs": "clearly_defined"})
    result = CliRunner().invoke(main, ["rules", "explain", "--facts", path, "--contested", "value_delivery", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(decide({"outputs": "clearly_defined"}, contested=["value_delivery"]).model_dump_json())
    shown = CliRunner().invoke(main, ["rules", "explain", "--facts", path, "--contested", "value_delivery"])
    assert "Route: mixed" in shown.output and "Described on both sides" in shown.output and "value_delivery" in shown.output
    bad = CliRunner().invoke(main, ["rules", "explain", "--facts", path, "--contested", "colour"])
    assert bad.exit_code != 0 and "nine dimensions" in bad.output and "Traceback" not in bad.output


def test_facts_lists_every_fact_with_its_question():
    result = CliRunner().invoke(main, ["rules", "facts", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert list(data) == list(FACTS)
    assert data["interests"]["question"] == FACTS["interests"].question
    table = CliRunner().invoke(main, ["rules", "facts"])
    assert table.exit_code == 0 and "contract_value_gbp" in table.output


def test_lint_reports_missing_passages_as_errors(tmp_path):
    corpus = tmp_path / "corpus" / "toolkit"
    corpus.mkdir(parents=True)
    (corpus / "toolkit-decision-table.md").write_text(
        "---\nid: toolkit-decision-table\ntitle: T\nsource_type: toolkit\nsource: S\nreference: R\n"
        "url: https://example.org/t\nas_of: 2026-01-01\n---\n\n## Incentives\n\n" + "word " * 60 + "\n",
        encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "lint", "--corpus", str(tmp_path / "corpus")])
    assert result.exit_code == 1
    assert "error: vote-interests-diverge: source passage 'toolkit-decision-table#interests-of-the-parties'" in result.output
    assert "vote-incentive-winner-takes-all: source" not in result.output  # that passage exists


def test_lint_of_the_project_corpus_runs(tmp_path):
    result = CliRunner().invoke(main, ["rules", "lint"])
    assert "rules, ruleset sha256:" in result.output
    assert result.exit_code in (0, 1)  # 1 only while corpus passages are still being written
