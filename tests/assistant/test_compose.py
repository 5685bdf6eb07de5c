"""The deterministic composer: citations, markers, quotes, structure, safe text (no index needed)."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from assistant.compose import (
    NOT_COVERED_TEXT,
    RECOMMENDATION_PREFIX,
    CitationError,
    Citer,
    Lexicon,
    _with_marker,
    compose_information,
    compose_recommendation,
    recommendation_sentence,
)
from assistant.config import REPO_ROOT
from assistant.contracts import FactValue, Passage, ScoredPassage
from assistant.llm import uncited_sentences
from assistant.text import first_use_order, markers, safe_inline, safe_passage_sentence, sentence_spans, sentences


@lru_cache(maxsize=1)
def corpus() -> dict[str, Passage]:
    from assistant.corpus import load_corpus

    return {p.id: p for p in load_corpus(REPO_ROOT / "corpus")}


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon(corpus().values())


def hit(pid: str, sim: float = 0.5) -> ScoredPassage:
    return ScoredPassage(passage=corpus()[pid], score=0.03, similarity=sim)


def fake(pid: str, text: str, source_type: str = "legal") -> ScoredPassage:
    p = Passage(id=pid, doc_id=pid.split("#")[0], title="T", heading_path=("H",), text=text, source_type=source_type, source="S", reference="R", url="https://example.org", as_of="2026-01-01")
    return ScoredPassage(passage=p, score=0.03, similarity=0.6)


def check_markers(text: str, citations) -> None:
    """Markers resolve, are numbered by first use, and every citation is used."""
    order = first_use_order(text)
    assert order == list(range(1, len(order) + 1))
    assert {c.marker for c in citations} == set(order)


# --- text helpers ---------------------------------------------------------------------------


def test_sentences_are_verbatim_spans_across_line_breaks():
    text = "Under s. 12 the council may act.\nIt must, e.g. for works, publish a notice. \"Quoted.\" Then (a) applies."
    got = sentences(text)
    assert got == ["Under s. 12 the council may act.", "It must, e.g. for works, publish a notice.", '"Quoted."', "Then (a) applies."]
    assert all(s in text for s in got)


@hsettings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Cd.?!\n\"'(1)s ")), max_size=200))
def test_sentence_spans_always_verbatim(text):
    for start, end in sentence_spans(text):
        assert text[start:end].strip() == text[start:end] and text[start:end]


def test_safe_inline_defuses_html_links_and_images():
    out = safe_inline('<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://e.vil/p.png)')
    assert "<script" not in out and "&lt;script&gt;" in out
    assert re.search(r"(?<!\\)\]\(", out) is None  # no live link or image syntax
    assert "javascript:" not in out and "http:" not in out
    assert "![" not in out


def test_safe_passage_sentence_escapes_html_and_foreign_markers():
    out = safe_passage_sentence("<b>Bold</b> see [3] and [x](javascript:go) ![i](data:x)")
    assert "<b>" not in out and "[3]" not in out and "javascript:" not in out and "data:" not in out and "![" not in out


def test_marker_goes_before_closing_punctuation():
    assert _with_marker("It applies.", [2]) == "It applies [2]."
    assert _with_marker('He said "yes."', [1]) == 'He said "yes [1]."'
    assert _with_marker("No stop", [1, 1, 3]) == "No stop [1][3]."


# --- citer ---------------------------------------------------------------------------------------


def test_citer_refuses_unretrieved_passages_and_non_verbatim_quotes():
    h = fake("doc#a", "First sentence here is long enough. Second one is also long enough.")
    citer = Citer([h])
    with pytest.raises(CitationError):
        citer.cite("doc#other", "First sentence here is long enough.")
    with pytest.raises(CitationError):
        citer.cite("doc#a", "A sentence that is not in the passage.")
    assert citer.cite("doc#a", "Second one is also long enough.") == 1
    assert citer.cite("doc#a", "First sentence here is long enough.") == 2
    assert citer.cite("doc#a", "Second one is also long enough.") == 1  # same quote, same marker
    assert [c.marker for c in citer.citations] == [1, 2]


# --- information -----------------------------------------------------------------------------------


def test_information_answer_cites_every_sentence_with_verbatim_quotes():
    hits = [hit("toolkit-legal-routes#alliance-contracts", 0.7), hit("case-plymouth-alliance#what-was-done", 0.6), hit("pa2023-procedures#competitive-flexible-procedure", 0.5)]
    out = compose_information("What is an alliance contract and how is it procured?", hits, lexicon())
    check_markers(out.text, out.citations)
    assert not uncited_sentences(out.text)
    by_id = {h.passage.id: h.passage for h in hits}
    for c in out.citations:
        assert c.quote in by_id[c.passage_id].text
    # fixed group order: toolkit, then law, then examples
    positions = [out.text.index(t) for t in ("What the toolkit says", "What the law says", "Examples from councils")]
    assert positions == sorted(positions)


def test_information_answer_has_no_repeated_sentences():
    text = "Alliance contracts bind several providers into one contract for outcomes. Nothing else is said here at length today."
    hits = [fake("a#1", text), fake("b#1", text)]
    out = compose_information("alliance contracts providers", hits, lexicon())
    bodies = [re.sub(r"\s*\[\d+\]", "", s) for s in sentences(out.text.replace("\n", " "))]
    assert len(bodies) == len(set(bodies))


def test_information_without_passages_says_not_covered():
    out = compose_information("anything", [], lexicon())
    assert out.text == NOT_COVERED_TEXT and out.citations == []


def test_html_in_a_passage_never_reaches_the_answer_unescaped():
    h = fake("evil#1", "Alliance contracts are <script>alert('x')</script> useful for many providers working together. See [me](javascript:alert(1)) for more on alliance contracts now.", "user")
    out = compose_information("alliance contracts providers", [h], lexicon())
    assert "<script" not in out.text and "javascript:" not in out.text
    assert any("<script>" in c.quote for c in out.citations)  # the quote itself stays verbatim


# --- recommendation ---------------------------------------------------------------------------------


def _recommendation(facts: dict, question: str = "How should we commission this?"):
    from rules.engine import decide, load_ruleset

    sources = {r.id: tuple(r.source) for r in load_ruleset().rules}
    decision = decide(facts)
    ids = set()
    for t in decision.trace:
        if t.fired:
            ids.update(s for s in sources[t.rule])
    for f in decision.legal_flags:
        ids.update(f.source)
    retrieved = [hit(pid) for pid in sorted(ids) if pid in corpus()]
    examples = [hit("case-plymouth-alliance#what-was-done", 0.45)]
    retrieved += examples
    fvs = {k: FactValue(value=v, evidence=f"words for {k}", origin="extracted") for k, v in facts.items()}
    return decision, compose_recommendation(question, decision, fvs, retrieved, sources, ["Is it X?"], lexicon(), examples=examples)


def test_recommendation_structure_markers_and_quotes():
    decision, out = _recommendation({"interests": "converge", "value_delivery": "emergent_process", "multiple_providers_coordinate": True, "contract_type": "light_touch_services", "contract_value_gbp": 2000000})
    assert decision.route == "collaboration"
    assert out.text.startswith(f"{RECOMMENDATION_PREFIX} treat this as a **collaboration**")
    for heading in ("**Why**", "**How to do it lawfully**", "**Examples**", "**What would change this**"):
        assert heading in out.text
    check_markers(out.text, out.citations)
    assert not uncited_sentences(out.text)
    for c in out.citations:
        assert c.quote in corpus()[c.passage_id].text
    why = out.text.split("**Why**")[1].split("**How to do it lawfully**")[0]
    why_markers = set(markers(why))
    assert why_markers and all(out.citations[m - 1].source_type == "toolkit" for m in why_markers)
    lawful = out.text.split("**How to do it lawfully**")[1].split("**Examples**")[0]
    assert any(out.citations[m - 1].source_type == "legal" for m in markers(lawful))
    assert "Alliance contract" in lawful or "Competitive flexible procedure" in lawful


def test_recommendation_sentence_comes_from_the_decision_only():
    from rules.engine import decide

    for facts, route in (({"value_delivery": "clear_specification", "outputs": "clearly_defined"}, "competition"), ({}, "undetermined")):
        decision = decide(facts)
        assert decision.route == route
        sentence = recommendation_sentence(decision)
        assert sentence.startswith(RECOMMENDATION_PREFIX) and not markers(sentence)
        assert sentence == recommendation_sentence(decide(facts))


def test_a_mixed_recommendation_says_how_the_points_fall():
    from rules.engine import decide

    lopsided = recommendation_sentence(decide({"value_delivery": "emergent_process", "outputs": "emergent_uncertain",
                                               "interests": "diverge"}))
    assert "**mixed**" in lopsided and "points to collaboration: 4 points to 1" in lopsided
    even = recommendation_sentence(decide({"interests": "diverge", "value_nature": "generative"}))
    assert "(the two sides weigh the same, 1 point each)" in even


def test_evidence_from_the_question_is_escaped_in_the_answer():
    from rules.engine import decide, load_ruleset

    sources = {r.id: tuple(r.source) for r in load_ruleset().rules}
    facts = {"interests": "converge", "value_delivery": "emergent_process"}
    decision = decide(facts)
    retrieved = [hit(pid) for t in decision.trace if t.fired for pid in sources[t.rule] if pid in corpus()]
    fvs = {"interests": FactValue(value="converge", evidence="<img src=x onerror=alert(1)> [x](javascript:1) we share goals. More", origin="extracted")}
    out = compose_recommendation("q", decision, fvs, retrieved, sources, [], lexicon())
    assert "<img" not in out.text and "javascript:" not in out.text
    assert not uncited_sentences(out.text)


# --- groundedness of the recommendation answer -------------------------------------------------------


def _decision_texts(decision) -> list[str]:
    """What eval/runner.py treats as decision text for this decision."""
    out = [t.because for t in decision.trace if t.fired] + [m.because for m in decision.models] + [f.text for f in decision.legal_flags]
    return out + [m.question for m in decision.missing]


def test_recommendation_lines_are_grounded_in_the_sentences_they_cite():
    from eval.metrics import groundedness

    decision, out = _recommendation({"interests": "converge", "value_delivery": "emergent_process", "multiple_providers_coordinate": True, "contract_type": "light_touch_services", "contract_value_gbp": 2000000})
    cites = [c.model_dump() for c in out.citations]
    exempt = [out.text.split("\n\n", 1)[0], "Is it X?", *_decision_texts(decision)]
    grounded, total, details = groundedness(out.text, cites, exempt)
    assert total >= 8 and grounded == total, [d for d in details if not d["grounded"]]
    why = out.text.split("**Why**")[1].split("**How to do it lawfully**")[0]
    # the officer's words are quoted as theirs, and each line's cited sentence is the passage's own
    assert "(you said “words for interests”)" in why
    for line in why.strip().splitlines():
        m = re.search(r"\): (.*) \[(\d+)\]\.$", line)
        assert m, line
        assert re.sub(r"\.$", "", out.citations[int(m.group(2)) - 1].quote) == m.group(1)


def test_an_unsupported_flag_sentence_is_the_rules_text_leading_into_its_evidence():
    from rules.engine import decide, load_ruleset

    sources = {r.id: tuple(r.source) for r in load_ruleset().rules}
    decision = decide({"contract_type": "light_touch_services", "contract_value_gbp": 2000000, "interests": "converge", "value_delivery": "emergent_process"})
    flag = next(f for f in decision.legal_flags if "tender notice is still needed" in f.text)
    claim = "A tender notice is still needed unless a direct award justification applies."
    ids = sorted({pid for t in decision.trace if t.fired for pid in sources[t.rule]} | {pid for f in decision.legal_flags for pid in f.source})
    # Only the flag's own sources (which do not say it): the sentence is shown as the rules' text,
    # with no marker, as a lead-in to the closest sentence of those sources, which is cited.
    out = compose_recommendation("q", decision, {}, [hit(pid) for pid in ids if pid in corpus()], sources, [], lexicon())
    lead = next(line for line in out.text.splitlines() if claim[:-1] in line)
    assert lead.rstrip().endswith(claim[:-1] + ":") and not markers(lead.split(claim[:-1])[1])
    after = out.text.split(claim[:-1] + ":\n  ", 1)[1].splitlines()[0]
    assert markers(after) and set(flag.source) >= {out.citations[markers(after)[0] - 1].passage_id}
    assert not uncited_sentences(out.text)
    # With the passage that does say it retrieved, the sentence is cited to that passage.
    extra = "pa2023-light-touch#light-touch-contracts-still-need-advertising"
    out = compose_recommendation("q", decision, {}, [hit(pid) for pid in [*ids, extra] if pid in corpus()], sources, [], lexicon())
    line = next(line for line in out.text.splitlines() if claim[:-1] in line)
    m = markers(line.split(claim[:-1])[1])
    assert m and out.citations[m[0] - 1].passage_id == extra
