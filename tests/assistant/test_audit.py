"""The append-only audit log: schema, migrations, feedback, export, and the `svt audit` commands."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner

from assistant.audit import MIGRATIONS, AuditError, AuditLog
from assistant.contracts import Answer, Citation, FactValue


def _answer(question: str = "What is an alliance contract?") -> Answer:
    return Answer(
        question=question,
        intent="information",
        answer="An alliance binds several providers [1].",
        facts={"interests": FactValue(value="converge", evidence="shared goal", origin="extracted"), "contract_type": FactValue(value="services", origin="officer", method="officer")},
        citations=[Citation(marker=1, passage_id="doc#p", source_type="toolkit", title="T", reference="R", url="https://e.org", quote="Q.", score=0.5)],
        corpus_version="abc",
        retrieved=[{"passage_id": "doc#p", "score": 0.03, "similarity": 0.6, "used": True}],
    )


VERSIONS = {"corpus": "abc", "ruleset": "sha256:1", "embedding_model": "local:x", "package": "0.1.0", "llm": None}


@pytest.fixture()
def log(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.sqlite3")


def test_schema_is_migrated_once_in_wal_mode(tmp_path):
    path = tmp_path / "a.sqlite3"
    log = AuditLog(path)
    assert log.schema_version() == len(MIGRATIONS) == MIGRATIONS[-1][0]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert AuditLog.migrate(db) == []  # nothing left to apply
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == [m[0] for m in MIGRATIONS]
    AuditLog(path)  # re-opening does not re-apply


def test_record_keeps_everything_the_audit_needs(log):
    audit_id = log.record(_answer(), {"route": "collaboration", "trace": [{"rule": "r1", "fired": True}]}, {"officer_facts": {}, "now": "2026-03-02"}, VERSIONS)
    rec = log.get(audit_id)
    assert rec["question"] == "What is an alliance contract?"
    assert rec["created_utc"].endswith("Z")
    assert rec["facts"]["interests"]["origin"] == "extracted" and rec["facts"]["contract_type"]["origin"] == "officer"
    assert rec["decision"]["trace"][0]["rule"] == "r1" and rec["route"] == "collaboration"
    assert rec["retrieved"][0]["passage_id"] == "doc#p"
    assert rec["answer_text"].startswith("An alliance") and rec["citations"][0]["quote"] == "Q."
    assert (rec["corpus_version"], rec["ruleset_version"], rec["embedding_model"], rec["package_version"], rec["llm"]) == ("abc", "sha256:1", "local:x", "0.1.0", None)
    assert "audit_id" not in rec["answer_record"]
    assert log.get(audit_id[:12])["id"] == audit_id  # a unique prefix is enough


def test_the_database_refuses_updates_and_deletes(log):
    audit_id = log.record(_answer(), None, {}, VERSIONS)
    fid = log.record_feedback(audit_id, True, "useful")
    with sqlite3.connect(log.path) as db:
        for sql in ("UPDATE answers SET answer_text = 'x'", "DELETE FROM answers", "UPDATE feedback SET helpful = 0", "DELETE FROM feedback"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
    assert log.get(audit_id)["answer_text"].startswith("An alliance")
    assert fid == 1


def test_feedback_is_appended_never_changing_the_answer(log):
    audit_id = log.record(_answer(), None, {}, VERSIONS)
    before = log.get(audit_id)
    log.record_feedback(audit_id, False, "missed the threshold")
    log.record_feedback(audit_id, True, "x" * 5000)
    after = log.get(audit_id)
    assert [f["helpful"] for f in after["feedback"]] == [False, True]
    assert len(after["feedback"][1]["comment"]) == 2000
    assert {k: v for k, v in after.items() if k != "feedback"} == {k: v for k, v in before.items() if k != "feedback"}
    with pytest.raises(AuditError):
        log.record_feedback("nope", True, "")
    with pytest.raises(ValueError):
        log.record_feedback(audit_id, "yes", "")  # type: ignore[arg-type]


def test_unknown_and_ambiguous_ids(log):
    with pytest.raises(AuditError, match="no audit record"):
        log.get("20990101")
    log.record(_answer(), None, {}, VERSIONS)
    log.record(_answer(), None, {}, VERSIONS)
    with pytest.raises(AuditError, match="several"):
        log.get("2")


def test_export_jsonl_and_csv(log):
    log.record(_answer("=HYPERLINK(\"http://e.vil\")"), None, {}, VERSIONS)
    log.record(_answer(), None, {}, VERSIONS)
    out = io.StringIO()
    assert log.export("jsonl", out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[1]["question"] == "What is an alliance contract?" and rows[1]["citations"][0]["passage_id"] == "doc#p"
    out = io.StringIO()
    assert log.export("csv", out) == 2
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert table[0]["question"].startswith("'=")  # a spreadsheet will not run it
    assert json.loads(table[1]["citations"])[0]["quote"] == "Q."


@pytest.mark.slow
def test_cli_list_show_export_replay(answerer, monkeypatch, tmp_path):
    import assistant.cli as cli
    import assistant.pipeline as pipeline

    monkeypatch.setattr(pipeline, "_DEFAULT", answerer)
    monkeypatch.setattr(cli, "_audit_log", lambda: answerer.audit_log)
    answer = answerer.ask("Residents want the old library held for the community for good, owned and run jointly with the council. What model fits?")
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["audit", "list", "--limit", "5"])
    assert listed.exit_code == 0 and answer.audit_id in listed.output
    shown = runner.invoke(cli.main, ["audit", "show", answer.audit_id])
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == answer.audit_id
    target = tmp_path / "out.jsonl"
    exported = runner.invoke(cli.main, ["audit", "export", "--format", "jsonl", "-o", str(target)])
    assert exported.exit_code == 0 and answer.audit_id in target.read_text()
    replayed = runner.invoke(cli.main, ["audit", "replay", answer.audit_id])
    assert replayed.exit_code == 0 and replayed.output.strip() == f"{answer.audit_id}: identical"
    missing = runner.invoke(cli.main, ["audit", "show", "19990101T000000Z-none"])
    assert missing.exit_code != 0 and "no audit record" in missing.output


@pytest.mark.slow
def test_replay_reports_the_diff_and_the_changed_version(answerer):
    from assistant.audit import replay

    answer = answerer.ask("What is a public commons partnership?")
    rec = answerer.audit_log.get(answer.audit_id)
    rec["answer_record"]["answer"] = rec["answer_record"]["answer"] + " (edited)"
    rec["inputs"]["versions"]["corpus"] = "older-corpus"
    result = replay(rec, answerer)
    assert not result["identical"]
    assert "(edited)" in result["diff"]
    assert result["changed_versions"] == {"corpus": {"recorded": "older-corpus", "now": answerer.index.version}}
