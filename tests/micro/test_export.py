"""Cell-model export: BPX written into a base file and validated by the bpx package; PyBaMM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ionscope.micro.export import microstructure_parameters
from ionscope.synth.fibsem import three_phase_electrode

BASE = Path(__file__).parent / "data" / "bpx_base.json"  # illustrative values, valid BPX 1.0


def _volume(tmp_path):
    vol, truth = three_phase_electrode((24, 32, 32), seed=3)
    path = tmp_path / "el.tif"
    tifffile.imwrite(path, (truth.truth["labels"] * 85).astype(np.uint8))
    return path, truth.truth["labels"]


def test_microstructure_parameters_are_consistent():
    _, truth = three_phase_electrode((24, 32, 32), seed=3)
    lab = truth.truth["labels"]
    p = microstructure_parameters(lab, {"pore": 0, "nmc": 1, "cbd": 2}, (0.1, 0.1, 0.1), active="nmc")
    eps = float((lab == 0).mean())
    assert p["porosity"] == pytest.approx(eps)
    # transport efficiency = ε/τ and the Bruggeman exponent reproduces it: ε^b = ε/τ
    assert p["transport_efficiency"] == pytest.approx(eps / p["tortuosity"], rel=1e-9)
    assert eps ** p["bruggeman"] == pytest.approx(p["transport_efficiency"], rel=1e-9)
    assert 0 < p["particle_radius_m"] < 32 * 0.1e-6 and p["surface_area_per_volume_per_m"] > 0


def test_bpx_export_validates(cli, tmp_path):
    bpx = pytest.importorskip("bpx")
    path, lab = _volume(tmp_path)
    out = tmp_path / "cell.json"
    code, stdout, err = cli("micro", "export", path, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                            "--electrode", "positive", "--active", "nmc", "--base", BASE, "--to", "bpx",
                            "--out", out, "--json")
    assert code == 0, err
    doc = json.loads(out.read_text())
    bpx.parse_bpx_obj(json.loads(out.read_text()))  # raises on invalid BPX
    el = doc["Parameterisation"]["Positive electrode"]
    assert el["Porosity"] == pytest.approx(float((lab == 0).mean()))
    base = json.loads(BASE.read_text())
    assert doc["Parameterisation"]["Negative electrode"] == base["Parameterisation"]["Negative electrode"]
    res = json.loads(stdout)["results"]
    assert res["sources"]["Positive electrode/Porosity"] == "microstructure"
    radius = res["microstructure"]["particle_radius"]
    assert radius["unit"] == "m" and radius["value"] == pytest.approx(el["Particle radius [m]"])
    code, _, err = cli("micro", "export", path, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                       "--electrode", "positive", "--active", "nmc", "--base", tmp_path / "none.json",
                       "--to", "bpx", "--out", tmp_path / "x.json")
    assert code == 2 and "not found" in err


def test_pybamm_export_runs_a_discharge(cli, tmp_path):
    pybamm = pytest.importorskip("pybamm")
    path, _ = _volume(tmp_path)
    out = tmp_path / "pb.json"
    code, _, err = cli("micro", "export", path, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.1um",
                       "--electrode", "positive", "--active", "nmc", "--base", "Chen2020", "--to", "pybamm",
                       "--out", out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    values = pybamm.ParameterValues(doc["base"])
    values.update(doc["update"])
    sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=values).solve([0, 3600])
    assert sol["Terminal voltage [V]"].entries[-1] > 2.0


def test_export_summary_carries_the_solver_error_to_tau_and_efficiency(tmp_path):
    from ionscope.micro.export import export_summary
    from ionscope.model.result import Result

    params = {"porosity": 0.3, "tortuosity": 2.0, "transport_efficiency": 0.15, "tortuosity_relative_error": 0.01,
              "active_fraction": 0.6, "bruggeman": 1.6, "particle_radius_m": 5e-6,
              "surface_area_per_volume_per_m": 3e5, "axis": "z"}
    exported = Result("micro.bpx", {"document": {}, "sources": {"porosity": "measured"}})
    (tmp_path / "v.tif").write_bytes(b"volume")
    (tmp_path / "base.json").write_text("{}")
    res = export_summary(params, exported, tmp_path / "p.json", to="bpx", base=str(tmp_path / "base.json"),
                         electrode="positive", volume=tmp_path / "v.tif", active="nmc", pore="pore", axis="z")
    m = res["microstructure"]
    assert res.kind == "micro.export" and res["output"] == str(tmp_path / "p.json") and res["format"] == "bpx"
    assert m["tortuosity"].uncertainty == pytest.approx(0.02) and m["transport_efficiency"].uncertainty == \
        pytest.approx(0.0015)
    assert m["porosity"].uncertainty is None and m["porosity"].why_no_uncertainty
    assert m["particle_radius"].unit == "m" and m["surface_area_per_volume"].unit == "m^-1" and m["axis"] == "z"
    assert res["sources"] == {"porosity": "measured"} and len(res.provenance["inputs"]) == 2
    pybamm = export_summary(params, exported, tmp_path / "p.json", to="pybamm", base="Chen2020",
                            electrode="negative", volume=tmp_path / "v.tif", active="nmc", pore="pore", axis="z")
    assert len(pybamm.provenance["inputs"]) == 1
