"""A sample history belongs to the data (beside it, or --sample), never to the folder a result is written to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ionscope.reliability import assess, combine
from ionscope.synth.depth import layered_stack

from ..conftest import write_surfacelab_profile


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory):
    profile, _ = layered_stack(thicknesses_nm=(150.0,), rates_nm_s=(1.0, 1.0), species={"Au-": 0, "InO_2-": 1},
                               seed=2)
    return write_surfacelab_profile(profile, tmp_path_factory.mktemp("data") / "stack.txt")


def _mri(cli, path, figure, *extra):
    return cli("depth", "mri", path, "--species", "Au-,InO_2-", "--figure", figure, *extra)


def test_history_in_the_output_folder_is_not_the_data_history(cli, profile_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("sample", "init")
    assert code == 0, err
    code, out, err = _mri(cli, profile_file, "fig.svg")
    assert code == 0, err
    text = " ".join((out + err).split())
    assert text.count("no sample history") == 1
    assert "does not record the preparation route" not in text
    code, out, err = _mri(cli, profile_file, "fig.svg", "--force", "--json")
    assert code == 0, err
    rel = json.loads(out)["reliability"]
    assert rel["sample"] is None and rel["sample_sources"] == []


def test_history_beside_the_data_is_found(cli, profile_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    beside = profile_file.with_name("sample.yaml")
    beside.write_text("preparation: polished\n")
    try:
        code, out, err = _mri(cli, profile_file, "fig2.svg", "--json")
    finally:
        beside.unlink()
    assert code == 0, err
    rel = json.loads(out)["reliability"]
    assert rel["sample"]["preparation"] == "polished" and rel["sample_sources"] == [str(beside)]


def test_two_inputs_without_history_give_one_message():
    both = combine([assess(None, looked_up="a/sample.yaml"), assess(None, looked_up="b/sample.yaml")])
    missing = [r for r in both["reasons"] if "no sample history" in r["message"]]
    assert len(missing) == 1
    assert "sample init a/sample.yaml" in missing[0]["message"] and "sample init b/sample.yaml" in missing[0]["message"]


def test_a_folder_of_data_files_is_described_by_its_own_sample_yaml(tmp_path):
    """A folder given as input (a batch) is looked up inside, as each of its files is; a Zarr store is one
    dataset, described from the folder that holds it."""
    from ionscope.sample import history_folder, history_for

    batch = tmp_path / "spectra"
    batch.mkdir()
    (batch / "P_a.txt").write_text("")
    (batch / "sample.yaml").write_text("name: cell 3\n")
    assert history_folder(batch) == history_folder(batch / "P_a.txt") == batch
    assert history_for(batch)[0].name == history_for(batch / "P_a.txt")[0].name == "cell 3"
    store = tmp_path / "cube.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    assert history_folder(store) == tmp_path


def test_the_current_folder_given_as_dot_is_looked_up_like_any_folder(tmp_path, monkeypatch):
    """`ionscope spectrum identify .` in a folder of exports: "." has no name to put a history beside; it
    used to end in a traceback after the results."""
    from ionscope.sample import history_for

    (tmp_path / "sample.yaml").write_text("name: cell 3\n")
    monkeypatch.chdir(tmp_path)
    assert history_for(Path("."))[0].name == "cell 3"
    (tmp_path / "sample.yaml").unlink()
    assert history_for(Path("."))[0] is None and history_for(Path(".."))[0] is None
