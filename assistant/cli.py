"""`svt`: the command line, mirroring the library (ask, index, ingest, eval, audit, rules)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="social-value-assistant")
def main() -> None:
    """Social Value Commissioning Assistant."""


# --- index, ask, ingest, corpus (the lead's commands) ---------------------------------------


def _fail(message: str, code: int = 2) -> None:
    """Print a clear error for the user (never a traceback) and exit."""
    click.secho(f"Error: {message}", fg="red", err=True)
    raise SystemExit(code)


def _sync(index, rebuild: bool = False, quiet: bool = False):
    """Bring the index up to date with a progress bar; return the SyncReport."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("embedding passages"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=quiet, transient=True) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = index.ensure(rebuild=rebuild, progress=progress)
    if report.message:
        click.secho(report.message, fg="yellow", err=True)
    return report


def _corpus_failure(exc: Exception) -> None:
    _fail(f"the corpus has problems, fix them and retry:\n{exc}")


def _open_index():
    from assistant.corpus import CorpusError
    from assistant.index import PassageIndex

    try:
        return PassageIndex()
    except CorpusError as exc:
        _corpus_failure(exc)


@main.command()
@click.option("--rebuild", is_flag=True, help="Drop the store and embed everything again.")
def index(rebuild: bool) -> None:
    """Build or update the passage index (incremental: only changed passages are embedded)."""
    import time

    started = time.perf_counter()
    idx = _open_index()
    report = _sync(idx, rebuild=rebuild)
    elapsed = time.perf_counter() - started
    where = f"Chroma server {idx.settings.chroma_host}:{idx.settings.chroma_port}" if idx.settings.server_mode else str(idx.settings.chroma_path)
    if report.changed:
        click.echo(f"Indexed {len(idx.passages)} passages into {where}: {len(report.added)} added, {len(report.updated)} updated, {len(report.deleted)} deleted{' (rebuilt)' if report.rebuilt else ''} in {elapsed:.1f}s.")
    else:
        click.echo(f"Index is up to date ({len(idx.passages)} passages, {where}).")
    click.echo(f"corpus version {idx.version}")


def _answer_dict(answer) -> dict:
    return answer.model_dump(mode="json")


def _print_answer(answer) -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console()
    # The composed answer already states the recommendation and the clarifying questions.
    console.print(Markdown(answer.answer))
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            console.print(f"  [{c.marker}] {c.title}: {c.reference}\n      {c.url}\n      \"{c.quote}\"", highlight=False, markup=False)
    for note in answer.notes:
        console.print(f"[dim]Note: {note}[/dim]")
    if answer.audit_id:
        console.print(f"[dim]audit id {answer.audit_id} | corpus {answer.corpus_version}[/dim]")


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer contract as JSON.")
@click.option("--file", "file_", type=click.Path(dir_okay=False, allow_dash=True), help="JSONL of {\"question\": ...} per line; one JSON answer per line.")
@click.option("--source-type", type=click.Choice(["toolkit", "legal", "case_study", "user"]), help="Only cite passages of this type.")
@click.option("--facts", "facts_path", type=click.Path(exists=True, dir_okay=False), help="JSON file of officer-set facts.")
def ask(question: str | None, as_json: bool, file_: str | None, source_type: str | None, facts_path: str | None) -> None:
    """Ask a question; prints the answer with its sources (or JSON)."""
    import json

    from assistant.pipeline import QuestionError, get_assistant

    if bool(question) == bool(file_):
        _fail("give either a QUESTION or --file FILE (one JSON object per line).")
    facts = None
    if facts_path:
        try:
            facts = json.loads(open(facts_path, encoding="utf-8").read())
        except (OSError, ValueError) as exc:
            _fail(f"could not read facts from {facts_path}: {exc}")
        if not isinstance(facts, dict):
            _fail(f"{facts_path} must hold a JSON object of fact: value.")
    from assistant.corpus import CorpusError

    try:
        assistant = get_assistant()
    except CorpusError as exc:
        _corpus_failure(exc)
    if assistant.sync.changed:
        click.secho(f"Index updated to corpus version {assistant.index.version}.", fg="yellow", err=True)
    if question:
        try:
            answer = assistant.ask(question, facts=facts, source_type=source_type)
        except QuestionError as exc:
            _fail(str(exc))
        if as_json:
            click.echo(json.dumps(_answer_dict(answer), ensure_ascii=False, indent=2))
        else:
            _print_answer(answer)
        return

    stream = click.open_file(file_, "r", encoding="utf-8")
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise QuestionError('each line must be a JSON object with a "question" string')
            line_facts = item.get("facts", facts)
            answer = assistant.ask(item["question"], facts=line_facts, source_type=item.get("source_type", source_type))
            out = _answer_dict(answer)
        except json.JSONDecodeError as exc:
            out = {"error": f"line {number}: not valid JSON ({exc.msg})", "line": number}
        except (QuestionError, ValueError) as exc:
            out = {"error": f"line {number}: {exc}", "line": number}
        except Exception as exc:  # noqa: BLE001 - one bad line must not stop the batch
            out = {"error": f"line {number}: could not answer ({type(exc).__name__}: {exc})", "line": number}
        click.echo(json.dumps(out, ensure_ascii=False))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=__import__("pathlib").Path))
