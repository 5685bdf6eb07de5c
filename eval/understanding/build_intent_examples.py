"""Write assistant/intent_examples.yaml from the DEV split only (the intent kNN's examples).

Run after changing eval/understanding/dev.yaml: `python -m eval.understanding.build_intent_examples`.
The test split is never read, so the intent classifier never sees a test question.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from eval.understanding.score import load

TARGET = Path(__file__).resolve().parents[2] / "assistant" / "intent_examples.yaml"


def main() -> None:
    items, _ = load("dev")
    examples = [{"question": i["question"][:1000], "intent": i["intent"]} for i in items]
    header = ("# Intent examples for the kNN step of assistant/understand.py, generated from\n"
              "# eval/understanding/dev.yaml by eval/understanding/build_intent_examples.py. Do not edit.\n")
    TARGET.write_text(header + yaml.safe_dump(examples, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    print(f"{len(examples)} examples -> {TARGET}")


if __name__ == "__main__":
    main()
