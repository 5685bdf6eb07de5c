"""Score a hold-out round (eval/gold/holdout/*.yaml) on routes only: understanding + rules, no retrieval.

`python -m eval.score_holdout eval/gold/holdout/round16.yaml` prints routes right, paraphrase groups
answered with one route, and the misses as (gold, got) counts; `--split dev` reads the gold set's dev
cases with a route label the same way (about 3 minutes on 2 cores). A hold-out round is scored once,
before anything is changed for it, then joins the gold set through eval/gold_split.py.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
from pathlib import Path

import yaml

NOW = dt.date(2026, 3, 2)  # the gold set's reference date


def read_route(question: str) -> str:
    """The route understanding + rules give a question ("none" when it is not read as a recommendation)."""
    from assistant.understand import understand
    from rules.engine import decide

    u = understand(question, now=NOW)
    if u.intent != "recommendation":
        return "none"
    return decide({k: v.value for k, v in u.facts.items()}, contested=list(u.contested)).route


def tally(cases: list[dict], got: dict[str, str]) -> dict:
    """Routes right, consistent paraphrase groups and (gold, got) miss counts, given each case's route."""
    from eval import metrics as M

    groups: dict[str, list[str]] = collections.defaultdict(list)
    for c in cases:
        if c.get("group"):
            groups[c["group"]].append(got[c["id"]])
    return {
        "right": sum(got[c["id"]] == c["route"] for c in cases), "cases": len(cases),
        "route_accuracy": M.route_accuracy([(c["route"], got[c["id"]]) for c in cases]),
        "paraphrase_consistency": M.paraphrase_consistency(groups), "groups": len(groups),
        "misses": dict(collections.Counter(f"{c['route']} -> {got[c['id']]}" for c in cases if got[c["id"]] != c["route"])),
        "split_groups": sorted(g for g, rs in groups.items() if len(set(rs)) > 1),
    }


def score(cases: list[dict]) -> dict:
    """Routes right, consistent paraphrase groups and (gold, got) miss counts for `cases`."""
    return tally(cases, {c["id"]: read_route(c["question"]) for c in cases})


def split_cases(split: str) -> list[dict]:
    """The cases of one split of the gold set (eval/gold/gold.yaml) that have a route label, as
    `svt eval` counts route accuracy: the recommendation cases and the adversarial ones with a route."""
    from eval.gold_split import GOLD_PATH

    cases = yaml.safe_load(GOLD_PATH.read_text(encoding="utf-8"))["cases"]
    return [c for c in cases if c.get("split") == split and c.get("route")]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.score_holdout", description=__doc__.split("\n")[0])
    parser.add_argument("round", type=Path, nargs="?", help="a hold-out round, e.g. eval/gold/holdout/round36.yaml")
    parser.add_argument("--split", choices=("dev",), help="read the gold set's dev route cases instead "
                        "(the test split is read only by `svt eval`, once per session)")
    args = parser.parse_args(argv)
    if (args.round is None) == (args.split is None):
        parser.error("give a round file or --split dev")
    if args.round is not None and not args.round.is_file():
        parser.error(f"no such file: {args.round}")
    r = score(split_cases(args.split) if args.split else yaml.safe_load(args.round.read_text(encoding="utf-8")))
    print(f"routes {r['right']}/{r['cases']} ({r['route_accuracy']:.3f}), paraphrase consistency "
          f"{r['paraphrase_consistency']:.3f} over {r['groups']} groups; misses {r['misses']}")


if __name__ == "__main__":
    main(sys.argv[1:])