@click.option("--source-type", type=click.Choice(["user", "toolkit", "legal", "case_study"]), default="user", show_default=True)
def ingest(paths, source_type: str) -> None:
    """Add your own documents (PDF, DOCX, HTML, Markdown, text) to the index; re-ingesting replaces."""
    from assistant.config import get_settings
    from assistant.ingest import ingest as ingest_files

    done, errors = ingest_files(get_settings(), list(paths), source_type)
    for path, count in done:
        click.echo(f"Ingested {path} ({count} passages).")
    for error in errors:
        click.secho(f"Error: {error}", fg="red", err=True)
    if done:
        idx = _open_index()
        report = _sync(idx)
        click.echo(f"Index updated: {len(report.added)} added, {len(report.updated)} updated, {len(report.deleted)} deleted.")
    if errors:
        raise SystemExit(1)


@main.group()
def corpus() -> None:
    """Check the Markdown corpus."""


@corpus.command("lint")
@click.option("--root", type=click.Path(file_okay=False, path_type=__import__("pathlib").Path), help="Corpus folder (default: the configured one).")
def corpus_lint(root) -> None:
    """Validate front matter and run the editorial lint; exit 1 on any problem."""
    from assistant.config import REPO_ROOT, get_settings
    from assistant.corpus import CorpusError, lint, load_corpus, seed_texts

    try:
        passages = load_corpus(root or get_settings().corpus_dir)
    except CorpusError as exc:
        _fail(str(exc), code=1)
    problems = lint(passages, seed_texts(REPO_ROOT.parent / "shared" / "seed"))
    for problem in problems:
        click.echo(str(problem))
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.source_type] = counts.get(p.source_type, 0) + 1
    click.echo(f"{len(passages)} passages (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"); {len(problems)} problem(s)")
    if problems:
        raise SystemExit(1)


@main.group()
def rules() -> None:
    """Inspect and check the deterministic decision rules."""


# --- rules commands (rules/ owns the logic; these are thin wrappers) ---


@rules.command("explain")
@click.option("--facts", "facts_path", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True), help="JSON file of fact: value ('-' for stdin).")
@click.option("--json", "as_json", is_flag=True, help="Print the Decision as JSON.")
@click.option("--all", "show_all", is_flag=True, help="List every rule in the trace, not only those that fired.")
@click.option("--contested", default="", metavar="FACT[,FACT]", help="Dimensions described on both sides (each side's vote counts).")
def rules_explain(facts_path: str, as_json: bool, show_all: bool, contested: str) -> None:
    """Decide for the facts in a JSON file and print the decision with its rule trace."""
    import json

    from rules.engine import decide
    from rules.report import print_decision

    try:
        with click.open_file(facts_path, "r", encoding="utf-8") as handle:
            facts = json.load(handle)
    except (OSError, ValueError) as exc:
        _fail(f"could not read facts from {facts_path}: {exc}")
    if not isinstance(facts, dict):
        _fail(f"{facts_path} must hold a JSON object of fact: value.")
    try:
        decision = decide(facts, contested=[c.strip() for c in contested.split(",") if c.strip()])
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(decision.model_dump_json(indent=2))
    else:
        print_decision(decision, show_all=show_all)


