"""Derived legal context: the regime and thresholds in force, from dated parameters.

Pure functions over validated facts and the parameters file. The result is a dict of
derived facts (rules may test them) plus the text fragments and passage ids the legal
flags quote. With an unknown date, authority or contract type every candidate figure is
considered; a position is derived only when all candidates agree (unknown is never evidence).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

PARAMETERS_PATH = Path(__file__).with_name("parameters.yaml")

_CATEGORIES = {
    "local_authority": ("sub_central",),
    "central_government": ("central",),
    # another public body may be central or sub-central: both figures are candidates
    "other_public_body": ("sub_central", "central"),
    None: ("sub_central", "central"),
}
_KINDS = {
    "goods": ("goods_services",),
    "services": ("goods_services",),
    "works": ("works",),
    "light_touch_services": ("light_touch",),
    "health_care_services": (),  # the PSR may apply instead: no PA23 threshold check
    None: ("goods_services", "works", "light_touch"),
}
_KIND_NAMES = {"goods_services": "goods and services", "works": "works", "light_touch": "light-touch services"}
_NEEDS = {
    "procurement_start_date": "the procurement start date",
    "authority_type": "the type of buying body",
    "contract_type": "what is being bought",
}
_CATEGORY_NAMES = {"sub_central": "sub-central authorities such as councils", "central": "central government"}


class Figure(BaseModel):
    """One dated parameter value (VAT-inclusive pounds), in force from `start`."""

    model_config = ConfigDict(frozen=True)

    start: dt.date | None
    value: int
    source: str
    regime: str | None = None
    facts: str = ""


def load_parameters_text(path: Path = PARAMETERS_PATH) -> str:
    """The parameters file as text (hashed into the ruleset version)."""
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def load_parameters(path: Path = PARAMETERS_PATH) -> dict[str, Any]:
    """The parameters file, with every dated series parsed into Figures."""
    raw = yaml.safe_load(load_parameters_text(path))

    def series(items: list[dict]) -> tuple[Figure, ...]:
        figs = tuple(Figure(start=i["from"], value=i["value"], source=i["source"],
                            regime=i.get("regime"), facts=i.get("facts", "")) for i in items)
        return tuple(sorted(figs, key=lambda f: f.start or dt.date.min))

    out = dict(raw)
    for key in ("thresholds",):
        out[key] = {cat: {kind: series(items) for kind, items in kinds.items()} for cat, kinds in raw[key].items()}
    for key in ("notifiable_below_threshold", "works_prequalification"):
        out[key] = {cat: series(items) for cat, items in raw[key].items()}
    return out


def in_force(series: tuple[Figure, ...], on: dt.date) -> Figure | None:
    """The figure in force on a date, or None if the series starts later."""
    current = None
    for fig in series:
        if fig.start is None or fig.start <= on:
            current = fig
    return current


def candidates(series: tuple[Figure, ...], on: dt.date | None) -> tuple[Figure | None, ...]:
    """The figure in force on the date, or every figure of the series when the date is unknown."""
    if on is None:
        return series
    return (in_force(series, on),)


def money(value: Decimal | int) -> str:
    """£1,234 or £1,234.56 (pennies only when there are any)."""
    value = Decimal(value)
    return f"£{value:,.0f}" if value == value.to_integral() else f"£{value:,.2f}"


def long_date(day: dt.date) -> str:
    """1 January 2026."""
    return f"{day.day} {day:%B %Y}"


def position(value: Decimal, figures: tuple[Figure | None, ...]) -> str | None:
    """at_or_above / below if every candidate figure agrees, else None (reaching the figure counts)."""
    if not figures or any(f is None for f in figures):
        return None
    sides = {"at_or_above" if value >= f.value else "below" for f in figures}
    return sides.pop() if len(sides) == 1 else None


def _period_text(fig: Figure, series: tuple[Figure, ...]) -> str:
    later = [f.start for f in series if f.start and (fig.start is None or f.start > fig.start)]
    if fig.start is None:
        return f"before {long_date(min(later))}" if later else "in force"
    return f"from {long_date(fig.start)}" + (f" to {long_date(min(later) - dt.timedelta(days=1))}" if later else "")


def _threshold_context(facts: dict[str, Any], params: dict[str, Any], regime: str | None) -> dict[str, Any]:
    """Position of the value against the Schedule 1 (or PCR 2015) thresholds."""
    value = facts.get("contract_value_gbp")
    on = facts.get("procurement_start_date")
    ctype = facts.get("contract_type")
    cats = _CATEGORIES[facts.get("authority_type")]
    kinds = _KINDS[ctype]
    if ctype == "health_care_services":
        return {"threshold_check": "not_applicable"}
    if value is None:
        return {"threshold_check": "needs_value"}
    table = params["thresholds"]
    figures: list[Figure | None] = []
    for cat, kind in product(cats, kinds):
        series = table.get(cat, {}).get(kind)
        figures.extend(candidates(series, on) if series else (None,))
    pos = position(value, tuple(figures))
    ctx: dict[str, Any] = {"value": money(value)}
    needs = [_NEEDS[n] for n in ("procurement_start_date", "authority_type", "contract_type") if facts.get(n) is None]
    if facts.get("authority_type") == "other_public_body":
        needs.append("whether the buyer is a central government or a sub-central authority")
    if needs:
        ctx["threshold_needs"] = needs[0] if len(needs) == 1 else ", ".join(needs[:-1]) + " and " + needs[-1]
    if pos is None:
        ctx["threshold_check"] = "depends" if needs else "no_verified_figure"
        known = [f.value for f in figures if f is not None]
        if known:
            ctx["threshold_range"] = _range_text(known)
        return ctx
    ctx["threshold_position"] = pos
    ctx["threshold_check"] = "decided" if not needs else "decided_for_every_candidate"
    ctx["threshold_sources"] = sorted({f.source for f in figures if f is not None})
    if len(figures) == 1:
        fig = figures[0]
        series = table[cats[0]][kinds[0]]
        ctx["threshold"] = money(fig.value)
        ctx["threshold_kind"] = _KIND_NAMES[kinds[0]]
        ctx["threshold_category"] = _CATEGORY_NAMES[cats[0]]
        ctx["threshold_period"] = _period_text(fig, series)
    else:
        ctx["threshold_range"] = _range_text([f.value for f in figures if f is not None])
    return ctx


def _range_text(values: list[Any]) -> str:
    """'£X' when every candidate figure is the same, else '£X to £Y'."""
    low, high = min(values), max(values)
    return money(low) if low == high else f"{money(low)} to {money(high)}"


def _below_threshold_context(facts: dict[str, Any], params: dict[str, Any], regime: str | None) -> dict[str, Any]:
    """Notifiable below-threshold status and the works pre-qualification figure (PA23 only)."""
    value, on = facts.get("contract_value_gbp"), facts.get("procurement_start_date")
    if value is None or on is None or regime != "pa2023":
        return {}
    cats = _CATEGORIES[facts.get("authority_type")]
    ctx: dict[str, Any] = {}
    notif = tuple(in_force(params["notifiable_below_threshold"][c], on) for c in cats)
    pos = position(value, notif)
    if pos is not None:
        ctx["notifiable"] = pos == "at_or_above"
        ctx["notifiable_threshold"] = " or ".join(sorted({money(f.value) for f in notif if f}))
    if facts.get("contract_type") == "works":
        preq = tuple(in_force(params["works_prequalification"][c], on) if c in params["works_prequalification"]
                     else None for c in cats)
        pos = position(value, preq)
        if pos is not None:
            ctx["works_prequalification"] = pos == "at_or_above"
            ctx["works_prequalification_threshold"] = " or ".join(sorted({money(f.value) for f in preq if f}))
    return ctx


def _sva_light_touch_context(facts: dict[str, Any], params: dict[str, Any], regime: str | None) -> dict[str, Any]:
    """Light-touch contracts are in the SVA's scope from the goods/services threshold (since 2025)."""
    value, on = facts.get("contract_value_gbp"), facts.get("procurement_start_date")
    if facts.get("contract_type") != "light_touch_services" or value is None or regime != "pa2023":
        return {}
    cats = _CATEGORIES[facts.get("authority_type")]
    figs = tuple(in_force(params["thresholds"][c]["goods_services"], on) for c in cats)
    pos = position(value, figs)
    if pos is None:
        return {}
    return {"sva_light_touch_position": pos,
            "sva_light_touch_threshold": " or ".join(sorted({money(f.value) for f in figs if f}))}


def derive(facts: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Derived legal facts and text context from validated facts."""
    params = params or load_parameters()
    on = facts.get("procurement_start_date")
    ctx: dict[str, Any] = {}
    regime = None
    if on is not None:
        commencement = params["dates"]["procurement_act_commencement"]["value"]
        regime = "pa2023" if on >= commencement else "pcr2015"
        ctx["regime"] = regime
        ctx["date"] = long_date(on)
        ctx["psr_in_force"] = on >= params["dates"]["psr_commencement"]["value"]
    ctx["pa2023_commencement"] = long_date(params["dates"]["procurement_act_commencement"]["value"])
    ctx["psr_commencement"] = long_date(params["dates"]["psr_commencement"]["value"])
    ctx["mutual_max_term"] = params["reserved_mutual_max_term_years"]["value"]
    term = facts.get("max_term_years")
    if term is not None:
        ctx["mutual_term_within_limit"] = term <= ctx["mutual_max_term"]
    ctx.update(_threshold_context(facts, params, regime))
    if ctx.get("threshold_position") == "below":
        ctx.update(_below_threshold_context(facts, params, regime))
    ctx.update(_sva_light_touch_context(facts, params, regime))
    return ctx
