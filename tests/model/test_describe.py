"""``ionscope info``: every axis with size, unit and range, every species with its m/z."""

from __future__ import annotations

import json

import numpy as np

from ionscope.model.describe import describe
from ionscope.synth.depth import layered_stack


def test_profile_lists_axes_and_species():
    profile, truth = layered_stack(seed=2)
    d = describe(profile)
    assert [a["name"] for a in d["axes"]] == list(profile.dims)
    scan = next(a for a in d["axes"] if a["name"] == "scan")
    assert scan["size"] == profile.sizes["scan"]
    assert [s["name"] for s in d["species"]] == [str(p) for p in profile.peak.values]
    json.dumps(d)  # JSON-compatible


def test_species_masses_and_missing_masses():
    from ionscope.model.arrays import make_ion_image

    img = make_ion_image(np.zeros((4, 4, 3)), ["^7Li+", "total", "Co+"], pixel_size_um=0.5,
                         mz=[7.016, float("nan"), 58.93])
    d = describe(img)
    assert d["species"] == [{"name": "^7Li+", "mz": 7.016}, {"name": "total", "mz": None},
                            {"name": "Co+", "mz": 58.93}]
    x = next(a for a in d["axes"] if a["name"] == "x")
    rng = x["range"]
    assert x["size"] == 4 and rng["unit"] == "µm" and rng["value"][1] - rng["value"][0] == 1.5  # pixel centres
    assert rng["uncertainty"] is None


def test_json_ranges_say_why_they_have_no_uncertainty():
    from ionscope.model.describe import RANGE_WHY, with_range_quantities
    from ionscope.model.result import envelope

    profile, _ = layered_stack(seed=2)
    doc = envelope("info", with_range_quantities(describe(profile)))
    ranged = [i for i, a in enumerate(doc["results"]["axes"]) if a["range"] is not None]
    assert ranged and doc["uncertainty_notes"] == {f"axes[{i}].range": {"kind": "input", "reason": str(RANGE_WHY)}
                                                   for i in ranged}
    assert doc["warnings"] == []


def test_info_text_shows_species(cli, tmp_path):
    import ionscope

    profile, _ = layered_stack(seed=2)
    path = ionscope.save(profile, tmp_path / "p.zarr")
    code, out, err = cli("info", path)
    assert code == 0, err
    assert "species (5)" in out and "Au-" in out


def test_info_text_lists_each_array_of_an_npz_with_its_sizes(cli, tmp_path):
    """Each array on its own line with named sizes, not the dims of all arrays run together."""
    import numpy as np

    path = tmp_path / "trift.npz"
    np.savez(path, counts_pixels_by_mz=np.zeros((64, 6), np.uint16), mz=np.arange(6.0), xy=np.array([8, 8]))
    code, out, err = cli("info", path)
    assert code == 0, err
    assert "(64, 6, 6, 2)" not in out
    lines = out.splitlines()
    assert any(ln.strip() == "counts_pixels_by_mz: counts_pixels_by_mz_0=64 × counts_pixels_by_mz_1=6 (uint16)"
               for ln in lines), out
    assert any(ln.strip() == "mz: mz_0=6 (float64)" for ln in lines) and "3 arrays" in lines[0]
