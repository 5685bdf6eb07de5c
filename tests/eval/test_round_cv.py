"""eval/round_cv.py: each round is read with a bank mined without it."""

import yaml

from assistant import understand as U
from eval.round_cv import bank_without
from eval.runner import writing_round


def _count(facts):
    return sum(len(v) for by_value in facts.values() for v in by_value.values())


def test_the_bank_for_a_round_leaves_out_exactly_that_rounds_phrases():
    mined = yaml.safe_load(U.GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8"))["facts"]
    rows = [r for by_value in mined.values() for v in by_value.values() for r in v]
    hand = _count(yaml.safe_load(U.PROTOTYPES_PATH.read_text(encoding="utf-8"))["facts"])
    for round_no in ("round 9", "rounds 0-1"):
        own = [r["text"] for r in rows if writing_round(r["case"]) == round_no]
        assert own, round_no
        facts, _ = bank_without(frozenset({round_no}))
        assert _count(facts) == hand + len(rows) - len(own)
        kept = {s for by_value in facts.values() for v in by_value.values() for s in v}
        others = {r["text"] for r in rows if writing_round(r["case"]) != round_no}
        assert not (set(own) - others) & kept


def test_the_bank_for_a_round_leaves_out_that_rounds_neutral_pieces():
    mined = yaml.safe_load(U.GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8"))["neutral"]
    hand = yaml.safe_load(U.PROTOTYPES_PATH.read_text(encoding="utf-8"))["neutral"]
    own = [r["text"] for r in mined if writing_round(r["case"]) == "round 9"]
    assert own
    _, neutral = bank_without(frozenset({"round 9"}))
    assert len(neutral) == len(hand) + len(mined) - len(own)
