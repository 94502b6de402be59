"""``skillpath batch``: local and Ray engines on the real ESCO index and real catalogue rows.

The Ray tests start a real local cluster (2 CPUs, no dashboard) once for the module.
"""

from __future__ import annotations

import csv
import json
import os
import signal

import pytest


@pytest.fixture(scope="module")
def batch_engine(engine, shared_dir, tmp_path_factory):
    """The session engine with 80 real Coursera rows imported (the first of the file)."""
    source = shared_dir / "catalogue" / "coursera-courses.csv"
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for i, row in enumerate(reader) if i < 80]
    path = tmp_path_factory.mktemp("batch-slice") / "coursera-courses.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    engine.catalogue.import_file(path, "csv", "coursera")
    return engine


@pytest.fixture(scope="module")
def learner_rows(batch_engine):
    from skillpath.batch.synthetic import learners, occupation_pool

    return list(learners(occupation_pool(batch_engine), 12, seed=7))


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _by_id(records):
    return {r["id"]: r for r in records}


def _top(record, n=3):
    return [item["id"] for item in record["response"]["ranking"]["items"][:n]]


def test_local_run_answers_each_row_and_matches_recommend(batch_engine, learner_rows, tmp_path):
    from skillpath.batch.io import read_output
    from skillpath.batch.run import run_batch
    from skillpath.engine.recommendation import RecommendationRequest

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, learner_rows[:4])
    summary = run_batch(src, out, "local", service=batch_engine, batch_size=3)
    records = read_output(out)
    assert [r["id"] for r in records] == [r["id"] for r in learner_rows[:4]]
    assert summary.answered == 4 and summary.errors == 0
    assert all(_top(rec) for rec in records), "every synthetic learner gets some credential"
    for row, rec in zip(learner_rows[:4], records, strict=True):
        payload = {k: v for k, v in row.items() if k != "id"}
        direct = batch_engine.recommend(RecommendationRequest.model_validate(payload))
        assert _top(rec, 10) == [i.id for i in direct.ranking.items]
        assert rec["response"]["gap"]["occupation_uri"] == direct.gap.occupation_uri


def test_bad_rows_become_error_records_and_the_run_goes_on(batch_engine, learner_rows, tmp_path):
    from skillpath.batch.io import read_output
    from skillpath.batch.run import run_batch

    good = learner_rows[:2]
    unknown = {"id": "u", "target": good[0]["target"], "profile": {"skills": ["no such skill"]}}
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps({"id": "k", "target": "x", "k": 0}),
        json.dumps(unknown),
        json.dumps(good[1]),
        json.dumps(good[1]),  # a repeated id: counted, not answered twice
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run_batch(src, out, "local", service=batch_engine, batch_size=2)
    records = _by_id(read_output(out))
    assert set(records) == {good[0]["id"], "#line-2", "k", "u", good[1]["id"]}
    assert "response" in records[good[0]["id"]] and "response" in records[good[1]["id"]]
    assert records["#line-2"]["error"]["type"] == "invalid-json"
    assert records["#line-2"]["error"]["line"] == 2
    assert records["k"]["error"] == {
        "type": "validation",
        "detail": records["k"]["error"]["detail"],
        "field": "k",
        "line": 3,
    }
    assert records["u"]["error"]["type"] == "unknown-reference"
    assert records["u"]["error"]["field"] == "profile.skills.0"
    assert summary.errors == 3 and summary.answered == 2 and summary.duplicate_ids == [6]


def test_resume_skips_rows_already_in_the_output(batch_engine, learner_rows, tmp_path):
    from skillpath.batch.io import read_output
    from skillpath.batch.run import run_batch

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, learner_rows[:3])
    run_batch(src, out, "local", service=batch_engine)
    first = out.read_bytes()
    # a killed run's partial last line is cut off and that row redone
    _write(src, learner_rows[:5])
    with out.open("ab") as f:
        f.write(b'{"id": "' + learner_rows[3]["id"].encode() + b'", "resp')
    summary = run_batch(src, out, "local", service=batch_engine)
    assert summary.skipped_done == 3 and summary.answered == 2
    assert out.read_bytes().startswith(first)
    ids = [r["id"] for r in read_output(out)]
    assert ids == [r["id"] for r in learner_rows[:5]]


