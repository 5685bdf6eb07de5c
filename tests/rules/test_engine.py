"""The engine: policy, conditions, templates, versioning and the lint of the shipped ruleset."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest
import yaml

from rules.engine import (MODEL_NAMES, Decision, Policy, condition_holds, decide, load_ruleset, parse_ruleset,
                          render, route_from_scores)
from rules.legal import PARAMETERS_PATH, in_force, load_parameters, position
from rules.lint import lint_ruleset

POLICY = Policy(quorum=3, margin=2, strong=2)
RULESET_TEXT = Path(load_ruleset.__wrapped__.__defaults__[0]).read_text(encoding="utf-8")
PARAMS_TEXT = PARAMETERS_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize("comp, coll, route", [
    (0, 0, "undetermined"), (0, 2, "undetermined"), (2, 0, "undetermined"), (0, 3, "collaboration"),
    (3, 0, "competition"), (1, 2, "undetermined"), (2, 2, "mixed"), (3, 2, "mixed"), (4, 2, "mixed"),
    (2, 4, "mixed"), (9, 2, "mixed"), (4, 1, "competition"), (1, 4, "collaboration"), (5, 6, "mixed"),
    (1, 1, "undetermined"), (1, 3, "collaboration"), (3, 1, "competition"), (2, 1, "undetermined"),
])
def test_route_policy(comp, coll, route):
    assert route_from_scores(comp, coll, POLICY) == route


def test_conditions_unknown_satisfies_only_known_false():
    from rules.engine import _MISSING

    assert condition_holds({"known": False}, _MISSING) and not condition_holds({"known": True}, _MISSING)
    for cond in ("x", {"in": ["x"]}, {"not": "x"}, {"gt": 1}, {"lte": 1}, True, False):
        assert not condition_holds(cond, _MISSING)
    assert condition_holds({"not": "y"}, "x") and condition_holds({"in": ["a", "x"]}, "x")
    assert condition_holds({"gt": 5}, 6) and not condition_holds({"gt": 5}, 5) and condition_holds({"lte": 5}, 5)
    assert not condition_holds(1, True) and not condition_holds(True, 1)  # bool is not an int here


def test_render_fills_placeholders_and_shows_missing_ones():
    assert render("{value} vs {threshold}", {"value": "£1"}) == "£1 vs (unknown)"


def test_decision_shape_is_the_agreed_public_api():
    d = decide({"outputs": "emergent_uncertain", "value_delivery": "emergent_process", "contract_type": "services",
                "contract_value_gbp": 500000, "procurement_start_date": "2026-02-01", "authority_type": "local_authority"})
    assert isinstance(d, Decision) and d.route == "collaboration"
    data = d.model_dump()
    assert set(data) >= {"route", "models", "legal_flags", "missing", "trace", "ruleset_version"}
    assert set(data["models"][0]) >= {"model", "score", "rules", "because"}
    assert set(data["legal_flags"][0]) >= {"id", "text", "source"}
    assert set(data["missing"][0]) >= {"fact", "question", "could_flip"}
    assert set(data["trace"][0]) >= {"rule", "fired", "facts", "because"}
    assert all(m.model in MODEL_NAMES for m in d.models)
    # a flag that quotes a threshold cites the passage of the period it used
    covered = next(f for f in d.legal_flags if f.id == "covered-procurement")
    assert "pa2023-thresholds#thresholds-from-1-january-2026" in covered.source
    assert "£207,720" in covered.text and "1 January 2026" in covered.text


def test_flags_are_ordered_duties_first():
    d = decide({"contract_type": "light_touch_services", "cooperative_provider": True, "community_assets": True,
                "contract_value_gbp": 1000000, "procurement_start_date": "2026-02-01", "authority_type": "local_authority"})
    kinds = [f.kind for f in d.legal_flags]
    order = ["duty", "option", "needs_information", "note"]
    assert kinds == sorted(kinds, key=order.index)


def test_the_version_is_a_content_hash_of_rules_and_parameters():
    base = parse_ruleset(RULESET_TEXT, PARAMS_TEXT)
    assert base.version == load_ruleset().version == decide({}).ruleset_version
    assert parse_ruleset(RULESET_TEXT + "\n# a comment\n", PARAMS_TEXT).version == base.version
    changed = RULESET_TEXT.replace("quorum: 1", "quorum: 3")
    assert parse_ruleset(changed, PARAMS_TEXT).version != base.version
    assert parse_ruleset(RULESET_TEXT, PARAMS_TEXT.replace("207720", "207721")).version != base.version


def test_a_different_ruleset_changes_the_decision_and_its_version():
    strict = parse_ruleset(RULESET_TEXT.replace("quorum: 1", "quorum: 3"), PARAMS_TEXT)
    facts = {"outputs": "emergent_uncertain"}
    assert decide(facts).route == "collaboration"
    assert decide(facts, ruleset=strict).route == "undetermined"
    assert decide(facts, ruleset=strict).ruleset_version != decide(facts).ruleset_version


def test_the_shipped_ruleset_passes_its_lint():
    assert lint_ruleset() == []


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["rules"].append(dict(r["rules"][0])), "duplicate rule id"),
    (lambda r: r["rules"][0]["when"].update(colour="blue"), "unknown fact 'colour'"),
    (lambda r: r["rules"][0]["when"].update(interests="sideways"), "is not a value of 'interests'"),
    (lambda r: r["rules"][0]["when"].update(dialogue_needed=True), "route votes may read only"),
    (lambda r: r["rules"][-1]["then"].update(ask="colour"), "asks about unknown fact"),
    (lambda r: r["rules"].append({"id": "bad-evidence", "when": {"interests": {"known": False}},
                                  "then": {"vote": "competition", "weight": 1}, "because": "x.", "source": ["a#b"]}),
     "known: false"),
    (lambda r: r["rules"].append({"id": "bad-model", "when": {"interests": "converge"},
                                  "then": {"model": "magic", "weight": 1}, "because": "x.", "source": ["a#b"]}),
     "unknown model"),
    (lambda r: r["policy"].update(quorum=9), "monotonicity"),
])
def test_lint_catches_broken_rules(mutate, message):
    data = yaml.safe_load(RULESET_TEXT)
    mutate(data)
    broken = parse_ruleset(yaml.safe_dump(data, sort_keys=False), PARAMS_TEXT)
    assert any(message in e for e in lint_ruleset(broken)), lint_ruleset(broken)


def test_lint_reports_sources_missing_from_the_corpus():
    errors = lint_ruleset(passage_ids={"toolkit-decision-table#incentives"})
    assert any("vote-interests-diverge: source passage 'toolkit-decision-table#interests-of-the-parties'" in e
               for e in errors)
    assert any(e.startswith("parameters.yaml: source passage") for e in errors)


def test_parameters_in_force_by_date():
    series = load_parameters()["thresholds"]["sub_central"]["goods_services"]
    assert in_force(series, dt.date(2025, 12, 31)).value == 214904
    assert in_force(series, dt.date(2026, 1, 1)).value == 207720
    assert in_force(series, dt.date(2019, 1, 1)).value == 213477
    assert position(207720, (in_force(series, dt.date(2026, 1, 1)),)) == "at_or_above"
    assert position(207720, (None,)) is None


def test_rules_imports_nothing_from_assistant():
    for path in Path(importlib.import_module("rules").__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import assistant" not in text and "from assistant" not in text, path.name
