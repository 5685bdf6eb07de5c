"""Leave-one-round-out estimate of routes on the DEV split: how the system reads wording it has not seen.

The mined prototype bank (assistant/prototypes_gold.yaml) holds phrases from the dev cases' own
`why` notes, so scoring dev with the whole bank flatters it. Here each writing round's dev cases are
read with a bank mined WITHOUT that round (the hand-written bank and the other rounds' phrases
stay). Lexicon patterns were tuned on dev and are not held out, and the fine-tuned reader
(eval/train_reader.py) was trained on every round's phrases, so this is still an upper estimate
of fresh wording; the hold-out rounds (eval/gold/holdout/) give the clean figure. (The sixth
session's four-fold estimate, with a reader trained without each fold, is in docs/eval.md.)

`python -m eval.round_cv [-v]` prints routes right, paraphrase consistency, routes per round and
(with -v) every miss as `id gold got`. Understanding + rules only, no retrieval (as score_holdout).
"""

from __future__ import annotations

import collections
import sys
from typing import Any

import yaml

from eval.runner import writing_round
from eval.score_holdout import read_route, split_cases, tally


def bank_without(held: frozenset[str]) -> tuple[dict[str, dict[Any, list[str]]], tuple[str, ...]]:
    """The similarity bank less the phrases and neutral pieces mined from the `held` writing rounds."""
    from assistant import understand as U

    data = yaml.safe_load(U.PROTOTYPES_PATH.read_text(encoding="utf-8"))
    mined = yaml.safe_load(U.GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8")) or {}
    facts = {f: {v: list(s) for v, s in by_value.items()} for f, by_value in data["facts"].items()}
    for fact, by_value in (mined.get("facts") or {}).items():
        for value, rows in by_value.items():
            facts.setdefault(fact, {}).setdefault(value, []).extend(
                r["text"] for r in rows if writing_round(r["case"]) not in held)
    neutral = list(data.get("neutral") or ()) + [r["text"] for r in mined.get("neutral") or ()
                                                 if writing_round(r["case"]) not in held]
    return facts, tuple(neutral)


def run(cases: list[dict]) -> dict:
    """Routes and paraphrase groups of `cases`, each round read with a bank mined without it."""
    from assistant import understand as U

    by_round: dict[str, list[dict]] = collections.defaultdict(list)
    for c in cases:
        by_round[writing_round(c["id"])].append(c)
    got: dict[str, str] = {}
    original, original_embed = U._prototypes, U._cached_embeddings
    memo: dict[tuple[str | None, str], Any] = {}

    def embed_once(texts: list[str], model: str | None = None) -> Any:
        # every fold's bank is the same phrases less one round: embed each phrase once per model
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if (model, t) not in memo]
        if missing:
            memo.update(((model, t), v) for t, v in zip(missing, original_embed(missing, model)))
        return np.vstack([memo[(model, t)] for t in texts])

    U._cached_embeddings = embed_once  # type: ignore[assignment]
    try:
        for round_no in by_round:
            bank = bank_without(frozenset({round_no}))
            U._prototypes = lambda bank=bank: bank  # type: ignore[assignment]
            U._prototype_vectors.cache_clear()
            for c in by_round[round_no]:
                got[c["id"]] = read_route(c["question"])
    finally:
        U._prototypes, U._cached_embeddings = original, original_embed  # type: ignore[assignment]
        U._prototype_vectors.cache_clear()
    return tally(cases, got) | {
        "by_round": {r: (sum(got[c["id"]] == c["route"] for c in cs), len(cs)) for r, cs in by_round.items()},
        "miss_list": [(c["id"], c["route"], got[c["id"]]) for c in cases if got[c["id"]] != c["route"]],
    }


def main(argv: list[str]) -> None:
    cases = split_cases("dev")
    r = run(cases)
    print(f"routes {r['right']}/{r['cases']} ({r['route_accuracy']:.3f}), paraphrase consistency "
          f"{r['paraphrase_consistency']:.3f} over {r['groups']} groups")
    print("by round: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in r["by_round"].items()))
    print("split groups: " + " ".join(r["split_groups"]))
    if "-v" in argv:
        for m in sorted(r["miss_list"], key=lambda m: (m[1], m[2], m[0])):
            print("  ", *m)


if __name__ == "__main__":
    main(sys.argv[1:])
