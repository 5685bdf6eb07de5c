"""Corpus parsing and validation: located errors, stable ids, per-passage references."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus import CorpusError, load_corpus, parse_document, slugify

GOOD = """---
id: demo-doc
title: Demo document
source_type: legal
source: Demo Act 2020
reference: Demo Act 2020, s.1
url: https://www.legislation.gov.uk/ukpga/2020/1
as_of: 2026-01-31
models: [alliance_contract]
---

Opening words that sit before any heading and still deserve a passage of their own.

## First heading
reference: Demo Act 2020, s.1(2)

Text of the first passage.

## Parent only

### Child: with punctuation!
url: https://www.gov.uk/child

Text of the child passage.
"""


def write(tmp_path: Path, folder: str, name: str, text: str) -> Path:
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_split_at_headings_with_paths_ids_and_overrides(tmp_path):
    passages = parse_document(GOOD, tmp_path / "demo-doc.md", "legal")
    assert [p.id for p in passages] == ["demo-doc#summary", "demo-doc#first-heading", "demo-doc#child-with-punctuation"]
    first, child = passages[1], passages[2]
    assert first.reference == "Demo Act 2020, s.1(2)"
    assert first.url == "https://www.legislation.gov.uk/ukpga/2020/1"
    assert child.reference == "Demo Act 2020, s.1"
    assert child.url == "https://www.gov.uk/child"
    assert child.heading_path == ("Parent only", "Child: with punctuation!")
    assert child.text == "Text of the child passage."
    assert child.models == ("alliance_contract",)
    assert "reference:" not in first.text


def test_ids_are_stable_when_text_changes(tmp_path):
    before = parse_document(GOOD, tmp_path / "demo-doc.md")
    after = parse_document(GOOD.replace("Text of the first passage.", "Reworded first passage."), tmp_path / "demo-doc.md")
    assert [p.id for p in before] == [p.id for p in after]
    assert before[1].text != after[1].text


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("---\nid", "id", 1), "missing YAML front matter"),
        (lambda t: t.replace("title: Demo document\n", ""), "'title' is missing"),
        (lambda t: t.replace("source_type: legal", "source_type: blog"), "source_type 'blog' is not one of"),
        (lambda t: t.replace("as_of: 2026-01-31", "as_of: last spring"), "not an ISO date"),
        (lambda t: t.replace("models: [alliance_contract]", "models: [pfi]"), "unknown model 'pfi'"),
        (lambda t: t.replace("id: demo-doc", "id: Demo_Doc"), "must be lowercase"),
        (lambda t: t.replace("title: Demo document", "title: [unclosed"), "invalid YAML"),
        (lambda t: t.split("---\n\n", 1)[0] + "---\n\n", "body is empty"),
        (lambda t: t + "\n## First heading\n\nAgain.\n", "duplicate passage id 'demo-doc#first-heading'"),
    ],
)
def test_invalid_documents_name_file_line_and_problem(tmp_path, mutate, expected):
    path = tmp_path / "legal" / "demo-doc.md"
    with pytest.raises(CorpusError) as info:
        parse_document(mutate(GOOD), path, "legal")
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert all(p.line >= 1 for p in info.value.problems)


def test_yaml_error_points_at_its_line(tmp_path):
    with pytest.raises(CorpusError) as info:
        parse_document(GOOD.replace("title: Demo document", "title: [unclosed"), tmp_path / "demo-doc.md")
    assert info.value.problems[0].line in (3, 4)


def test_duplicate_heading_line_is_reported(tmp_path):
    text = GOOD + "\n## First heading\n\nAgain.\n"
    with pytest.raises(CorpusError) as info:
        parse_document(text, tmp_path / "demo-doc.md")
    dup_line = text.splitlines().index("## First heading", 20) + 1
    assert info.value.problems[0].line == dup_line


def test_load_corpus_checks_folder_and_duplicate_ids_across_files(tmp_path):
    write(tmp_path, "legal", "demo-doc.md", GOOD)
    write(tmp_path, "toolkit", "demo-doc.md", GOOD.replace("source_type: legal", "source_type: toolkit"))
    write(tmp_path, "case_studies", "other.md", GOOD.replace("id: demo-doc", "id: other"))
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path)
    text = str(info.value)
    assert "duplicate id 'demo-doc#summary'" in text
    assert "does not match its folder (expected 'case_study')" in text
    assert "must equal the file name" not in text


def test_file_name_must_match_id(tmp_path):
    write(tmp_path, "legal", "wrong-name.md", GOOD)
    with pytest.raises(CorpusError, match="must equal the file name 'wrong-name'"):
        load_corpus(tmp_path)


def test_slugify():
    assert slugify("Thresholds from 1 January 2026") == "thresholds-from-1-january-2026"
    assert slugify("  What's new?  ") == "what-s-new"


def test_a_passage_may_name_its_own_models(tmp_path):
    text = GOOD.replace("reference: Demo Act 2020, s.1(2)\n", "reference: Demo Act 2020, s.1(2)\nmodels: [community_land_trust, framework]\n")
    passages = {p.id: p for p in parse_document(text, tmp_path / "demo-doc.md")}
    assert passages["demo-doc#first-heading"].models == ("community_land_trust", "framework")
    assert passages["demo-doc#summary"].models == ("alliance_contract",)  # the document's default
    with pytest.raises(CorpusError, match="unknown model 'pfi'"):
        parse_document(text.replace("framework]", "pfi]"), tmp_path / "demo-doc.md")
