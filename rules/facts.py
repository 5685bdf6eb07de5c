"""The facts schema: every situation fact, its allowed values, its plain-English question.

This is the single source of truth shared by the extractor, the UI form and the engine.
A fact absent from the facts dict is unknown; unknown is never evidence.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["enum", "bool", "number", "date"]
Side = Literal["competition", "collaboration"]
Group = Literal["dimension", "model", "legal"]

COMPETITION: Side = "competition"
COLLABORATION: Side = "collaboration"


class FactSpec(BaseModel):
    """One fact: its type, allowed values, the side each value points to, and its question."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    group: Group
    label: str
    question: str
    source: str
    values: tuple[str, ...] = ()
    # side per value: for the nine toolkit dimensions the first value is the competition side
    # and the second the collaboration side; a collaboration signal (a yes/no fact that asks
    # for one of the toolkit's collaborative routes) points to collaboration when "true".
    sides: dict[str, Side | None] = {}

    def side_of(self, value: Any) -> Side | None:
        """The route a known value points to, or None."""
        if self.kind == "bool":
            return self.sides.get("true" if value is True else "false") if isinstance(value, bool) else None
        return self.sides.get(value) if self.kind == "enum" else None


def _dimension(name: str, comp: str, coll: str, label: str, question: str, anchor: str) -> FactSpec:
    return FactSpec(
        name=name,
        kind="enum",
        group="dimension",
        label=label,
        question=question,
        source=f"toolkit-decision-table#{anchor}",
        values=(comp, coll),
        sides={comp: COMPETITION, coll: COLLABORATION},
    )


def _flag(name: str, label: str, question: str, source: str, group: Group = "model", signal: bool = False) -> FactSpec:
    """A yes/no fact; `signal`: "yes" asks for a collaborative route the toolkit names."""
    sides = {"true": COLLABORATION} if signal else {}
    return FactSpec(name=name, kind="bool", group=group, label=label, question=question, source=source, sides=sides)


_SPECS: tuple[FactSpec, ...] = (
    # --- the nine dimensions of the toolkit's decision table ---
    _dimension(
        "interests", "diverge", "converge", "Interests of the parties",
        "Do the interests of the council and the likely providers mostly diverge (each after its "
        "own gain) or converge (a shared goal)?",
        "interests-of-the-parties",
    ),
    _dimension(
        "value_delivery", "clear_specification", "emergent_process", "How value is delivered",
        "Can the value be delivered against a clear specification written now, or will it emerge "
        "through an ongoing, iterative process aligned to shared goals?",
        "how-value-is-delivered",
    ),
    _dimension(
        "social_value_requirements", "discipline_market", "constrain_engagement",
        "Effect of tightly specified social value",
        "Would tightly specified social value requirements usefully discipline the market, or "
        "would they constrain deeper engagement with shared goals?",
        "tightly-specified-social-value",
    ),
    _dimension(
        "suitability_test", "track_record_and_price", "capability_and_values",
        "How suitability is tested",
        "Is a provider's suitability best tested on track record, tender commitments and price, "
        "or on capability, values and purpose alignment and open-book transparency?",
        "testing-suitability",
    ),
    _dimension(
        "incentive", "winner_takes_all", "common_purpose", "Incentive",
        "Should providers be motivated by winning a competition, or by working to a common "
        "purpose with the council and each other?",
        "incentives",
    ),
    _dimension(
        "value_for_money", "competitive_tension", "open_book", "How value for money is assured",
        "Will value for money come from competitive tension and the profit incentive, or from "
        "open-book transparency of costs and a shared interest in every partner staying viable?",
        "value-for-money",
    ),
    _dimension(
        "outputs", "clearly_defined", "emergent_uncertain", "Outputs sought",
        "Are you buying clearly defined, identifiable outputs, or seeking emergent, uncertain "
        "value in a complex system?",
        "when-to-use-each",
    ),
    _dimension(
        "authority_role", "market_manager", "system_steward", "Role of the council",
        "Is the council acting as a market manager, or as a steward or convener of a wider "
        "system (or responding to another steward)?",
        "role-of-the-authority",
    ),
    _dimension(
        "value_nature", "zero_sum", "generative", "Nature of the value",
        "Is the value zero-sum (one party's gain is another's loss) or generative (working "
        "together creates more of it)?",
        "nature-of-value",
    ),
    # --- facts that choose among collaborative models ---
    _flag(
        "multiple_providers_coordinate", "Several providers must coordinate",
        "Do several providers need to work together as one system to get the outcome?",
        "toolkit-legal-routes#alliance-contracts", signal=True,
    ),
    _flag(
        "needs_development", "No existing solution",
        "Does the solution still need to be researched or developed, because nothing on the "
        "market meets the need?",
        "toolkit-legal-routes#innovation-partnerships", signal=True,
    ),
    _flag(
        "community_assets", "Community-held assets",
        "Is it about land, buildings or homes to be held for the long-term benefit of a local "
        "community?",
        "toolkit-legal-routes#community-land-trusts", signal=True,
    ),
    _flag(
        "co_owned_resource", "Co-owned and co-governed resource",
        "Will the resource or enterprise be co-owned and co-governed by the council and a "
        "community association?",
        "toolkit-legal-routes#public-commons-partnerships", signal=True,
    ),
    _flag(
        "cooperative_provider", "Co-operative, mutual or spin-out provider",
        "Is (or will) the provider be a co-operative, a mutual or a staff spin-out?",
        "toolkit-legal-routes#cooperatives-as-contracts", signal=True,
    ),
    _flag(
        "dialogue_needed", "Dialogue or negotiation needed",
        "Will you need dialogue or negotiation with bidders during the procurement to shape the "
        "solution?",
        "toolkit-legal-routes#competitive-flexible-procedure",
    ),
    _flag(
        "relational_assessment", "Assess relational qualities",
        "Do you want to assess partners on relational qualities such as trust, values and "
        "willingness to share information?",
        "toolkit-legal-routes#relational-imperatives", signal=True,
    ),
    _flag(
        "framework_available", "A suitable framework exists",
        "Is there an existing framework (with this kind of supplier) that the council may call "
        "off from?",
        "pa2023-frameworks#frameworks",
    ),
    _flag(
        "direct_award_justification", "A direct award justification applies",
        "Does one of the Act's direct award justifications apply (for example a prototype, only "
        "one supplier able to deliver for technical or exclusive-rights reasons, extreme and "
        "unforeseeable urgency, or user choice for light-touch services)?",
        "pa2023-direct-award#direct-award-justifications",
    ),
    # --- legal context ---
    FactSpec(
        name="contract_value_gbp", kind="number", group="legal", label="Estimated value (GBP)",
        question="What is the estimated value of the contract over its whole life, in pounds, "
        "including VAT?",
        source="pa2023-thresholds#vat-inclusive-values",
    ),
    FactSpec(
        name="contract_type", kind="enum", group="legal", label="What is bought",
        question="What is mainly being bought: goods, services, works, light-touch services "
        "(such as social, health, education or community services for people), or health care "
        "services?",
        source="pa2023-scope#covered-procurement",
        values=("goods", "services", "works", "light_touch_services", "health_care_services"),
        sides={},
    ),
    FactSpec(
        name="procurement_start_date", kind="date", group="legal", label="Procurement start date",
        question="On what date will (or did) the procurement start, usually when the tender or "
        "transparency notice is published?",
        source="pa2023-scope#commencement",
    ),
    FactSpec(
        name="authority_type", kind="enum", group="legal", label="Type of buying body",
        question="Is the buyer a local authority, a central government body, or another public "
        "body?",
        source="pa2023-thresholds#thresholds-from-1-january-2026",
        values=("local_authority", "central_government", "other_public_body"),
        sides={},
    ),
    FactSpec(
        name="max_term_years", kind="number", group="legal", label="Maximum term (years)",
        question="What is the longest the contract could run, in years, including extensions?",
        source="pa2023-reserved-contracts#public-service-mutuals",
    ),
    _flag(
        "supported_employment", "Reserve for supported employment",
        "Do you want to reserve the contract for supported employment providers (organisations "
        "that employ disabled or disadvantaged people)?",
        "pa2023-reserved-contracts#supported-employment", group="legal",
    ),
    _flag(
        "expression_of_interest", "Community right to challenge",
        "Has a voluntary or community body, a charity, a parish council or a group of council "
        "staff sent a written expression of interest in running this service?",
        "localism2011#community-right-to-challenge", group="legal",
    ),
)

