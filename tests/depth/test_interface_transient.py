"""A metal electrode whose ions peak at its lower interface (a matrix-effect yield transient) is still a layer.

Deline, Katz, Evans & Williams 1978 (Appl. Phys. Lett. 33, 832) for the matrix effect; Hofmann 1994
(Surf. Interface Anal. 21, 673) for the mixing length that bounds the transient to one edge width.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erfc

from ionscope.depth import choose_marker_species, find_layers
from ionscope.depth.interfaces import _layer_resolution
from ionscope.model.arrays import make_depth_profile


def _electrode_profile(seed: int = 0):
    """Ag electrode (flat, with a yield peak just above its interface) on an organic layer on ITO."""
    rng = np.random.default_rng(seed)
    n, edge = 180, 6.0  # scans; erf edge σ in scans (16–84 % width 2σ = 12 scans)
    s = np.arange(n, dtype=float)

    def fall(at):
        return 0.5 * erfc((s - at) / (edge * np.sqrt(2)))

    ag = 800 * fall(65) + 400 * np.exp(-0.5 * ((s - 60) / 3.0) ** 2) + 2
    c = 500 * (1 - fall(65)) * fall(120) + 3
    inn = 3000 * (1 - fall(120)) + 2
    data = rng.poisson(np.stack([ag, c, inn], axis=1)).astype(float)
    return make_depth_profile(data, ["Ag+", "C+", "In+"], sputter_time_s=s * 6.0)


def test_an_electrode_with_an_interface_yield_peak_is_a_layer():
    prof = _electrode_profile()
    chosen = choose_marker_species(prof)
    assert chosen["species"][0] == "Ag+", (chosen["species"], chosen["unresolved"])
    layers = find_layers(prof, chosen["species"])
    first = layers["layers"][0]
    assert first["dominant_species"] == "Ag+"
    assert abs(layers["interfaces"][0]["position"].value - 65 * 6.0) < 3 * 6.0


def test_a_resolution_limited_peak_is_still_unresolved():
    """No flat part above the peak: the transient rule does not apply and the peak stays too thin."""
    s = np.arange(120, dtype=float)
    yn = np.exp(-0.5 * ((s - 40) / 6.0) ** 2)
    res = _layer_resolution(s, yn, 1, 120, above=False)
    assert not res["resolved"] and not res["interface_transient"]


@pytest.mark.realdata
def test_the_real_ag_electrode_is_found():
    import ionscope
    from tests.conftest import shared_data

    path = shared_data("iontof_depth_profiles", "FACSPI-stack", "I241209zk_D_FACSPI-dev_4f-3nA_pos-C-electrode1.txt")
    prof = ionscope.read(path)  # Fransaert et al., Joule 2026 (MIT)
    chosen = choose_marker_species(prof)
    assert chosen["species"][0].startswith("Ag"), chosen["species"]
    found = find_layers(prof, chosen["species"])
    assert len(found["layers"]) >= 2 and found["interfaces"][0]["upper"].startswith("Ag")
    assert found["interfaces"][0]["position"].value > 100.0  # the electrode is tens of scans thick, not a transient


def test_one_layer_is_written_in_the_singular(cli, tmp_path):
    import ionscope

    path = ionscope.save(_electrode_profile(), tmp_path / "p.zarr")
    code, out, err = cli("depth", "layers", path, "--species", "In+")
    assert code == 0, err
    assert ": 1 layer on sputter_time" in out and "1 layers" not in out
