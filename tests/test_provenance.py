"""Issue #13: every recommendation carries its provenance; a logged request replays.

The pure parts (fingerprints, comparison, log lines) are tested directly; the end-to-end
tests run the real ``skillpath`` command in subprocesses on a copy of the session's home
(real ESCO, real indexes, a real slice of a shipped catalogue in a real SQLite store), and
the API through its real app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skillpath.engine.config import Settings, Tuning
from skillpath.engine.provenance import (
    LoggedRequest,
    answer_summary,
    build_provenance,
    compare,
    fingerprint,
    logged_request,
    parse_logged,
)
from skillpath.errors import InvalidInput


def _provenance(revision: int = 3, tuning: Tuning | None = None, request_id: str = "r1"):
    return build_provenance(
        request_id=request_id,
        skillpath_version="1.0",
        esco_version="v1.2.0",
        catalogue_revision=revision,
        matcher_fingerprint="m" * 16,
        encoder="minilm",
        tuning=tuning or Tuning(),
        settings={"encoder": "minilm", "encoder_backend": "onnx", "partner_encoder": None},
    )


def _response(ids: list[str], scores: list[float] | None = None) -> dict:
    scores = scores or [1.0 / (i + 1) for i in range(len(ids))]
    return {
        "target": {"occupation_uri": "http://data.europa.eu/esco/occupation/x"},
        "gap": {"skills": [{"uri": "s1", "remaining_weight": 1.0}]},
        "ranking": {
            "items": [
                {"rank": i + 1, "id": cid, "score": s}
                for i, (cid, s) in enumerate(zip(ids, scores, strict=True))
            ]
        },
        "pathway": {"steps": [{"id": ids[0]}] if ids else []},
        "explanations": [{"sentence": "not compared"}],
    }


# -- pure --------------------------------------------------------------------------------
def test_tuning_fingerprint_follows_every_weight_and_ignores_field_order():
    base = _provenance().tuning_fingerprint
    assert _provenance().tuning_fingerprint == base  # stable
    changed = Tuning(optional_weight=0.31)
    assert _provenance(tuning=changed).tuning_fingerprint != base
    nested = Tuning().model_copy(
        update={"relevance": Tuning().relevance.model_copy(update={"diversity": 0.123})}
    )
    assert _provenance(tuning=nested).tuning_fingerprint != base
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert _provenance().settings["tuning"]["optional_weight"] == 0.3  # the values, not only a hash


def test_compare_same_answer_same_provenance():
    logged = logged_request({"target": "x"}, _response(["a", "b"]), _provenance())
    result = compare(logged, _provenance(request_id="r1"), _response(["a", "b"]))
    assert result.same_answer and result.same_provenance and not result.differences
    assert result.logged_digest == result.replayed_digest


def test_compare_names_a_moved_revision_and_the_changed_ranks():
    logged = logged_request({"target": "x"}, _response(["a", "b", "c"]), _provenance(3))
    result = compare(logged, _provenance(5), _response(["a", "c"]))
    assert not result.same_answer and not result.same_provenance
    assert result.changed == {"catalogue_revision": [3, 5]}
    assert "rank 2: was b (0.5), now c (0.5)" in result.differences
    assert "rank 3: was c (0.333333), now nothing" in result.differences


def test_a_new_title_model_or_matcher_is_a_provenance_change():
    logged = logged_request({"target": "x"}, _response(["a"]), _provenance())
    now = _provenance().model_copy(update={"title_fingerprint": "t2", "matcher_fingerprint": "m2"})
    result = compare(logged, now, _response(["a"]))
    assert result.same_answer and not result.same_provenance
    assert set(result.changed) == {"title_fingerprint", "matcher_fingerprint"}


def test_explanations_and_request_id_and_time_do_not_count_but_scores_do():
    logged = logged_request({"target": "x"}, _response(["a"]), _provenance(request_id="old"))
    other = _response(["a"])
    other["explanations"] = [{"sentence": "worded otherwise"}]
    assert compare(logged, _provenance(request_id="new"), other).same_answer
    moved = compare(logged, _provenance(), _response(["a"], [0.999]))
    assert not moved.same_answer and moved.differences == ["rank 1: was a (1.0), now a (0.999)"]
    assert answer_summary(_response(["a"], [1 / 3]))["ranking"] == [[1, "a", 0.333333]]


def test_a_bad_log_line_names_file_line_and_field():
    with pytest.raises(InvalidInput, match=r"requests\.jsonl:7: not a request-log line"):
        parse_logged('{"request": {}}', "requests.jsonl:7")
    with pytest.raises(InvalidInput, match="requests.jsonl:2"):
        parse_logged("{torn", "requests.jsonl:2")


APPENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from skillpath.engine.config import Tuning
    from skillpath.engine.provenance import build_provenance, logged_request
    from skillpath.engine.request_log import append

    path, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        p = build_provenance(
            request_id=f"{tag}-{i}", skillpath_version="t", esco_version="v",
            catalogue_revision=i, matcher_fingerprint="m", encoder="e", tuning=Tuning(),
            settings={},
        )
        # lines of ~20 KB: several pages each, so an unlocked append could interleave
        append(path, logged_request({"text": tag * 20_000}, {}, p))
    """
)


