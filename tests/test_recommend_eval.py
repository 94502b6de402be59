"""Recommendation evaluation: hand-computed relevance and simulation cases, then a quick run
end to end on the real ESCO with a small real catalogue slice (what CI exercises)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest

from skillpath.evaluation.baselines import (
    BM25Baseline,
    DenseBaseline,
    PopularityBaseline,
    RandomBaseline,
    oracle_ranking,
)
from skillpath.evaluation.recommend_eval import (
    LabelMatcher,
    grade,
    qrels_for,
    reference_gap,
    relevance,
    tokens,
)
from skillpath.evaluation.simulate import (
    SAMPLE_PATH,
    Learner,
    LearnerSample,
    OccupationInfo,
    SimulationParams,
    held_skills,
    load_sample,
    quick_subset,
    sample_learners,
    save_sample,
    stratum_of,
)

# --------------------------------------------------------------------------- relevance


def test_reference_gap_weights_and_held_skills_leave():
    gap = reference_gap(["e1", "e2", "both"], ["o1", "both"], held=["e2", "o9"])
    assert gap == {"e1": 1.0, "both": 1.0, "o1": 0.3}


def test_relevance_is_the_covered_share_of_the_gap_weight():
    gap = {"e1": 1.0, "e2": 1.0, "o1": 0.3, "o2": 0.3}  # total 2.6
    assert relevance({"e1", "o1", "unrelated"}, gap) == pytest.approx(1.3 / 2.6)
    assert relevance({"o2"}, gap) == pytest.approx(0.3 / 2.6)
    assert relevance(set(), gap) == 0.0
    assert relevance({"e1"}, {}) == 0.0


def test_grade_is_whole_percent_half_up():
    assert grade(0.0) == 0
    assert grade(0.004) == 0
    assert grade(0.005) == 1
    assert grade(1.3 / 2.6) == 50
    assert grade(1.0) == 100
    with pytest.raises(ValueError):
        grade(1.5)


def test_qrels_keep_only_credentials_covering_the_gap():
    gap = {"e1": 1.0, "e2": 1.0, "o1": 0.3, "o2": 0.3}
    reference = {
        "a": frozenset({"e1", "e2"}),  # 2/2.6 = 76.9% -> 77
        "b": frozenset({"o1"}),  # 0.3/2.6 = 11.5% -> 12
        "c": frozenset({"x"}),
    }
    assert qrels_for(gap, reference) == {"a": 77, "b": 12}
    assert qrels_for({}, reference) == {}


def test_label_matcher_one_word_variants_need_to_be_preferred_or_capitalised():
    matcher = LabelMatcher(
        [
            ("py", ["Python (computer programming)", "Python"]),
            ("ground", ["perform ground-handling procedures", "processes"]),
            ("stats", ["statistics", "stats work"]),
        ]
    )
    found = matcher.phrases_in("python and Python; processes and Statistics")
    assert {matcher.phrases[p] for p in found} == {"py", "stats"}
    assert not matcher.phrases_in("python processes")


def test_label_matcher_exact_phrases_only():
    matcher = LabelMatcher(
        [
            ("python", ["Python", "Python programming"]),
            ("sql", ["SQL"]),
            ("mgmt1", ["project management"]),
            ("mgmt2", ["project management", "manage projects"]),  # shared variant: ambiguous
            ("the", ["the"]),  # stop word
            ("ab", ["AB"]),  # too short
        ]
    )
    assert tokens("Café C++ and C#!") == ["cafe", "c++", "and", "c#"]
    found = matcher.phrases_in("We manage projects in Python and SQL; project management.")
    assert {matcher.phrases[p] for p in found} == {"python", "sql", "mgmt2"}
    assert ("project", "management") not in matcher.phrases
    assert not matcher.phrases_in("the ab pythonic")


def test_label_matcher_drops_corpus_stop_phrases():
    matcher = LabelMatcher([("py", ["python"]), ("en", ["english"])])
    texts = {f"c{i}": "taught in english" for i in range(30)}
    texts["c0"] = "python taught in english"
    found = matcher.match_corpus(texts, max_share=0.05)
    assert found["c0"] == frozenset({"py"})
    assert found["c1"] == frozenset()
    assert matcher.stop_phrases == ["english"]


# --------------------------------------------------------------------------- simulation


def test_strata_follow_isco_digits():
    assert stratum_of("2511", "2512") == "near"
    assert stratum_of("2511", "2511") == "near"
    assert stratum_of("2511", "2421") == "mid"
    assert stratum_of("2511", "5120") == "far"
    assert stratum_of(None, "2511") is None
    assert stratum_of("25", "2511") is None


def test_held_skills_dropout_and_noise():
    rng = random.Random(1)
    held, noise, dropped = held_skills({"a", "b", "c"}, ["n1", "n2", "a"], rng, 0.0, 2)
    assert set(held) >= {"a", "b", "c"} and dropped == 0
    assert len(noise) == 2 and set(noise) <= {"n1", "n2"}  # "a" is held, never noise
    assert held == tuple(sorted(held))
    # same seed, same draw; the essential set's order does not matter
    one = held_skills(["x", "y", "z", "w"], ["n"], random.Random(7), 0.5, 1)
    two = held_skills(["w", "z", "y", "x"], ["n"], random.Random(7), 0.5, 1)
    assert one == two
    with pytest.raises(ValueError):
        held_skills({"a"}, [], rng, 1.0, 0)


def _toy_occupations() -> list[OccupationInfo]:
    groups = ["2511", "2512", "2513", "2421", "2422", "5120", "5131", "7111", "9999"]
    occs = []
    for n, group in enumerate(groups):
        for j in range(2):
            essential = frozenset(f"s{n}-{i}" for i in range(6)) | {"shared"}
            occs.append(OccupationInfo(f"o{n}{j}", f"occ {n}{j}", group, essential))
    occs.append(OccupationInfo("tiny", "tiny", "2511", frozenset({"a"})))  # < min_essential
    occs.append(OccupationInfo("noisco", "no isco", None, frozenset(f"q{i}" for i in range(9))))
    return occs


def test_sample_learners_strata_and_reproducibility():
    occs = _toy_occupations()
    by_uri = {o.uri: o for o in occs}
    params = SimulationParams(per_stratum=5, seed=3, dropout=0.3, noise=2, min_essential=5)
    pool = [f"noise{i}" for i in range(20)]
    learners = sample_learners(occs, pool, params)
    assert learners == sample_learners(occs, pool, params)
    assert [le.stratum for le in learners] == ["near"] * 5 + ["mid"] * 5 + ["far"] * 5
    assert len({(le.current_uri, le.target_uri) for le in learners}) == 15
    for le in learners:
        current, target = by_uri[le.current_uri], by_uri[le.target_uri]
        assert "tiny" not in (current.uri, target.uri) and current.uri != target.uri
        assert stratum_of(current.isco_group, target.isco_group) == le.stratum
        kept = set(le.held) - set(le.noise)
        assert kept <= current.essential
        assert len(current.essential) - len(kept) == le.dropped
        assert len(le.noise) == 2 and set(le.noise) <= set(pool)
        assert not target.essential <= set(le.held)  # the gap is never empty


def test_quick_subset_is_balanced_prefix():
    learners = [
        Learner(f"{s}-{i}", s, "c", "c", "t", "t", ())
        for s in ("near", "mid", "far")
        for i in range(10)
    ]
    quick = quick_subset(learners, 20)
    assert [le.id for le in quick] == (
        [f"near-{i}" for i in range(7)]
        + [f"mid-{i}" for i in range(7)]
        + [f"far-{i}" for i in range(6)]
    )


def test_sample_round_trip(tmp_path):
    learners = sample_learners(
        _toy_occupations(), ["n1", "n2", "n3"], SimulationParams(per_stratum=2, seed=1)
    )
    sample = LearnerSample(learners, SimulationParams(per_stratum=2, seed=1), "1.1.1")
    path = save_sample(sample, tmp_path / "s.json")
    back = load_sample(path)
    assert back.learners == learners and back.params == sample.params
    assert json.loads(path.read_text())["strata"] == {"near": 2, "mid": 2, "far": 2}


def test_saved_sample_is_the_documented_one():
    sample = load_sample(SAMPLE_PATH)
    assert sample.params == SimulationParams()
    assert sample.strata == {"near": 100, "mid": 100, "far": 100}
    assert len({le.id for le in sample.learners}) == 300


# --------------------------------------------------------------------------- baselines


def test_oracle_is_greedy_max_coverage():
    gap = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.3}
    reference = {
        "x": frozenset({"a", "b"}),
        "y": frozenset({"b", "c"}),
        "z": frozenset({"c"}),
        "w": frozenset({"d", "zz"}),
        "v": frozenset({"nothing"}),
    }
    # x adds 2.0; then y and z both add c (1.0): the tie goes to the smaller id, y;
    # then w adds d (0.3); then nothing adds anything and the list stops short of k.
    assert oracle_ranking(gap, reference, 10) == ["x", "y", "w"]
    assert oracle_ranking(gap, reference, 1) == ["x"]


def test_simple_baselines():
    pool = ["a", "b", "c", "d"]
    assert RandomBaseline(pool, 1).rank("L1", 3) == RandomBaseline(pool, 1).rank("L1", 3)
    assert sorted(RandomBaseline(pool, 1).rank("L1", 9)) == pool
    pop = PopularityBaseline(pool, {"a": 4.5, "b": 4.9, "c": None}, {"a": 100, "b": 10, "d": 5})
    assert pop.rank(4) == ["a", "b", "c", "d"]  # 450 > 49 > 0 = 0 (ties by id)
    bm25 = BM25Baseline(pool, {"a": "bake bread", "b": "python data analysis", "c": "x", "d": "y"})
    assert bm25.rank("data analyst using python", 2)[0] == "b"
    vectors = {i: np.eye(4, dtype=np.float32)[n] for n, i in enumerate(pool)}
    assert DenseBaseline(pool, vectors).rank(np.array([0, 0, 1, 0.5]), 2) == ["c", "d"]


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def catalogue(engine, shared_dir, tmp_path_factory):
    """A few hundred real credentials, Coursera first (its tags make the tag lens)."""
    folder = tmp_path_factory.mktemp("eval-slice")
    for name, mapping, lines in (
        ("coursera-courses.csv", "coursera", 400),
        ("edx-courses.csv", "edx", 80),
        ("eu-university-modules.csv", "eu-modules", 80),
    ):
        text = (shared_dir / "catalogue" / name).read_text(encoding="utf-8")
        (folder / name).write_text("".join(text.splitlines(keepends=True)[:lines]))
        engine.catalogue.import_file(folder / name, "csv", mapping)
    return engine


def test_quick_evaluate_all_writes_report(catalogue, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    import skillpath.evaluation.recommend_cli
    from skillpath.evaluation.recommend_cli import register

    monkeypatch.setattr(skillpath.evaluation.recommend_cli, "service", lambda: catalogue)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["all", "--quick", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run,) = list(tmp_path.iterdir())
    data = json.loads((run / "results.json").read_text())
    rec = data["recommend"]
    assert rec["learners"]["n"] == 20
    for name in ("tag", "text"):
        lens = rec["lenses"][name]
        assert lens["pool_size"] > 0
        methods = lens["methods"]
        for m in ("skillpath", "skillpath pathway", "bm25", "dense", "popularity", "random"):
            overall = methods[m]["overall"]
            assert 0.0 <= overall["gap_coverage@10"] <= 1.0
            assert set(methods[m]["strata"]) == {"near", "mid", "far"}
        # the upper bound is an upper bound of gap coverage
        for m in methods:
            assert (
                methods[m]["overall"]["gap_coverage@10"]
                <= methods["oracle"]["overall"]["gap_coverage@10"] + 1e-9
            )
    assert "skillpath+tags" in rec["lenses"]["text"]["methods"]
    assert "skillpath+tags" not in rec["lenses"]["tag"]["methods"]
    report = (run / "report.md").read_text()
    assert "tag lens" in report and "text lens" in report and "oracle" in report
    assert (run / "metrics-tag.png").exists() and (run / "coverage-workload-text.png").exists()


def test_skillpath_never_sees_tags_under_the_tag_lens(catalogue):
    from skillpath.evaluation.recommend_eval import SYSTEM_SOURCES, SkillpathRunner, load_catalogue

    data = load_catalogue(catalogue)
    pool = list(data.snapshot.entries)
    runner = SkillpathRunner(catalogue, pool, SYSTEM_SOURCES, 10)
    assert all(
        x.source in SYSTEM_SOURCES for e in runner.snapshot.entries.values() for x in e.links
    )
    assert any(x.source == "tag" for e in data.snapshot.entries.values() for x in e.links)


def test_model_lens_reads_each_credential_once_and_reuses_its_cache(catalogue):
    from skillpath.evaluation.recommend_eval import load_catalogue, model_lens

    data = load_catalogue(catalogue)
    ids = sorted(data.statements)[:30]
    data = replace(data, statements={c: data.statements[c] for c in ids})
    read: list[int] = []

    def extract(texts):
        read.append(len(texts))
        return catalogue.matching.extract_skills_batch(texts)

    lens = model_lens(data, extract, "minilm", chunk=16)
    assert read == [16, 14]
    assert lens.name == "model" and lens.reference
    direct = catalogue.matching.extract_skills_batch([data.statements[c] for c in ids])
    for cid, extraction in zip(ids, direct, strict=True):
        assert lens.reference.get(cid, frozenset()) == frozenset(extraction.uris)
    cached = {c: sorted(lens.reference.get(c, ())) for c in ids}

    def must_not_read(texts):
        raise AssertionError(f"{len(texts)} cached credentials read again")

    again = model_lens(data, must_not_read, "minilm", cached=cached)
    assert again.reference == lens.reference
    assert "30 read from the lens cache" in again.notes[0]


def test_model_lens_sample_is_fixed_and_a_subset(catalogue):
    from skillpath.evaluation.recommend_eval import load_catalogue, sample_statements

    data = load_catalogue(catalogue)
    first = sample_statements(data, 25, seed=3)
    assert len(first.statements) == 25
    assert set(first.statements) <= set(data.statements)
    assert first.statements == sample_statements(data, 25, seed=3).statements
    assert set(first.statements) != set(sample_statements(data, 25, seed=4).statements)
    assert sample_statements(data, None).statements == data.statements
    assert first.texts == data.texts  # the baselines still see the whole catalogue


@pytest.mark.parametrize("command", ["recommend", "all"])
def test_unknown_lens_is_a_usage_error_before_any_work(command, monkeypatch):
    import typer
    from typer.testing import CliRunner

    import skillpath.evaluation.recommend_cli
    from skillpath.evaluation.recommend_cli import register

    def no_service():
        raise AssertionError("the engine was loaded before the options were checked")

    monkeypatch.setattr(skillpath.evaluation.recommend_cli, "service", no_service)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, [command, "--lens", "tag", "--lens", "bogus"])
    assert result.exit_code == 2
    assert "unknown lens 'bogus'" in result.output
