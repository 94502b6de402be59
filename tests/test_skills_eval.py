"""``evaluate skills`` / ``evaluate titles`` run on small files and print tables or JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import skillpath.evaluation.cli as eval_cli
from skillpath.evaluation.skills_eval import evaluate_skill_file

ANNOTATIONS = """sentence,span,sub_span,label
Experience with Python and SQL is required.,Python,,Python (computer programming)
Experience with Python and SQL is required.,SQL,,SQL
You will drive the company van.,drive,,drive vehicles
We need someone reliable.,reliable,,LABEL NOT PRESENT
"""

SKILLSKAPE = """,sentence,skills
0,Experience with Python is required.,"['Python (computer programming)']"
1,Bake bread every morning.,"['bake goods', 'UNK']"
"""


@pytest.fixture
def cli(engine, monkeypatch):
    monkeypatch.setattr(eval_cli, "service", lambda: engine)
    return CliRunner()


def test_skills_command_prints_a_table(cli, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(ANNOTATIONS)
    result = cli.invoke(eval_cli.evaluate_app, ["skills", "--file", str(path)])
    assert result.exit_code == 0, result.output
    for text in ("RP@5", "zero-shot", "final", "small", "F1"):
        assert text in result.output


def test_skills_command_json_and_skillskape_format(cli, tmp_path):
    path = tmp_path / "ss.csv"
    path.write_text(SKILLSKAPE)
    result = cli.invoke(eval_cli.evaluate_app, ["skills", "-f", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["queries"] == 2 and data[0]["gold_pairs"] == 2
    for method in ("zero-shot", "final"):
        assert 0.0 <= data[0]["scores"][method]["RP@5"] <= 1.0
    assert data[0]["extraction"]["threshold"] > 0


def test_bad_file_is_one_line_error(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    result = cli.invoke(eval_cli.evaluate_app, ["skills", "--file", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_titles_command_on_a_small_file(cli, tmp_path):
    path = tmp_path / "titles.csv"
    path.write_text(
        ",vacancyTitle,conceptUri\n"
        "0,Senior Java Developer,http://data.europa.eu/esco/occupation/"
        "f2b15a0e-e65a-438a-affb-29b9d50b77d1\n"
        "1,Registered nurse,http://data.europa.eu/esco/occupation/"
        "18e14e61-495b-44cc-a7c6-df4c625934ba\n"
    )
    result = cli.invoke(eval_cli.evaluate_app, ["titles", "--file", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["scores"]) == {"zero-shot", "zero-shot-e5", "hand", "final"}
    assert data["queries"] == 2 and data["unknown_uri"] == 0


TITLES_A = (
    ",vacancyTitle,conceptUri\n"
    "0,Senior Java Developer,http://data.europa.eu/esco/occupation/"
    "f2b15a0e-e65a-438a-affb-29b9d50b77d1\n"
)
TITLES_B = (
    ",vacancyTitle,conceptUri\n"
    "0,Softwareentwickler,http://data.europa.eu/esco/occupation/"
    "f2b15a0e-e65a-438a-affb-29b9d50b77d1\n"
    "1,qwzx blorptastic,http://data.europa.eu/esco/occupation/"
    "f2b15a0e-e65a-438a-affb-29b9d50b77d1\n"
)


def test_titles_command_takes_many_files_and_macro_averages(cli, tmp_path):
    (tmp_path / "a.csv").write_text(TITLES_A)
    (tmp_path / "b.csv").write_text(TITLES_B)
    args = ["titles", "-f", str(tmp_path / "a.csv"), "-f", str(tmp_path / "b.csv")]
    result = cli.invoke(eval_cli.evaluate_app, [*args, "--json", "--method", "final"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    a, b = (f["scores"]["final"]["MRR"] for f in data["files"])
    assert [f["queries"] for f in data["files"]] == [1, 2]
    assert data["macro"]["final"]["MRR"] == pytest.approx((a + b) / 2)  # per file, not per row
    table = cli.invoke(eval_cli.evaluate_app, args)
    assert table.exit_code == 0 and "Macro average over 2 files" in table.output


def test_skills_command_macro_average(cli, tmp_path):
    (tmp_path / "a.csv").write_text(ANNOTATIONS)
    (tmp_path / "b.csv").write_text(SKILLSKAPE)
    args = ["skills", "-f", str(tmp_path / "a.csv"), "-f", str(tmp_path / "b.csv")]
    result = cli.invoke(eval_cli.evaluate_app, [*args, "--json", "--no-extraction"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rp = [f["scores"]["final"]["RP@5"] for f in data["files"]]
    assert data["macro"]["final"]["RP@5"] == pytest.approx(sum(rp) / 2)


def test_library_entry_point(engine, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(ANNOTATIONS)
    result = evaluate_skill_file(engine, path, extraction=False)
    assert result.queries == 2 and result.gold_pairs == 3
    assert result.extraction is None