def test_processes_appending_at_once_never_interleave_lines(tmp_path):
    from skillpath.engine.request_log import read

    path = tmp_path / "requests.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), tag, "60"]) for tag in "abcd"
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    entries = list(read(path))  # every line parses
    assert len(entries) == 240
    ids = {e.provenance.request_id for e in entries}
    assert ids == {f"{t}-{i}" for t in "abcd" for i in range(60)}
    assert all(set(e.request["text"]) == {e.provenance.request_id[0]} for e in entries)
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # it holds learner profiles


# -- end to end --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(engine, shared_dir, tmp_path_factory) -> Path:
    """A copy of the session home with a real catalogue slice imported by the real CLI."""
    from skillpath.engine.backup import backup

    engine.catalogue.count()  # the catalogue tables exist
    root = tmp_path_factory.mktemp("provenance")
    home = root / "home"
    backup(Path(engine.settings.home), home)
    (home / "requests.jsonl").unlink(missing_ok=True)
    text = (shared_dir / "catalogue" / "coursera-courses.csv").read_text(encoding="utf-8")
    csv = root / "coursera-courses.csv"
    csv.write_text("".join(text.splitlines(keepends=True)[:300]), encoding="utf-8")
    done = _cli(engine, home, "catalogue", "import", str(csv), "--mapping", "coursera")
    assert done.returncode == 0, done.stderr
    return home


