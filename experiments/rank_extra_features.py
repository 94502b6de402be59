"""Would new relevance features beat the shipped ones? Cross-validated over cases (research).

Not packaged. Reads the feature cache of experiments/recommend_tuning.py (run that first, on
the same home) and adds candidate features for every pooled credential:

``e5_title``    e5 cosine of the typed title (query prefix) to the credential text (passage);
``e5_occ``      e5 cosine of the resolved occupation's label + description to the text;
``ctitle``      MiniLM cosine of the typed title to the course *title* alone;

then tunes the weighted sum by coordinate ascent on nDCG@10 with k-fold cross-validation over
cases (weights learnt on training folds only), repeated over several fold seeds to show how
stable the gain is, and prints the paired per-case difference to the shipped weights.

    SKILLPATH_HOME=/tmp/rankfull SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        .venv/bin/python experiments/rank_extra_features.py
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recommend_tuning import BENCH, CACHE, folds_of  # noqa: E402
from recommend_tuning import GRID as TUNING_GRID  # noqa: E402

from skillpath.engine.catalogue.records import MicroCredential  # noqa: E402
from skillpath.engine.catalogue.vectors import credential_text  # noqa: E402
from skillpath.engine.config import Settings  # noqa: E402
from skillpath.engine.relevance import FEATURES, RelevanceWeights  # noqa: E402
from skillpath.evaluation.judged import (  # noqa: E402
    case_metrics,
    load_cases,
    load_judgments,
    merge_judgments,
)
from skillpath.models.encoder import load_encoder  # noqa: E402

EXTRA = ("e5_title", "e5_occ", "ctitle", "beginner", "popular", "hours")
ALL = (*FEATURES, *EXTRA)
E5_CACHE = Path("/tmp/rank_e5.pkl")
GRID = {
    **TUNING_GRID,
    "e5_title": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0],
    "e5_occ": [0.0, 0.25, 0.5, 1.0],
    "ctitle": [0.0, 0.1, 0.25, 0.5],
    "beginner": [0.0, 0.02, 0.05, 0.1, 0.2],
    "popular": [0.0, 0.02, 0.05, 0.1, 0.2],
    "hours": [0.0, 0.02, 0.05, 0.1, 0.2],
}


def record_features(data: dict, cases, settings) -> dict:  # noqa: ANN001
    """Per case: (beginner, popular, hours) of each pooled credential, from its record.

    ``beginner``: 1 for a beginner/introductory level, 0 for advanced, 0.5 otherwise;
    ``popular``: log(1 + reviews) / log(1 + the most reviews in the pool);
    ``hours``: min(1, log(1 + hours) / log(1 + 200)), 0.3 when unknown (short projects are
    often judged too narrow for a career move)."""
    conn = sqlite3.connect(Path(settings.home) / "skillpath.sqlite")
    wanted = {cid for c in cases for cid in data[c.id]["ids"]}
    info = {}
    for cid, record in conn.execute("SELECT id, record FROM credentials"):
        if cid not in wanted:
            continue
        rec = json.loads(record)
        level = (rec.get("level_text") or "").lower() + " " + rec["title"].lower()
        if any(w in level for w in ("beginner", "introduct", "foundation", "fundamental")):
            beginner = 1.0
        elif "advanced" in level:
            beginner = 0.0
        else:
            beginner = 0.5
        hours = rec.get("hours") or ((rec.get("ects") or 0) * 27) or None
        info[cid] = (
            beginner,
            float(rec.get("review_count") or 0),
            0.3 if not hours else min(1.0, float(np.log1p(hours) / np.log1p(200))),
        )
    out = {}
    for case in cases:
        rows = np.asarray([info.get(cid, (0.5, 0.0, 0.3)) for cid in data[case.id]["ids"]])
        rows[:, 1] = np.log1p(rows[:, 1]) / max(np.log1p(rows[:, 1].max()), 1e-9)
        out[case.id] = rows
    return out


def extra_features(data: dict, cases, settings) -> dict:  # noqa: ANN001
    """Per case: the EXTRA feature matrix aligned with data[case]['ids'] (cached)."""
    if E5_CACHE.exists():
        return pickle.loads(E5_CACHE.read_bytes())
    from skillpath.engine.service import Skillpath

    service = Skillpath(settings)
    conn = sqlite3.connect(Path(settings.home) / "skillpath.sqlite")
    wanted = {cid for c in cases for cid in data[c.id]["ids"]}
    texts, titles = {}, {}
    for cid, record in conn.execute("SELECT id, record FROM credentials"):
        if cid in wanted:
            rec = MicroCredential.model_validate_json(record)
            texts[cid], titles[cid] = credential_text(rec), rec.title
    ids = sorted(texts)
    print(f"encoding {len(ids)} pooled credentials with e5 …", file=sys.stderr)
    e5, mini = load_encoder("e5"), load_encoder("minilm")
    docs_file = E5_CACHE.with_suffix(".docs.npy")
    if docs_file.exists():
        matrix = np.load(docs_file)
    else:
        matrix = e5.encode_documents([texts[i] for i in ids], progress=_progress(len(ids)))
        np.save(docs_file, matrix)
    doc = dict(zip(ids, matrix, strict=True))
    tvec = dict(zip(ids, mini.encode_documents([titles[i] for i in ids]), strict=True))
    out = {}
    for case in cases:
        occ = service.resolve_target(case.target)
        o = service.store.occupation(occ.occupation_uri)
        occ_text = f"{o.preferred_label}. {o.description or ''}"[:1000]
        q_title, q_occ = e5.encode_queries([case.target, occ_text])
        m_title = mini.encode_queries([case.target])[0]
        rows = []
        for cid in data[case.id]["ids"]:
            if cid in doc:
                rows.append([doc[cid] @ q_title, doc[cid] @ q_occ, tvec[cid] @ m_title])
            else:
                rows.append([0.0, 0.0, 0.0])
        out[case.id] = np.asarray(rows, dtype=np.float64)
    E5_CACHE.write_bytes(pickle.dumps(out))
    return out


def _progress(total: int):  # noqa: ANN202
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        print(f"  e5 {done[0]}/{total}", file=sys.stderr, flush=True)

    return tick


def rank(X: np.ndarray, ids: list[str], w: np.ndarray) -> list[str]:
    scores = np.round(X @ w, 9)
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))[:10]]


def per_case(w, data, grades, canonical, case_ids) -> list[float]:  # noqa: ANN001
    return [
        case_metrics(rank(data[c]["XX"], data[c]["ids"], w), grades.get(c, {}), canonical)[
            "nDCG@10"
        ]
        for c in case_ids
    ]


def ascent(data, grades, canonical, case_ids, start, names, rounds=2):  # noqa: ANN001, ANN201
    w = start.copy()
    best = float(np.mean(per_case(w, data, grades, canonical, case_ids)))
    for _ in range(rounds):
        for name in names:
            j = ALL.index(name)
            for value in GRID[name]:
                trial = w.copy()
                trial[j] = value
                score = float(np.mean(per_case(trial, data, grades, canonical, case_ids)))
                if score > best + 1e-6:
                    best, w = score, trial
    return w


def main() -> None:
    settings = Settings()
    cases = load_cases(BENCH / "cases.json")
    files = [("judgments.json", load_judgments(BENCH / "judgments.json"))]
    extra = Path("bench/judgments-extra.json")
    if extra.exists():
        files.append((extra.name, load_judgments(extra)))
    grades = merge_judgments(files).grades
    data = pickle.loads(CACHE.read_bytes())
    feats = extra_features(data, cases, settings)
    meta = record_features(data, cases, settings)
    for c in cases:
        data[c.id]["XX"] = np.hstack([data[c.id]["X"], feats[c.id], meta[c.id]])
    from skillpath.engine.service import Skillpath

    canonical = Skillpath(settings).credential_canonical_ids()
    case_ids = [c.id for c in cases]
    shipped = np.concatenate([RelevanceWeights().vector(), np.zeros(len(EXTRA))])
    base = per_case(shipped, data, grades, canonical, case_ids)
    print(f"shipped weights (no extra)        nDCG@10 {np.mean(base):.3f}")
    for name in EXTRA:
        w = np.zeros(len(ALL))
        w[ALL.index(name)] = 1.0
        print(
            f"feature {name:10s} alone          nDCG@10 "
            f"{np.mean(per_case(w, data, grades, canonical, case_ids)):.3f}"
        )
    variants = {
        "shipped features, re-tuned": FEATURES,
        "+ e5_title": (*FEATURES, "e5_title"),
        "+ e5_title, e5_occ": (*FEATURES, "e5_title", "e5_occ"),
        "+ ctitle": (*FEATURES, "ctitle"),
        "+ beginner, popular, hours": (*FEATURES, "beginner", "popular", "hours"),
        "+ e5_title, beginner, popular, hours": (
            *FEATURES,
            "e5_title",
            "beginner",
            "popular",
            "hours",
        ),
        "+ all extra": ALL,
    }
    for label, names in variants.items():
        scores, deltas, weights = [], [], []
        for seed in range(3):
            runs = {}
            for test in folds_of(case_ids, 5, seed):
                train = [c for c in case_ids if c not in test]
                w = ascent(data, grades, canonical, train, shipped, names)
                weights.append(w)
                for c in test:
                    runs[c] = per_case(w, data, grades, canonical, [c])[0]
            s = [runs[c] for c in case_ids]
            scores.append(np.mean(s))
            deltas.append(np.asarray(s) - np.asarray(base))
        d = np.concatenate(deltas)
        wmean = np.round(np.mean(weights, 0), 2)
        shown = {n: float(wmean[ALL.index(n)]) for n in names if n != "title"}
        print(
            f"{label:30s} CV5x3 nDCG@10 {np.mean(scores):.3f} (seeds {np.round(scores, 3)}) "
            f"Δ vs shipped {d.mean():+.3f}, cases better/worse "
            f"{(d > 1e-9).sum() / 3:.0f}/{(d < -1e-9).sum() / 3:.0f}\n    weights {shown}"
        )
    full = ascent(data, grades, canonical, case_ids, shipped, ALL)
    print("all cases, all features:", {n: round(float(full[i]), 2) for i, n in enumerate(ALL)})


if __name__ == "__main__":
    main()
