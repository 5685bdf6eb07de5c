"""`decide(facts) -> Decision`: the deterministic competition / collaboration decision.

Phase 1 adds up the route votes of the toolkit's nine dimensions and applies the policy of
ruleset.yaml (docs/rules.md). Phase 2 evaluates every other rule against the known facts,
the derived legal context (rules/legal.py) and the route. Nothing here is statistical.
"""

from __future__ import annotations

import hashlib
import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.facts import DIMENSIONS, FACTS, fact_value_text, validate_facts
from rules.legal import PARAMETERS_PATH, derive, load_parameters, load_parameters_text

RULESET_PATH = Path(__file__).with_name("ruleset.yaml")

Route = Literal["competition", "collaboration", "mixed", "undetermined"]
ROUTES: tuple[str, ...] = ("competition", "collaboration", "mixed", "undetermined")
# The commissioning models (ARCHITECTURE.md names) with the label officers read.
MODEL_LABELS: dict[str, str] = {
    "open_procedure": "Open procedure",
    "competitive_flexible_procedure": "Competitive flexible procedure",
    "public_commons_partnership": "Public-commons partnership",
    "alliance_contract": "Alliance contract",
    "innovation_partnership": "Innovation partnership",
    "cooperative_contract": "Co-operative contract",
    "community_land_trust": "Community land trust",
    "relational_imperatives": "Relational imperatives",
    "direct_award": "Direct award",
    "framework": "Framework call-off",
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_LABELS)
FLAG_KINDS: tuple[str, ...] = ("duty", "option", "needs_information", "note")

# Derived facts (rules/legal.py) and the values a rule may test them against.
DERIVED: dict[str, tuple[Any, ...]] = {
    "regime": ("pa2023", "pcr2015"),
    "psr_in_force": (True, False),
    "threshold_check": ("decided", "decided_for_every_candidate", "depends", "no_verified_figure",
                        "needs_value", "not_applicable"),
    "threshold_position": ("at_or_above", "below"),
    "notifiable": (True, False),
    "works_prequalification": (True, False),
    "sva_light_touch_position": ("at_or_above", "below"),
    "mutual_term_within_limit": (True, False),
    "route": ROUTES,
}
CONDITION_OPS = ("known", "in", "not", "gt", "gte", "lt", "lte")


# ----------------------------------------------------------------------------- the ruleset

class Action(BaseModel):
    """What a fired rule does: a route vote, a model vote, a legal flag or a question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vote: Literal["competition", "collaboration"] | None = None
    model: str | None = None
    weight: int = 0
    flag: str | None = None
    kind: str | None = None
    text: str | None = None
    cite_thresholds: bool = False
    ask: str | None = None

    @property
    def type(self) -> str:
        return next(t for t in ("vote", "model", "flag", "ask") if getattr(self, t) is not None)

    @model_validator(mode="after")
    def _one_action(self) -> "Action":
        chosen = [t for t in ("vote", "model", "flag", "ask") if getattr(self, t) is not None]
        if len(chosen) != 1:
            raise ValueError(f"a rule's `then` needs exactly one of vote, model, flag, ask; got {chosen}")
        return self


class Rule(BaseModel):
    """One rule: conditions on facts, an action, a plain-English reason and its passages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    when: dict[str, Any]
    unless: dict[str, Any] = Field(default_factory=dict)
    then: Action
    because: str
    source: tuple[str, ...]

    @property
    def facts(self) -> tuple[str, ...]:
        """Fact names the rule reads, in order of appearance."""
        return tuple(dict.fromkeys([*self.when, *self.unless]))

    @property
    def phase(self) -> int:
        return 2 if "route" in self.facts else 1


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quorum: int
    margin: int
    strong: int


