"""The eval result as a summary table (rich) and a self-contained HTML report (inline SVG, no JS)."""

from __future__ import annotations

import html
from typing import Any

from eval.runner import FLAT_KEYS, RETRIEVAL_KEYS, TARGETS, THRESHOLDS

LABELS = {
    "route_accuracy": "Route accuracy", "model_hit_at_3": "Model hit@3", "recall_at_5": "Recall@5",
    "mrr_at_10": "MRR@10", "ndcg_at_10": "nDCG@10", "citation_validity": "Citation validity",
    "groundedness": "Groundedness", "paraphrase_consistency": "Paraphrase consistency",
    "determinism": "Determinism", "oos_f1": "Out-of-scope F1", "intent_accuracy": "Intent accuracy",
    "fact_precision": "Fact precision", "fact_recall": "Fact recall",
    "latency_p50_ms": "Latency p50 (ms)", "latency_p95_ms": "Latency p95 (ms)",
}


def threshold_of(key: str) -> float | None:
    return THRESHOLDS.get(key, TARGETS.get(key))


def status(key: str, value: Any) -> str:
    t = threshold_of(key)
    if value is None:
        return "n/a"
    if t is None:
        return ""
    return "pass" if value >= t else "FAIL"


def fmt(v: Any) -> str:
    """A metric value for display: shares to three places, milliseconds and counts whole."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) <= 1.5 else f"{v:.0f}"
    return str(v)


def print_summary(result: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    d = result.get("details", {})
    t = Table(title=f"svt eval: {d.get('split')} split, parts {', '.join(d.get('parts', []))}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("threshold", justify="right")
    t.add_column("")
    for key in FLAT_KEYS:
        v = result.get(key)
        th = threshold_of(key)
        s = status(key, v)
        t.add_row(LABELS[key], fmt(v), "" if th is None else f">= {th:g}" + ("" if key in THRESHOLDS else " (target)"), f"[{'green' if s == 'pass' else 'red'}]{s}[/]" if s else "")
    console.print(t)
    b = result.get("baselines") or {}
    if b:
        bt = Table(title="Retrieval baselines (same questions)")
        bt.add_column("retriever")
        for k in RETRIEVAL_KEYS:
            bt.add_column(LABELS[k], justify="right")
        for mode, vals in b.items():
            bt.add_row(mode, *(fmt(vals.get(k)) for k in RETRIEVAL_KEYS))
        bt.add_row("system (answer.retrieved)", *(fmt(result.get(k)) for k in RETRIEVAL_KEYS))
        console.print(bt)
    by_round = d.get("route_accuracy_by_round") or {}
    if by_round:
        console.print("Route accuracy by writing round: " + ", ".join(
            f"{k} {v['right']}/{v['cases']}" for k, v in by_round.items()))
    gf = result.get("gate_failures")
    if gf is not None:
        console.print("[green]Quality gate: pass[/]" if not gf else "[red]Quality gate: FAIL[/]\n  " + "\n  ".join(gf))
    n_fail = sum(1 for c in result.get("cases", []) if c["failures"])
    if result.get("cases"):
        console.print(f"{n_fail} of {len(result['cases'])} cases have at least one failure (see the HTML report or JSON).")


# --- HTML -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2933;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
.meta{color:#52606d;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #d9e2ec;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}
.pass{color:#0b7a3e;font-weight:600}.fail{color:#b42318;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.gate{padding:8px 12px;border-radius:6px;display:inline-block;margin:8px 0;font-weight:600}
.gate.ok{background:#e3f9e5;color:#0b7a3e}.gate.bad{background:#fde8e8;color:#b42318}
details{margin:6px 0;border:1px solid #d9e2ec;border-radius:4px;padding:4px 8px}summary{cursor:pointer;font-size:13px}
pre{white-space:pre-wrap;font-size:12px;background:#f8fafc;padding:6px;border-radius:4px}
ul{margin:4px 0 4px 18px;padding:0;font-size:12px}.legend{font-size:12px;color:#52606d}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def svg_metric_bars(result: dict[str, Any]) -> str:
    """Horizontal bars for every 0-1 metric, with a tick at its threshold or target."""
    keys = [k for k in FLAT_KEYS if not k.startswith("latency")]
    left, width, row = 190, 420, 26
    h = row * len(keys) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{h}" role="img" aria-label="metrics against thresholds">']
    for x in (0, 0.25, 0.5, 0.75, 1.0):
        px = left + x * width
        parts.append(f'<line x1="{px}" y1="4" x2="{px}" y2="{h - 22}" stroke="#e4e7eb"/><text x="{px}" y="{h - 8}" font-size="11" text-anchor="middle" fill="#52606d">{x:g}</text>')
    for i, key in enumerate(keys):
        y = 6 + i * row
        v = result.get(key)
        t = threshold_of(key)
        s = status(key, v)
        color = "#2f9e44" if s == "pass" else "#d64545" if s == "FAIL" else "#7b8794"
        parts.append(f'<text x="{left - 8}" y="{y + 14}" font-size="12" text-anchor="end">{_esc(LABELS[key])}</text>')
        if v is not None:
            parts.append(f'<rect x="{left}" y="{y + 3}" width="{max(0.0, min(1.0, v)) * width:.1f}" height="15" fill="{color}" rx="2"/>')
        parts.append(f'<text x="{left + width + 8}" y="{y + 14}" font-size="12">{_esc(fmt(v))}</text>')
        if t is not None:
            tx = left + t * width
            dash = "" if key in THRESHOLDS else ' stroke-dasharray="3,2"'
            parts.append(f'<line x1="{tx}" y1="{y}" x2="{tx}" y2="{y + 21}" stroke="#102a43" stroke-width="2"{dash}/>')
    parts.append("</svg>")
    return "".join(parts)


def svg_baselines(result: dict[str, Any]) -> str:
    """Grouped bars: recall@5, MRR@10, nDCG@10 for BM25, dense, hybrid and the system."""
    b = dict(result.get("baselines") or {})
    if not b:
        return "<p>Baselines were not run.</p>"
    series = [(m, b[m]) for m in ("bm25", "dense", "hybrid") if m in b]
    if any(result.get(k) is not None for k in RETRIEVAL_KEYS):
        series.append(("system", {k: result.get(k) for k in RETRIEVAL_KEYS}))
    colors = {"bm25": "#9fb3c8", "dense": "#627d98", "hybrid": "#1f6feb", "system": "#2f9e44"}
    bw, gap, group_w, top, ch = 26, 4, 0, 10, 200
    group_w = len(series) * (bw + gap) + 30
    w = 60 + group_w * len(RETRIEVAL_KEYS) + 120
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{ch + 60}" role="img" aria-label="baseline comparison">']
    for x in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + ch - x * ch
        parts.append(f'<line x1="50" y1="{y}" x2="{w - 120}" y2="{y}" stroke="#e4e7eb"/><text x="44" y="{y + 4}" font-size="11" text-anchor="end" fill="#52606d">{x:g}</text>')
    for gi, key in enumerate(RETRIEVAL_KEYS):
        gx = 60 + gi * group_w
        for si, (name, vals) in enumerate(series):
            v = vals.get(key)
            if v is None:
                continue
            x = gx + si * (bw + gap)
            parts.append(f'<rect x="{x}" y="{top + ch - v * ch:.1f}" width="{bw}" height="{v * ch:.1f}" fill="{colors[name]}"><title>{name} {LABELS[key]} {v:.3f}</title></rect>')
            parts.append(f'<text x="{x + bw / 2}" y="{top + ch - v * ch - 3:.1f}" font-size="9" text-anchor="middle">{v:.2f}</text>')
        parts.append(f'<text x="{gx + (len(series) * (bw + gap)) / 2}" y="{top + ch + 18}" font-size="12" text-anchor="middle">{LABELS[key]}</text>')
    for si, (name, _) in enumerate(series):
        y = top + 10 + si * 18
        parts.append(f'<rect x="{w - 110}" y="{y}" width="12" height="12" fill="{colors[name]}"/><text x="{w - 92}" y="{y + 10}" font-size="12">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_confusion(result: dict[str, Any]) -> str:
    cm = result.get("details", {}).get("confusion_matrix")
    if not cm:
        return "<p>No recommendation cases were run.</p>"
    cols = list(next(iter(cm.values())).keys())
    peak = max([v for row in cm.values() for v in row.values()] + [1])
    out = ['<table><tr><th>expected \\ predicted</th>' + "".join(f"<th>{_esc(c)}</th>" for c in cols) + "<th>total</th></tr>"]
    for e, row in cm.items():
        cells = []
        for c in cols:
            v = row.get(c, 0)
            alpha = 0.15 + 0.75 * v / peak if v else 0
            hue = "47,158,68" if c == e else "214,69,69"
            cells.append(f'<td class="num" style="background:rgba({hue},{alpha:.2f})">{v}</td>')
        out.append(f"<tr><th>{_esc(e)}</th>{''.join(cells)}<td class='num'>{sum(row.values())}</td></tr>")
    out.append("</table>")
    return "".join(out)


def html_by_round(result: dict[str, Any]) -> str:
    rows = result.get("details", {}).get("route_accuracy_by_round") or {}
    if not rows:
        return ""
    body = "".join(f"<tr><td>{_esc(k)}</td><td class='num'>{v['right']}</td><td class='num'>{v['cases']}</td>"
                   f"<td class='num'>{_esc(fmt(v['accuracy']))}</td></tr>" for k, v in rows.items())
    return ("<p class='legend'>Route accuracy by writing round (rounds 2 and later were written blind by "
            "independent writers; eval/README.md).</p><table><tr><th>round</th><th>right</th><th>cases</th>"
            f"<th>accuracy</th></tr>{body}</table>")


def html_paraphrase(result: dict[str, Any]) -> str:
    """Paraphrase groups: how many were answered with one route, and the split ones with the route
    each wording got (the consistent ones add nothing to read)."""
    groups = result.get("details", {}).get("paraphrase_groups") or {}
    if not groups:
        return ""
    split = {g: routes for g, routes in groups.items() if len(set(routes)) > 1}
    body = "".join(f"<tr><td>{_esc(g)}</td><td>{_esc(', '.join(map(str, routes)))}</td></tr>" for g, routes in split.items())
    table = f"<table><tr><th>group</th><th>route per wording</th></tr>{body}</table>" if split else ""
    return (f"<p class='legend'>Paraphrase groups answered with one route: {len(groups) - len(split)} of "
            f"{len(groups)}. Split groups:</p>{table}" if split else
            f"<p class='legend'>Paraphrase groups answered with one route: {len(groups)} of {len(groups)}.</p>")


def html_report(result: dict[str, Any]) -> str:
    from eval.compare import html_comparison

    d = result.get("details", {})
    rows = []
    for key in FLAT_KEYS:
        v, t, s = result.get(key), threshold_of(key), status(key, result.get(key))
        cls = "pass" if s == "pass" else "fail" if s == "FAIL" else ""
        kind = "gate" if key in THRESHOLDS else "target" if key in TARGETS else ""
        rows.append(f"<tr><td>{_esc(LABELS[key])}</td><td class='num'>{_esc(fmt(v))}</td><td class='num'>{'' if t is None else f'&ge; {t:g}'}</td><td>{kind}</td><td class='{cls}'>{_esc(s)}</td></tr>")
    b = result.get("baselines") or {}
    brows = "".join(
        f"<tr><td>{_esc(m)}</td>" + "".join(f"<td class='num'>{_esc(fmt(vals.get(k)))}</td>" for k in RETRIEVAL_KEYS) + "</tr>"
        for m, vals in list(b.items()) + [("system (answer.retrieved)", {k: result.get(k) for k in RETRIEVAL_KEYS})]
    )
    gf = result.get("gate_failures")
    gate_html = "" if gf is None else (
        '<div class="gate ok">Quality gate: pass</div>' if not gf
        else '<div class="gate bad">Quality gate: FAIL</div><ul>' + "".join(f"<li>{_esc(f)}</li>" for f in gf) + "</ul>"
    )
    failing = [c for c in result.get("cases", []) if c["failures"]]
    case_html = []
    for c in failing:
        cites = "".join(f"<li>[{_esc(x['marker'])}] <code>{_esc(x['passage_id'])}</code>: {_esc(x['quote'])}</li>" for x in c.get("citations", []))
        extra = ""
        if "retrieval" in c:
            extra = f"<p class='legend'>top 5: {_esc(', '.join(c['retrieval']['top5']))}</p>"
        case_html.append(
            f"<details><summary><b>{_esc(c['id'])}</b> ({_esc(c['kind'])}): {_esc(c['question'][:140])}{'…' if len(c['question']) > 140 else ''}"
            f" <span class='fail'>{len(c['failures'])} failure(s)</span></summary>"
            f"<ul>{''.join(f'<li>{_esc(f)}</li>' for f in c['failures'])}</ul>{extra}"
            f"<pre>{_esc(c.get('answer') or '(no answer)')}</pre>{'<ul>' + cites + '</ul>' if cites else ''}</details>"
        )
    counts = d.get("counts", {})
    und = d.get("understanding") or {}
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>svt eval: {_esc(d.get('split'))}</title>
<style>{CSS}</style></head><body>
<h1>Answer-quality report: {_esc(d.get('split'))} split</h1>
<div class="meta">parts: {_esc(', '.join(d.get('parts', [])))} · reference date {_esc(d.get('now'))} · corpus {_esc(d.get('corpus_version'))} · ruleset {_esc(d.get('ruleset_version'))} · {_esc(counts.get('cases', 0))} gold cases · {_esc(und.get('items', 0))} understanding items · {_esc(d.get('elapsed_s'))} s</div>
{gate_html}
{html_comparison(result.get("comparison"))}
<h2>Metrics against thresholds</h2>
<p class="legend">Solid tick: gate threshold (issue 8). Dashed tick: target from the understanding issue (reported, not gated). Green meets it, red does not.</p>
{svg_metric_bars(result)}
<table><tr><th>metric</th><th>value</th><th>threshold</th><th></th><th>status</th></tr>{''.join(rows)}</table>
<p class="legend">Counts: {_esc(', '.join(f'{k} {v}' for k, v in counts.items()))}. Out of scope: {_esc(d.get('oos'))}.</p>
<h2>Retrieval: what each part buys</h2>
<p class="legend">BM25 only, dense only and hybrid (RRF) via HybridSearch.search(question, k=10, mode=…); "system" is what the pipeline retrieved for the answer (answer.retrieved, by the pipeline's relevance order). Same {_esc(counts.get('retrieval_cases', '?'))} questions.</p>
{svg_baselines(result)}
<table><tr><th>retriever</th>{''.join(f'<th>{_esc(LABELS[k])}</th>' for k in RETRIEVAL_KEYS)}</tr>{brows}</table>
<h2>Route confusion matrix</h2>
{html_confusion(result)}
{html_by_round(result)}
{html_paraphrase(result)}
<h2>Failing cases ({len(failing)} of {len(result.get('cases', []))})</h2>
{''.join(case_html) or '<p>None.</p>'}
</body></html>"""
