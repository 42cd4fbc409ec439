#!/usr/bin/env python3
"""Train Kompress, the line keep/drop model, from real tool outputs run here; write models/kompress/.

    python scripts/train_kompress.py                 # full: ~450 outputs, a few minutes on 2 CPU cores
    python scripts/train_kompress.py --tiny --out /tmp/k   # a few outputs, seconds (scripts/test)
    python scripts/train_kompress.py --ablate        # the architecture table of the model card

Needs the [ml] extra (torch, transformers). Data and labels: scripts/kompress_data.py (held-out
families and the evaluation corpora never reach training). Deterministic for a seed: fixed threads,
torch.use_deterministic_algorithms, samples in a fixed order.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import torch  # noqa: E402

import kompress_data  # noqa: E402
from headroom_cli.engines.base import query_terms  # noqa: E402
from headroom_cli.kompress.features import encode  # noqa: E402
from headroom_cli.kompress.rules import protected  # noqa: E402
from headroom_cli.kompress.modeling import KompressConfig, KompressModel  # noqa: E402

WINDOW = 600  # lines per training window: long outputs are cut into windows
VAL_SHARE = 0.15
ARCHES = {"features": dict(embed_dim=0, layers=0), "features+ngrams": dict(layers=0),
          "features+ngrams+context": {}}


def setup(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def examples(samples, config: KompressConfig, seed: int) -> list[tuple]:
    """(ids, offsets, features, labels, floor) windows; half the samples get a derived focus query.
    ``floor``: the lines the rules keep whatever the model says (rules.protected), for the threshold."""
    rng = random.Random(seed)
    out = []
    for sample in samples:
        query = kompress_data.derive_query(sample.text, rng) if rng.random() < 0.5 else None
        lines = sample.text.split("\n")
        labels = kompress_data.labels(sample.text, query)
        for start in range(0, len(lines), WINDOW):
            window = lines[start:start + WINDOW]
            terms = query_terms(query)
            ids, offsets, feats = encode(window, terms, config.buckets, config.max_line_bytes)
            out.append((torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(feats),
                        torch.tensor(labels[start:start + WINDOW], dtype=torch.float32),
                        torch.tensor(protected(window, terms), dtype=torch.bool)))
    return out


def train(model: KompressModel, data: list[tuple], epochs: int, seed: int) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    rng = random.Random(seed)
    model.train()
    for epoch in range(epochs):
        order = list(range(len(data)))
        rng.shuffle(order)
        total = 0.0
        for i in order:
            ids, offsets, feats, labels, _ = data[i]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(feats, ids, offsets), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / max(1, len(data)):.4f}", file=sys.stderr)
    model.eval()


@torch.no_grad()
def tune_threshold(model: KompressModel, data: list[tuple]) -> float:
    """The threshold with the best F2 on validation: recall counts twice, as a dropped line the agent
    needed costs a retrieval round while a kept line it did not need costs a few tokens. Scored as
    Headroom keeps lines: the model's verdict or the rules' floor, so lines the rules keep anyway do
    not pull the threshold down."""
    probs = torch.cat([torch.sigmoid(model(f, i, o)) for i, o, f, *_ in data])
    gold = torch.cat([d[3] for d in data]) > 0.5
    floor = torch.cat([d[4] for d in data])
    best = (-1.0, 0.5)
    for t in [x / 20 for x in range(2, 19)]:
        pred = (probs >= t) | floor
        tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
        f2 = 5 * tp / max(1, 5 * tp + 4 * fn + fp)
        best = max(best, (f2, t))
    return best[1]


@torch.no_grad()
def evaluate(model: KompressModel, data: list[tuple]) -> dict:
    tp = fp = fn = kept = lines = 0
    for ids, offsets, feats, labels, _ in data:
        pred = torch.sigmoid(model(feats, ids, offsets)) >= model.config.threshold
        gold = labels > 0.5
        tp += int((pred & gold).sum())
        fp += int((pred & ~gold).sum())
        fn += int((~pred & gold).sum())
        kept += int(pred.sum())
        lines += len(labels)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"lines": lines, "precision": round(precision, 3), "recall": round(recall, 3),
            "f1": round(2 * precision * recall / max(1e-9, precision + recall), 3),
            "kept_share": round(kept / max(1, lines), 3), "threshold": model.config.threshold,
            "gold_share": round(sum(int(d[3].sum()) for d in data) / max(1, lines), 3)}


def split(samples) -> tuple[list, list]:
    """Held-out families out; the rest split by command (a stable hash), so val is unseen outputs."""
    usable = [s for s in samples if not s.family.startswith("heldout:")]
    val = [s for s in usable if int(kompress_data.hashlib.sha256(s.command.encode()).hexdigest(), 16) % 100
           < VAL_SHARE * 100]
    return [s for s in usable if s not in val] or usable, val or usable[-1:]


def build(args, arch: dict) -> tuple[KompressModel, dict]:
    setup(args.seed)
    config = KompressConfig(**({"buckets": 1024} if args.tiny else {}), **arch)
    samples = kompress_data.collect(tiny=args.tiny)
    train_s, val_s = split(samples)
    started = time.perf_counter()
    train_d, val_d = examples(train_s, config, args.seed), examples(val_s, config, args.seed + 1)
    model = KompressModel(config)
    train(model, train_d, args.epochs, args.seed)
    model.config.threshold = tune_threshold(model, val_d)
    metrics = {"train_outputs": len(train_s), "val_outputs": len(val_s),
               "families": sorted({s.family for s in train_s}), "val": evaluate(model, val_d),
               "train_seconds": round(time.perf_counter() - started, 1), "seed": args.seed, "epochs": args.epochs}
    return model, metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "models" / "kompress")
    ap.add_argument("--tiny", action="store_true", help="a few samples, 2 epochs: proves the script runs")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--arch", choices=sorted(ARCHES), default="features+ngrams+context")
    ap.add_argument("--ablate", action="store_true", help="train each architecture, print val metrics, write nothing")
    args = ap.parse_args()
    args.epochs = args.epochs or (2 if args.tiny else 8)
    if args.ablate:
        for name, arch in ARCHES.items():
            _, metrics = build(args, arch)
            print(json.dumps({"arch": name, **metrics["val"], "train_seconds": metrics["train_seconds"]}))
        return
    model, metrics = build(args, ARCHES[args.arch])
    metrics["arch"] = args.arch
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    print(json.dumps(metrics["val"]))


if __name__ == "__main__":
    main()
