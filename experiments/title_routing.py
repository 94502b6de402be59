"""How should a title be routed between the English and the non-English title weights? (research)

Not packaged. The shipped title model (``models/artifacts/titles-minilm+e5.npz``) reads the
same features for every title and picks the ``english`` or the ``other`` weights by the
language detector's p(English) at ``english_at`` (0.5). On JobBERT validation that sends many
English vacancy titles to the ``other`` weights (py3langid sees few English cues in "Marketing
Executive"), which cost MRR against the English-only model. This compares, on JobBERT
validation and the six MELO dev files, in one run: the hard switch at several thresholds and a
soft mix ``p * english + (1 - p) * other`` of the two probabilities.

    SKILLPATH_HOME=<built home> SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        .venv/bin/python experiments/title_routing.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from skillpath.engine.config import Settings
from skillpath.engine.service import Skillpath
from skillpath.models.language import detect

parser = argparse.ArgumentParser()
parser.add_argument("--limit", type=int, default=None, help="first N titles of each file")
args = parser.parse_args()

settings = Settings()
bench = Path(settings.shared_dir) / "bench" / "job-titles"
files = [bench / "jobbert-validation.csv", *sorted((bench / "melo").glob("*.csv"))]
service = Skillpath(settings)
matcher = service.matching.occupation_matcher
model = matcher.model
assert model is not None and matcher.partner is not None, "needs the learned model and e5"
position = {o.uri: i for i, o in enumerate(matcher.occupations)}
VARIANTS = ("hard@0.5", "hard@0.3", "hard@0.1", "english", "other", "soft")

for path in files:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [
            (r["vacancyTitle"].strip(), r["conceptUri"].strip())
            for r in csv.DictReader(fh)
            if r["vacancyTitle"].strip() and r["conceptUri"].strip() in position
        ]
    rows = rows[: args.limit] if args.limit else rows
    titles = [t for t, _ in rows]
    gold = np.asarray([position[u] for _, u in rows])
    p_en = np.asarray([detect(t).p_english for t in titles])
    rr = {v: [] for v in VARIANTS}
    for start in range(0, len(titles), 1000):
        part = titles[start : start + 1000]
        v = matcher.encoder.encode_queries(part)
        pv = matcher.encode_partner(part)
        feats = matcher.features(part, v, pv)
        en = model.english.probability(model.english.logit(feats))
        ot = model.other.probability(model.other.logit(feats))
        p = p_en[start : start + 1000, None]
        scores = {
            "hard@0.5": np.where(p >= 0.5, en, ot),
            "hard@0.3": np.where(p >= 0.3, en, ot),
            "hard@0.1": np.where(p >= 0.1, en, ot),
            "english": en,
            "other": ot,
            "soft": p * en + (1 - p) * ot,
        }
        g = gold[start : start + 1000]
        for name, s in scores.items():
            right = s[np.arange(len(g)), g][:, None]
            rank = 1 + (s > right).sum(axis=1)
            rr[name].extend((1.0 / rank).tolist())
    share = float((p_en >= 0.5).mean())
    line = " ".join(f"{n} {np.mean(rr[n]):.3f}" for n in VARIANTS)
    print(f"{path.name:28s} n={len(titles):5d} p_en>=0.5 {share:.2f} | MRR {line}", flush=True)
