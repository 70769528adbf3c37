"""Tracking, reversibility classes, change maps, normalisations and dose on the synthetic cell."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from ionscope.model.errors import ValidationError
from ionscope.model.operando import make_operando_series, stack_frames
from ionscope.operando.dose import dose_summary
from ionscope.operando.series import align_to_log, key_states
from ionscope.operando.tracking import change_maps, normalise, reversibility, track_regions
from ionscope.synth.operando import expected_recovery


def test_every_region_classified_as_truth(cell, analysis):
    *_, classes = cell
    got = [r["class"] for r in analysis.regions]
    assert got == classes
    assert {"reversible", "sluggish", "irreversible"} <= set(got)


def test_recovery_matches_truth_within_counting_error(cell, analysis):
    series, log, truth, labels, classes = cell
    true = expected_recovery(truth, analysis.states)
    for r, t in zip(analysis.regions, true):  # NCA particles come first
        # 4σ of the propagated Poisson/binomial error; the interior-only sums keep
        # sub-pixel registration error out of the numbers
        assert abs(r["reversibility"] - t) < 4 * r["reversibility_sigma"] + 0.01, r
        assert r["species"] == "^58Ni+"
    # ⁵⁸Ni⁺ response = gain × local SOC reached at the charged frame
    s = np.asarray(truth.truth["particle_soc"])[:, analysis.states["charged"]] * truth.truth["ni_gain"]
    resp = np.array([r["response"] for r in analysis.regions[: len(s)]])
    sig = np.array([r["response_sigma"] for r in analysis.regions[: len(s)]])
    assert np.all(np.abs(resp - s) < 4 * sig + 0.02)


def test_key_states_and_alignment(analysis):
    s = analysis.series
    st = analysis.states
    soc = s.coords["soc"].values
    assert st["pristine"] == 0 and soc[0] == pytest.approx(0.0, abs=1e-12)
    assert soc[st["charged"]] > 0.9
    assert soc[st["discharged"]] == pytest.approx(4 / 29, abs=0.03)
    assert s.coords["voltage"].attrs["units"] == "V" and s.coords["charge"].attrs["units"] == "µAh"
    assert np.all(s.coords["soc_end"].values >= s.coords["soc_start"].values - 0.1)


def test_track_exact_sums_without_shift():
    data = np.ones((2, 8, 10, 2)) * np.array([3.0, 5.0])
    series = make_operando_series(data, ["A", "B"], pixel_size_um=0.5, time_start_s=[0, 10], time_end_s=[5, 15])
    labels = np.zeros((8, 10), int)
    labels[2:4, 2:6] = 4
    tr = track_regions(series, labels)
    assert tr["counts"].sel(region=4, peak="A").values.tolist() == [24.0, 24.0]
    assert tr["intensity"].sel(region=4, peak="B").values[0] == pytest.approx(5 / 0.25)
    assert tr["sigma"].sel(region=4, peak="B").values[0] == pytest.approx(np.sqrt(40) / 2.0)
    first = normalise(tr, "first")
    assert first["intensity"].values[1].tolist() == [[1.0, 1.0]] and first["sigma"].values[0].max() == 0
    ref = normalise(tr, "reference:A")
    assert ref["intensity"].sel(peak="B").values[0, 0] == pytest.approx(5 / 3)
    tot = normalise(tr, "total", series=series)
    assert tot["intensity"].sel(peak="A").values[0, 0] == pytest.approx(3 / 8)


def test_change_maps(cell, analysis):
    series, log, truth, labels, classes = cell
    maps = change_maps(analysis.series, analysis.states, shifts=analysis.shifts, species=["^58Ni+"])
    ch = maps.sel(peak="^58Ni+ charged/pristine").values
    dis = maps.sel(peak="^58Ni+ discharged/pristine").values
    irr = [k + 1 for k, c in enumerate(truth.truth["classes"]) if c == "irreversible"]
    rev = [k + 1 for k, c in enumerate(truth.truth["classes"]) if c == "reversible"]
    # maps are on the reference grid, like the labels; Ni⁺ rises by 0.8 × SOC on charge
    assert np.nanmedian(ch[np.isin(labels, rev)]) > 0.5
    assert np.nanmedian(dis[np.isin(labels, irr)]) > 0.5
    assert abs(np.nanmedian(dis[np.isin(labels, rev)])) < 0.1


def test_heterogeneity_sees_excess_spread(analysis):
    het = analysis.result["heterogeneity"]["^58Ni+"]
    assert het["chi2_per_dof"] > 10  # sluggish vs reversible particles differ far beyond counting noise
    assert het["counts"]["sluggish"] >= 1


def test_dose(cell, analysis):
    series, log, truth, *_ = cell
    d = analysis.result["dose"]
    n = series.sizes["state"]
    assert d["total_ions_per_cm2"] == pytest.approx(truth.truth["dose_per_frame_ions_cm2"] * n, rel=1e-9)
    assert d["static_limit_exceeded"] and d["first_frame_past_static_limit"] == 0
    assert d["monolayers_removed"].value == pytest.approx(d["total_ions_per_cm2"] / 1e15)
    stripped = series.copy()
    stripped.attrs = {**series.attrs, "acquisition": {}}
    with pytest.raises(ValidationError, match="primary-ion current"):
        dose_summary(stripped)
    low = dose_summary(series, primary_current_pA=1e-6)
    assert not low["static_limit_exceeded"]


def test_bad_series_and_labels(cell):
    series, log, truth, labels, classes = cell
    with pytest.raises(ValidationError, match="label image has shape"):
        track_regions(series, labels[:-1])
    with pytest.raises(ValidationError, match="not in the series"):
        track_regions(series, labels, species=["^59Co+"])
    with pytest.raises(ValidationError, match="one .dy, dx. shift per frame"):
        track_regions(series, labels, shifts=np.zeros((3, 2)))
    late = series.assign_coords(time_start=series.time_start + 1e6, time_end=series.time_end + 1e6)
    with pytest.raises(ValidationError, match=r"frame\(s\) \[0, 1,.*outside the cycling log"):
        align_to_log(late, log)
    frames = [series.isel(state=k).drop_vars([c for c in series.coords if series.coords[c].dims == ("state",)])
              for k in range(2)]
    frames = [xr.DataArray(f.values, dims=f.dims, coords={c: f.coords[c] for c in ("y", "x", "peak")},
                           attrs=f.attrs) for f in frames]
    stacked = stack_frames(frames, [0, 2000], [1600, 3600])
    assert stacked.sizes["state"] == 2
    with pytest.raises(ValidationError, match="has 95×128 pixels"):
        stack_frames([frames[0], frames[1].isel(y=slice(0, 95))], [0, 1], [1, 2])
    with pytest.raises(ValidationError, match="species"):
        stack_frames([frames[0], frames[1].isel(peak=slice(0, 3))], [0, 1], [1, 2])
    with pytest.raises(ValidationError, match="ends .* before it starts"):
        make_operando_series(np.zeros((2, 4, 4, 1)), ["A"], pixel_size_um=1, time_start_s=[0, 5], time_end_s=[3, 4])
    with pytest.raises(ValidationError, match="acquisition order"):
        make_operando_series(np.zeros((2, 4, 4, 1)), ["A"], pixel_size_um=1, time_start_s=[5, 0], time_end_s=[6, 3])
    aligned = align_to_log(series.isel(state=slice(0, 3)), log)
    with pytest.raises(ValidationError, match="no frame after the charged state"):
        key_states(aligned)
    with pytest.raises(ValidationError, match="pristine"):
        reversibility(track_regions(series.isel(state=slice(0, 3)), labels), {"charged": 1})


def test_analysis_runs_without_primary_current(cell):
    """Only the dose needs the primary-ion current: without it the rest is computed and a warning says so."""
    from ionscope.operando.analysis import analyze_operando

    series, log, _, labels, _ = cell
    bare = series.copy()
    bare.attrs = {**series.attrs, "acquisition": {k: v for k, v in (series.attrs.get("acquisition") or {}).items()
                                                  if k != "primary_current_pA"}}
    res = analyze_operando(bare, log, labels=labels, species=["^58Ni+"], register=False)
    values = res.result.values
    assert values["dose"]["total_ions_per_cm2"] is None
    assert values["regions"] and values["capacity"]["cycles"]
    assert any("primary-ion current" in w for w in res.result.warnings)


def test_heterogeneity_is_a_result_of_the_responding_regions():
    from ionscope.model.result import Result
    from ionscope.operando import heterogeneity

    rows = [{"species": "Li+", "class": c, "response": rho, "response_sigma": 0.01}
            for c, rho in (("reversible", 0.5), ("reversible", 0.7), ("no response", 0.0))]
    h = heterogeneity(rows, "Li+")
    assert isinstance(h, Result) and h.n_regions == h["n_regions"] == 2
    assert h.mean_response == pytest.approx(0.6) and h["counts"]["reversible"] == 2
    assert heterogeneity(rows[:1], "Li+").to_dict()["n_regions"] == 1
