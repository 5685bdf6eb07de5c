"""Static checks of the ruleset: ids, facts, values, actions and the passages it cites."""

from __future__ import annotations

import datetime as dt
import string
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rules.engine import CONDITION_OPS, DERIVED, FLAG_KINDS, MODEL_NAMES, Rule, Ruleset, load_ruleset
from rules.facts import FACTS, SIDED
from rules.legal import load_parameters

# Placeholders a flag text may use: keys that rules/legal.py can put in the context.
TEMPLATE_KEYS = {
    "date", "pa2023_commencement", "psr_commencement", "mutual_max_term", "value", "threshold",
    "threshold_kind", "threshold_category", "threshold_period", "threshold_range", "threshold_needs",
    "notifiable_threshold", "works_prequalification_threshold", "sva_light_touch_threshold",
}


def _allowed(name: str) -> tuple[Any, ...] | None:
    """Literal values a condition on `name` may use (None: any value of its type)."""
    if name in DERIVED:
        return DERIVED[name]
    spec = FACTS[name]
    return spec.values if spec.kind == "enum" else (True, False) if spec.kind == "bool" else None


def _check_literal(rule: Rule, name: str, value: Any) -> list[str]:
    allowed = _allowed(name)
    if allowed is not None:
        ok = any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed)
        return [] if ok else [f"{rule.id}: {value!r} is not a value of {name!r} (allowed: {list(allowed)})"]
    kind = FACTS[name].kind
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{rule.id}: {name!r} is a number, got {value!r}"]
    if kind == "date" and not isinstance(value, dt.date):
        return [f"{rule.id}: {name!r} is a date, got {value!r}"]
    return []


def _check_condition(rule: Rule, name: str, cond: Any) -> list[str]:
    if name not in FACTS and name not in DERIVED:
        return [f"{rule.id}: unknown fact {name!r} (not in the schema nor derived)"]
    if not isinstance(cond, dict):
        return _check_literal(rule, name, cond)
    if len(cond) != 1 or next(iter(cond)) not in CONDITION_OPS:
        return [f"{rule.id}: condition on {name!r} must have one operator of {CONDITION_OPS}, got {cond!r}"]
    (op, arg), = cond.items()
    if op == "known":
        return [] if isinstance(arg, bool) else [f"{rule.id}: known: needs true or false"]
    if op == "in":
        return [e for a in arg for e in _check_literal(rule, name, a)]
    if op in ("gt", "gte", "lt", "lte") and (name in DERIVED or FACTS[name].kind not in ("number", "date")):
        return [f"{rule.id}: {op} needs a number or date fact, {name!r} is not one"]
    return _check_literal(rule, name, arg)


def _check_action(rule: Rule) -> list[str]:
    a, errors = rule.then, []
    if a.vote:
        if a.weight < 1:
            errors.append(f"{rule.id}: a vote needs a positive weight")
        if any(n not in SIDED for n in rule.facts):
            errors.append(f"{rule.id}: route votes may read only facts with a side (the nine toolkit dimensions and the collaboration signals)")
    if a.model:
        if a.model not in MODEL_NAMES:
            errors.append(f"{rule.id}: unknown model {a.model!r}")
        if a.weight < 1:
            errors.append(f"{rule.id}: a model vote needs a positive weight")
    if a.flag:
        if a.kind not in FLAG_KINDS:
            errors.append(f"{rule.id}: flag kind must be one of {FLAG_KINDS}")
        if not a.text:
            errors.append(f"{rule.id}: a flag needs a text")
        keys = {f for _, f, _, _ in string.Formatter().parse(a.text or "") if f}
        errors += [f"{rule.id}: unknown placeholder {{{k}}}" for k in sorted(keys - TEMPLATE_KEYS)]
    if a.ask and a.ask not in FACTS:
        errors.append(f"{rule.id}: asks about unknown fact {a.ask!r}")
    # unknown is never evidence: a `known: false` condition may only raise a question
    uses_unknown = any(isinstance(c, dict) and c.get("known") is False for c in rule.when.values())
    if uses_unknown and not (a.ask or a.kind == "needs_information"):
        errors.append(f"{rule.id}: `known: false` may only lead to a question or a needs_information flag")
    return errors


def lint_ruleset(ruleset: Ruleset | None = None, passage_ids: Iterable[str] | None = None) -> list[str]:
    """Every problem found, as readable messages (empty: the ruleset is sound).

    With passage_ids, every source of the rules and of the parameters must be one of them.
    """
    ruleset = ruleset or load_ruleset()
    errors: list[str] = []
    for rule_id, n in sorted(Counter(r.id for r in ruleset.rules).items()):
        if n > 1:
            errors.append(f"duplicate rule id {rule_id!r} ({n} rules)")
    flag_ids = Counter(r.then.flag for r in ruleset.rules if r.then.flag)
    errors += [f"duplicate flag id {f!r}" for f, n in sorted(flag_ids.items()) if n > 1]
    for rule in ruleset.rules:
        for name, cond in [*rule.when.items(), *rule.unless.items()]:
            errors += _check_condition(rule, name, cond)
        errors += _check_action(rule)
        if not rule.because.strip():
            errors.append(f"{rule.id}: `because` is empty")
        if not rule.source:
            errors.append(f"{rule.id}: no source passage")
    weights = [r.then.weight for r in ruleset.rules if r.then.vote]
    p = ruleset.policy
    if weights and p.quorum > p.margin + min(weights):
        errors.append("policy: quorum must not exceed margin + the smallest vote weight (monotonicity)")
    if passage_ids is not None:
        known = set(passage_ids)
        for rule in ruleset.rules:
            errors += [f"{rule.id}: source passage {s!r} is not in the corpus" for s in rule.source if s not in known]
        errors += [f"parameters.yaml: source passage {s!r} is not in the corpus"
                   for s in sorted(parameter_sources()) if s not in known]
    return errors


def parameter_sources() -> set[str]:
    """Every passage id the dated parameters cite."""
    params = load_parameters()
    out: set[str] = set()
    for entry in params["dates"].values():
        out.update(entry["source"])
    out.update(params["reserved_mutual_max_term_years"]["source"])
    for cats in params["thresholds"].values():
        for series in cats.values():
            out.update(f.source for f in series)
    for key in ("notifiable_below_threshold", "works_prequalification"):
        for series in params[key].values():
            out.update(f.source for f in series)
    return out
