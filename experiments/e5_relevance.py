"""Does the multilingual e5 encoder order judged courses better than MiniLM? (research)

Not packaged. For each development case, every judged credential (the shared judgments plus
bench/judgments-extra.json) is scored by the cosine of the typed target title to the
credential's text (``credential_text``, what the catalogue vectors encode), once with MiniLM
and once with e5 (query/passage prefixes), and the judged pool is ranked by it. The metric is
nDCG@10 over judged items only ("condensed" lists, Sakai 2007): it compares the two encoders'
orderings without the pool bias of unjudged items. A blend (MiniLM + w * e5) is shown for a
few w, as a hint of what an e5 feature could add to the relevance ranking.

    SKILLPATH_HOME=/tmp/rankfull SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        .venv/bin/python experiments/e5_relevance.py
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.catalogue.vectors import credential_text
from skillpath.engine.config import Settings
from skillpath.evaluation.judged import case_metrics, load_cases, load_judgments, merge_judgments
from skillpath.models.encoder import load_encoder

settings = Settings()
bench = Path(settings.shared_dir) / "bench" / "recommendations"
cases = load_cases(bench / "cases.json")
files = [bench / "judgments.json", Path("bench/judgments-extra.json")]
grades = merge_judgments([(str(f), load_judgments(f)) for f in files]).grades
conn = sqlite3.connect(Path(settings.home) / "skillpath.sqlite")
texts: dict[str, str] = {}
for cid, record in conn.execute("SELECT id, record FROM credentials"):
    texts[cid] = credential_text(MicroCredential.model_validate_json(record))
ids = sorted({cid for case in cases for cid in grades.get(case.id, {}) if cid in texts})
print(f"{len(cases)} cases, {len(ids)} judged credentials in this home")
vectors, queries = {}, {}
for name in ("minilm", "e5"):
    encoder = load_encoder(name)
    vectors[name] = dict(zip(ids, encoder.encode_documents([texts[i] for i in ids]), strict=True))
    queries[name] = encoder.encode_queries([case.target for case in cases])
rows = []
for w in (None, 0.0, 0.5, 1.0, 2.0):
    per_case = []
    for qi, case in enumerate(cases):
        judged = [cid for cid in grades.get(case.id, {}) if cid in texts]
        mini = np.asarray([vectors["minilm"][c] @ queries["minilm"][qi] for c in judged])
        e5 = np.asarray([vectors["e5"][c] @ queries["e5"][qi] for c in judged])
        score = e5 if w is None else mini + w * e5
        order = [judged[i] for i in np.argsort(-score, kind="stable")]
        per_case.append(case_metrics(order, grades[case.id])["nDCG@10"])
    label = "e5 alone" if w is None else f"minilm + {w} * e5"
    rows.append((label, float(np.mean(per_case)), per_case))
for label, mean, _ in rows:
    print(f"{label:18s} condensed nDCG@10 {mean:.3f}")
out = Path("results") / "e5_relevance.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps({label: per for label, _, per in rows}, indent=1))