@rules.command("lint")
@click.option("--corpus", "corpus_root", type=click.Path(file_okay=False, path_type=__import__("pathlib").Path), help="Corpus folder (default: the configured one).")
def rules_lint(corpus_root) -> None:
    """Check rule ids, facts, values and that every cited passage exists in the corpus."""
    from assistant.config import get_settings
    from assistant.corpus import CorpusError, load_corpus
    from rules.lint import lint_ruleset

    errors: list[str] = []
    try:
        passage_ids = {p.id for p in load_corpus(corpus_root or get_settings().corpus_dir)}
    except CorpusError as exc:
        passage_ids = None
        errors.append(f"the corpus could not be loaded, so cited passages were not checked:\n{exc}")
    errors += lint_ruleset(passage_ids=passage_ids)
    for error in errors:
        click.echo(f"error: {error}")
    from rules.engine import load_ruleset

    ruleset = load_ruleset()
    click.echo(f"{len(ruleset.rules)} rules, ruleset {ruleset.version}; {len(errors)} error(s)")
    if errors:
        raise SystemExit(1)


@rules.command("facts")
@click.option("--json", "as_json", is_flag=True, help="Print the schema as JSON.")
def rules_facts(as_json: bool) -> None:
    """List the facts schema: each fact, its allowed values and its question."""
    import json

    from rules.facts import FACTS
    from rules.report import print_facts

    if as_json:
        click.echo(json.dumps({n: s.model_dump(mode="json") for n, s in FACTS.items()}, indent=2))
    else:
        print_facts()


# --- audit commands (assistant/audit.py owns the log; these are thin wrappers) ---


@main.group()
def audit() -> None:
    """Inspect, export and replay the append-only audit log of answers."""


def _audit_log():
    from assistant.audit import AuditLog
    from assistant.config import get_settings

    return AuditLog(get_settings().audit_path)


@audit.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100000))
def audit_list(limit: int) -> None:
    """The newest recorded answers: id, UTC time, intent, route, question."""
    rows = _audit_log().list(limit)
    if not rows:
        click.echo("The audit log is empty.")
    for r in rows:
        question = " ".join(r["question"].split())
        click.echo(f"{r['id']}  {r['created_utc'][:19]}  {r['intent']:<14} {(r['route'] or '-'):<13} {question[:70]}")


