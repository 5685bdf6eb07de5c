"""The `svt` CLI contract: ask (text, JSON, JSONL batch), index, ingest, corpus lint."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.config import REPO_ROOT

pytestmark = pytest.mark.slow

SCHEMA = json.loads((REPO_ROOT / "docs" / "answer.schema.json").read_text())


@pytest.fixture(scope="module")
def runner(built_index):
    """A CLI runner; the process-wide settings already point at the session's built index."""
    return CliRunner()


def test_ask_json_matches_the_answer_contract(runner):
    result = runner.invoke(main, ["ask", "--json", "What is a Public Commons Partnership?"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    jsonschema.validate(answer, SCHEMA)
    assert answer["citations"], "an information question about a corpus topic is answered with citations"
    markers = {c["marker"] for c in answer["citations"]}
    assert all(f"[{m}]" in answer["answer"] for m in markers)


def test_ask_prints_readable_text_with_sources(runner):
    result = runner.invoke(main, ["ask", "What is an alliance contract?"])
    assert result.exit_code == 0, result.output
    assert "Sources" in result.stdout and "[1]" in result.stdout


def test_ask_file_mode_one_line_per_question_and_errors_per_line(runner, tmp_path):
    lines = [
        json.dumps({"question": "What is a community land trust?"}),
        "not json at all",
        json.dumps({"question": "   "}),
        json.dumps({"nope": 1}),
        json.dumps({"question": "What does the Social Value Act require?"}),
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["ask", "--json", "--file", str(path)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(out) == 5
    jsonschema.validate(out[0], SCHEMA)
    jsonschema.validate(out[4], SCHEMA)
    assert out[0]["question"] == "What is a community land trust?"
    assert "line 2" in out[1]["error"] and "line 3" in out[2]["error"] and "line 4" in out[3]["error"]


def test_ask_rejects_empty_input_with_a_message_not_a_traceback(runner):
    result = runner.invoke(main, ["ask", "   "])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "question" in result.output.lower()
    result = runner.invoke(main, ["ask"])
    assert result.exit_code == 2 and "QUESTION or --file" in result.output


def test_index_reports_up_to_date(runner):
    result = runner.invoke(main, ["index"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout and "corpus version" in result.stdout


def test_corpus_lint_command(runner):
    result = runner.invoke(main, ["corpus", "lint"])
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.stdout


def test_corpus_lint_reports_a_broken_file(runner, tmp_path):
    (tmp_path / "legal").mkdir()
    (tmp_path / "legal" / "bad.md").write_text("no front matter here\n", encoding="utf-8")
    result = runner.invoke(main, ["corpus", "lint", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.md:1: missing YAML front matter" in result.output