class Ruleset(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy: Policy
    rules: tuple[Rule, ...]
    version: str


def ruleset_version(ruleset_data: Any, parameters_data: Any) -> str:
    """Content hash of the parsed ruleset and parameters (formatting and comments do not count)."""
    canonical = json.dumps({"ruleset": ruleset_data, "parameters": parameters_data},
                           sort_keys=True, default=str, ensure_ascii=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_ruleset(text: str, parameters_text: str) -> Ruleset:
    """Parse ruleset YAML text (its version hashes it together with the parameters)."""
    data = yaml.safe_load(text)
    return Ruleset(
        policy=Policy(**data["policy"]),
        rules=tuple(Rule(**r) for r in data["rules"]),
        version=ruleset_version(data, yaml.safe_load(parameters_text)),
    )


@lru_cache(maxsize=4)
def load_ruleset(path: Path = RULESET_PATH, parameters_path: Path = PARAMETERS_PATH) -> Ruleset:
    """The ruleset shipped with the package."""
    return parse_ruleset(path.read_text(encoding="utf-8"), load_parameters_text(parameters_path))


# ----------------------------------------------------------------------------- the decision

class RouteScores(BaseModel):
    competition: int
    collaboration: int
    known_dimensions: int


class ModelItem(BaseModel):
    model: str
    score: int
    rules: list[str]
    because: str


class LegalFlag(BaseModel):
    id: str
    kind: str
    text: str
    source: list[str]
    rules: list[str]


class MissingItem(BaseModel):
    fact: str
    question: str
    could_flip: bool
    affects: list[str]
    asked_by: list[str]


class TraceItem(BaseModel):
    rule: str
    fired: bool
    facts: list[str]
    values: dict[str, str]
    effect: str
    because: str
    contested: bool = False  # fired because its dimension was described on both sides


class Decision(BaseModel):
    """The recommendation and everything needed to audit it."""

    route: Route
    scores: RouteScores
    models: list[ModelItem]
    legal_flags: list[LegalFlag]
    missing: list[MissingItem]
    trace: list[TraceItem]
    derived: dict[str, str]
    ruleset_version: str
    contested: list[str] = []


# ----------------------------------------------------------------------------- evaluation

_MISSING = object()


def condition_holds(cond: Any, value: Any) -> bool:
    """One condition against one value (_MISSING when unknown): unknown satisfies only known: false."""
    if isinstance(cond, dict):
        if "known" in cond:
            return (value is not _MISSING) == bool(cond["known"])
        if value is _MISSING:
            return False
        (op, arg), = cond.items()
        if op == "in":
            return any(_equal(value, a) for a in arg)
        if op == "not":
            return not _equal(value, arg)
        return {"gt": value > arg, "gte": value >= arg, "lt": value < arg, "lte": value <= arg}[op]
    return value is not _MISSING and _equal(value, cond)


def _equal(value: Any, expected: Any) -> bool:
    # bool is an int in Python: keep True from matching 1 and vice versa
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    return value == expected


def rule_fires(rule: Rule, env: dict[str, Any]) -> bool:
    """All `when` conditions hold and no `unless` condition holds (on known facts)."""
    when_ok = all(condition_holds(c, env.get(f, _MISSING)) for f, c in rule.when.items())
    blocked = any(condition_holds(c, env.get(f, _MISSING)) for f, c in rule.unless.items())
    return when_ok and not blocked


def route_from_scores(comp: int, coll: int, policy: Policy) -> str:
    """The decision policy: quorum, then strong evidence on both sides (mixed), then a clear lead."""
    if comp + coll < policy.quorum:
        return "undetermined"
    if min(comp, coll) >= policy.strong:
        return "mixed"
    lead = coll - comp
    if lead >= policy.margin:
        return "collaboration"
    if -lead >= policy.margin:
        return "competition"
    return "undetermined"


_VOTE_RULES: dict[str, tuple[Rule, ...]] = {}


def _vote_rules(ruleset: Ruleset) -> tuple[Rule, ...]:
    # cached by content hash: the same ruleset always has the same vote rules
    if ruleset.version not in _VOTE_RULES:
        _VOTE_RULES[ruleset.version] = tuple(r for r in ruleset.rules if r.then.vote)
    return _VOTE_RULES[ruleset.version]


_VOTE_WEIGHTS: dict[str, dict[str, int]] = {}


def _vote_weights(ruleset: Ruleset) -> dict[str, int]:
    """The heaviest route vote each fact can cast, cached by ruleset version like the vote rules."""
    if ruleset.version not in _VOTE_WEIGHTS:
        weight: dict[str, int] = {}
        for rule in _vote_rules(ruleset):
            for name in rule.when:
                weight[name] = max(weight.get(name, 0), rule.then.weight)
        _VOTE_WEIGHTS[ruleset.version] = weight
    return _VOTE_WEIGHTS[ruleset.version]


def _contested_votes(contested: Iterable[str], known: dict[str, Any], ruleset: Ruleset) -> list[tuple[Rule, str]]:
    """The vote rules of every value of each contested dimension that is still unknown.

    A dimension is contested when the officer described both of its sides ("members want the fee
    driven down, public health wants open books"): each side gets its own weight, so the route
    reflects both, until the officer says which applies.
    """
    out: list[tuple[Rule, str]] = []
    for name in sorted(set(contested)):
        if name in known:
            continue
        for value in FACTS[name].values:
            out += [(rule, value) for rule in _vote_rules(ruleset) if name in rule.when and rule_fires(rule, {name: value})]
    return out


def _vote_totals(facts: dict[str, Any], ruleset: Ruleset, contested: Iterable[str] = ()) -> tuple[int, int]:
    comp = coll = 0
    fired = [rule for rule in _vote_rules(ruleset) if rule_fires(rule, facts)]
    fired += [rule for rule, _ in _contested_votes(contested, facts, ruleset)]
    for rule in fired:
        if rule.then.vote == "competition":
            comp += rule.then.weight
        else:
            coll += rule.then.weight
    return comp, coll


def route_of(facts: dict[str, Any], ruleset: Ruleset, contested: Iterable[str] = ()) -> str:
    """Phase 1 only: the route for validated facts (and contested dimensions)."""
    return route_from_scores(*_vote_totals(facts, ruleset, contested), ruleset.policy)


class _Context(dict):
    """Template context: a missing key renders visibly rather than raising."""

    def __missing__(self, key: str) -> str:
        return "(unknown)"


def render(text: str, ctx: dict[str, Any]) -> str:
    """Fill {placeholders} from the derived legal context."""
    return string.Formatter().vformat(text, (), _Context(ctx))


def _effect(rule: Rule) -> str:
    a = rule.then
    return {"vote": f"vote {a.vote} +{a.weight}", "model": f"model {a.model} +{a.weight}",
            "flag": f"flag {a.flag} ({a.kind})", "ask": f"ask {a.ask}"}[a.type]


def _value_text(env: dict[str, Any], name: str) -> str:
    return fact_value_text(env[name]) if name in env else "unknown"


def _could_flip(name: str, facts: dict[str, Any], route: str, ruleset: Ruleset, contested: Iterable[str] = ()) -> bool:
    spec = FACTS[name]
    options = spec.values if spec.kind == "enum" else (True, False) if spec.kind == "bool" else ()
    # answering a contested dimension settles it: it then counts for one side only
    return any(route_of({**facts, name: v}, ruleset, contested) != route for v in options)


def _affects(ruleset: Ruleset) -> dict[str, list[str]]:
    """For each schema fact, what its answer can change (from the rules that read it)."""
    kinds = {"vote": "route", "model": "models", "flag": "legal_flags", "ask": "questions"}
    legal_inputs = ("contract_value_gbp", "contract_type", "procurement_start_date", "authority_type",
                    "max_term_years")
    derived_readers = {k for r in ruleset.rules if r.then.type == "flag" for k in r.facts if k in DERIVED}
    out: dict[str, set[str]] = {name: set() for name in FACTS}
    for rule in ruleset.rules:
        for name in rule.facts:
            if name in out:
                out[name].add(kinds[rule.then.type])
            elif name == "route":
                for d in DIMENSIONS:
                    out[d].add(kinds[rule.then.type])
    for name in legal_inputs:  # they feed the derived legal facts
        if derived_readers:
            out[name].add("legal_flags")
    order = ("route", "models", "legal_flags", "questions")
    return {name: [k for k in order if k in got] for name, got in out.items()}


def decide(facts: dict[str, Any] | None = None, ruleset: Ruleset | None = None,
           contested: Iterable[str] = ()) -> Decision:
    """The decision for a situation. Unknown facts are simply absent; they are never evidence.

    `contested`: dimensions of the toolkit's table the officer described on both sides; while
    unknown, each counts for both sides (see `_contested_votes`).
    """
    ruleset = ruleset or load_ruleset()
    known = validate_facts(facts)
    bad = sorted(set(contested) - set(DIMENSIONS))
    if bad:
        raise ValueError(f"only the toolkit's nine dimensions can be contested, not {', '.join(bad)}")
    contested = sorted(d for d in set(contested) if d not in known)
    both_sides = {rule.id: value for rule, value in _contested_votes(contested, known, ruleset)}
    comp, coll = _vote_totals(known, ruleset, contested)
    route = route_from_scores(comp, coll, ruleset.policy)
    ctx = derive(known, load_parameters())
    env: dict[str, Any] = {**known, **{k: v for k, v in ctx.items() if k in DERIVED}, "route": route}

    trace: list[TraceItem] = []
    model_rules: dict[str, list[Rule]] = {}
    flags: list[tuple[int, int, LegalFlag]] = []
    asked: dict[str, list[str]] = {}
    for index, rule in enumerate(ruleset.rules):
        fired = rule_fires(rule, env) or rule.id in both_sides
        values = {n: _value_text(env, n) for n in rule.facts}
        if rule.id in both_sides:
            values = {n: fact_value_text(both_sides[rule.id]) for n in rule.facts}
        trace.append(TraceItem(
            rule=rule.id, fired=fired, facts=list(rule.facts), values=values,
            effect=_effect(rule), because=rule.because, contested=rule.id in both_sides,
        ))
        if not fired:
            continue
        action = rule.then
        if action.model:
            model_rules.setdefault(action.model, []).append(rule)
        elif action.flag:
            source = list(rule.source)
            if action.cite_thresholds:
                source += [s for s in ctx.get("threshold_sources", []) if s not in source]
            flags.append((FLAG_KINDS.index(action.kind), index, LegalFlag(
                id=action.flag, kind=action.kind, text=render(action.text or "", ctx),
                source=source, rules=[rule.id])))
        elif action.ask:
            asked.setdefault(action.ask, []).append(rule.id)

    models = [
        ModelItem(model=m, score=sum(r.then.weight for r in rs), rules=[r.id for r in rs],
                  because=" ".join(r.because for r in rs))
        for m, rs in model_rules.items()
    ]
    models.sort(key=lambda item: (-item.score, MODEL_NAMES.index(item.model)))

    affects = _affects(ruleset)
    order = list(FACTS)
    missing = [
        MissingItem(fact=name, question=FACTS[name].question,
                    could_flip=_could_flip(name, known, route, ruleset, [d for d in contested if d != name]),
                    affects=affects[name], asked_by=asked.get(name, []))
        for name in FACTS if name not in known
    ]
    # the heaviest votes first among equals: the toolkit's two defining rows settle most on their own
    weight = _vote_weights(ruleset)
    missing.sort(key=lambda m: (not m.could_flip, not m.asked_by, "route" not in m.affects,
                                not m.affects, -weight.get(m.fact, 0), order.index(m.fact)))

    derived = {k: fact_value_text(v) for k, v in sorted(ctx.items()) if not isinstance(v, list)}
    return Decision(
        route=route,
        scores=RouteScores(competition=comp, collaboration=coll,
                           known_dimensions=sum(1 for d in DIMENSIONS if d in known)),
        models=models,
        legal_flags=[f for _, _, f in sorted(flags, key=lambda t: (t[0], t[1]))],
        missing=missing,
        trace=trace,
        derived=derived,
        ruleset_version=ruleset.version,
        contested=contested,
    )


__all__ = ["Decision", "decide", "load_ruleset", "parse_ruleset", "route_from_scores", "MODEL_NAMES", "ROUTES"]
