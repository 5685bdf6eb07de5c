"""Every rule fires in at least one table-driven case; every model and flag is reachable."""

from __future__ import annotations

from rules.engine import MODEL_NAMES, decide, load_ruleset
from tests.rules.test_cases import CASES


def _fired() -> set[str]:
    fired: set[str] = set()
    for _, case in CASES:
        fired |= {t.rule for t in decide(case.get("facts") or {}).trace if t.fired}
    return fired


def test_every_rule_fires_in_at_least_one_case():
    rules = [r.id for r in load_ruleset().rules]
    fired = _fired()
    never = [r for r in rules if r not in fired]
    assert never == [], f"rules that fire in no case: {never}"


def test_every_model_is_recommended_in_some_case():
    seen = {m.model for _, case in CASES for m in decide(case.get("facts") or {}).models}
    assert seen == set(MODEL_NAMES)
