"""The optional LLM rewrite and its guard, with LangChain's fake chat models."""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.compose import Composed
from assistant.contracts import Citation
from assistant.llm import check_rewrite, load_chat_model, renumber, rewrite, uncited_sentences

REC = "**Recommendation:** treat this as a **collaboration**: the council and its partners work towards a shared purpose. The model that fits best is the **alliance contract** (one contract under which several providers share responsibility for outcomes)."
TEXT = f"""{REC}

**Why**
- **Interests of the parties** points to collaboration: collaboration motivates best when the interests of the parties converge [1].

**How to do it lawfully**
- **Alliance contract**: Where several providers must work as one system, an alliance contract shares responsibility for outcomes among them [2]. A tender notice is still needed unless a direct award justification applies [3].

**What would change this**
- Are you buying clearly defined outputs?"""


def _citation(n: int) -> Citation:
    return Citation(marker=n, passage_id=f"doc#p{n}", source_type="toolkit", title="T", reference="R", url="https://example.org", quote=f"Quote {n}.", score=0.5)


ORIGINAL = Composed(text=TEXT, citations=[_citation(1), _citation(2), _citation(3)], recommendation_sentence=REC, models=["alliance_contract"], route="collaboration")
SETTINGS = SimpleNamespace(llm="fake:model", llm_timeout_s=2.0, llm_base_url=None, llm_api_key=None)


def _model(text: str):
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]))


def test_the_deterministic_answer_passes_its_own_guard():
    assert uncited_sentences(TEXT) == []
    assert check_rewrite(ORIGINAL, TEXT) is None


def test_a_well_behaved_rewrite_is_used_and_markers_renumbered():
    fluent = TEXT.replace(
        "Where several providers must work as one system, an alliance contract shares responsibility for outcomes among them [2]. A tender notice is still needed unless a direct award justification applies [3].",
        "You still need a tender notice unless a direct award justification applies [3]. When several providers must act as one system, an alliance contract spreads responsibility for outcomes across them [2].",
    )
    result = rewrite(ORIGINAL, _model(fluent), SETTINGS, passages={})
    assert result.accepted, result.reason
    assert re.findall(r"\[(\d)\]", result.text) == ["1", "2", "3"]  # first use order again
    assert [c.passage_id for c in result.citations] == ["doc#p1", "doc#p3", "doc#p2"]
    assert "You still need a tender notice" in result.text


@pytest.mark.parametrize(
    "bad, why",
    [
        (TEXT.replace("treat this as a **collaboration**", "consider a **competition**"), "recommendation sentence"),
        (TEXT.replace("converge [1].", "converge [1]. Perhaps competition would work just as well [1]."), "hedged"),
        (TEXT.replace("**What would change this**", "A framework call-off is another option [2].\n\n**What would change this**"), "added a model"),
        (TEXT.replace("an alliance contract shares", "the arrangement shares").replace("- **Alliance contract**: ", "- "), "dropped a model"),
        (TEXT.replace("[3]", "[7]"), "no citation"),
        (TEXT.replace("applies [3].", "applies [3]. Councils must also publish a contract details notice within 30 days."), "no citation"),
        ("", "empty"),
        (REC, "dropped most"),
    ],
)
def test_misbehaving_rewrites_are_rejected(bad, why):
    result = rewrite(ORIGINAL, _model(bad), SETTINGS, passages={})
    assert not result.accepted
    assert why in result.reason
    assert result.text == TEXT and result.citations == ORIGINAL.citations
    assert result.audit()["accepted"] is False and result.audit()["reason"]


def test_model_error_falls_back():
    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):
            raise RuntimeError("boom")

    result = rewrite(ORIGINAL, Broken(responses=["x"]), SETTINGS, passages={})
    assert not result.accepted and "failed" in result.reason and result.text == TEXT


def test_model_timeout_falls_back():
    slow = FakeMessagesListChatModel(responses=[AIMessage(content=TEXT)], sleep=1.5)
    result = rewrite(ORIGINAL, slow, SimpleNamespace(llm="fake", llm_timeout_s=0.2), passages={})
    assert not result.accepted and "timed out" in result.reason


def test_renumber_drops_unused_citations():
    text, cits = renumber("A b c d [3]. E f g h [1].", [_citation(1), _citation(2), _citation(3)])
    assert text == "A b c d [1]. E f g h [2]."
    assert [(c.marker, c.passage_id) for c in cits] == [(1, "doc#p3"), (2, "doc#p1")]


def test_no_llm_configured_means_no_model_and_no_llm_packages():
    assert load_chat_model(SimpleNamespace(llm=None)) is None
    assert "langchain_ollama" not in sys.modules and "langchain_openai" not in sys.modules


@pytest.mark.slow
def test_pipeline_uses_a_guarded_rewrite_and_records_it(test_settings, built_index):
    from assistant.pipeline import Assistant

    settings = test_settings.model_copy(update={"llm": "fake:echo"})
    assistant = Assistant(settings, index=built_index)
    question = "Our interests converge and nobody knows what will work for rough sleeping; several providers must coordinate. Which route?"
    plain = Assistant(test_settings, index=built_index, audit=False).ask(question)

    class Echo(FakeListChatModel):
        """Returns the answer it was given, with one sentence reworded (a well-behaved model)."""

        def _call(self, messages, *args, **kwargs):
            return messages[-1].content.split("Answer to edit:\n", 1)[1].replace("**Why**", "**Why this route**")

    assistant.__dict__["llm"] = Echo(responses=["unused"])
    answer = assistant.ask(question)
    assert "**Why this route**" in answer.answer
    assert answer.recommendation == plain.recommendation
    record = assistant.audit_log.get(answer.audit_id)
    assert record["llm"] == "fake:echo" and record["llm_record"]["accepted"] is True

    assistant.__dict__["llm"] = _model(plain.answer.replace("collaboration", "competition"))
    answer = assistant.ask(question)
    assert answer.answer == plain.answer
    assert any("rewrite was not used" in n for n in answer.notes)
    assert assistant.audit_log.get(answer.audit_id)["llm_record"]["accepted"] is False
