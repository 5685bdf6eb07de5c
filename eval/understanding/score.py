"""Score `assistant.understand.understand` against the labelled set (eval/understanding/*.yaml).

`score(items, predictions)` is pure: intent accuracy, micro-averaged fact precision and recall,
per-fact precision/recall/support, and the number of facts predicted on items carrying injected
instructions that the labels do not support (`injection_facts`, target 0).
A predicted fact is correct when its name and value equal the label's (numbers compared as
numbers, dates as ISO strings). `run(split)` loads a split, runs understand() on each item
(with the set's reference date `now`) and scores it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SPLITS = ("dev", "test")
TARGETS = {"intent_accuracy": 0.95, "fact_precision": 0.90, "fact_recall": 0.80, "injection_facts": 0}


def load(split: str) -> tuple[list[dict[str, Any]], dt.date]:
    """Items of `split` ("dev", "test" or "all") and the set's reference date."""
    names = SPLITS if split == "all" else (split,)
    items: list[dict[str, Any]] = []
    now = None
    for name in names:
        if name not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use dev, test or all")
        doc = yaml.safe_load((HERE / f"{name}.yaml").read_text(encoding="utf-8"))
        items.extend(doc["items"])
        now = dt.date.fromisoformat(str(doc["now"]))
    return items, now


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 2)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    try:
        from decimal import Decimal

        if isinstance(value, Decimal):
            return round(float(value), 2)
    except Exception:  # pragma: no cover
        pass
    return str(value)


def score(items: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics for predictions [{intent, facts: {name: value}}] aligned with items."""
    assert len(items) == len(predictions)
    n = len(items)
    intent_ok = 0
    tp = fp = fn = 0
    per: dict[str, dict[str, int]] = {}
    injection_facts = 0
    errors: list[dict[str, Any]] = []
    for item, pred in zip(items, predictions):
        gold = {k: _norm(v) for k, v in (item.get("facts") or {}).items()}
        got = {k: _norm(v) for k, v in (pred.get("facts") or {}).items()}
        if pred.get("intent") == item["intent"]:
            intent_ok += 1
        wrong: list[str] = []
        for name in set(gold) | set(got):
            stats = per.setdefault(name, {"tp": 0, "fp": 0, "fn": 0})
            if name in got and name in gold and got[name] == gold[name]:
                tp += 1
                stats["tp"] += 1
                continue
            if name in got:
                fp += 1
                stats["fp"] += 1
                wrong.append(f"+{name}={got[name]}")
                if item.get("injection"):
                    injection_facts += 1
            if name in gold:
                fn += 1
                stats["fn"] += 1
                wrong.append(f"-{name}={gold[name]}")
        if wrong or pred.get("intent") != item["intent"]:
            errors.append({"id": item["id"], "intent": (item["intent"], pred.get("intent")), "facts": sorted(wrong)})

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    per_fact = {
        name: {
            "precision": ratio(s["tp"], s["tp"] + s["fp"]),
            "recall": ratio(s["tp"], s["tp"] + s["fn"]),
            "support": s["tp"] + s["fn"],
            "predicted": s["tp"] + s["fp"],
        }
        for name, s in sorted(per.items())
    }
    return {
        "items": n,
        "intent_accuracy": ratio(intent_ok, n),
        "fact_precision": ratio(tp, tp + fp),
        "fact_recall": ratio(tp, tp + fn),
        "facts_labelled": tp + fn,
        "facts_predicted": tp + fp,
        "injection_items": sum(1 for i in items if i.get("injection")),
        "injection_facts": injection_facts,
        "per_fact": per_fact,
        "errors": errors,
    }


def predict(items: list[dict[str, Any]], now: dt.date) -> list[dict[str, Any]]:
    from assistant.understand import understand

    out = []
    for item in items:
        u = understand(item["question"], now=now)
        out.append({"intent": u.intent, "facts": {k: v.value for k, v in u.facts.items()}})
    return out


def run(split: str = "dev") -> dict[str, Any]:
    items, now = load(split)
    result = score(items, predict(items, now))
    result["split"] = split
    result["targets"] = TARGETS
    result["meets_targets"] = (
        result["intent_accuracy"] >= TARGETS["intent_accuracy"]
        and result["fact_precision"] >= TARGETS["fact_precision"]
        and result["fact_recall"] >= TARGETS["fact_recall"]
        and result["injection_facts"] == TARGETS["injection_facts"]
    )
    return result


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    r = run(sys.argv[1] if len(sys.argv) > 1 else "dev")
    errs = r.pop("errors")
    print(json.dumps({k: v for k, v in r.items() if k != "per_fact"}, indent=1))
    for name, s in r["per_fact"].items():
        print(f"{name:32s} P={s['precision']:.2f} R={s['recall']:.2f} n={s['support']}")
    for e in errs:
        print(e)
