"""Properties that hold for every situation: total, deterministic, monotone, unknown is not evidence."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import decide, load_ruleset
from rules.facts import DIMENSIONS, FACTS, SIDED

SETTINGS = settings(max_examples=200, deadline=None)
# values near the figures in force, so the properties are tried where the law changes
NEAR = [Decimal(v) + d for v in (12000, 30000, 135018, 207720, 213477, 214904, 663540, 5193000, 5372609)
        for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))]
KEY_DATES = [dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2025, 2, 23), dt.date(2025, 2, 24),
             dt.date(2025, 12, 31), dt.date(2026, 1, 1)]


def value_strategy(name: str):
    spec = FACTS[name]
    if spec.kind == "enum":
        return st.sampled_from(spec.values)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "date":
        return st.one_of(st.sampled_from(KEY_DATES), st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
    if name == "max_term_years":
        return st.integers(0, 15)
    return st.one_of(st.sampled_from(NEAR), st.decimals(0, 20_000_000, places=2, allow_nan=False, allow_infinity=False))


@st.composite
def situations(draw, names=tuple(FACTS)):
    """Any combination of known and unknown facts (absent = unknown)."""
    chosen = draw(st.lists(st.sampled_from(names), unique=True))
    return {n: draw(value_strategy(n)) for n in chosen}


def _walk(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


RANK = {"competition": 0, "mixed": 1, "undetermined": 1, "collaboration": 2}


def not_toward(old: str, new: str, side: str) -> bool:
    """The move old -> new does not go toward the other side."""
    if side == "collaboration":
        return RANK[new] >= RANK[old]
    return RANK[new] <= RANK[old]


@SETTINGS
@given(situations())
def test_total_every_situation_gets_a_decision(facts):
    d = decide(facts)
    assert d.route in ("competition", "collaboration", "mixed", "undetermined")
    assert len(d.trace) == len(load_ruleset().rules)
    assert not any(isinstance(v, float) for v in _walk(json.loads(d.model_dump_json())))


@SETTINGS
@given(situations(), st.randoms(use_true_random=False))
def test_deterministic_byte_identical_in_any_key_order(facts, rnd):
    items = list(facts.items())
    rnd.shuffle(items)
    first = decide(facts).model_dump_json()
    assert decide(dict(items)).model_dump_json() == first
    assert decide(dict(reversed(items))).model_dump_json() == first
    # raw text input (as a form or JSON would send it) gives the same bytes
    as_text = {k: (v.isoformat() if isinstance(v, dt.date) else str(v) if isinstance(v, Decimal) else v)
               for k, v in items}
    assert decide(as_text).model_dump_json() == first


@SETTINGS
@given(situations(), st.sampled_from(DIMENSIONS), st.sampled_from(["competition", "collaboration"]))
def test_monotone_adding_a_side_never_moves_toward_the_other(facts, name, side):
    facts = {k: v for k, v in facts.items() if k != name}
    value = next(v for v in FACTS[name].values if FACTS[name].side_of(v) == side)
    old, new = decide(facts).route, decide({**facts, name: value}).route
    assert not_toward(old, new, side), (old, new, name, value)


@SETTINGS
@given(situations(), st.sampled_from([n for n in SIDED if FACTS[n].kind == "bool"]))
def test_monotone_adding_a_collaboration_signal_never_moves_toward_competition(facts, name):
    without = {k: v for k, v in facts.items() if k != name}
    for before in (without, {**without, name: False}):
        assert not_toward(decide(before).route, decide({**without, name: True}).route, "collaboration"), name


@SETTINGS
@given(situations(), st.sampled_from(DIMENSIONS))
def test_monotone_switching_a_row_to_one_side_never_moves_toward_the_other(facts, name):
    comp, coll = FACTS[name].values
    before = decide({**facts, name: comp}).route
    after = decide({**facts, name: coll}).route
    assert not_toward(before, after, "collaboration"), (before, after, name)


@SETTINGS
@given(situations())
def test_unknown_is_never_evidence(facts):
    d = decide(facts)
    # saying "unknown" explicitly is the same as saying nothing
    assert decide({**facts, **{n: None for n in FACTS if n not in facts}}).model_dump_json() == d.model_dump_json()
    # route points come only from known rows
    rules = {r.id: r for r in load_ruleset().rules}
    for item in d.trace:
        if not item.fired:
            continue
        rule = rules[item.rule]
        for fact, cond in rule.when.items():
            if isinstance(cond, dict) and cond.get("known") is False:
                assert item.values[fact] == "unknown"
                assert rule.then.ask or rule.then.kind == "needs_information"
            else:
                assert item.values[fact] != "unknown", (item.rule, fact)
    weights = sum(rules[t.rule].then.weight for t in d.trace if t.fired and rules[t.rule].then.vote)
    assert d.scores.competition + d.scores.collaboration == weights
    assert d.scores.known_dimensions == sum(1 for n in DIMENSIONS if n in facts)


@settings(max_examples=100, deadline=None)  # each example runs up to 19 decisions
@given(situations())
def test_missing_lists_each_unknown_fact_once_and_could_flip_is_exact(facts):
    d = decide(facts)
    assert sorted(m.fact for m in d.missing) == sorted(n for n in FACTS if n not in facts)
    for m in d.missing:
        if m.fact not in SIDED:  # only facts with a side vote (the lint enforces it)
            assert not m.could_flip, m.fact
            continue
        values = FACTS[m.fact].values or (True, False)
        flips = any(decide({**facts, m.fact: v}).route != d.route for v in values)
        assert m.could_flip == flips, m.fact
    flags = [m.could_flip for m in d.missing]
    assert flags == sorted(flags, reverse=True)  # facts that could flip the route come first


# --- contested dimensions: described on both sides --------------------------------------------


@SETTINGS
@given(situations(), st.sets(st.sampled_from(DIMENSIONS), max_size=3))
def test_contesting_keeps_the_lead_so_a_side_can_only_become_mixed(facts, contested):
    plain = decide(facts)
    both = decide(facts, contested=contested)
    unknown = [d for d in contested if d not in facts]
    assert both.contested == sorted(unknown)
    # each contested, unknown dimension adds its weight to both sides: the lead never changes
    assert both.scores.collaboration - both.scores.competition == plain.scores.collaboration - plain.scores.competition
    assert both.route in (plain.route, "mixed"), (plain.route, both.route)
    # a known dimension is not contested: the officer's (or the question's) value stands
    known = [d for d in contested if d in facts]
    assert decide(facts, contested=known).model_dump_json() == plain.model_dump_json()


@settings(max_examples=100, deadline=None)
@given(situations(), st.sets(st.sampled_from(DIMENSIONS), min_size=1, max_size=2))
def test_could_flip_is_exact_with_contested_dimensions(facts, contested):
    d = decide(facts, contested=contested)
    for m in d.missing:
        if m.fact not in SIDED:
            continue
        rest = [c for c in d.contested if c != m.fact]  # answering a contested row settles it
        values = FACTS[m.fact].values or (True, False)
        flips = any(decide({**facts, m.fact: v}, contested=rest).route != d.route for v in values)
        assert m.could_flip == flips, m.fact


def test_only_dimensions_can_be_contested():
    import pytest

    with pytest.raises(ValueError, match="nine dimensions"):
        decide({}, contested=["multiple_providers_coordinate"])
