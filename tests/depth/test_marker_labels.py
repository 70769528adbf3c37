"""Marker choice and warnings a user sees on perovskite profiles: beam-chemistry premise, one label
formatter, summed columns, isotopologues (dead time), and the same warnings from `depth plot` and
`depth layers`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import erf

import ionscope
from ionscope.depth import check_artefacts, choose_marker_species, find_layers, species_label
from ionscope.model.arrays import make_depth_profile
from ionscope.synth.depth import layered_stack

from ..conftest import shared_data, write_surfacelab_profile

T = np.arange(200.0)
TOP = 0.5 * (1 - erf((T - 100) / 4.0))  # layer 1: 0–100 s
BOTTOM = 1 - TOP  # layer 2 below


def _profile(columns: dict[str, np.ndarray], seed: int = 0):
    rng = np.random.default_rng(seed)
    data = np.stack([rng.poisson(np.clip(v, 0, None)).astype(float) for v in columns.values()], 1)
    return make_depth_profile(data, list(columns), sputter_time_s=T)


def test_litfsi_flag_needs_li_and_tfsi_above_background():
    # F⁻ is everywhere on a fluorinated substrate; a TFSI column at its background; no Li ion at all
    no_li = _profile({"F-": 5000 * BOTTOM + 200, "C_2F_6NO_4S_2-": np.full(T.size, 3.0), "In-": 800 * BOTTOM + 2})
    assert "beam_induced_stratigraphy" not in check_artefacts(no_li)["codes"]
    # a LiF₂⁻ column at background only (no step above noise) is not a product either
    flat_li = _profile({"LiF_2-": np.full(T.size, 2.0), "C_2F_6NO_4S_2-": 500 * TOP + 5, "In-": 800 * BOTTOM})
    assert "beam_induced_stratigraphy" not in check_artefacts(flat_li)["codes"]
    both = _profile({"LiF_2-": 500 * BOTTOM + 5, "C_2F_6NO_4S_2-": 500 * TOP + 5, "In-": 800 * BOTTOM})
    (msg,) = [w for w in check_artefacts(both).warnings if "LiTFSI" in w]
    assert "LiF₂⁻" in msg and "C₂F₆NO₄S₂⁻" in msg


@pytest.mark.realdata
def test_no_litfsi_flag_on_a_mapi_profile():
    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209p_A_MAPI_1f-1nA_neg-B4.txt")
    assert "beam_induced_stratigraphy" not in check_artefacts(ionscope.read(path))["codes"]


def test_warnings_use_the_ion_label_formatter():
    p = _profile({"O_2-": 2000 * TOP + 2, "^29SiO_2-": 2000 * BOTTOM + 2, "^30SiO_2-": np.full(T.size, 1.0)})
    res = find_layers(p, ["O_2-", "^29SiO_2-", "^30SiO_2-"])
    text = " ".join(res.warnings)
    assert "³⁰SiO₂⁻" in text and "^30SiO_2-" not in text and "_" not in text


def test_summed_column_is_labelled_and_not_preferred():
    assert species_label("^118SnI_3-SnI_3-") == "sum of ¹¹⁸SnI₃⁻ + SnI₃⁻"
    assert species_label("O_2-") == "O₂⁻"
    single = 3000 * TOP + 2
    p = _profile({"^118SnI_3-SnI_3-": 1.3 * single, "SnI_3-": single, "InO_2-": 2000 * BOTTOM + 2,
                  "SnI_3- / ( InO_2- )": single / (2000 * BOTTOM + 2)})
    chosen = choose_marker_species(p)
    assert chosen["species"] == ["SnI_3-", "InO_2-"]
    # a layer marked only by a summed column still gets one, said to be a sum
    only_sum = _profile({"^118SnI_3-SnI_3-": single, "InO_2-": 2000 * BOTTOM + 2})
    (group,) = [g for g in choose_marker_species(only_sum)["groups"] if g["marker"] == "^118SnI_3-SnI_3-"]
    assert "sums several species" in group["why"]


def _isotopologues(shots: float | None, major_label: str = "CH_3NH_3+", minor_label: str = "^13CH_3NH_3+"):
    """Major ion with an interfering background (so the minor has the higher contrast) and a minor isotopologue."""
    major = 1e5 * TOP
    recorded = major if shots is None else shots * (1 - np.exp(-major / shots))  # Poisson dead time
    return _profile({major_label: recorded + 200, minor_label: 0.02 * major + 0.5, "In+": 3000 * BOTTOM + 2})


@pytest.mark.parametrize(("major", "minor"), [("CH_3NH_3+", "^13CH_3NH_3+"), ("Pb_2I_5-", "^207Pb^206PbI_5-")])
def test_major_isotopologue_preferred_when_not_saturated(major, minor):
    chosen = choose_marker_species(_isotopologues(None, major, minor))
    assert chosen["species"][0] == major
    assert not chosen["groups"][0].get("why")


def test_minor_isotopologue_kept_and_explained_when_major_saturates():
    chosen = choose_marker_species(_isotopologues(1.2e5))
    assert chosen["species"][0] == "^13CH_3NH_3+"
    assert "dead time" in chosen["groups"][0]["why"]


def test_plot_gives_the_same_warnings_as_layers(cli, tmp_path):
    profile, truth = layered_stack(transient=8.0, matrix_factors=(1, 4, 1, 0.2, 1), seed=3)
    path = write_surfacelab_profile(profile, tmp_path / "stack.txt")
    species = ",".join(truth.truth["layer_of_species"])
    code, out, err = cli("depth", "layers", path, "--species", species, "--json")
    assert code == 0, err
    layers = json.loads(out)["warnings"]
    code, out, err = cli("depth", "plot", path, "--species", species, "--out", tmp_path / "p.svg", "--json")
    assert code == 0, err
    plot = json.loads(out)["warnings"]
    assert any("surface transient" in w for w in plot) and any("total ion intensity" in w for w in plot)
    # the layers envelope adds a note on the per-species 50 % crossings it lists (the plot lists none)
    assert plot == [w for w in layers if not w.startswith("no uncertainty for")]
