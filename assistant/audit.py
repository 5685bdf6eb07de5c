"""The append-only audit log: every answer, with its inputs and versions, replayable.

SQLite in WAL mode at `Settings.audit_path` (under SVT_DATA_DIR). Records are only ever
inserted: triggers make the database itself refuse an UPDATE or DELETE of an answer or a piece
of feedback. Schema changes are numbered migrations, applied in order and recorded in
`schema_migrations`. Feedback from the UI is a separate table referencing the answer.

Replay (`svt audit replay ID`) re-runs the recorded question with the recorded officer facts,
earlier-turn facts, source filter and date, and compares the new answer with the recorded one
(the audit id aside).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import secrets
import sqlite3
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from assistant.contracts import Answer

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "answers and feedback tables, append-only",
        """
        CREATE TABLE answers (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            created_utc TEXT NOT NULL,
            question TEXT NOT NULL,
            intent TEXT NOT NULL,
            facts_json TEXT NOT NULL,
            inputs_json TEXT NOT NULL,
            decision_json TEXT,
            route TEXT,
            retrieved_json TEXT NOT NULL,
            answer_text TEXT NOT NULL,
            citations_json TEXT NOT NULL,
            answer_json TEXT NOT NULL,
            corpus_version TEXT NOT NULL,
            ruleset_version TEXT,
            embedding_model TEXT,
            package_version TEXT,
            llm TEXT,
            llm_json TEXT
        );
        CREATE INDEX answers_created ON answers (created_utc);
        CREATE TABLE feedback (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            audit_id TEXT NOT NULL REFERENCES answers (id),
            created_utc TEXT NOT NULL,
            helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
            comment TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX feedback_audit ON feedback (audit_id);
        CREATE TRIGGER answers_no_update BEFORE UPDATE ON answers BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER answers_no_delete BEFORE DELETE ON answers BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
    ),
)
MAX_COMMENT_CHARS = 2000
VERSION_FIELDS = ("corpus", "ruleset", "embedding_model", "package", "llm")


class AuditError(LookupError):
    """An audit id that does not exist (or is ambiguous), with a message fit for the CLI."""


@lru_cache(maxsize=1)
def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("social-value-assistant")
    except PackageNotFoundError:
        return "0+unknown"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """Sortable by time, unguessable enough: 20260131T101500Z-1a2b3c4d."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as compared by replay: everything but the audit id."""
    return {k: v for k, v in answer.items() if k != "audit_id"}


