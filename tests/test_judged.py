"""The judged evaluation: metrics computed by hand on toy cases, judgment files (JSON and
TREC qrels) and their merging, significance tests, duplicate folding, and the command end to
end over a real (small) catalogue through the facade."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from skillpath.engine.catalogue.duplicates import (
    DuplicateKeys,
    canonical_ids,
    duplicate_groups,
    normalise_url,
)
from skillpath.evaluation.judged import (
    Case,
    JudgedFormatError,
    case_metrics,
    load_judgments,
    merge_judgments,
    ndcg_at,
    paired_significance,
    parse_qrels,
    plot_judged,
    precision_at,
    score_runs,
    unjudged_at,
)

GRADES = {"a": 3, "b": 2, "c": 0, "d": 1}


def test_ndcg_matches_a_hand_computation():
    ranked = ["c", "a", "x", "b"]
    # gains 2^g - 1: c 0, a 7, x (unjudged) 0, b 3; ideal order a b d c: 7, 3, 1, 0
    dcg = 7 / math.log2(3) + 3 / math.log2(5)
    ideal = 7 + 3 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, GRADES, 10) == pytest.approx(dcg / ideal)
    # @2 keeps only c and a; the ideal only a and b
    assert ndcg_at(ranked, GRADES, 2) == pytest.approx((7 / math.log2(3)) / (7 + 3 / math.log2(3)))
    assert ndcg_at(["a", "b", "d", "c"], GRADES, 10) == pytest.approx(1.0)
    assert ndcg_at(["a"], {"a": 0, "b": 0}, 10) == 0.0  # nothing relevant: 0, not a NaN


def test_precision_at_5_counts_grade_two_or_more_over_five_slots():
    assert precision_at(["a", "b", "c", "d", "x"], GRADES, 5) == pytest.approx(2 / 5)
    assert precision_at(["a"], GRADES, 5) == pytest.approx(1 / 5)  # a short list: no bonus
    assert precision_at(["d", "c"], GRADES, 5) == 0.0


def test_unjudged_share_of_the_top_ten():
    assert unjudged_at(["a", "x", "y"], GRADES, 10) == pytest.approx(2 / 3)
    ranked = [f"u{i}" for i in range(12)]
    assert unjudged_at(ranked, GRADES, 10) == 1.0
    assert unjudged_at([], GRADES, 10) == 0.0
    m = case_metrics(["a", "x", "b", "y"], GRADES)
    assert m["unjudged@10"] == pytest.approx(0.5)


def test_duplicates_fold_onto_one_course():
    grades = {"src1:c": 3, "src2:c": 3, "b": 2}
    canonical = {"src1:c": "src1:c", "src2:c": "src1:c"}
    # A list naming both copies earns the course once; the ideal counts the course once too.
    both = case_metrics(["src2:c", "src1:c", "b"], grades, canonical)
    assert both["nDCG@10"] == pytest.approx(1.0)
    assert both["P@5"] == pytest.approx(2 / 5)
    # Ranking the other copy earns the same grade.
    assert case_metrics(["src2:c", "b"], grades, canonical)["nDCG@10"] == pytest.approx(1.0)
    unfolded = case_metrics(["src1:c", "b"], grades)
    assert unfolded["nDCG@10"] < 1.0  # without folding the second copy is "missing"


def test_qrels_parsing_and_format_detection(tmp_path):
    text = "# comment\nd01 0 coursera:learn/x 3\nd01 0 edx:y 0\n\nd02 Q0 eu-modules:7 2\n"
    assert parse_qrels(text) == {
        "d01": {"coursera:learn/x": 3, "edx:y": 0},
        "d02": {"eu-modules:7": 2},
    }
    qrels, as_json = tmp_path / "run.qrels", tmp_path / "j.json"
    qrels.write_text(text)
    as_json.write_text(json.dumps({"d01": {"coursera:learn/x": 3, "edx:y": 0}}))
    assert load_judgments(qrels)["d01"] == load_judgments(as_json)["d01"]
    with pytest.raises(JudgedFormatError, match="line 1: expected 4 fields"):
        parse_qrels("d01 0 x\n", "bad.qrels")
    with pytest.raises(JudgedFormatError, match="line 2: grade '5'"):
        parse_qrels("d01 0 x 1\nd01 0 y 5\n", "bad.qrels")
    with pytest.raises(JudgedFormatError, match="graded twice"):
        parse_qrels("d01 0 x 1\nd01 0 x 2\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"d01": {"x": "high"}}')
    with pytest.raises(JudgedFormatError, match="d01 / x: grade 'high' is not a number"):
        load_judgments(bad)


def test_merged_files_never_overwrite_a_given_grade():
    given = {"d01": {"a": 3, "b": 0}}
    extra = {"d01": {"a": 0, "c": 2}, "d02": {"z": 1}}
    merged = merge_judgments([("given", given), ("extra", extra)])
    assert merged.grades == {"d01": {"a": 3, "b": 0, "c": 2}, "d02": {"z": 1}}
    assert merged.added == {"given": 2, "extra": 2}
    assert merged.conflicts == [
        {"case": "d01", "credential": "a", "kept": 3, "ignored": 0, "file": "extra"}
    ]
    assert given == {"d01": {"a": 3, "b": 0}}  # inputs untouched


def test_significance_returns_sane_p_values():
    rng = np.random.default_rng(7)
    base = rng.uniform(0.2, 0.6, 30)
    better = paired_significance(base + 0.25 + rng.normal(0, 0.05, 30), base)
    assert better["wins"] == 30 and better["mean_diff"] > 0.2
    for key in ("p_t", "p_wilcoxon", "p_permutation"):
        assert 0 <= better[key] < 0.01
    same = paired_significance(base, base)
    assert same["ties"] == 30 and same["p_t"] == same["p_wilcoxon"] == 1.0
    noise = paired_significance(base + np.tile([0.05, -0.05], 15), base)
    for key in ("p_t", "p_wilcoxon", "p_permutation"):
        assert 0.5 <= noise[key] <= 1.0  # a zero mean difference is not significant
    with pytest.raises(ValueError, match="differ in length"):
        paired_significance([1.0, 2.0], [1.0])


def test_score_runs_and_plot(tmp_path):
    cases = [Case("d1", "", "", "x"), Case("d2", "", "", "y")]
    grades = {"d1": {"a": 3, "b": 1}, "d2": {"c": 2}}
    runs = {"skillpath": {"d1": ["a", "b"], "d2": ["z"]}, "bm25": {"d1": ["b"], "d2": ["c"]}}
    means, per_case, sig = score_runs(runs, cases, grades)
    assert per_case["skillpath"]["d1"]["nDCG@10"] == pytest.approx(1.0)
    assert per_case["skillpath"]["d2"]["nDCG@10"] == 0.0
    assert means["bm25"]["nDCG@10"] == pytest.approx((1 / (7 + 1 / math.log2(3)) + 1.0) / 2)
    assert set(sig) == {"bm25"} and sig["bm25"]["nDCG@10"]["n"] == 2

    from skillpath.evaluation.judged import JudgedResult

    result = JudgedResult(2, 3, ["j"], means, per_case, sig, "skillpath", dict(runs), [], {})
    png = plot_judged(result, tmp_path / "judged.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- duplicates


def test_duplicate_groups_by_url_and_by_language_copy():
    keys = [
        DuplicateKeys(
            "coursera:learn/a", "https://www.coursera.org/learn/a", "A", "X", ("en",), 10
        ),
        DuplicateKeys(
            "coursera-descriptions:learn/a",
            "https://coursera.org/learn/a/?x=1",
            "A",
            "X",
            ("en",),
            50,
        ),
        DuplicateKeys("edx:b-es", "https://edx.org/es/course/b", "Curso B", "Uni", ("es",), 99),
        DuplicateKeys("edx:b-en", "https://edx.org/course/b-en", "Curso B", "Uni", ("en",), 5),
        DuplicateKeys("u:c1", "https://u.eu/c1", "Capstone Project", "Uni", ("en",)),
        DuplicateKeys("u:c2", "https://u.eu/c2", "Capstone Project", "Uni", ("en",)),
        DuplicateKeys("v:n", None, "Capstone Project", None, ("fr",)),
    ]
    groups = duplicate_groups(keys)
    # the copy with more text wins among English ones; English beats a longer Spanish copy
    assert groups == {
        "coursera-descriptions:learn/a": ("coursera-descriptions:learn/a", "coursera:learn/a"),
        "edx:b-en": ("edx:b-en", "edx:b-es"),
    }
    assert canonical_ids(groups)["coursera:learn/a"] == "coursera-descriptions:learn/a"
    assert normalise_url("HTTPS://www.Coursera.org/learn/a/#top") == "coursera.org/learn/a"
    assert normalise_url("not a url") is None
    assert duplicate_groups(reversed(keys)) == groups  # order of the input does not matter


@pytest.fixture(scope="module")
def small_catalogue(engine, shared_dir):
    """Forty real edX courses, plus the first one again under a second source (same URL)."""
    from skillpath.engine.catalogue.csv_import import load_mapping, read_csv_catalogue
    from skillpath.engine.catalogue.records import MicroCredential

    path = shared_dir / "catalogue" / "edx-courses.csv"
    records = [
        i
        for i in itertools.islice(read_csv_catalogue(path, load_mapping("edx")), 80)
        if isinstance(i, MicroCredential) and i.url
    ][:40]
    engine.catalogue.import_stream(records, "edx")
    copy = MicroCredential.model_validate({**records[0].model_dump(), "source": "edx-mirror"})
    engine.catalogue.import_stream([copy], "edx-mirror")
    return records[0], copy


def test_two_copies_rank_once_and_both_ids_resolve(engine, small_catalogue):
    from skillpath.engine.recommendation import RecommendationRequest

    original, copy = small_catalogue
    canonical = engine.catalogue.canonical_ids()
    assert canonical[original.id] == canonical[copy.id]
    for cid in (original.id, copy.id):
        assert engine.catalogue.get(cid).record.title == original.title
    hits = engine.catalogue.search(original.title, k=10)
    ids = [cid for cid, _ in hits]
    assert len(set(ids)) == len(ids)
    # Other tests of the session may have imported a third copy of the course, so the group
    # is compared by its canonical id, which may be that third copy's.
    group = canonical[original.id]
    assert sum(1 for cid in ids if canonical.get(cid, cid) == group) == 1
    response = engine.recommend(RecommendationRequest(target=original.title, k=40))
    listed = [item for item in response.ranking.items if canonical.get(item.id, item.id) == group]
    assert len(listed) <= 1
    for item in listed:
        other = copy.id if item.id == original.id else original.id
        assert other in item.also_as and item.id not in item.also_as


def test_evaluate_judged_command_end_to_end(engine, small_catalogue, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from skillpath.evaluation import cli as eval_cli

    original, copy = small_catalogue
    cases = [
        {
            "id": "t1",
            "occupation": "shop assistant",
            "text": "I serve customers",
            "target": original.title,
        }
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "given.json").write_text(json.dumps({"t1": {copy.id: 3}}))
    (tmp_path / "extra.qrels").write_text(f"t1 0 {copy.id} 0\n")
    monkeypatch.setattr(eval_cli, "service", lambda: engine)
    out = tmp_path / "unjudged.json"
    args = [
        "judged",
        "--cases",
        str(tmp_path / "cases.json"),
        "--judgments",
        str(tmp_path / "given.json"),
        "--judgments",
        str(tmp_path / "extra.qrels"),
        "--method",
        "dense",
        "--method",
        "bm25",
        "--unjudged-out",
        str(out),
        "--results",
        str(tmp_path),
        "--json",
    ]
    result = CliRunner().invoke(eval_cli.evaluate_app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(data["methods"]) == {"dense", "bm25"}
    # the course was graded 3 under its other id: the dense hit on the canonical id counts
    assert data["per_case"]["dense"]["t1"]["nDCG@10"] > 0.5
    assert data["conflicts"][0]["kept"] == 3
    pooled = json.loads(out.read_text())
    assert pooled and all(set(p) >= {"case", "credential", "title", "excerpt"} for p in pooled)
    assert all("method" not in p for p in pooled)
    judged_ids = {original.id, copy.id}
    assert not judged_ids & {p["credential"] for p in pooled}
    assert list(Path(tmp_path).glob("judged-*/judged.png"))
    bad = CliRunner().invoke(eval_cli.evaluate_app, ["judged", "--method", "nope"])
    assert bad.exit_code == 1 and "unknown method" in bad.output


def test_saved_pool_runs_reproduce_the_published_dev_numbers(shared_dir, tmp_path):
    """The shared README states each pooled system's nDCG@10 on the dev set; scoring the
    pool-runs file with this module must give the same numbers (to its 3 decimals)."""
    from typer.testing import CliRunner

    from skillpath.evaluation import cli as eval_cli

    bench = shared_dir / "bench" / "recommendations"
    runs, given = bench / "pool-runs-2026-12-02.json", bench / "judgments.json"
    args = ["judged", "--runs", str(runs), "--judgments", str(given)]
    args += ["--results", str(tmp_path), "--no-plot", "--json"]
    result = CliRunner().invoke(eval_cli.evaluate_app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    ndcg = {m: round(v["nDCG@10"], 3) for m, v in data["methods"].items()}
    assert ndcg == {"skillpath": 0.282, "bm25": 0.356, "dense": 0.651, "dense_occ": 0.587}
    assert data["judged_pairs"] == 1454
    assert data["significance"]["dense"]["nDCG@10"]["p_t"] < 0.001


def test_trec_run_files_are_read_in_rank_order(tmp_path):
    from skillpath.evaluation.judged import load_runs

    path = tmp_path / "run.txt"
    path.write_text("d01 Q0 b 2 0.5 mine\nd01 Q0 a 1 0.9 mine\nd02 Q0 c 1 0.1 other\n")
    assert load_runs(path) == {"mine": {"d01": ["a", "b"]}, "other": {"d02": ["c"]}}
    path.write_text("d01 Q0 b two 0.5 mine\n")
    with pytest.raises(JudgedFormatError, match="line 1: rank 'two'"):
        load_runs(path)