FACTS: dict[str, FactSpec] = {spec.name: spec for spec in _SPECS}
DIMENSIONS: tuple[str, ...] = tuple(n for n, s in FACTS.items() if s.group == "dimension")
# Facts that may carry a route vote: the nine dimensions and the collaboration signals.
SIDED: tuple[str, ...] = tuple(n for n, s in FACTS.items() if s.sides)

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _coerce_enum(spec: FactSpec, raw: Any) -> str:
    value = str(raw).strip().lower().replace(" ", "_").replace("-", "_") if isinstance(raw, str) else raw
    if value not in spec.values:
        raise ValueError(f"fact {spec.name!r}: {raw!r} is not allowed; allowed values: {', '.join(spec.values)}")
    return value


def _coerce_bool(spec: FactSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    raise ValueError(f"fact {spec.name!r}: {raw!r} is not allowed; allowed values: true, false")


def _coerce_number(spec: FactSpec, raw: Any) -> Decimal:
    # Decimal via str keeps pennies exact: 207719.99 stays below 207720.
    if isinstance(raw, bool):
        raise ValueError(f"fact {spec.name!r}: {raw!r} is not a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(f"fact {spec.name!r}: {raw!r} is not a finite number")
    text = str(raw).strip().replace(",", "").replace("£", "") if isinstance(raw, str) else str(raw)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"fact {spec.name!r}: {raw!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"fact {spec.name!r}: {raw!r} must be a finite number of at least 0")
    return value


def _coerce_date(spec: FactSpec, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError as exc:
        raise ValueError(f"fact {spec.name!r}: {raw!r} is not an ISO date (YYYY-MM-DD)") from exc


_COERCE = {"enum": _coerce_enum, "bool": _coerce_bool, "number": _coerce_number, "date": _coerce_date}


def validate_facts(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Coerce raw values to their schema types; None means unknown and is dropped.

    Raises ValueError naming the fact and its allowed values. The result is ordered as FACTS.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(FACTS))
    if unknown:
        raise ValueError(f"unknown fact(s) {', '.join(map(repr, unknown))}; known facts: {', '.join(FACTS)}")
    out: dict[str, Any] = {}
    for name, spec in FACTS.items():
        if raw.get(name) is None:
            continue
        out[name] = _COERCE[spec.kind](spec, raw[name])
    return out


def fact_value_text(value: Any) -> str:
    """A fact value as stable text (for traces and serialised decisions)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
