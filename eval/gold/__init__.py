"""The answer-quality gold set (gold.yaml) and its loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

GOLD_PATH = Path(__file__).resolve().parent / "gold.yaml"
ROUTES = ("competition", "collaboration", "mixed", "undetermined")
MODELS = frozenset({
    "open_procedure", "competitive_flexible_procedure", "public_commons_partnership", "alliance_contract",
    "innovation_partnership", "cooperative_contract", "community_land_trust", "relational_imperatives",
    "direct_award", "framework",
})


@dataclass(frozen=True)
class GoldCase:
    id: str
    split: str
    kind: str
    question: str
    intent: str
    why: str
    voice: str = ""
    attack: str | None = None
    group: str | None = None
    route: str | None = None
    models: tuple[str, ...] = ()
    relevant: dict[str, int] = field(default_factory=dict)


def load_gold(split: str = "all", path: Path = GOLD_PATH) -> list[GoldCase]:
    """The cases of one split ('dev', 'test' or 'all'), in file order."""
    if split not in ("dev", "test", "all"):
        raise ValueError(f"split must be dev, test or all, not {split!r}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    cases = [
        GoldCase(**{**c, "models": tuple(c.get("models") or ()), "relevant": dict(c.get("relevant") or {})})
        for c in raw
    ]
    return [c for c in cases if split == "all" or c.split == split]