@audit.command("show")
@click.argument("audit_id")
def audit_show(audit_id: str) -> None:
    """One record in full, as JSON."""
    import json

    from assistant.audit import AuditError

    try:
        rec = _audit_log().get(audit_id)
    except AuditError as exc:
        _fail(str(exc))
    click.echo(json.dumps(rec, ensure_ascii=False, indent=2, sort_keys=True))


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="File to write (default: stdout).")
def audit_export(fmt: str, output: str) -> None:
    """Every record, as JSON lines or CSV."""
    import sys

    if output == "-":
        count = _audit_log().export(fmt, sys.stdout)
    else:
        with open(output, "w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
            count = _audit_log().export(fmt, out)
    if output != "-":
        click.echo(f"Exported {count} records to {output}.", err=True)


@audit.command("replay")
@click.argument("audit_ids", nargs=-1, required=True)
def audit_replay(audit_ids: tuple[str, ...]) -> None:
    """Re-run recorded questions with their recorded facts; print `identical` or the diff."""
    from assistant.audit import AuditError, replay
    from assistant.pipeline import get_assistant

    log = _audit_log()
    assistant = get_assistant()
    differing = 0
    for audit_id in audit_ids:
        try:
            result = replay(log.get(audit_id), assistant)
        except AuditError as exc:
            _fail(str(exc))
        if result["identical"]:
            click.echo(f"{result['id']}: identical")
            continue
        differing += 1
        click.echo(f"{result['id']}: differs")
        for name, change in result["changed_versions"].items():
            click.echo(f"  {name} version changed: {change['recorded']} -> {change['now']}")
        if not result["changed_versions"]:
            click.echo("  no recorded version changed")
        click.echo(result["diff"])
    if differing:
        raise SystemExit(1)


# --- eval commands (eval/ owns the suites; `--only understanding` is eval/understanding) ---


@main.command("eval")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="test", show_default=True, help="Which labelled split to score.")
@click.option("--only", "only", default="all", show_default=True, help="Which part(s) to run, comma-separated: answers, baselines, determinism, understanding (default: all of them, the quality gate).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, allow_dash=True), help="Also write the metrics as JSON to this file ('-' for stdout).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the self-contained HTML report to this file.")
@click.option("--compare", "compare_path", type=click.Path(dir_okay=False), help="A saved `svt eval --json` result to compare this run with (metric changes, cases fixed and broken).")
def eval_cmd(split: str, only: str, json_path: str | None, report_path: str | None, compare_path: str | None) -> None:
    """Score the assistant on a labelled evaluation set; exit 1 when a target is missed."""
    import json

    from rich.console import Console
    from rich.table import Table

    if only != "understanding":  # the answer-quality suite (eval/runner.py); `understanding` alone is below
        _eval_answer_quality(split, only, json_path, report_path, compare_path)
        return
    if compare_path:
        _fail("--compare works with the answer-quality suite; `--only understanding` prints its own tables.")

    from eval.understanding.score import run

    result = run(split)
    console = Console()
    table = Table(title=f"Understanding, {split} split ({result['items']} questions)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, fmt, target in (("intent_accuracy", "{:.3f}", ">= 0.95"), ("fact_precision", "{:.3f}", ">= 0.90"),
                             ("fact_recall", "{:.3f}", ">= 0.80"), ("injection_facts", "{}", "0")):
        table.add_row(key, fmt.format(result[key]), target)
    console.print(table)
    per = Table(title="Per fact (micro counts)")
    for col in ("fact", "precision", "recall", "labelled", "predicted"):
        per.add_column(col, justify="left" if col == "fact" else "right")
    for name, s in result["per_fact"].items():
        per.add_row(name, f"{s['precision']:.2f}", f"{s['recall']:.2f}", str(s["support"]), str(s["predicted"]))
    console.print(per)
    if result["errors"]:
        console.print(f"[dim]{len(result['errors'])} question(s) with a difference; see --json for the list[/dim]")
    if json_path:
        with click.open_file(json_path, "w", encoding="utf-8") as out:
            out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not result["meets_targets"]:
        click.secho("Targets not met.", fg="red", err=True)
        raise SystemExit(1)


def _eval_answer_quality(split: str, only: str, json_path: str | None, report_path: str | None,
                         compare_path: str | None = None) -> None:
    """`svt eval` answer-quality suite: summary table, JSON (flat keys + baselines), HTML report."""
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from eval import runner
    from eval.compare import compare, load_result, print_comparison
    from eval.report import html_report, print_summary

    try:
        parts = runner.parse_only(None if only in ("all", "") else only)
        earlier = load_result(compare_path) if compare_path else None  # checked before the long run
    except ValueError as exc:
        _fail(str(exc))
    assistant = None
    if any(p in parts for p in ("answers", "baselines", "determinism")):
        from assistant.pipeline import Assistant

        idx = _open_index()
        _sync(idx)
        assistant = Assistant(idx.settings, index=idx)
    with Progress(TextColumn("answering gold questions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("eval", total=None)
        result = runner.run(split, parts, assistant=assistant, progress=lambda done, total: bar.update(task, completed=done, total=total))
    print_summary(result)
    if earlier is not None:
        comparison = compare(earlier, result)
        print_comparison(comparison, label_before=Path(compare_path).name, label_after="this run")
        result["comparison"] = comparison.to_dict()
    if json_path:
        with click.open_file(json_path, "w", encoding="utf-8") as out:
            out.write(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    if report_path:
        Path(report_path).write_text(html_report(result), encoding="utf-8")
        click.echo(f"HTML report written to {report_path}")
    if result.get("gate_failures"):
        raise SystemExit(1)


@main.command("eval-compare")
@click.argument("before", type=click.Path(dir_okay=False))
@click.argument("after", type=click.Path(dir_okay=False))
@click.option("--limit", default=30, show_default=True, help="At most this many fixed and broken cases listed.")
def eval_compare(before: str, after: str, limit: int) -> None:
    """Compare two saved `svt eval --json` results: metric changes and the cases fixed or broken."""
    from pathlib import Path

    from eval.compare import compare, load_result, print_comparison

    try:
        old, new = load_result(before), load_result(after)
    except ValueError as exc:
        _fail(str(exc))
    print_comparison(compare(old, new), label_before=Path(before).name, label_after=Path(after).name, limit=limit)


if __name__ == "__main__":  # pragma: no cover
    main()
