"""eval/reader_cv.py: the four folds of writing rounds, and the bank a fold of several rounds is read with."""

import yaml

from assistant import understand as U
from eval.reader_cv import folds
from eval.round_cv import bank_without
from eval.runner import writing_round


def test_the_folds_partition_the_rounds():
    cases = [{"id": i} for i in ("r2a01", "r2b03", "r3a01", "r4b02", "r5a09", "r6a01", "q01", "r10b04")]
    got = folds(cases)
    assert len(got) == 4
    assert set().union(*got) == {writing_round(c["id"]) for c in cases}
    assert sum(len(f) for f in got) == len(set().union(*got))  # disjoint


def test_a_folds_bank_leaves_out_its_rounds_phrases_and_neutral_pieces():
    mined = yaml.safe_load(U.GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8"))
    held = frozenset({"round 9", "round 13"})
    facts, neutral = bank_without(held)
    own = {r["text"] for by_value in mined["facts"].values() for rows in by_value.values() for r in rows
           if writing_round(r["case"]) in held}
    others = {r["text"] for by_value in mined["facts"].values() for rows in by_value.values() for r in rows
              if writing_round(r["case"]) not in held}
    kept = {s for by_value in facts.values() for ss in by_value.values() for s in ss}
    assert own and not (own - others) & kept
    own_neutral = {r["text"] for r in mined["neutral"] if writing_round(r["case"]) in held}
    assert own_neutral and not own_neutral & set(neutral)
