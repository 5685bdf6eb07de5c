"""Prototype phrases for the similarity step, mined from the gold set's DEV cases.

Each gold recommendation case carries a `why` written by its (blind) writer: the words of the
question, each mapped to the row of the toolkit's table, or the collaboration signal, it falls on,
and that row's side ("'fixed an annual reuse tonnage with penalties' -> clearly defined outputs,
competition"). Those pairs are the only labelled examples of officers' own wording per row, so
they are added to the similarity step's prototype bank (assistant/prototypes_gold.yaml) beside the
hand-written one (assistant/prototypes.yaml).

Only dev cases are read: the test split never trains anything. Only unambiguous parts are kept:
a part whose row text names exactly one row of `ROWS` and one side, and evidence of 3-30 words
(the quoted words where the writer quoted them). Chosen on held-out fresh rounds: mined from the
dev halves of rounds 0-8 only, the bank took routes on the untouched dev halves of rounds 9 and 10
from 62 to 67 of 75 (docs/eval.md).

`python -m eval.gold_prototypes` rewrites assistant/prototypes_gold.yaml from eval/gold/gold.yaml;
tests/eval/test_gold_prototypes.py checks the file is in step with the gold set.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

from eval.gold_split import GOLD_PATH

OUT_PATH = Path(__file__).resolve().parent.parent / "assistant" / "prototypes_gold.yaml"

# (row words in the writer's `why`, fact, value on the competition side, value on the
# collaboration side); a signal has no competition value. A part whose row text matches more than
# one of these ("clear specification / defined outputs") is skipped rather than guessed.
ROWS: tuple[tuple[str, str, Any, Any], ...] = (
    (r"alliance|one system|as one|several providers|single (?:team|network|system|service)", "multiple_providers_coordinate", None, True),
    (r"innovation", "needs_development", None, True),
    (r"land trust|held for (?:a|the) community|community land", "community_assets", None, True),
    (r"commons|co-own|co-govern|jointly govern", "co_owned_resource", None, True),
    (r"co-?op|mutual|spin-?out|employee-owned", "cooperative_provider", None, True),
    (r"relational", "relational_assessment", None, True),
    (r"social value requirement|tightly specified social value|disciplin|constrain", "social_value_requirements", "discipline_market", "constrain_engagement"),
    (r"use when|defined outputs|identifiable outputs|clearly defined|uncertain value|emergent, uncertain|market purchasing|complex system", "outputs", "clearly_defined", "emergent_uncertain"),
    (r"deliver|specification|iterative|ongoing|emergent process", "value_delivery", "clear_specification", "emergent_process"),
    (r"interest|converge|diverge|aligned", "interests", "diverge", "converge"),
    (r"suitability|track record|best price|capability|values|purpose alignment|lowest price|cheapest", "suitability_test", "track_record_and_price", "capability_and_values"),
    (r"incentiv|winner|common purpose", "incentive", "winner_takes_all", "common_purpose"),
    (r"value for money|open book|open-book|competitive tension|transparen|profit", "value_for_money", "competitive_tension", "open_book"),
    (r"authority|market manager|steward|convener|convenor", "authority_role", "market_manager", "system_steward"),
    (r"zero-sum|zero sum|generative|nature of value", "value_nature", "zero_sum", "generative"),
)
MIN_WORDS, MAX_WORDS = 3, 30


def _side(row: str) -> str | None:
    comp, coll = "competition" in row.lower(), "collaboration" in row.lower()
    return "competition" if comp and not coll else "collaboration" if coll and not comp else None


def pairs_of(why: str) -> list[tuple[str, Any, str]]:
    """(fact, value, evidence words) for each unambiguous "words -> row (side)" part of a `why`."""
    out: list[tuple[str, Any, str]] = []
    text = re.sub(r"^\s*rows used:\s*", "", why or "", flags=re.I)
    for part in re.split(r";\s*", text):
        if "->" not in part:
            continue
        words, row = part.split("->", 1)
        row = row.split("->")[0]
        side = _side(row)
        rows = [r for r in ROWS if re.search(r[0], row, re.I)]
        if side is None or len(rows) != 1 or "/" in row:
            continue
        _, fact, comp_value, coll_value = rows[0]
        value = comp_value if side == "competition" else coll_value
        if value is None:
            continue
        words = re.sub(r"^(?:rows used:|signal:)\s*", "", words.strip(), flags=re.I)
        quoted = re.findall(r"'([^']{8,})'", words)
        for phrase in quoted or [words.strip().strip("'\"‘’“”")]:
            phrase = " ".join(phrase.replace("...", " ").replace("…", " ").split())
            if MIN_WORDS <= len(phrase.split()) <= MAX_WORDS:
                out.append((fact, value, phrase))
    return out


def mine(cases: Iterable[dict[str, Any]]) -> dict[str, dict[Any, list[dict[str, str]]]]:
    """Per fact and value, the phrases of the dev cases' `why` fields, each with its case id."""
    out: dict[str, dict[Any, list[dict[str, str]]]] = {}
    seen: set[tuple[str, Any, str]] = set()
    for case in cases:
        if case.get("split") != "dev" or not case.get("route"):
            continue
        for fact, value, phrase in pairs_of(case.get("why", "")):
            key = (fact, value, phrase.lower())
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(fact, {}).setdefault(value, []).append({"text": phrase, "case": case["id"]})
    return out


def mine_neutral(cases: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The statement pieces of the dev cases labelled `undetermined` (no condition of the table),
    each with its case id: examples of what the neutral class looks like in officers' messages."""
    from assistant.understand import statement_pieces

    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for case in cases:
        if case.get("split") != "dev" or case.get("route") != "undetermined":
            continue
        for piece in statement_pieces(case["question"]):
            if piece.lower() not in seen:
                seen.add(piece.lower())
                out.append({"text": piece, "case": case["id"]})
    return out


HEADER = """# Prototype phrases mined from the gold set's DEV cases (their writers' `why` fields), for the
# similarity step of assistant/understand.py. Generated by `python -m eval.gold_prototypes`; do not
# edit by hand. The test split is never read. See eval/gold_prototypes.py.
"""


def render(cases: Iterable[dict[str, Any]]) -> str:
    cases = list(cases)
    return _render(mine(cases), mine_neutral(cases))


def _render(bank: dict[str, dict[Any, list[dict[str, str]]]], neutral: list[dict[str, str]]) -> str:
    return HEADER + yaml.safe_dump({"facts": bank, "neutral": neutral}, sort_keys=True, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> None:
    cases = yaml.safe_load(GOLD_PATH.read_text(encoding="utf-8"))["cases"]
    bank, neutral = mine(cases), mine_neutral(cases)
    OUT_PATH.write_text(_render(bank, neutral), encoding="utf-8")
    n = sum(len(v) for by_value in bank.values() for v in by_value.values())
    print(f"{n} phrases and {len(neutral)} neutral pieces written to {OUT_PATH}")


if __name__ == "__main__":
    main(sys.argv[1:])
