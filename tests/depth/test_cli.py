"""``ionscope depth layers`` and ``ionscope depth plot``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionscope.synth.depth import layered_stack

from ..conftest import shared_data, write_surfacelab_profile


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory):
    profile, truth = layered_stack(seed=5)
    return write_surfacelab_profile(profile, tmp_path_factory.mktemp("cli") / "stack.txt"), truth


def test_layers_json(cli, stack_file):
    path, truth = stack_file
    species = ",".join(truth.truth["layer_of_species"])
    code, out, err = cli("depth", "layers", path, "--species", species, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert len(res["interfaces"]) == 4 and len(res["layers"]) == 5
    for iface, t_true in zip(res["interfaces"], truth.truth["interface_times_s"]):
        assert set(iface["position"]) == {"value", "uncertainty", "unit"} and iface["position"]["unit"] == "s"
        assert iface["width"]["value"] > 0
        assert abs(iface["position"]["value"] - t_true) < 10  # see test_synth_layers for the tolerance
    assert [lay["dominant_species"] for lay in res["layers"]] == list(truth.truth["layer_of_species"])
    assert {"start", "end", "thickness", "dominant_species"} <= set(res["layers"][0])


def test_layers_with_rates_gives_depths(cli, stack_file):
    path, truth = stack_file
    species = ",".join(truth.truth["layer_of_species"])
    rates = ",".join(f"{r}±{0.03 * r:.3f}" for r in truth.truth["rates_nm_s"])
    code, out, err = cli("depth", "layers", path, "--species", species, "--rates", rates, "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    depths = [i["position"]["value"] for i in res["depth_interfaces"]]
    # MRI offset (≤ w + λ = 4.5 nm) plus 3 σ of the propagated rate/time uncertainty.
    for d, u, true in zip(depths, [i["position"]["uncertainty"] for i in res["depth_interfaces"]],
                          truth.truth["interfaces_nm"]):
        assert abs(d - true) <= 4.5 + 3 * u
    thick = [lay["thickness"]["value"] for lay in res["depth_layers"][1:-1]]
    assert np.allclose(thick, truth.truth["thicknesses_nm"][1:], atol=12)


def test_bad_input_exits_2(cli, stack_file, tmp_path):
    path, _ = stack_file
    code, _, err = cli("depth", "layers", path, "--species", "Au-,Nope-")
    assert code == 2 and "Nope-" in err
    # two markers + the unmarked layer below them = 3 layers; 4 rates cannot be assigned
    code, _, err = cli("depth", "layers", path, "--species", "Au-,PbI_3-", "--rates", "1,2,3,4")
    assert code == 2 and "cover" in err
    code, _, err = cli("depth", "layers", tmp_path / "missing.txt", "--species", "Au-")
    assert code == 2


@pytest.mark.slow
def test_plot_writes_figure(cli, stack_file, tmp_path):
    path, _ = stack_file
    out = tmp_path / "fig.svg"
    code, _, err = cli("depth", "plot", path, "--species", "Au-,PbI_3-,InO_2-", "--out", out, "--axis", "fluence")
    assert code == 0, err
    assert out.read_text().lstrip().startswith("<?xml")
    code, _, err = cli("depth", "plot", path, "--species", "Au-", "--out", out)
    assert code == 2  # exists, no --force
    code, _, _ = cli("depth", "plot", path, "--species", "Au-", "--out", out, "--force", "--log")
    assert code == 0


@pytest.mark.realdata
def test_layers_on_real_file(cli):
    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt")
    code, out, err = cli("depth", "layers", path, "--species", "Au+,Pb+,In+,Si+", "--axis", "fluence", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert [lay["dominant_species"] for lay in res["layers"]] == ["Au+", "Pb+", "In+", "Si+"]
    assert "surface_transient" in res["artefacts"]


def _body(out: str) -> dict:
    data = json.loads(out)
    return data.get("results", data)


def test_layers_without_species_chooses_the_markers(cli, stack_file):
    path, truth = stack_file
    code, out, err = cli("depth", "layers", path, "--json")
    assert code == 0, err
    res = _body(out)
    assert res["species_chosen"]["species"] == list(truth.truth["layer_of_species"])
    code, out, err = cli("depth", "layers", path)
    assert code == 0 and "chose 5 marker species" in err


def test_layers_text_shows_merged_layers(cli, stack_file):
    path, _ = stack_file
    code, out, err = cli("depth", "layers", path, "--species", "PbI_3-,Au-,InO_2-")
    assert code == 0, err
    assert "interface" in out and "^" not in out and "PbI₃⁻" in out


@pytest.mark.parametrize("rates", ["nan", "inf", "-1", "1±nan", "0"])
def test_layers_refuses_non_finite_rates(cli, stack_file, rates):
    path, _ = stack_file
    code, out, err = cli("depth", "layers", path, "--species", "Au-,PbI_3-", "--rates", rates)
    assert code == 2 and "--rates" in err + out


def test_choose_markers_on_flat_profile_is_an_error(stack_file):
    from ionscope.depth import choose_marker_species
    from ionscope.model.errors import ValidationError

    profile, _ = layered_stack(seed=5)
    flat = profile.copy(data=np.full(profile.shape, 100.0))
    with pytest.raises(ValidationError, match="--species"):
        choose_marker_species(flat)


@pytest.mark.slow
@pytest.mark.realdata
def test_markers_chosen_on_every_real_profile():
    """On all 20 real exports a few markers are chosen, one per layer, and they give a layer table."""
    import glob

    import ionscope
    from ionscope.depth import choose_marker_species, find_layers

    files = sorted(glob.glob(str(shared_data("iontof_depth_profiles") / "*" / "*.txt")))
    assert len(files) == 20
    for f in files:
        prof = ionscope.read(f)
        res = choose_marker_species(prof)
        chosen = res["species"]
        assert 2 <= len(chosen) <= 6, f
        assert len({s.lstrip("^0123456789") for s in chosen}) == len(chosen), f
        # two layers, or the layers that are missing are reported as thinner than the depth resolution
        assert len(find_layers(prof, chosen)["layers"]) >= 2 or res["unresolved"], f
        assert all(u["reason"] for u in res["unresolved"]), f


def test_automatic_choice_names_ions_and_counts_columns_like_the_errors(cli, stack_file):
    """The "chose N marker species" line writes ions as the results do (Au⁻, not Au-) and counts the
    file's columns as the unknown-species error does."""
    import re

    from ionscope.model.text import pretty_ion

    path, truth = stack_file
    code, out, err = cli("depth", "layers", path)
    assert code == 0, err
    line = next(s for s in err.splitlines() if s.startswith("chose"))
    names = truth.truth["layer_of_species"]
    assert any(pretty_ion(n) in line for n in names)
    assert not any(f" {n}," in line or f" {n};" in line for n in names if pretty_ion(n) != n)
    columns = re.search(r"the (\d+) columns of the file", line).group(1)
    code, _, err = cli("depth", "layers", path, "--species", "NoSuchIon+")
    assert code == 2 and f"the {columns} columns of the profile" in err
