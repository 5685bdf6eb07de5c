"""The fixed dev/test split of the answer-quality gold set, decided before anything was tuned.

Rule: a case's split key is its paraphrase group if it has one, else its id. The case is in
`test` when int(sha256(key)[:8], 16) % 100 >= 60, else in `dev` (about 60/40). A whole
paraphrase group therefore always lands in one split. The rule depends only on the key, so adding
cases never moves existing ones. The stored `split` field of every case in eval/gold/gold.yaml is
checked against this rule by tests/eval/test_gold.py.

`python -m eval.gold_split eval/gold/draft.yaml` writes eval/gold/gold.yaml from the draft (no splits).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import yaml

GOLD_PATH = Path(__file__).resolve().parent / "gold" / "gold.yaml"
FIELD_ORDER = ("id", "split", "kind", "attack", "group", "voice", "question", "intent", "route", "models", "relevant", "why")


def split_key(case: dict) -> str:
    return str(case.get("group") or case["id"])


def split_of(key: str) -> str:
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket >= 60 else "dev"


HEADER = """# Answer-quality gold set ({n} cases: {counts}).
# Split into dev/test by eval/gold_split.py (sha256 of the paraphrase group or id) BEFORE any
# tuning; tune on dev only, report test. How the labels were decided: eval/README.md.
# kind: recommendation | information | out_of_scope | adversarial
# route: expected route (toolkit decision table: which side each described condition falls on)
# models: acceptable models (any of them in the top 3 is a hit)
# relevant: passage id -> grade (2 answers the question, 1 partly answers or is needed context)
"""


def main(draft: str) -> None:
    cases = yaml.safe_load(Path(draft).read_text(encoding="utf-8"))
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate ids"
    out = []
    for c in cases:
        c = dict(c, split=split_of(split_key(c)))
        out.append({k: c[k] for k in FIELD_ORDER if k in c} | {k: v for k, v in c.items() if k not in FIELD_ORDER})
    from collections import Counter

    counts = ", ".join(f"{k} {v}" for k, v in Counter(c["kind"] for c in out).items())
    text = HEADER.format(n=len(out), counts=counts) + yaml.safe_dump({"cases": out}, sort_keys=False, allow_unicode=True, width=100)
    GOLD_PATH.write_text(text, encoding="utf-8")
    print(Counter((c["split"], c["kind"]) for c in out))


if __name__ == "__main__":
    main(sys.argv[1])