def _cli(engine, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SKILLPATH_HOME": str(home),
        "SKILLPATH_SHARED_DIR": str(engine.settings.shared_dir),
        "SKILLPATH_CACHE_DIR": str(engine.settings.embedding_cache_path.parent),
        "HF_HUB_OFFLINE": "1",
        "SKILLPATH_REQUEST_LOG": "true",  # off by default: these tests replay logged requests
    }
    return subprocess.run(
        [sys.executable, "-m", "skillpath.engine.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


RECOMMEND = ("recommend", "--target", "data analyst", "--text", "I keep stock in Excel", "-k", "5")


def test_cli_answer_carries_provenance_and_replays_the_same_then_says_the_revision_moved(
    engine, home
):
    done = _cli(engine, home, *RECOMMEND, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    prov = answer["provenance"]
    assert answer["ranking"]["items"], "the catalogue slice should give an answer"
    assert prov["esco_version"] == engine.store.esco_version
    assert prov["encoder"] == "minilm" and prov["matcher_fingerprint"]
    assert prov["matcher_fingerprint"] == engine.matching.matcher_fingerprint
    assert prov["title_fingerprint"] == engine.matching.title_fingerprint != ""
    assert prov["tuning_fingerprint"] == fingerprint(Tuning().model_dump(mode="json"))
    assert prov["settings"]["encoder_backend"] == engine.settings.encoder_backend
    lines = (home / "requests.jsonl").read_text().splitlines()
    logged = LoggedRequest.model_validate_json(lines[-1])
    assert logged.provenance.request_id == prov["request_id"]
    assert logged.request["profile"]["text"] == "I keep stock in Excel"
    assert logged.provenance.catalogue_revision == prov["catalogue_revision"]

    # same revision: the same answer, and the replay itself is not logged
    same = _cli(engine, home, "replay", prov["request_id"])
    assert same.returncode == 0, same.stdout + same.stderr
    assert f"request {prov['request_id']}: same answer" in same.stdout
    assert len((home / "requests.jsonl").read_text().splitlines()) == len(lines)

    # a tampered copy of the line (another top credential): reported different, exit 2
    tampered = json.loads(lines[-1])
    tampered["answer"]["ranking"][0][1] = "coursera:not-the-answer"
    extract = home.parent / "extract.jsonl"
    extract.write_text(lines[-1] + "\n" + json.dumps(tampered) + "\n")
    mixed = _cli(engine, home, "replay", str(extract), "--json")
    assert mixed.returncode == 2, mixed.stderr
    results = json.loads(mixed.stdout)
    assert [r["same_answer"] for r in results] == [True, False]
    assert results[1]["same_provenance"] and results[1]["differences"][0].startswith("rank 1:")

    # the catalogue moves on (the top credential removed): the replay says so, clearly
    top = answer["ranking"]["items"][0]["id"]
    removed = _cli(engine, home, "catalogue", "remove", top)
    assert removed.returncode == 0, removed.stderr
    moved = _cli(engine, home, "replay", prov["request_id"])
    assert moved.returncode == 2
    revision = prov["catalogue_revision"]
    assert f"catalogue revision differs: logged {revision}, now {revision + 1}" in moved.stdout
    assert "the store keeps no history" in moved.stdout
    assert f"rank 1: was {top}" in moved.stdout
    unknown = _cli(engine, home, "replay", "no-such-request")
    assert unknown.returncode == 1 and "no request 'no-such-request'" in unknown.stderr


def test_api_answers_carry_the_request_id_and_are_logged(engine, home):
    from fastapi.testclient import TestClient

    from skillpath.api.app import create_app
    from skillpath.engine.request_log import find
    from skillpath.engine.service import Skillpath

    served = Skillpath(engine.settings.model_copy(update={"home": home, "request_log": True}))
    body = {"target": "data analyst", "profile": {"skills": ["SQL"]}, "k": 3}
    with TestClient(create_app(service=served)) as client:
        one = client.post("/v1/recommendations", json=body, headers={"X-Request-ID": "adv-42"})
        assert one.status_code == 200, one.text
        many = client.post(
            "/v1/recommendations/batch",
            json=[body, {**body, "k": 2}],
            headers={"X-Request-ID": "b7"},
        )
        assert many.status_code == 200, many.text
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    prov = one.json()["provenance"]
    assert prov["request_id"] == "adv-42"
    assert prov["catalogue_revision"] == served.catalogue.revision
    assert [r["response"]["provenance"]["request_id"] for r in many.json()["results"]] == [
        "b7#0",
        "b7#1",
    ]
    log = home / "requests.jsonl"
    (entry,) = find(log, "adv-42")
    assert entry.request == {**served_request_defaults(body)}
    assert entry.answer["ranking"] == [
        [i["rank"], i["id"], round(i["score"], 6)] for i in one.json()["ranking"]["items"]
    ]
    assert find(log, "b7#1")[0].request["k"] == 2
    assert "replay" in schema["RecommendationResponse"]["properties"]["provenance"]["description"]
    assert "catalogue_revision" in schema["Provenance"]["properties"]


def served_request_defaults(body: dict) -> dict:
    """The request as the engine saw it: the body with every default filled in."""
    from skillpath.engine.recommendation import RecommendationRequest

    return RecommendationRequest.model_validate(body).model_dump(mode="json")


def test_request_log_can_be_turned_off_and_moved(engine, home, tmp_path):
    from skillpath.engine.recommendation import RecommendationRequest
    from skillpath.engine.service import Skillpath

    request = RecommendationRequest(target="data analyst", k=2)
    off = Skillpath(engine.settings.model_copy(update={"home": home, "request_log": False}))
    before = (home / "requests.jsonl").read_text()
    answer = off.recommend(request)
    assert answer.provenance is not None  # provenance is always there
    assert (home / "requests.jsonl").read_text() == before
    # off unless turned on: the log holds learner profiles (privacy by default)
    default = Skillpath(Settings(home=home, shared_dir=engine.settings.shared_dir))
    assert default.settings.request_log is False
    default.recommend(request)
    assert (home / "requests.jsonl").read_text() == before
    moved = tmp_path / "logs" / "recs.jsonl"
    there = Skillpath(
        engine.settings.model_copy(
            update={"home": home, "request_log": True, "request_log_path": moved}
        )
    )
    answer = there.recommend(request, request_id="moved-1")
    assert json.loads(moved.read_text())["provenance"]["request_id"] == "moved-1"
    assert answer.provenance is not None and answer.provenance.request_id == "moved-1"


def test_backup_and_restore_carry_the_request_log_whole_lines_only(home, tmp_path):
    from skillpath.engine.backup import backup, restore

    log = home / "requests.jsonl"
    lines = log.read_text().splitlines()
    assert lines  # the tests above logged their requests here
    with log.open("a") as fh:
        fh.write('{"request": {"torn')  # an append in flight: no newline yet
    info = backup(home, tmp_path / "bk")
    assert "requests.jsonl" in info["files"]
    assert (tmp_path / "bk" / "requests.jsonl").read_text().splitlines() == lines
    restore(tmp_path / "bk", tmp_path / "restored")
    restored = tmp_path / "restored" / "requests.jsonl"
    assert restored.read_text().splitlines() == lines
    assert oct(restored.stat().st_mode & 0o777) == "0o600"
    restored.write_text(lines[0] + "\n")  # the home's own, newer log ...
    restore(tmp_path / "bk", tmp_path / "restored", force=True)
    assert restored.read_text().splitlines() == [lines[0]]  # ... is kept
