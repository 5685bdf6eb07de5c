"""Calibrate the similarity fallback of assistant/understand.py on DEV data only.

    python -m eval.understanding.calibrate_similarity [--gold]

For each threshold T and margin M it reports, on the understanding set's dev split:
- similarity ALONE (lexicon off): facts it sets, true and false positives, precision;
- similarity AFTER the lexicon (the shipped setting): the facts it adds, and how many are right;
and with --gold, the route accuracy of understand + rules.decide on the gold set's dev split
(recommendation cases). It never reads a test split.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from assistant import understand as U
from eval.understanding.score import _norm, load

THRESHOLDS = (0.45, 0.50, 0.55, 0.60, 0.65, 0.70)
MARGINS = (0.0, 0.03, 0.05, 0.08, 0.10, 0.12)
TOP_K = (1, 3)


def _prepare(question: str, k: int) -> tuple[dict[str, Any], set[str], tuple, tuple]:
    """Lexicon facts, the facts the lexicon touched, the similarity segments and their scores
    (after the lexicon: pieces not already read by it; alone: every piece)."""
    text = U._blank_html(question[:4000])
    skip = U._injected_spans(text)
    clean = list(text)
    for a, b in skip:
        clean[a:b] = " " * (b - a)
    clean_text = "".join(clean)
    norm = U._Norm(clean_text)
    clauses = U._clauses(norm.text)
    hits = U._lexicon_facts(clean_text, norm, clauses, [], [])
    lex = {f: found[0][0] for f, found in hits.items() if len({v for v, _, _ in found}) == 1}
    used = [span for fact, found in hits.items() if fact in U.SITUATION_FACTS for _, span, _ in found]
    segments = U._segments(clean_text, norm, clauses, [], used)
    alone = U._segments(clean_text, norm, clauses, [])
    return lex, set(hits), (segments, alone), (U._similarity_scores(segments, k), U._similarity_scores(alone, k))


def _sim_facts(scores: dict, known: set[str], t: float, m: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fact, rows in scores.items():
        if fact in known:
            continue
        best = None
        for s1, margin, value in rows:
            if s1 >= t and margin >= m and (best is None or s1 > best[0]):
                best = (s1, value)
        if best:
            out[fact] = best[1]
    return out


def main(gold: bool) -> None:
    items, _ = load("dev")
    # out-of-scope messages get no facts whatever the similarity says: leave them out
    items = [it for it in items if U.understand(it["question"], use_similarity=False).intent != "out_of_scope"]
    n_labels = sum(1 for it in items for f in (it.get("facts") or {}) if f in U.SITUATION_FACTS)
    doc = yaml.safe_load(open("eval/gold/gold.yaml", encoding="utf-8")) if gold else {"cases": []}
    gold_cases = [c for c in doc["cases"] if c.get("route") and c["split"] == "dev"]
    print(f"dev: {len(items)} in-scope items, {n_labels} situation-fact labels; gold dev cases with a route: {len(gold_cases)}")
    print("K  T     M     | alone: n  TP  FP  P     R     | added: n  TP  FP" + ("  | gold dev route" if gold else ""))
    for k in TOP_K:
        prepared = [(_prepare(it["question"], k), {kk: _norm(v) for kk, v in (it.get("facts") or {}).items()}, it)
                    for it in items]
        cases = [(c, _prepare(c["question"], k)) for c in gold_cases]
        for t in THRESHOLDS:
            for m in MARGINS:
                print(_row(k, t, m, prepared, cases, gold))


def _row(k: int, t: float, m: float, prepared: list, cases: list, gold: bool) -> str:
    a_tp = a_fp = d_tp = d_fp = 0
    n_labels = 0
    for (lex, known, _, (scores, scores_alone)), labels, it in prepared:
        n_labels += sum(1 for f in labels if f in U.SITUATION_FACTS)
        for f, v in _sim_facts(scores_alone, set(), t, m).items():
            ok = labels.get(f) == _norm(v)
            a_tp += ok
            a_fp += not ok
        for f, v in _sim_facts(scores, known, t, m).items():
            ok = labels.get(f) == _norm(v)
            d_tp += ok
            d_fp += not ok
    line = (f"{k}  {t:.2f}  {m:.2f}  |        {a_tp + a_fp:3d} {a_tp:3d} {a_fp:3d}  "
            f"{(a_tp / (a_tp + a_fp)) if a_tp + a_fp else 1:.2f}  {a_tp / max(n_labels, 1):.2f}  |"
            f"        {d_tp + d_fp:3d} {d_tp:3d} {d_fp:3d}")
    if gold:
        from rules.engine import decide

        ok = 0
        for c, (lex, known, _, (scores, _alone)) in cases:
            facts = dict(lex)
            facts.update(_sim_facts(scores, known, t, m))
            facts = {f: v for f, v in facts.items()
                     if f not in ("contract_type", "authority_type")}  # legal facts cast no vote
            ok += decide(facts).route == c["route"]
        line += f"  | {ok / max(len(cases), 1):.3f}"
    return line


if __name__ == "__main__":  # pragma: no cover
    main("--gold" in sys.argv)
