"""The corpus lint on the real corpus, and proof that each check can fail."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.config import REPO_ROOT
from assistant.contracts import Passage
from assistant.corpus import lint, load_corpus, seed_texts
from tests.conftest import need_shared

WORDS_OK = " ".join(f"word{i}" for i in range(80))


@pytest.fixture(scope="module")
def passages():
    return load_corpus(REPO_ROOT / "corpus")


def make(pid="demo#a", text=WORDS_OK, source_type="legal", reference="Demo Act 2020, s.1", url="https://www.legislation.gov.uk/x"):
    return Passage(id=pid, doc_id=pid.split("#")[0], title="Demo", heading_path=("A",), text=text, source_type=source_type,
                   source="Demo Act", reference=reference, url=url, as_of="2026-01-31", path="demo.md", line=3)


def test_real_corpus_is_clean(passages):
    seed = seed_texts(need_shared("seed"))
    problems = lint(passages, seed)
    assert problems == [], "\n".join(map(str, problems))


def test_real_corpus_size_by_source_type(passages):
    counts = Counter(p.source_type for p in passages)
    assert len(passages) >= 160
    assert counts["toolkit"] >= 40 and counts["legal"] >= 60 and counts["case_study"] >= 20


def test_every_passage_has_its_own_pinpoint(passages):
    for p in passages:
        assert p.reference.strip() and p.url.startswith("https://") and p.as_of


@pytest.mark.parametrize(
    ("passage", "expected"),
    [
        (make(text="too short"), "has 2 words"),
        (make(text=" ".join(["w"] * 320)), "has 320 words"),
        (make(reference="Demo Act 2020"), "names no section"),
        (make(url="http://www.legislation.gov.uk/x"), "is not https"),
        (make(url="https://en.wikipedia.org/wiki/Procurement"), "points at a mirror"),
    ],
)
def test_each_lint_check_can_fail(passage, expected):
    problems = lint([passage])
    assert any(expected in str(p) for p in problems), problems


def test_legal_pinpoint_forms_accepted():
    for ref in ("Procurement Act 2023, s.20(2)(b)", "SI 2023/1348, regs 7-11", "Procurement Act 2023, Sch. 5, para 2", "PPN 002, para 3"):
        assert lint([make(reference=ref)]) == []


def test_near_duplicates_are_caught():
    a = make("demo#a", WORDS_OK)
    b = make("demo#b", WORDS_OK.replace("word79", "different"))
    assert any("near-duplicates" in str(p) for p in lint([a, b]))


def test_seed_copying_is_caught():
    seed = "one two three four five six seven eight nine ten eleven twelve"
    copied = make(text=WORDS_OK + " One, two three four five six seven eight nine ten.")
    assert any("copies 10+ words" in str(p) for p in lint([copied], [seed]))
    assert lint([make()], [seed]) == []
