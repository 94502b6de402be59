"""Two checks behind docs/benchmarks.md's "New features, cross-validated" (research).

Not packaged. Reads the feature cache of experiments/recommend_tuning.py (run that first):

* pool recall: how many items graded 2 and 3 the candidate pool holds, and the nDCG@10 of
  the pool ordered by the true grades (an upper bound for any re-ordering);
* query templates: the title feature recomputed with templated queries ("skills for a
  {title}", ...) instead of the typed title, with the shipped weights and alone.

    SKILLPATH_HOME=/tmp/rankfull SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        .venv/bin/python experiments/rank_pool_checks.py
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recommend_tuning import BENCH, CACHE  # noqa: E402

from skillpath.engine.relevance import FEATURES, RelevanceWeights  # noqa: E402
from skillpath.engine.service import Skillpath  # noqa: E402
from skillpath.evaluation.judged import (  # noqa: E402
    case_metrics,
    fold_grades,
    load_cases,
    load_judgments,
    merge_judgments,
)
from skillpath.models.encoder import load_encoder  # noqa: E402

TEMPLATES = (
    "{t}",
    "{t} course",
    "skills for a {t}",
    "how to become a {t}",
    "{t} training: the skills and knowledge a {t} needs",
    "{t} professional certificate",
)


def top10(ids: list[str], scores: np.ndarray) -> list[str]:
    s = np.round(scores, 9)
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-s[i], ids[i]))[:10]]


def main() -> None:
    cases = load_cases(BENCH / "cases.json")
    files = [("judgments.json", load_judgments(BENCH / "judgments.json"))]
    extra = Path("bench/judgments-extra.json")
    if extra.exists():
        files.append((extra.name, load_judgments(extra)))
    grades = merge_judgments(files).grades
    data = pickle.loads(CACHE.read_bytes())
    canonical = Skillpath().catalogue.canonical_ids()

    found = {2: [0, 0], 3: [0, 0]}
    oracle = []
    for c in cases:
        g = fold_grades(grades.get(c.id, {}), canonical)
        pool = {canonical.get(i, i) for i in data[c.id]["ids"]}
        for cid, grade in g.items():
            if grade >= 2:
                found[grade][0] += 1
                found[grade][1] += cid in pool
        order = sorted(data[c.id]["ids"], key=lambda i: -g.get(canonical.get(i, i), 0))
        oracle.append(case_metrics(order, grades.get(c.id, {}), canonical)["nDCG@10"])
    print(
        f"graded 2 in the pool: {found[2][1]} of {found[2][0]}; graded 3: {found[3][1]} of "
        f"{found[3][0]}; pool ordered by the grades: nDCG@10 {np.mean(oracle):.3f}"
    )

    minilm = load_encoder("minilm")
    w, title = RelevanceWeights().vector(), FEATURES.index("title")
    alone = np.eye(len(FEATURES))[title]
    for template in TEMPLATES:
        q = minilm.encode_queries([template.format(t=c.target) for c in cases])
        summed, single = [], []
        for qi, c in enumerate(cases):
            d = data[c.id]
            X = d["X"].copy()
            X[:, title] = np.stack([d["vectors"][i] for i in d["ids"]]) @ q[qi]
            for weights, out in ((w, summed), (alone, single)):
                ranked = top10(d["ids"], X @ weights)
                out.append(case_metrics(ranked, grades.get(c.id, {}), canonical)["nDCG@10"])
        print(
            f"{template:52s} shipped weights {np.mean(summed):.3f}  title alone "
            f"{np.mean(single):.3f}"
        )


if __name__ == "__main__":
    main()
