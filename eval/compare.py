"""Compare two `svt eval --json` results: did a change make the answers better or worse?

`compare(before, after)` gives every flat metric and baseline with its change, and the gold cases whose
outcome changed: fixed (failing before, passing after), broken (the reverse), and route changes. It
works on saved JSON only, so two runs from different commits can be compared without re-running.
`svt eval-compare BEFORE.json AFTER.json` prints it; `svt eval --compare BEFORE.json` compares a fresh
run with a saved one and puts the comparison in the JSON (`comparison`) and the HTML report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.report import LABELS, fmt
from eval.runner import FLAT_KEYS, RETRIEVAL_KEYS

LOWER_IS_BETTER = frozenset({"latency_p50_ms", "latency_p95_ms"})
# a change smaller than this is shown as no change (floats in the JSON are rounded to 4 places)
EPSILON = 1e-9


@dataclass(frozen=True)
class MetricDelta:
    """One metric in both runs; `better` is None when either side is missing or nothing changed."""

    key: str
    before: float | None
    after: float | None
    delta: float | None
    better: bool | None


@dataclass(frozen=True)
class CaseChange:
    """A gold case whose outcome differs between the runs."""

    id: str
    kind: str
    expected_route: str | None
    route_before: str | None
    route_after: str | None
    failures_before: tuple[str, ...]
    failures_after: tuple[str, ...]


@dataclass
class Comparison:
    """Metric deltas, baseline deltas and case changes between two eval results."""

    split_before: str | None
    split_after: str | None
    metrics: list[MetricDelta]
    baselines: dict[str, list[MetricDelta]]
    fixed: list[CaseChange] = field(default_factory=list)
    broken: list[CaseChange] = field(default_factory=list)
    route_changed: list[CaseChange] = field(default_factory=list)
    only_before: list[str] = field(default_factory=list)
    only_after: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _delta(key: str, before: Any, after: Any) -> MetricDelta:
    if not isinstance(before, (int, float)) or not isinstance(after, (int, float)):
        return MetricDelta(key, before, after, None, None)
    d = float(after) - float(before)
    if abs(d) <= EPSILON:
        return MetricDelta(key, before, after, 0.0, None)
    return MetricDelta(key, before, after, round(d, 6), (d < 0) if key in LOWER_IS_BETTER else (d > 0))


def _case_change(b: dict[str, Any], a: dict[str, Any]) -> CaseChange:
    route_b, route_a = b.get("route") or {}, a.get("route") or {}
    return CaseChange(id=a["id"], kind=a.get("kind", ""), expected_route=route_a.get("expected") or route_b.get("expected"),
                      route_before=route_b.get("got"), route_after=route_a.get("got"),
                      failures_before=tuple(b.get("failures") or ()), failures_after=tuple(a.get("failures") or ()))


def compare(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    """Every flat metric and baseline with its change, and the cases fixed, broken or rerouted."""
    split_b = (before.get("details") or {}).get("split")
    split_a = (after.get("details") or {}).get("split")
    out = Comparison(split_before=split_b, split_after=split_a,
                     metrics=[_delta(k, before.get(k), after.get(k)) for k in FLAT_KEYS],
                     baselines={m: [_delta(k, (before.get("baselines") or {}).get(m, {}).get(k), vals.get(k))
                                    for k in RETRIEVAL_KEYS]
                                for m, vals in (after.get("baselines") or {}).items()})
    if split_b and split_a and split_b != split_a:
        out.warnings.append(f"the runs scored different splits ({split_b} before, {split_a} after): "
                            "metric changes mix a change of data with a change of system")
    cases_b = {c["id"]: c for c in before.get("cases") or []}
    cases_a = {c["id"]: c for c in after.get("cases") or []}
    if not cases_b or not cases_a:
        out.warnings.append("one of the results has no per-case list (it was not run with the answers part): "
                            "only metrics are compared")
    out.only_before = sorted(set(cases_b) - set(cases_a))
    out.only_after = sorted(set(cases_a) - set(cases_b))
    if cases_b and cases_a and (out.only_before or out.only_after):
        out.warnings.append(f"the gold sets differ: {len(out.only_before)} case(s) only before, "
                            f"{len(out.only_after)} only after; case changes cover the shared ones")
    for cid in sorted(set(cases_b) & set(cases_a)):
        b, a = cases_b[cid], cases_a[cid]
        change = _case_change(b, a)
        if b.get("failures") and not a.get("failures"):
            out.fixed.append(change)
        elif not b.get("failures") and a.get("failures"):
            out.broken.append(change)
        if change.route_before != change.route_after:
            out.route_changed.append(change)
    return out


def load_result(path: str | Path) -> dict[str, Any]:
    """A saved `svt eval --json` result; ValueError with a plain message when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not a readable JSON file ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict) or not any(k in data for k in FLAT_KEYS):
        raise ValueError(f"{p}: not an `svt eval --json` result (none of the metric keys "
                         f"{', '.join(FLAT_KEYS[:3])}, ... is there)")
    return data


