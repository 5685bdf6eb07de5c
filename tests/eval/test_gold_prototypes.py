"""eval/gold_prototypes.py: phrases mined from the gold dev cases for the similarity step."""

from __future__ import annotations

import yaml

from eval.gold_prototypes import OUT_PATH, mine, mine_neutral, pairs_of, render
from eval.gold_split import GOLD_PATH


def test_a_why_gives_one_pair_per_unambiguous_part():
    why = ("rows used: 'fixes a 400 tonne a year diversion target with deductions' -> clearly defined outputs, "
           "competition; 'genuinely shares the aim' -> interests converge (collaboration); "
           "'act as one outfit' -> several providers as one system, alliance contract (collaboration) -> mixed")
    assert pairs_of(why) == [
        ("outputs", "clearly_defined", "fixes a 400 tonne a year diversion target with deductions"),
        ("interests", "converge", "genuinely shares the aim"),
        ("multiple_providers_coordinate", True, "act as one outfit"),
    ]


def test_ambiguous_or_sideless_parts_give_nothing():
    assert pairs_of("'design fixed' -> clear specification / defined outputs, competition") == []  # two rows
    assert pairs_of("'price and values' -> suitability, both sides") == []  # no single side
    assert pairs_of("'an alliance of firms' -> alliance (competition)") == []  # a signal has no competition value
    assert pairs_of("background only; no table condition -> undetermined") == []
    assert pairs_of("'ok' -> interests converge (collaboration)") == []  # too short to compare


def test_only_dev_cases_are_mined():
    cases = [
        {"id": "d1", "split": "dev", "route": "competition", "why": "'lowest price wins every time' -> best price, competition"},
        {"id": "t1", "split": "test", "route": "competition", "why": "'cheapest quote takes it all' -> best price, competition"},
    ]
    got = mine(cases)
    assert got == {"suitability_test": {"track_record_and_price": [{"text": "lowest price wins every time", "case": "d1"}]}}


def test_neutral_pieces_come_only_from_dev_cases_that_describe_no_condition():
    cases = [
        {"id": "d1", "split": "dev", "route": "undetermined",
         "question": "Our befriending contract is worth about £400k over three years and ends in April. Which route should we use?"},
        {"id": "d2", "split": "dev", "route": "competition", "question": "The spec is fixed and the lowest price wins every time."},
        {"id": "t1", "split": "test", "route": "undetermined", "question": "The hostel contract ends in October and is worth £400k a year."},
    ]
    got = mine_neutral(cases)
    assert got and {r["case"] for r in got} == {"d1"}
    assert any("befriending contract" in r["text"] for r in got)
    assert not any("which route" in r["text"].lower() for r in got)  # the question is not a statement


def test_the_committed_bank_is_in_step_with_the_gold_set():
    cases = yaml.safe_load(GOLD_PATH.read_text(encoding="utf-8"))["cases"]
    assert OUT_PATH.read_text(encoding="utf-8") == render(cases), "run: python -m eval.gold_prototypes"
    dev = {c["id"] for c in cases if c["split"] == "dev"}
    bank = yaml.safe_load(OUT_PATH.read_text(encoding="utf-8"))["facts"]
    rows = [r for by_value in bank.values() for rs in by_value.values() for r in rs]
    assert len(rows) > 200 and all(r["case"] in dev for r in rows)
    neutral = yaml.safe_load(OUT_PATH.read_text(encoding="utf-8"))["neutral"]
    undetermined = {c["id"] for c in cases if c["split"] == "dev" and c.get("route") == "undetermined"}
    assert len(neutral) > 100 and all(r["case"] in undetermined for r in neutral)


def test_the_similarity_step_reads_the_mined_phrases():
    from assistant.understand import _prototypes

    facts, neutral = _prototypes()
    mined = yaml.safe_load(OUT_PATH.read_text(encoding="utf-8"))
    assert {r["text"] for r in mined["neutral"]} <= set(neutral)
    bank = mined["facts"]
    for fact, by_value in bank.items():
        for value, rows in by_value.items():
            assert {r["text"] for r in rows} <= set(facts[fact][value])