class AuditLog:
    """One SQLite file; safe to open from several processes (WAL, busy timeout)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            self.migrate(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    @staticmethod
    def migrate(db: sqlite3.Connection) -> list[int]:
        """Apply the numbered migrations not yet applied; return their numbers."""
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_utc TEXT NOT NULL)")
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        applied = []
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone() is None:
                    for statement in _statements(sql):
                        db.execute(statement)
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, description, utc_now()))
                    applied.append(version)
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                raise
        return applied

    def schema_version(self) -> int:
        with self._connect() as db:
            row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # --- writing (insert only) ------------------------------------------------------------------

    def record(self, answer: Answer, decision: dict[str, Any] | None, inputs: dict[str, Any], versions: dict[str, Any], llm: dict[str, Any] | None = None) -> str:
        """Insert one answer record; returns its audit id."""
        audit_id = new_id()
        data = comparable(answer.model_dump(mode="json"))
        row = {
            "id": audit_id,
            "created_utc": utc_now(),
            "question": answer.question,
            "intent": answer.intent,
            "facts_json": _dumps(data["facts"]),
            "inputs_json": _dumps({**inputs, "versions": versions}),
            "decision_json": _dumps(decision) if decision is not None else None,
            "route": (decision or {}).get("route"),
            "retrieved_json": _dumps(data.get("retrieved", [])),
            "answer_text": answer.answer,
            "citations_json": _dumps(data["citations"]),
            "answer_json": _dumps(data),
            "corpus_version": versions.get("corpus") or answer.corpus_version,
            "ruleset_version": versions.get("ruleset"),
            "embedding_model": versions.get("embedding_model"),
            "package_version": versions.get("package"),
            "llm": versions.get("llm"),
            "llm_json": _dumps(llm) if llm else None,
        }
        columns = ", ".join(row)
        with self._connect() as db:
            db.execute(f"INSERT INTO answers ({columns}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
        return audit_id

    def record_feedback(self, audit_id: str, helpful: bool, comment: str = "") -> int:
        """Append feedback on an answer (never changes the answer's record); returns its number."""
        if not isinstance(helpful, bool):
            raise ValueError("helpful must be True or False")
        comment = (comment or "").replace("\x00", "").strip()[:MAX_COMMENT_CHARS]
        with self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (audit_id,)).fetchone() is None:
                raise AuditError(f"no audit record {audit_id!r}")
            cur = db.execute("INSERT INTO feedback (audit_id, created_utc, helpful, comment) VALUES (?, ?, ?, ?)", (audit_id, utc_now(), int(helpful), comment))
            return int(cur.lastrowid)

    # --- reading --------------------------------------------------------------------------------

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest records first: id, time, intent, route, question."""
        with self._connect() as db:
            rows = db.execute("SELECT id, created_utc, intent, route, question FROM answers ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def resolve(self, audit_id: str) -> str:
        """A full id from an id or a unique prefix of one."""
        with self._connect() as db:
            rows = db.execute("SELECT id FROM answers WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY seq LIMIT 3", (audit_id, audit_id.replace("\\", "").replace("%", "\\%").replace("_", "\\_") + "%")).fetchall()
        ids = list(dict.fromkeys(r[0] for r in rows))
        if audit_id in ids:
            return audit_id
        if not ids:
            raise AuditError(f"no audit record {audit_id!r}")
        if len(ids) > 1:
            raise AuditError(f"{audit_id!r} matches several records; give more of the id")
        return ids[0]

    def get(self, audit_id: str) -> dict[str, Any]:
        """One full record, JSON columns decoded, with its feedback."""
        full = self.resolve(audit_id)
        with self._connect() as db:
            row = dict(db.execute("SELECT * FROM answers WHERE id = ?", (full,)).fetchone())
            feedback = [dict(r) for r in db.execute("SELECT created_utc, helpful, comment FROM feedback WHERE audit_id = ? ORDER BY seq", (full,))]
        return _decode(row) | {"feedback": [{**f, "helpful": bool(f["helpful"])} for f in feedback]}

    def iter_records(self) -> Iterator[dict[str, Any]]:
        with self._connect() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM answers ORDER BY seq")]
        for audit_id in ids:
            yield self.get(audit_id)

    def export(self, fmt: str, out: io.TextIOBase) -> int:
        """Write every record as JSON lines or CSV; returns the number written."""
        count = 0
        if fmt == "jsonl":
            for rec in self.iter_records():
                out.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
            return count
        if fmt != "csv":
            raise ValueError("format must be jsonl or csv")
        columns = ["id", "created_utc", "intent", "route", "question", "answer_text", "facts", "decision", "retrieved", "citations",
                   "corpus_version", "ruleset_version", "embedding_model", "package_version", "llm", "feedback"]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for rec in self.iter_records():
            flat = {k: (json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, (dict, list)) else v) for k, v in rec.items()}
            writer.writerow({k: _csv_safe(flat.get(k)) for k in columns})
            count += 1
        return count


def _csv_safe(value: Any) -> Any:
    """Stop a spreadsheet from running a cell that starts like a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not k.endswith("_json") and k != "seq"}
    for key in ("facts", "inputs", "decision", "retrieved", "citations", "answer", "llm"):
        raw = row.get(f"{key}_json")
        out[key if key not in ("answer", "llm") else f"{key}_record"] = json.loads(raw) if raw else None
    return out


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (triggers keep their inner `;`)."""
    out, buf = [], []
    for line in sql.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


# --- replay --------------------------------------------------------------------------------------


def replay(record: dict[str, Any], assistant: Any) -> dict[str, Any]:
    """Re-run a recorded question with its recorded inputs; report identical or the differences."""
    from datetime import date

    from assistant.contracts import FactValue

    inputs = record.get("inputs") or {}
    officer = {k: (v["value"] if v is not None else None) for k, v in (inputs.get("officer_facts") or {}).items()}
    earlier = {k: FactValue(**v) for k, v in (inputs.get("earlier_facts") or {}).items()}
    now = date.fromisoformat(inputs["now"]) if inputs.get("now") else None
    new = assistant.ask(record["question"], facts=officer or None, earlier_facts=earlier or None, source_type=inputs.get("source_type"), now=now, record=False)
    old_json = comparable(record["answer_record"])
    new_json = comparable(new.model_dump(mode="json"))
    old_versions = inputs.get("versions") or {}
    new_versions = assistant.versions()
    changed_versions = {k: {"recorded": old_versions.get(k), "now": new_versions.get(k)} for k in VERSION_FIELDS if old_versions.get(k) != new_versions.get(k)}
    identical = old_json == new_json
    diff = ""
    if not identical:
        a = json.dumps(old_json, ensure_ascii=False, indent=2, sort_keys=True, default=str).splitlines()
        b = json.dumps(new_json, ensure_ascii=False, indent=2, sort_keys=True, default=str).splitlines()
        diff = "\n".join(difflib.unified_diff(a, b, "recorded", "replayed", lineterm="", n=2))
    return {"id": record["id"], "identical": identical, "diff": diff, "changed_versions": changed_versions}


def record_feedback(audit_id: str, helpful: bool, comment: str = "", path: Path | str | None = None) -> int:
    """Module-level helper for the UI: append feedback to the process's audit log."""
    from assistant.config import get_settings

    return AuditLog(path or get_settings().audit_path).record_feedback(audit_id, helpful, comment)
