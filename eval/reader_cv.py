"""Four-fold cross-validation over writing rounds on DEV, for choosing how the fine-tuned reader is used.

The shipped reader (eval/train_reader.py) is trained on every dev round's phrases, so reading dev
with it flatters it, and `eval.round_cv` (which only holds the mined bank out) cannot judge it.
Here the dev rounds are dealt into four folds (sorted round names, i % 4); each fold's dev cases
are read with a reader trained, and a bank mined (phrases and neutral pieces), WITHOUT the fold's
rounds, under several settings of the similarity step. Lexicon patterns were tuned on dev and are
not held out, as in round_cv.

    python -m eval.reader_cv [FOLD ...] [--settings I,J] [-v]   # about 6 minutes per fold on 2 cores

`--settings` keeps only those rows of SETTINGS (0-based; e.g. `--settings 0,3` for the base model
and the shipped mean of the two); `-v` prints every miss as `fold setting id gold got`.

Prints routes right and paraphrase consistency per fold and setting. The sixth session chose the
mean of the two models at 0.62 with it (docs/eval.md). Readers are kept in .svt/reader_cv/ so a
second run does not train again.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from eval.round_cv import bank_without
from eval.runner import writing_round
from eval.score_holdout import read_route, split_cases, tally

# (name, use the reader, reader weight, threshold, other constants of assistant.understand); the
# base model's rows keep the hand-written and mined neutral sets as the shipped bank does
Setting = tuple[str, bool, float, float, dict[str, Any]]
SETTINGS: tuple[Setting, ...] = (
    ("base model, 0.57", False, 0.0, 0.57, {}),
    ("reader alone, 0.65", True, 1.0, 0.65, {}),
    ("reader alone, 0.70", True, 1.0, 0.70, {}),
    ("mean of the two, 0.62", True, 0.5, 0.62, {}),
    ("mean of the two, 0.67", True, 0.5, 0.67, {}),
    ("mean, margin vs class", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "class"}),
    ("mean, margin vs side", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side"}),
    ("side margin, other 0.58", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side", "SIMILARITY_OTHER_SIDE_THRESHOLD": 0.58}),
    ("side margin, other 0.55", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side", "SIMILARITY_OTHER_SIDE_THRESHOLD": 0.55}),
    # the reader without the hand-written lexicon's readings of the table's conditions
    ("no lexicon conditions", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side", "LEXICON_READS_CONDITIONS": False}),
    # the looser threshold for a second side only where the message says it has two parts
    ("two parts, other 0.58", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side", "SIMILARITY_OTHER_SIDE_THRESHOLD": 0.58,
                                                "SIMILARITY_OTHER_SIDE_NEEDS_TWO_PARTS": True}),
    ("two parts, other 0.55", True, 0.5, 0.62, {"SIMILARITY_MARGIN_AGAINST": "side", "SIMILARITY_OTHER_SIDE_THRESHOLD": 0.55,
                                                "SIMILARITY_OTHER_SIDE_NEEDS_TWO_PARTS": True}),
)
CACHE = Path(".svt") / "reader_cv"


def folds(cases: list[dict[str, Any]]) -> list[frozenset[str]]:
    """The four folds of writing rounds (sorted names, dealt i % 4)."""
    rounds = sorted({writing_round(c["id"]) for c in cases})
    return [frozenset(r for i, r in enumerate(rounds) if i % 4 == k) for k in range(4)]


def _reader_without(held: frozenset[str], k: int) -> Path:
    from safetensors.torch import save_file

    from assistant.embeddings import READER_WEIGHTS_NAME
    from eval import train_reader as T

    pairs = T.bank_pairs(held)
    out = CACHE / f"fold{k}-{T.digest(pairs)}"
    if not (out / READER_WEIGHTS_NAME).is_file():
        weights = T.train(pairs, T.TrainSettings(), log=lambda _: None)
        out.mkdir(parents=True, exist_ok=True)
        save_file({n: w.half().contiguous() for n, w in weights.items()}, str(out / READER_WEIGHTS_NAME))
    return out


def run_fold(cases: list[dict[str, Any]], held: frozenset[str], k: int,
             settings_rows: tuple[Setting, ...] = SETTINGS) -> dict[str, dict]:
    """Routes of the fold's cases under each of `settings_rows` (tally, plus `got`: id -> route)."""
    from assistant import understand as U
    from assistant.config import get_settings

    fold_cases = [c for c in cases if writing_round(c["id"]) in held]
    reader = _reader_without(held, k)
    bank = bank_without(held)
    settings = get_settings()
    saved = (U._prototypes, U.SIMILARITY_READER_WEIGHT, U.SIMILARITY_THRESHOLD, settings.similarity_model)
    out = {}
    try:
        U._prototypes = lambda: bank  # type: ignore[assignment]
        for name, use_reader, weight, threshold, extra in settings_rows:
            settings.similarity_model = str(reader) if use_reader else settings.embedding_model
            U.SIMILARITY_READER_WEIGHT, U.SIMILARITY_THRESHOLD = weight, threshold
            before = {key: getattr(U, key) for key in extra}
            for key, value in extra.items():
                setattr(U, key, value)
            U._prototype_vectors.cache_clear()
            try:
                got = {c["id"]: read_route(c["question"]) for c in fold_cases}
            finally:
                for key, value in before.items():
                    setattr(U, key, value)
            out[name] = tally(fold_cases, got) | {"got": got}
    finally:
        U._prototypes, U.SIMILARITY_READER_WEIGHT, U.SIMILARITY_THRESHOLD, settings.similarity_model = saved  # type: ignore[assignment]
        U._prototype_vectors.cache_clear()
    return out


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m eval.reader_cv")
    parser.add_argument("folds", nargs="*", type=int)
    parser.add_argument("--settings", help="comma-separated rows of SETTINGS (0-based)")
    parser.add_argument("-v", action="store_true", help="print every miss")
    args = parser.parse_args(argv)
    rows = tuple(SETTINGS[int(i)] for i in args.settings.split(",")) if args.settings else SETTINGS
    cases = split_cases("dev")
    gold = {c["id"]: c["route"] for c in cases}
    all_folds = folds(cases)
    for k in args.folds or range(len(all_folds)):
        for name, r in run_fold(cases, all_folds[k], k, rows).items():
            print(f"fold {k}  {name:<24} routes {r['right']}/{r['cases']}  paraphrase "
                  f"{r['paraphrase_consistency']:.3f} over {r['groups']} groups", flush=True)
            if args.v:
                for cid, got in r["got"].items():
                    if got != gold[cid]:
                        print(f"  miss fold {k} [{name}] {cid} {gold[cid]} -> {got}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
