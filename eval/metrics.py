"""Deterministic answer-quality metrics (no LLM judge). Every function is pure and unit-tested.

Definitions (also in eval/README.md):
- A passage is *relevant* when its gold grade is >= 1; nDCG uses the grade (0, 1, 2) as gain.
- recall@k: relevant passages in the top k / all relevant passages of the question.
- MRR@k: 1 / rank of the first relevant passage in the top k (0 if none).
- nDCG@k: DCG with gain 2^grade - 1 and discount log2(rank + 1), over the ideal DCG.
- citation validity: share of the [n] markers in answers that resolve to a citation of a passage
  the pipeline retrieved for that answer, whose quote is a verbatim substring of that passage
  (whitespace runs compared as one space, since passages are stored with line breaks).
- groundedness: share of claim sentences whose content words are covered by the quotes they
  cite at or above GROUNDED_THRESHOLD (see `groundedness`; the officer's quoted words and unmarked
  decision text are not claims).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable, Sequence

GROUNDED_THRESHOLD = 0.6  # share of a sentence's content words that must appear in its cited quotes
MIN_CLAIM_WORDS = 3  # fragments with fewer content words (labels, headings) are not claims

# --- retrieval -------------------------------------------------------------------------------


def _relevant(gold: dict[str, int]) -> set[str]:
    return {pid for pid, grade in gold.items() if grade >= 1}


def recall_at_k(ranked: Sequence[str], gold: dict[str, int], k: int = 5) -> float:
    rel = _relevant(gold)
    if not rel:
        raise ValueError("recall needs at least one relevant passage")
    return len(rel & set(ranked[:k])) / len(rel)


def mrr_at_k(ranked: Sequence[str], gold: dict[str, int], k: int = 10) -> float:
    rel = _relevant(gold)
    for rank, pid in enumerate(ranked[:k], start=1):
        if pid in rel:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: dict[str, int], k: int = 10) -> float:
    def dcg(grades: Iterable[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 1) for i, g in enumerate(grades, start=1))

    ideal = dcg(sorted((g for g in gold.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        raise ValueError("nDCG needs at least one relevant passage")
    seen: set[str] = set()
    grades = []
    for pid in ranked[:k]:  # a passage listed twice earns its gain once
        grades.append(gold.get(pid, 0) if pid not in seen else 0)
        seen.add(pid)
    return dcg(grades) / ideal


def retrieval_scores(ranked: Sequence[str], gold: dict[str, int]) -> dict[str, float]:
    return {
        "recall_at_5": recall_at_k(ranked, gold, 5),
        "mrr_at_10": mrr_at_k(ranked, gold, 10),
        "ndcg_at_10": ndcg_at_k(ranked, gold, 10),
    }


# --- recommendation --------------------------------------------------------------------------


def route_accuracy(pairs: Sequence[tuple[str, str]]) -> float | None:
    """pairs of (expected, predicted); None when there is nothing to score."""
    if not pairs:
        return None
    return sum(e == p for e, p in pairs) / len(pairs)


def confusion_matrix(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """rows: expected route; columns: predicted route (labels plus any other value seen)."""
    cols = list(labels) + sorted({p for _, p in pairs} - set(labels))
    matrix = {e: {p: 0 for p in cols} for e in labels}
    for e, p in pairs:
        matrix.setdefault(e, {c: 0 for c in cols})[p] += 1
    return matrix


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def accuracy_by_group(triples: Sequence[tuple[str, str, str]]) -> dict[str, dict[str, Any]]:
    """(group, expected, predicted) -> {group: {right, cases, accuracy}}, groups in natural order
    ("round 2" before "round 10")."""
    out: dict[str, dict[str, Any]] = {}
    for group, e, p in sorted(triples, key=lambda t: _natural(t[0])):
        row = out.setdefault(group, {"right": 0, "cases": 0})
        row["cases"] += 1
        row["right"] += e == p
    for row in out.values():
        row["accuracy"] = row["right"] / row["cases"]
    return out


def model_hit_at_k(predicted: Sequence[str], acceptable: Iterable[str], k: int = 3) -> bool:
    return bool(set(predicted[:k]) & set(acceptable))


# --- citations and groundedness ---------------------------------------------------------------

MARKER_RE = re.compile(r"\[(\d+)\]")
_WS = re.compile(r"\s+")


def norm_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


def citation_check(
    answer_text: str,
    citations: Sequence[dict[str, Any]],
    retrieved_ids: Sequence[str],
    passage_text: dict[str, str],
) -> tuple[int, int, list[str]]:
    """(valid markers, markers, problems) for one answer. Each distinct [n] used is one unit."""
    by_marker = {int(c["marker"]): c for c in citations}
    retrieved = set(retrieved_ids)
    markers = sorted({int(m) for m in MARKER_RE.findall(answer_text)})
    valid, problems = 0, []
    for m in markers:
        c = by_marker.get(m)
        if c is None:
            problems.append(f"[{m}] has no citation")
            continue
        pid = c.get("passage_id")
        if pid not in retrieved:
            problems.append(f"[{m}] cites {pid}, which was not retrieved for this answer")
            continue
        text = passage_text.get(pid)
        quote = norm_ws(c.get("quote") or "")
        if text is None:
            problems.append(f"[{m}] cites {pid}, which is not in the index")
        elif not quote or quote not in norm_ws(text):
            problems.append(f"[{m}] quote is not a verbatim span of {pid}: {quote[:80]!r}")
        else:
            valid += 1
    return valid, len(markers), problems


STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either few for from further had
    has have having he her here hers him his how i if in into is it its itself just may me might more most
    must my no nor not now of off on once only or other our ours out over own same shall she should so some
    such than that the their theirs them then there these they this those through to too under until up
    upon very was we were what when where which while who whom why will with within without would you your
    yours us one two also eg ie etc""".split()
)
_WORD = re.compile(r"[a-z0-9£%]+(?:[.,][0-9]+)*")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_MD = re.compile(r"(^\s*(?:[-*+]|\d+[.)]|#+|>)\s+)|\*\*|__|`", re.M)


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "ied", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    words = _WORD.findall(MARKER_RE.sub(" ", text.lower()))
    return {_stem(w) for w in words if w not in STOPWORDS}


