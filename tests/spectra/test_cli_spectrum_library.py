import json

import numpy as np
import pytest

from ..conftest import shared_data


def _export(tmp_path, name="P_synthetic.txt"):
    from ionscope.synth.spectra import tof_spectrum

    spec, truth = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H5+": 3e4,
                                "K+": 2e4, "C3H5+": 3e4, "C4H7+": 1e4, "C7H7+": 5e3, "Ru+": 2e4, "Pt+": 8e3},
                               n_channels=150_000, shots=None, seed=3)
    rows = np.column_stack([spec.coords["channel"].values, spec.coords["mz"].values, spec.values])
    path = tmp_path / name
    with open(path, "w") as fh:
        fh.write("# Binning: 1 channels\n# Deadtime Correction: off\nChannel\tm/z\tIntensity\n")
        np.savetxt(fh, rows, fmt=["%d", "%.9g", "%d"], delimiter="\t")
    return path, truth


def test_identify_json_lists_species(cli, tmp_path):
    path, _ = _export(tmp_path)
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Pt,Pd", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert json.loads(out)["kind"] == "spectrum.identify" and res["polarity"] == "positive"
    formulas = {s["formula"] for s in res["species"]}
    assert {"Ru+", "Pt+"} <= formulas and not any(f.startswith("Pd") for f in formulas)
    for s in res["species"]:
        assert set(s) >= {"formula", "mz", "intensity", "score"}


def test_peaks_and_calibrate(cli, tmp_path):
    path, truth = _export(tmp_path)
    code, out, err = cli("spectrum", "peaks", path, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["n_peaks"] == len(res["peaks"]) > 10
    code, out, err = cli("spectrum", "calibrate", path, "--json")
    assert code == 0, err
    cal = json.loads(out)["results"]
    assert cal["t0"]["value"] == pytest.approx(truth.truth["t0"], abs=1.0)
    assert cal["rms_ppm"] < 50 and cal["exported_rms_ppm"] > cal["rms_ppm"]  # the export was miscalibrated
    out_store = tmp_path / "recal.zarr"
    code, _, err = cli("spectrum", "calibrate", path, "--out", out_store)
    assert code == 0 and out_store.exists()
    code, _, err = cli("spectrum", "calibrate", path, "--out", out_store)
    assert code != 0  # exists without --force
    code, _, err = cli("spectrum", "calibrate", path, "--out", out_store, "--force")
    assert code == 0


def test_unknown_polarity_is_a_clear_error(cli, tmp_path):
    path, _ = _export(tmp_path, name="synthetic.txt")
    code, out, err = cli("spectrum", "identify", path)
    assert code == 2 and "polarity" in err


def test_library_commands(cli, tmp_path):
    code, out, _ = cli("library", "show", "--json")
    assert code == 0 and len(json.loads(out)["results"]["markers"]) > 100
    code, out, _ = cli("library", "search", "TFSI", "--json")
    assert "C2F6NO4S2-" in {m["ion"] for m in json.loads(out)["results"]["markers"]}
    code, out, _ = cli("library", "show", "--interferences", "--json")
    assert any(set(i["ions"]) == {"^6LiH+", "^7Li+"} for i in json.loads(out)["results"]["interferences"])
    bad = tmp_path / "bad.yaml"
    bad.write_text('version: 1\nmarkers:\n  - {ion: "PO3-", polarity: positive, parents: [x], component: [CEI]}\n'
                   '  - {ion: "Qq+", polarity: positive, parents: [x], component: [CEI]}\n')
    code, out, err = cli("library", "validate", bad)
    assert code == 1 and ":3:" in err and ":4:" in err and "contradicts" in err
    code, out, _ = cli("library", "validate", bad, "--json")
    assert json.loads(out)["results"]["valid"] is False


@pytest.mark.realdata
def test_identify_real_file_via_cli(cli):
    path = shared_data("iontof_spectra", "N_Ru-Pt_Bi1_1.txt")
    code, out, err = cli("spectrum", "identify", path, "--elements", "Ru,Pt,Pd", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert set(res["elements"]) == {"Ru", "Pt"}
    assert res["elements"]["Ru"]["relative"] == 1.0 and 0 < res["elements"]["Pt"]["relative"] < 1


@pytest.mark.realdata
def test_identify_auto_on_a_real_file_via_cli(cli):
    code, out, err = cli("spectrum", "identify", shared_data("iontof_spectra", "P_Ru-Pd_Bi1_1.txt"),
                         "--elements", "auto", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert set(res["elements"]) == {"Ru", "Pd"}
    for s in res["species"]:
        assert set(s) >= {"formula", "mz", "intensity", "score", "significance", "contrast"}
        assert s["significance"] >= 4.5 and s["contrast"] >= 4.5
