"""eval/gold_prototypes.py: phrases mined from the gold dev cases for the similarity step."""

from __future__ import annotations

import yaml

from eval.gold_prototypes import OUT_PATH, mine, pairs_of, render
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


def test_the_committed_bank_is_in_step_with_the_gold_set():
    cases = yaml.safe_load(GOLD_PATH.read_text(encoding="utf-8"))["cases"]
    assert OUT_PATH.read_text(encoding="utf-8") == render(cases), "run: python -m eval.gold_prototypes"
    dev = {c["id"] for c in cases if c["split"] == "dev"}
    bank = yaml.safe_load(OUT_PATH.read_text(encoding="utf-8"))["facts"]
    rows = [r for by_value in bank.values() for rs in by_value.values() for r in rs]
    assert len(rows) > 200 and all(r["case"] in dev for r in rows)


def test_the_similarity_step_reads_the_mined_phrases():
    from assistant.understand import _prototypes

    facts, _ = _prototypes()
    bank = yaml.safe_load(OUT_PATH.read_text(encoding="utf-8"))["facts"]
    for fact, by_value in bank.items():
        for value, rows in by_value.items():
            assert {r["text"] for r in rows} <= set(facts[fact][value])
