"""`svt ingest`: a user's own documents become passages; re-ingesting replaces; bad files change nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.config import Settings
from assistant.index import PassageIndex, load_ingested
from assistant.ingest import IngestError, ingest, read_document
from tests.conftest import need_shared


def make_pdf(path, pages):
    """A real PDF with one text block per page, made with reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle("Council commissioning strategy")
    for text in pages:
        y = 800
        for line in text.split("\n"):
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return path


@pytest.fixture()
def settings(tmp_path):
    """An empty corpus: these tests embed only what they ingest."""
    (tmp_path / "corpus").mkdir()
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", collection="svt_ingest")


def test_pdf_keeps_page_numbers_in_reference(tmp_path):
    pdf = make_pdf(tmp_path / "Strategy 2026.pdf", ["Our alliance approach to homelessness services.", "Second page about community land trusts."])
    passages = read_document(pdf)
    assert [p.id for p in passages] == ["user-strategy-2026#page-1", "user-strategy-2026#page-2"]
    assert passages[1].reference == "Council commissioning strategy, p.2"
    assert "community land trusts" in passages[1].text
    assert all(p.source_type == "user" for p in passages)


def test_docx_html_markdown_text(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Commissioning plan", level=1)
    document.add_paragraph("We will co-design the service with residents.")
    document.save(tmp_path / "plan.docx")
    (tmp_path / "page.html").write_text("<html><head><title>Notes</title><script>alert(1)</script></head><body><h2>Alliance</h2><p>Providers share outcomes.</p></body></html>")
    (tmp_path / "memo.md").write_text("# Memo\n\n## Decision\n\nWe chose the competitive flexible procedure.\n")
    (tmp_path / "plain.txt").write_text("A short note about social value.\n")
    for name, expected in [("plan.docx", "co-design"), ("page.html", "share outcomes"), ("memo.md", "competitive flexible"), ("plain.txt", "social value")]:
        passages = read_document(tmp_path / name, "user")
        assert passages and expected in " ".join(p.text for p in passages), name
    html = read_document(tmp_path / "page.html")
    assert "alert(1)" not in " ".join(p.text for p in html)
    assert html[0].heading_path == ("Alliance",)


def test_statute_markdown_gets_section_pinpoints():
    path = need_shared("legislation", "ukpga-2023-54-procurement-act-extracts.md")
    passages = read_document(path, "legal")
    by_ref = {p.reference for p in passages}
    assert "Procurement Act 2023, s.20" in by_ref and "Procurement Act 2023, Sch. 1, para 1" in by_ref
    assert len({p.id for p in passages}) == len(passages)


def test_seed_file_ingests_and_is_searchable(settings):
    seed = need_shared("seed", "000_e4131cde64d36742.txt")
    done, errors = ingest(settings, [seed])
    assert errors == [] and done[0][1] >= 3
    index = PassageIndex(settings)
    report = index.ensure()
    ids = {p.id for p in load_ingested(settings)}
    assert ids <= set(report.added)
    from assistant.retrieve import HybridSearch

    hits = HybridSearch(index).search("theory of collaboration emergent value", k=5, source_type="user")
    assert hits and hits[0].passage.id.startswith("user-000-e4131cde64d36742#")


def test_reingest_replaces_never_duplicates(settings, tmp_path):
    pdf = make_pdf(tmp_path / "plan.pdf", ["First version of page one.", "Page two."])
    ingest(settings, [pdf])
    index = PassageIndex(settings)
    index.ensure()
    make_pdf(pdf, ["Second version of page one."])
    ingest(settings, [pdf])
    index = PassageIndex(settings)
    report = index.ensure()
    user = [p for p in index.passages if p.source_type == "user"]
    assert [p.id for p in user] == ["user-plan#page-1"]
    assert "Second version" in user[0].text
    assert report.updated == ["user-plan#page-1"] and report.deleted == ["user-plan#page-2"]


def test_unreadable_files_get_clear_errors_and_change_nothing(settings, tmp_path):
    good = make_pdf(tmp_path / "good.pdf", ["Alliance contracts in practice."])
    ingest(settings, [good])
    before = json.dumps([p.model_dump() for p in load_ingested(settings)])
    broken = tmp_path / "good.pdf.bak.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "good.pdf").write_bytes(b"garbage that replaced the good file")
    done, errors = ingest(settings, [tmp_path / "good.pdf", tmp_path / "missing.docx", tmp_path / "image.png"])
    assert done == []
    assert any("good.pdf: could not read this PDF file" in e for e in errors)
    assert any("missing.docx: file not found" in e for e in errors)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(IngestError, match="unsupported file type '.png'"):
        read_document(tmp_path / "image.png")
    assert json.dumps([p.model_dump() for p in load_ingested(settings)]) == before


@pytest.fixture()
def env_settings(settings, monkeypatch):
    """Point the process-wide settings (what the CLI reads) at the small test folders."""
    from assistant.config import get_settings

    monkeypatch.setenv("SVT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SVT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("SVT_COLLECTION", settings.collection)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_cli_ingest_reports_per_file(env_settings, tmp_path):
    from assistant import cli
    note = tmp_path / "note.txt"
    note.write_text("Our council wants to explore a public-commons partnership for the leisure centre.\n")
    result = CliRunner().invoke(cli.main, ["ingest", str(note), str(tmp_path / "nope.pdf")])
    assert result.exit_code == 1
    assert "Ingested" in result.output and "nope.pdf: file not found" in result.output
    assert "Traceback" not in result.output
