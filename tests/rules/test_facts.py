"""The facts schema: names, kinds, questions, sources and validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rules.facts import DIMENSIONS, FACTS, fact_value_text, validate_facts

AGREED = {
    "interests": ("diverge", "converge"),
    "value_delivery": ("clear_specification", "emergent_process"),
    "social_value_requirements": ("discipline_market", "constrain_engagement"),
    "suitability_test": ("track_record_and_price", "capability_and_values"),
    "incentive": ("winner_takes_all", "common_purpose"),
    "value_for_money": ("competitive_tension", "open_book"),
    "outputs": ("clearly_defined", "emergent_uncertain"),
    "authority_role": ("market_manager", "system_steward"),
    "value_nature": ("zero_sum", "generative"),
}
MODEL_FACTS = ("multiple_providers_coordinate", "needs_development", "community_assets", "co_owned_resource",
               "cooperative_provider", "dialogue_needed", "relational_assessment")


def test_the_nine_dimensions_have_the_agreed_names_values_and_sides():
    assert DIMENSIONS == tuple(AGREED)
    for name, (comp, coll) in AGREED.items():
        spec = FACTS[name]
        assert spec.kind == "enum" and spec.values == (comp, coll)
        assert spec.side_of(comp) == "competition" and spec.side_of(coll) == "collaboration"


def test_model_and_legal_facts_have_the_agreed_names_and_kinds():
    for name in MODEL_FACTS:
        assert FACTS[name].kind == "bool"
    assert FACTS["contract_value_gbp"].kind == "number"
    assert FACTS["procurement_start_date"].kind == "date"
    assert FACTS["contract_type"].values == ("goods", "services", "works", "light_touch_services", "health_care_services")
    assert FACTS["authority_type"].values == ("local_authority", "central_government", "other_public_body")


def test_every_fact_has_a_question_a_label_and_a_passage_id():
    for spec in FACTS.values():
        assert spec.question.endswith("?"), spec.name
        assert spec.label and "#" in spec.source, spec.name


def test_validate_coerces_raw_values_to_schema_types():
    out = validate_facts({
        "interests": "Converge", "needs_development": "yes", "community_assets": False,
        "contract_value_gbp": "£1,250,000.50", "procurement_start_date": "2026-03-01",
        "contract_type": "light touch services", "max_term_years": 5, "outputs": None,
    })
    assert out == {
        "interests": "converge", "needs_development": True, "community_assets": False,
        "contract_type": "light_touch_services", "contract_value_gbp": Decimal("1250000.50"),
        "procurement_start_date": dt.date(2026, 3, 1), "max_term_years": Decimal(5),
    }
    assert "outputs" not in out  # None means unknown


def test_validate_keeps_pennies_exact():
    assert validate_facts({"contract_value_gbp": 207719.99})["contract_value_gbp"] == Decimal("207719.99")


@pytest.mark.parametrize("raw, fragment", [
    ({"interests": "maybe"}, "allowed values: diverge, converge"),
    ({"needs_development": "perhaps"}, "allowed values: true, false"),
    ({"contract_value_gbp": "lots"}, "'contract_value_gbp'"),
    ({"contract_value_gbp": -1}, "at least 0"),
    ({"contract_value_gbp": float("nan")}, "finite"),
    ({"procurement_start_date": "next week"}, "ISO date"),
    ({"colour": "blue"}, "unknown fact"),
])
def test_validate_names_the_fact_and_what_is_allowed(raw, fragment):
    with pytest.raises(ValueError) as exc:
        validate_facts(raw)
    assert fragment in str(exc.value)


def test_fact_value_text_is_stable():
    assert fact_value_text(True) == "true"
    assert fact_value_text(Decimal("207720.00")) == "207720"
    assert fact_value_text(Decimal("207719.99")) == "207719.99"
    assert fact_value_text(dt.date(2026, 1, 1)) == "2026-01-01"
