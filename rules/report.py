"""Plain-text tables of a Decision and of the facts schema, for the command line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rules.engine import Decision
from rules.facts import FACTS


def print_decision(decision: Decision, show_all: bool = False, console: Console | None = None) -> None:
    """The route, models, legal flags, missing facts and the rule trace as tables."""
    console = console or Console(width=140)
    s = decision.scores
    console.print(f"[bold]Route:[/bold] {decision.route}  (competition {s.competition}, "
                  f"collaboration {s.collaboration}, {s.known_dimensions} of 9 dimensions known)")
    console.print(f"ruleset {decision.ruleset_version}", style="dim")
    if decision.contested:
        console.print("Described on both sides (each side's vote counts until one is set): "
                      + ", ".join(decision.contested))

    if decision.models:
        table = Table("model", "score", "rules", "because", title="Candidate models")
        for m in decision.models:
            table.add_row(m.model, str(m.score), ", ".join(m.rules), m.because)
        console.print(table)
    if decision.legal_flags:
        table = Table("flag", "kind", "text", "source", title="Legal flags")
        for f in decision.legal_flags:
            table.add_row(f.id, f.kind, f.text, "\n".join(f.source))
        console.print(table)
    if decision.missing:
        table = Table("fact", "could flip", "affects", "question", title="Facts still missing")
        for m in decision.missing:
            table.add_row(m.fact, "yes" if m.could_flip else "", ", ".join(m.affects), m.question)
        console.print(table)

    table = Table("rule", "fired", "facts", "effect", "because",
                  title="Rule trace" + ("" if show_all else " (fired rules; --all for every rule)"))
    for t in decision.trace:
        if t.fired or show_all:
            facts = ", ".join(f"{k}={v}" for k, v in t.values.items())
            fired = ("yes (both sides described)" if t.contested else "yes") if t.fired else "no"
            table.add_row(t.rule, fired, facts, t.effect, t.because)
    console.print(table)


def print_facts(console: Console | None = None) -> None:
    """The schema: name, kind, values with their side, question and source passage."""
    console = console or Console(width=160)
    table = Table("fact", "kind", "values (side)", "question", "source", title="Facts schema")
    for name, spec in FACTS.items():
        values = ", ".join(f"{v} ({spec.sides[v]})" if spec.sides.get(v) else v for v in spec.values)
        table.add_row(name, spec.kind, values or "-", spec.question, spec.source)
    console.print(table)
