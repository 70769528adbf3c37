"""Sample-history files: where they are found, how they override each other, how bad ones are refused."""

from __future__ import annotations

import json

import pytest

from ionscope.catalog.jsonld import sample_jsonld
from ionscope.model.errors import FormatError, InputNotFoundError, ValidationError
from ionscope.sample import history_for, load_history, template


def test_folder_file_then_beside_then_override(tmp_path):
    data = tmp_path / "run1.txt"
    data.write_text("x")
    (tmp_path / "sample.yaml").write_text("name: folder\npreparation: fib\nair_free_transfer: true\n")
    history, sources = history_for(data)
    assert history.name == "folder" and history.preparation == "fib" and len(sources) == 1
    (tmp_path / "run1.sample.yaml").write_text("preparation: cryo-fib\n")
    history, sources = history_for(data)
    assert (history.name, history.preparation, history.air_free_transfer) == ("folder", "cryo-fib", True)
    assert [s.split("/")[-1] for s in sources] == ["sample.yaml", "run1.sample.yaml"]
    override = tmp_path / "other.json"
    override.write_text(json.dumps({"preparation": "scalpel", "air_exposure_s": 60}))
    history, sources = history_for(data, override)
    assert (history.preparation, history.air_exposure_s, history.name) == ("scalpel", 60, "folder")
    assert sources[-1] == str(override)


def test_no_history_is_none(tmp_path):
    data = tmp_path / "run.txt"
    data.write_text("x")
    assert history_for(data) == (None, [])


def test_unknown_field_is_refused_with_a_suggestion(tmp_path):
    p = tmp_path / "sample.yaml"
    p.write_text("preparaton: fib\n")
    with pytest.raises(ValidationError, match=r"sample.yaml: unknown field 'preparaton' \(did you mean 'preparation'"):
        load_history(p)


@pytest.mark.parametrize("text, error, match", [
    ("preparation: lasercut\n", ValidationError, "preparation 'lasercut' is not one of"),
    ("air_exposure_s: -3\n", ValidationError, "air_exposure_s"),
    ("name: [unclosed\n", FormatError, "not valid YAML"),
    ("- a list\n", FormatError, "a sample history is a mapping"),
])
def test_bad_histories_name_file_and_problem(tmp_path, text, error, match):
    p = tmp_path / "sample.yaml"
    p.write_text(text)
    with pytest.raises(error, match=match) as exc:
        load_history(p)
    assert exc.value.path == str(p)


def test_missing_override_is_an_error(tmp_path):
    with pytest.raises(InputNotFoundError):
        history_for(None, tmp_path / "nope.yaml")


def test_template_is_valid_and_records_nothing(tmp_path):
    p = tmp_path / "sample.yaml"
    p.write_text(template())
    assert load_history(p) == {}
    assert "cryo-fib" in template() and "doi:10.1039/D1TA04532F" in template()


def test_jsonld_uses_ontology_terms():
    node = sample_jsonld({"name": "cell 7", "material": "Li | LPSCl", "preparation": "cryo-fib",
                          "preparation_temperature_K": 123.0})
    assert node["@context"][0] == "https://w3id.org/emmo/domain/battery/context"
    temp = next(p for p in node["hasProperty"] if p["schema:name"] == "ionscope:preparation_temperature_K")
    assert temp["hasNumericalPart"] == {"@type": "RealData", "hasNumberValue": 123.0}
    assert temp["schema:unitText"] == "K"


def test_sample_cli_init_check_export(cli, tmp_path):
    out = tmp_path / "sample.yaml"
    assert cli("sample", "init", out)[0] == 0
    code, text, _ = cli("sample", "check", out)
    assert code == 0 and "tier unknown" in text
    out.write_text("preparation: cryo-fib\nair_free_transfer: true\nroi_rationale: SEM-chosen interface\n")
    code, text, _ = cli("sample", "check", out, "--json")
    doc = json.loads(text)
    assert code == 0 and doc["results"]["tier"] == "A" and doc["reliability"]["tier"] == "A"
    code, text, _ = cli("sample", "export", out)
    assert code == 0 and json.loads(text)["hasProperty"]
    out.write_text("preparation: cryo-fibb\n")
    code, _, err = cli("sample", "check", out)
    assert code == 2 and "cryo-fibb" in err


def test_sample_init_writes_sample_yaml_in_the_current_folder(cli, tmp_path, monkeypatch):
    """``sample init`` writes ./sample.yaml (as the README and the no-history hint say), never over an
    existing one without --force; ``-`` prints the template instead."""
    monkeypatch.chdir(tmp_path)
    code, text, _ = cli("sample", "init")
    assert code == 0 and (tmp_path / "sample.yaml").exists() and "preparation" not in text
    (tmp_path / "sample.yaml").write_text("preparation: cryo-fib\n")
    code, _, err = cli("sample", "init")
    assert code == 2 and "--force" in err
    assert (tmp_path / "sample.yaml").read_text() == "preparation: cryo-fib\n"
    assert cli("sample", "init", "--force")[0] == 0 and "preparation" in (tmp_path / "sample.yaml").read_text()
    code, text, _ = cli("sample", "init", "-")
    assert code == 0 and "preparation" in text


def test_sample_json_outputs_name_what_they_merged_and_wrote(cli, tmp_path):
    """`sample export DATA --json` hashes the history files it merged (not the data file) and, without --out,
    carries the JSON-LD document; `sample init - --json` carries the template text."""
    from ionscope.model.provenance import sha256_of

    data = tmp_path / "run.txt"
    data.write_text("not read")
    (tmp_path / "sample.yaml").write_text("preparation: cryo-fib\nair_free_transfer: true\n")
    (tmp_path / "run.sample.yaml").write_text("name: cell 7\n")
    code, text, err = cli("sample", "export", data, "--json")
    assert code == 0, err
    doc = json.loads(text)
    sources = [tmp_path / "sample.yaml", tmp_path / "run.sample.yaml"]
    assert [i["sha256"] for i in doc["inputs"]] == [sha256_of(p) for p in sources]
    res = doc["results"]
    assert res["output"] is None and res["sources"] == [str(p) for p in sources]
    assert res["fields"] == ["air_free_transfer", "name", "preparation"]
    assert res["document"]["schema:name"] == "cell 7" and res["properties"] == len(res["document"]["hasProperty"])
    code, text, _ = cli("sample", "init", "-", "--json")
    res = json.loads(text)["results"]
    assert code == 0 and res["text"] == template() and res["output"] is None
    assert res["bytes"] == len(template().encode("utf-8"))
