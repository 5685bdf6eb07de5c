"""Speed and memory figures: model load, cold index build, incremental sync, retrieval, warm ask.

Run: `make bench` (or `.venv/bin/python benchmarks/bench.py [--questions N]`). Prints a table; the
figures go into docs/performance.md with the date and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time

QUESTIONS = [
    "What is a Public Commons Partnership?",
    "When should we use an alliance contract?",
    "What thresholds apply to council services contracts from 1 January 2026?",
    "We want to work with local charities on rough sleeping but nobody really knows what will work.",
    "Does PPN 002 bind councils?",
    "Can we reserve a contract for a public service mutual?",
    "We need to buy 400 laptops with a clear specification and a competitive market, about £250k.",
    "What does the Social Value Act require before we start a procurement?",
    "How does the competitive flexible procedure allow negotiation?",
    "What is a community land trust?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=30, help="warm questions to time")
    args = parser.parse_args()
    os.environ["SVT_DATA_DIR"] = tempfile.mkdtemp(prefix="svt-bench-")

    from assistant.config import get_settings
    from assistant.embeddings import load_model

    settings = get_settings()
    rows: list[tuple[str, str]] = []

    t = time.perf_counter()
    load_model(settings.embedding_model)
    rows.append(("embedding model load", f"{time.perf_counter() - t:.2f} s"))

    from assistant.index import PassageIndex

    t = time.perf_counter()
    index = PassageIndex(settings)
    rows.append(("corpus load + validate", f"{(time.perf_counter() - t) * 1000:.0f} ms ({len(index.passages)} passages)"))
    t = time.perf_counter()
    index.ensure()
    rows.append(("cold index build (embed + upsert)", f"{time.perf_counter() - t:.2f} s"))
    t = time.perf_counter()
    PassageIndex(settings).ensure()
    rows.append(("up-to-date check (no change)", f"{(time.perf_counter() - t) * 1000:.0f} ms"))

    from assistant.retrieve import HybridSearch

    search = HybridSearch(index)
    t = time.perf_counter()
    search.bm25  # noqa: B018 - build it
    rows.append(("BM25 build", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    timings = []
    for q in QUESTIONS * 3:
        t = time.perf_counter()
        search.search(q, k=10)
        timings.append((time.perf_counter() - t) * 1000)
    rows.append(("hybrid retrieval p50 / p95", f"{statistics.median(timings):.1f} / {percentile(timings, 0.95):.1f} ms"))

    from assistant import understand

    # warm_up embeds the bank with each model of the similarity step (the reader and the base model)
    t = time.perf_counter()
    understand.warm_up()
    n_protos = sum(len(v) for by in understand._prototypes()[0].values() for v in by.values()) + len(understand._prototypes()[1])
    n_models = len(understand._similarity_models())
    rows.append((f"similarity prototypes, cold ({n_protos} sentences x {n_models} models)", f"{time.perf_counter() - t:.2f} s"))
    understand._prototype_vectors.cache_clear()
    t = time.perf_counter()
    understand.warm_up()
    rows.append(("similarity prototypes, from the disk cache", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    timings = []
    for q in QUESTIONS * 3:
        t = time.perf_counter()
        understand.understand(q)
        timings.append((time.perf_counter() - t) * 1000)
    rows.append(("understand (lexicon + similarity) p50 / p95", f"{statistics.median(timings):.1f} / {percentile(timings, 0.95):.1f} ms"))

    from assistant.pipeline import Assistant

    t = time.perf_counter()
    assistant = Assistant(settings, index)
    assistant.ask(QUESTIONS[0])
    rows.append(("first ask (loads the rest)", f"{time.perf_counter() - t:.2f} s"))
    # Distinct wordings, so no query embedding comes from the in-process cache (as in --file mode).
    timings = []
    for i in range(args.questions):
        question = f"{QUESTIONS[i % len(QUESTIONS)]} (case {i})"
        t = time.perf_counter()
        assistant.ask(question)
        timings.append((time.perf_counter() - t) * 1000)
    rows.append((f"warm ask, new question, p50 / p95 ({args.questions})", f"{statistics.median(timings):.0f} / {percentile(timings, 0.95):.0f} ms"))
    timings = []
    for question in QUESTIONS:
        t = time.perf_counter()
        assistant.ask(question)
        timings.append((time.perf_counter() - t) * 1000)
    rows.append(("warm ask, repeated question, p50", f"{statistics.median(timings):.0f} ms"))
    rows.append(("peak RSS", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"))
    rows.append(("load average (1 min) at end", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"))

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
