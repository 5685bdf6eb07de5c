"""The fixed dev/test split of the understanding set, decided before any tuning.

Rule: an item is in `test` when int(sha256(id)[:8], 16) % 100 >= 60, else in `dev` (about 60/40).
The rule depends only on the item id, so adding items never moves existing ones between splits.
`python -m eval.understanding.split FILE...` writes dev.yaml and test.yaml from master files;
the test suite checks that every stored item sits in the split the rule gives it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def split_of(item_id: str) -> str:
    bucket = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket >= 60 else "dev"


HEADER = """# Understanding set, {split} split ({n} items). Split by eval/understanding/split.py (fixed rule on
# the id) BEFORE the lexicon and thresholds were tuned; tune on dev only.
# Labelling guide: eval/README.md, section "Understanding". Relative dates refer to `now` below.
"""


def main(paths: list[str]) -> None:
    items = []
    for p in paths:
        items.extend(yaml.safe_load(Path(p).read_text(encoding="utf-8")))
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for split in ("dev", "test"):
        chosen = [i for i in items if split_of(i["id"]) == split]
        doc = {"now": "2026-03-02", "items": chosen}
        text = HEADER.format(split=split, n=len(chosen)) + yaml.safe_dump(
            doc, sort_keys=False, allow_unicode=True, width=100
        )
        (HERE / f"{split}.yaml").write_text(text, encoding="utf-8")
        print(split, len(chosen))


if __name__ == "__main__":
    main(sys.argv[1:])