def test_parquet_in_and_out_round_trip(batch_engine, learner_rows, tmp_path):
    from skillpath.batch.io import read_output, write_parquet
    from skillpath.batch.run import run_batch

    rows = [dict(learner_rows[0], k=3), learner_rows[1], {"id": "bad", "target": "x", "k": 999}]
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    write_parquet(src, rows)
    summary = run_batch(src, out, "local", service=batch_engine, batch_size=2)
    assert summary.answered == 2 and summary.errors == 1
    records = _by_id(read_output(out))
    assert len(records[rows[0]["id"]]["response"]["ranking"]["items"]) <= 3
    assert records["bad"]["error"]["field"] == "k"
    assert len(list(out.glob("part-*.parquet"))) == 2  # one part per written batch
    again = run_batch(src, out, "local", service=batch_engine)
    assert again.skipped_done == 3 and again.answered == 0
    assert len(read_output(out)) == 3


def test_generator_is_deterministic_valid_and_counted(batch_engine):
    from skillpath.batch.synthetic import learners, occupation_pool
    from skillpath.engine.recommendation import RecommendationRequest

    pool = occupation_pool(batch_engine)
    a, b = list(learners(pool, 50, seed=3)), list(learners(pool, 50, seed=3))
    assert a == b and len(a) == 50 and len({r["id"] for r in a}) == 50
    assert list(learners(pool, 50, seed=4)) != a
    uris = {o.uri for o in batch_engine.taxonomy.occupations}
    for row in a:
        request = RecommendationRequest.model_validate({k: v for k, v in row.items() if k != "id"})
        assert request.profile.occupations[0] in uris
        assert request.target != ""


# -- Ray -------------------------------------------------------------------------------


def _ray_env(engine):
    from skillpath.batch.worker import worker_env

    s = engine.settings
    return worker_env(
        {
            "SKILLPATH_HOME": str(s.home),
            "SKILLPATH_SHARED_DIR": str(s.shared_dir),
            "SKILLPATH_CACHE_DIR": str(s.cache_dir),
            "HF_HUB_OFFLINE": "1",
        }
    )


def test_ray_gives_the_same_responses_as_local(ray_cluster, batch_engine, learner_rows, tmp_path):
    from skillpath.batch.io import read_output
    from skillpath.batch.run import run_batch

    src = tmp_path / "in.jsonl"
    _write(src, learner_rows[:6])
    run_batch(src, tmp_path / "local.jsonl", "local", service=batch_engine)
    summary = run_batch(
        src, tmp_path / "ray.jsonl", "ray", workers=2, batch_size=2, env=_ray_env(batch_engine)
    )
    local = _by_id(read_output(tmp_path / "local.jsonl"))
    remote = _by_id(read_output(tmp_path / "ray.jsonl"))
    assert set(remote) == set(local) and summary.answered == 6
    assert os.getpid() not in summary.workers
    for ident, rec in local.items():
        assert _top(remote[ident], 5) == _top(rec, 5), ident


def test_a_killed_ray_worker_loses_and_duplicates_nothing(
    ray_cluster, batch_engine, learner_rows, tmp_path
):
    from skillpath.batch.io import read_output
    from skillpath.batch.run import run_batch

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, learner_rows)
    killed: list[int] = []

    def kill_first_worker(records, pids):
        if not killed and pids:
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)

    summary = run_batch(
        src,
        out,
        "ray",
        workers=2,
        batch_size=1,
        env=_ray_env(batch_engine),
        on_batch=kill_first_worker,
    )
    ids = [r["id"] for r in read_output(out)]
    assert killed, "no worker was killed"
    assert sorted(ids) == sorted(r["id"] for r in learner_rows)
    assert len(ids) == len(set(ids))
    assert summary.answered == len(learner_rows) and summary.errors == 0
    # the work after the kill was done by a restarted or surviving worker
    assert summary.workers - set(killed)


def test_the_cli_runs_a_batch_and_resumes(batch_engine, learner_rows, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from skillpath.batch.io import read_output
    from skillpath.engine import clikit
    from skillpath.engine.cli import app

    monkeypatch.setattr(clikit, "service", lambda: batch_engine)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, learner_rows[:2])
    runner = CliRunner()
    first = runner.invoke(app, ["batch", "recommend", str(src), "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout[first.stdout.index("{") :])["answered"] == 2
    again = runner.invoke(app, ["batch", "recommend", str(src), "--out", str(out)])
    assert json.loads(again.stdout[again.stdout.index("{") :])["skipped_done"] == 2
    assert [r["id"] for r in read_output(out)] == [r["id"] for r in learner_rows[:2]]
    bad = runner.invoke(app, ["batch", "recommend", str(src), "--out", str(tmp_path / "o.csv")])
    assert bad.exit_code == 1 and "unknown batch file format" in bad.output
