"""The UI's escaping and rendering helpers (no browser, no model)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant import ui
from assistant.config import Settings


def test_question_text_is_shown_literally():
    shown = ui.md_escape("See ![x](http://evil/x.png) and [click](http://evil) <script>alert(1)</script>")
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "![" not in shown and "](" not in shown


def test_answer_markers_link_to_sources_and_links_are_neutralised():
    text = "Use a framework [1]. See [here](http://evil.example) ![img](http://evil/x.png) <b>x</b> [9]"
    out = ui.answer_markdown(text, {1})
    assert "[\\[1\\]](#source-1)" in out
    assert "](http" not in out and "<b>" not in out
    assert "[9]" in out and "#source-9" not in out  # no source 9, no link


def test_highlight_marks_the_quote_across_line_breaks_and_escapes():
    text = "First <sentence>.\nThe quoted\nspan is here. Last."
    out = ui.highlight(text, "The quoted span is here.")
    assert '<mark class="svt-quote">The quoted\nspan is here.</mark>' in out
    assert "&lt;sentence&gt;" in out
    assert ui.highlight("abc", "not there") == "abc"


def test_sources_panel_escapes_and_filters(monkeypatch):
    passage = SimpleNamespace(text="Text with <b>html</b>. Quoted here.", source="Doc <1>", heading="Heading")
    monkeypatch.setattr(ui, "_assistant", lambda: SimpleNamespace(index=SimpleNamespace(by_id={"p1": passage})))
    answer = {
        "citations": [
            {"marker": 1, "passage_id": "p1", "source_type": "legal", "title": "T <i>", "reference": "s.1", "url": "javascript:alert(1)", "quote": "Quoted here."},
        ]
    }
    out = ui.render_sources(answer, ["legal"])
    assert 'id="source-1"' in out and "&lt;b&gt;html" in out and "T &lt;i&gt;" in out
    assert '<mark class="svt-quote">Quoted here.</mark>' in out
    assert "javascript:" not in out  # only http(s) links to the original
    hidden = ui.render_sources(answer, ["toolkit"])
    assert 'id="source-1"' not in hidden and "1 source(s) hidden" in hidden


def test_card_marks_officer_set_facts_and_escapes_evidence():
    answer = {
        "recommendation": {"route": "competition", "models": [{"model": "open_procedure", "score": 2, "because": "clear spec"}], "legal_flags": [{"kind": "duty", "text": "Check <thresholds>"}], "rule_trace": [{"rule": "r1", "fired": True, "values": {}, "effect": "vote", "because": "b"}], "missing": []},
        "facts": {
            "interests": {"value": "diverge", "evidence": "<img src=x>", "origin": "extracted"},
            "outputs": {"value": "clearly_defined", "evidence": None, "origin": "officer"},
        },
        "audit_id": "A1",
    }
    out = ui.render_card(answer, {"outputs": "clearly_defined"})
    assert 'data-route="competition"' in out and "Open procedure" in out
    assert "&lt;img src=x&gt;" in out and "<img" not in out
    assert 'data-fact="outputs" data-origin="officer"' in out and "set by you" in out
    assert "Duty:" in out and "&lt;thresholds&gt;" in out


def test_card_shows_a_row_described_both_ways_with_each_sides_words():
    answer = {
        "recommendation": {"route": "mixed", "models": [], "legal_flags": [], "rule_trace": [], "missing": [],
                           "contested": ["value_delivery"],
                           "contested_evidence": {"value_delivery": [
                               {"value": "clear_specification", "evidence": "drawings are <done>", "origin": "extracted"},
                               {"value": "emergent_process", "evidence": "keep changing as we learn", "origin": "extracted"}]}},
        "facts": {},
    }
    out = ui.render_card(answer, {})
    assert 'data-fact="value_delivery" data-origin="contested"' in out and "both sides described" in out
    assert "drawings are &lt;done&gt;" in out and "keep changing as we learn" in out


def test_markdown_note_carries_citations_and_audit_id():
    answer = {"question": "Q?", "answer": "A [1].", "audit_id": "A1", "corpus_version": "v", "recommendation": None, "facts": {},
              "citations": [{"marker": 1, "title": "T", "reference": "s.1", "url": "https://x", "quote": "q", "passage_id": "p"}]}
    note = ui.answer_to_markdown(answer)
    assert "Audit id: A1" in note and "[1] T, s.1. https://x" in note and "A [1]." in note


@pytest.mark.parametrize("user,password,auth", [(None, None, False), ("officer", "secret", True), ("officer", None, False)])
def test_launch_options_bind_localhost_and_optional_auth(user, password, auth):
    settings = Settings(auth_user=user, auth_password=password, embedding_model="x")
    options = ui.launch_options(settings)
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert ("auth" in options) is auth
    if auth:
        assert options["auth"] == ("officer", "secret")