def answer_sentences(answer_text: str) -> list[str]:
    text = _MD.sub(lambda m: "\n" if m.group(1) else "", answer_text)
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


# The officer's own words, quoted back in an answer ("you said “…”", "you said: “…”") and the note
# "(you set this)": they report the question, not the corpus, so they are not part of a claim.
_OFFICER_WORDS = re.compile(r"\byou said:?\s*“[^”]*”|\(you set this\)", re.IGNORECASE)


def _plain(text: str) -> str:
    """Text as `answer_sentences` sees it: Markdown emphasis and list marks gone, one line."""
    return norm_ws(_MD.sub(lambda m: " " if m.group(1) else "", text))


def groundedness(
    answer_text: str,
    citations: Sequence[dict[str, Any]],
    exempt_texts: Sequence[str] = (),
    threshold: float = GROUNDED_THRESHOLD,
) -> tuple[int, int, list[dict[str, Any]]]:
    """(grounded claim sentences, claim sentences, per-sentence details) for one answer.

    The officer's quoted words (`you said “…”`, `(you set this)`) are removed from a sentence first:
    they are the question, not a claim. A claim sentence then has at least MIN_CLAIM_WORDS content
    words and is not unmarked decision text: a sentence without a [n] marker that is contained in
    one of `exempt_texts` (the rules' recommendation, clarifying questions, the reasons and legal
    flags of the decision, which come from the audited ruleset, not from the corpus), compared with
    Markdown emphasis removed and a closing "." or ":" ignored. A sentence that carries a marker is
    always checked. It is grounded when it carries at least one [n] marker and the share of its
    content words found in the content words of the quotes it cites is >= threshold. A claim with
    no marker is ungrounded.
    """
    quotes = {int(c["marker"]): c.get("quote") or "" for c in citations}
    exempt = [_plain(t).lower() for t in exempt_texts if t]
    grounded, total, details = 0, 0, []
    for sentence in answer_sentences(answer_text):
        claim = _OFFICER_WORDS.sub(" ", sentence)
        words = content_words(claim)
        markers = [int(m) for m in MARKER_RE.findall(sentence)]
        bare = norm_ws(MARKER_RE.sub("", claim)).lower().rstrip(" .:")
        if len(words) < MIN_CLAIM_WORDS or (not markers and bare and any(bare in e for e in exempt)):
            continue
        total += 1
        covered = set().union(*(content_words(quotes.get(m, "")) for m in markers)) if markers else set()
        coverage = len(words & covered) / len(words)
        ok = bool(markers) and coverage >= threshold
        grounded += ok
        details.append({"sentence": sentence, "markers": markers, "coverage": round(coverage, 3), "grounded": ok})
    return grounded, total, details


# --- consistency, determinism, out of scope, latency ------------------------------------------


def paraphrase_consistency(groups: dict[str, Sequence[Any]]) -> float | None:
    """Share of groups whose members all got the same route (None counts as a value)."""
    if not groups:
        return None
    return sum(len(set(routes)) == 1 for routes in groups.values()) / len(groups)


def determinism(first: Sequence[Any], second: Sequence[Any]) -> float | None:
    """Share of questions whose two canonical answers are identical."""
    if len(first) != len(second):
        raise ValueError("the two runs must answer the same questions")
    if not first:
        return None
    return sum(a == b for a, b in zip(first, second)) / len(first)


def prf(gold: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class (0.0 where undefined)."""
    pairs = Counter(zip(gold, predicted))
    tp, fp, fn = pairs[(True, True)], pairs[(False, True)], pairs[(True, False)]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (as numpy's default), q in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