def _labelled(metrics: list[MetricDelta], baselines: dict[str, list[MetricDelta]]) -> list[tuple[str, MetricDelta]]:
    """Each metric, then each baseline's, with its display label: the rows of the text and HTML tables."""
    return [(LABELS.get(m.key, m.key), m) for m in metrics] + \
        [(f"{name} {LABELS.get(m.key, m.key)}", m) for name, ms in baselines.items() for m in ms]


def _fmt_delta(m: MetricDelta) -> str:
    if m.delta is None:
        return ""
    if m.delta == 0:
        return "="
    return ("+" if m.delta > 0 else "") + fmt(m.delta)


def print_comparison(cmp: Comparison, console: Any = None, label_before: str = "before",
                     label_after: str = "after", limit: int = 30) -> None:
    """The comparison as rich tables: metric deltas, then the fixed, broken and rerouted cases."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for w in cmp.warnings:
        console.print(f"[yellow]note:[/] {w}")
    t = Table(title=f"Change: {label_before} -> {label_after}")
    for col in ("metric", label_before, label_after, "change"):
        t.add_column(col, justify="left" if col == "metric" else "right")
    for label, m in _labelled(cmp.metrics, cmp.baselines):
        colour = "green" if m.better else "red" if m.better is False else "dim"
        t.add_row(label, fmt(m.before), fmt(m.after), f"[{colour}]{_fmt_delta(m)}[/]")
    console.print(t)
    console.print(f"cases fixed: {len(cmp.fixed)}, broken: {len(cmp.broken)}, route changed: {len(cmp.route_changed)}")
    for title, rows in (("broken", cmp.broken), ("fixed", cmp.fixed)):
        if not rows:
            continue
        ct = Table(title=f"{title} ({len(rows)}{f', first {limit}' if len(rows) > limit else ''})")
        for col in ("case", "expected route", "route before", "route after", "failures now" if title == "broken" else "failures before"):
            ct.add_column(col)
        for c in rows[:limit]:
            fails = c.failures_after if title == "broken" else c.failures_before
            ct.add_row(c.id, c.expected_route or "–", c.route_before or "–", c.route_after or "–", "; ".join(fails)[:120])
        console.print(ct)


def html_comparison(cmp: dict[str, Any] | None) -> str:
    """The comparison section of the HTML report (from `Comparison.to_dict()`), or "" without one."""
    import html as H

    if not cmp:
        return ""

    def row(label: str, m: MetricDelta) -> str:
        cls = "pass" if m.better else "fail" if m.better is False else ""
        return (f"<tr><td>{H.escape(label)}</td><td class='num'>{fmt(m.before)}</td><td class='num'>{fmt(m.after)}</td>"
                f"<td class='num {cls}'>{H.escape(_fmt_delta(m))}</td></tr>")

    rows = [row(label, m) for label, m in _labelled(
        [MetricDelta(**m) for m in cmp["metrics"]],
        {name: [MetricDelta(**m) for m in ms] for name, ms in cmp["baselines"].items()})]

    def cases(title: str, items: list[dict[str, Any]]) -> str:
        if not items:
            return f"<p class='legend'>{title}: none.</p>"
        body = "".join(f"<tr><td>{H.escape(c['id'])}</td><td>{H.escape(str(c['expected_route'] or '–'))}</td>"
                       f"<td>{H.escape(str(c['route_before'] or '–'))}</td><td>{H.escape(str(c['route_after'] or '–'))}</td></tr>"
                       for c in items)
        return (f"<p class='legend'>{title}: {len(items)}</p><table><tr><th>case</th><th>expected route</th>"
                f"<th>route before</th><th>route after</th></tr>{body}</table>")

    notes = "".join(f"<p class='legend'>Note: {H.escape(w)}</p>" for w in cmp.get("warnings") or [])
    return (f"<h2>Change since the earlier run</h2>{notes}<table><tr><th>metric</th><th>before</th><th>after</th>"
            f"<th>change</th></tr>{''.join(rows)}</table>"
            f"{cases('Cases broken (passing before, failing now)', cmp['broken'])}"
            f"{cases('Cases fixed (failing before, passing now)', cmp['fixed'])}")
