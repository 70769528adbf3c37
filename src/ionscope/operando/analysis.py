"""The whole operando analysis in one call: align, register, segment, track, classify, dose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ionscope.imaging.registration import estimate_shifts
from ionscope.model.errors import ValidationError
from ionscope.model.operando import check_series
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result
from ionscope.operando.dose import dose_summary
from ionscope.operando.electrochem import capacity_summary
from ionscope.operando.regions import check_labels, erode_labels, region_areas_um2, segment_particles
from ionscope.operando.series import align_to_log, key_states
from ionscope.operando.tracking import heterogeneity, normalise, reversibility, track_regions


@dataclass
class OperandoAnalysis:
    """Everything the analysis computed; ``result`` is what ``--json`` prints."""

    result: Result
    series: xr.DataArray
    log: pd.DataFrame
    labels: np.ndarray
    shifts: np.ndarray
    states: dict[str, int]
    track: xr.Dataset
    regions: list[dict]


def registration_image(series: xr.DataArray, channel: str = "total") -> np.ndarray:
    """(state, y, x) images to register: the total-ion image or one stable species."""
    if channel == "total":
        return np.asarray(series.sum(dim="peak").transpose("state", "y", "x").values, dtype=float)
    peaks = [str(p) for p in series.coords["peak"].values]
    if channel not in peaks:
        raise ValidationError(f"registration channel {channel!r} is not in the series ({peaks}); use 'total'")
    return np.asarray(series.sel(peak=channel).transpose("state", "y", "x").values, dtype=float)


def analyze_operando(series: xr.DataArray, log: pd.DataFrame, *, labels: Any | None = None,
                     species: Sequence[str] | None = None, register: bool = True,
                     registration_channel: str = "total", upsample: int = 20,
                     segment_species: str | None = None, normalisation: str | None = None,
                     area_cm2: float | None = None, soc_reference_Ah: float | None = None,
                     cycle: int = 1, primary_current_pA: float | None = None,
                     indicator: dict[int, str] | None = None, erode_px: int = 1,
                     inputs: Sequence[Any] = ()) -> OperandoAnalysis:
    """Operando TOF-SIMS analysis of a series and its cycling log (Xing et al. 2026, ACS Energy Lett. 11, 1889,
    doi:10.1021/acsenergylett.5c03610).

    Steps: capacity bookkeeping of the log; alignment of every frame to the log (voltage, charge,
    SOC window); drift registration (phase correlation on ``registration_channel``, frame 0 as
    reference); regions (``labels``, or segmentation of the pristine frame of ``segment_species``
    — default the first of ``species``); per-region tracking with dead-time correction and
    Poisson uncertainties on the region interiors (``erode_px`` pixels in from the edge, so
    sub-pixel registration errors do not leak the neighbouring phase in); reversibility and
    classes between the pristine, charged and discharged frames of ``cycle``; heterogeneity; dose (only
    when the primary-ion current is known: ``primary_current_pA`` or the series' acquisition metadata;
    otherwise the dose values are ``None`` and a warning says so).

    Returns
    -------
    OperandoAnalysis
        ``result.values`` has the blocks ``capacity`` (``cycles`` with ``charge_uAh``,
        ``discharge_uAh``, ``coulombic_efficiency``, ``irreversible_fraction``), ``frames``,
        ``registration``, ``regions`` (``id``, ``area_um2``, ``reversibility``, ``class``…),
        ``heterogeneity``, ``dose`` (``total_ions_per_cm2``, ``static_limit_exceeded``…).
    """
    series = check_series(series)
    peaks = [str(p) for p in series.coords["peak"].values]
    species = list(species) if species else peaks
    unknown = [s for s in species if s not in peaks]
    if unknown:
        raise ValidationError(f"species {unknown} are not in the series (it has {peaks})")
    cap = capacity_summary(log, area_cm2=area_cm2)
    aligned = align_to_log(series, log, soc_reference_Ah=soc_reference_Ah)
    states = dict(key_states(aligned, cycle).values)
    warnings = list(cap.warnings)
    if register:
        found = estimate_shifts(registration_image(aligned, registration_channel), 0, upsample=upsample,
                                return_error=True)
        shifts, peak_heights = found.shifts, found.peak_heights
        if np.any(peak_heights < 0.05):
            warnings.append(f"weak registration peak in frames {np.flatnonzero(peak_heights < 0.05).tolist()}: "
                            "check the registration channel")
    else:
        shifts, peak_heights = np.zeros((aligned.sizes["state"], 2)), np.ones(aligned.sizes["state"])
    ny, nx = aligned.sizes["y"], aligned.sizes["x"]
    if labels is None:
        seg = segment_species or species[0]
        if seg not in peaks:
            raise ValidationError(f"segmentation species {seg!r} is not in the series ({peaks})")
        lab = segment_particles(np.asarray(aligned.isel(state=states["pristine"]).sel(peak=seg).values, dtype=float))
        if lab.max() == 0:
            raise ValidationError(f"segmentation of {seg} found no regions; give a label image")
        region_source = f"segmented from {seg} (pristine frame, Otsu threshold + watershed)"
    else:
        lab = check_labels(labels, (ny, nx))
        region_source = "label image"
    track = track_regions(aligned, erode_labels(lab, erode_px), shifts=shifts, species=species)
    warnings += list(track.attrs.get("warnings", []))
    normed = normalise(track, normalisation, series=aligned)
    rows = reversibility(normed, states, species=species, indicator=indicator)["regions"]
    het = {s: dict(heterogeneity(rows, s).values) for s in sorted({r["species"] for r in rows})}
    pix = float(track.attrs["pixel_area_um2"])
    full = region_areas_um2(lab, pix)
    for r in rows:
        r["tracked_area_um2"] = r["area_um2"]
        r["area_um2"] = float(full[r["id"] - 1])
    areas = {r["id"]: r["area_um2"] for r in rows}
    dose_keys = ("total_ions_per_cm2", "static_limit_exceeded", "first_frame_past_static_limit",
                 "mean_per_frame_ions_per_cm2", "monolayers_removed", "sputter_yield_assumed", "ratio_to_paper",
                 "cumulative_ions_per_cm2")
    if primary_current_pA is None and (aligned.attrs.get("acquisition") or {}).get("primary_current_pA") is None:
        dose_values: dict[str, Any] = dict.fromkeys(dose_keys)
        warnings.append("the primary-ion current is not in the series metadata and was not given "
                        "(--primary-current-pa): the primary-ion dose and the static-limit check are left out")
    else:
        dose = dose_summary(aligned, primary_current_pA=primary_current_pA, region_areas_um2=areas)
        warnings += list(dose.warnings)
        dose_values = {k: dose.values[k] for k in dose_keys}
    c = {k: np.asarray(aligned.coords[k].values) for k in ("time_start", "time_end", "voltage", "charge",
                                                           "soc_start", "soc_end", "cycle")}
    frames = [{"state": int(i), "time_start_s": float(c["time_start"][i]), "time_end_s": float(c["time_end"][i]),
               "voltage_V": float(c["voltage"][i]), "charge_uAh": float(c["charge"][i]),
               "soc_start": float(c["soc_start"][i]), "soc_end": float(c["soc_end"][i]),
               "cycle": int(c["cycle"][i]), "shift_px": [float(shifts[i, 0]), float(shifts[i, 1])]}
              for i in range(aligned.sizes["state"])]
    values = {
        "capacity": {k: cap.values[k] for k in ("cycles", "n_cycles", "duration_h", "cc_current_uA")
                     if k in cap.values},
        "frames": frames,
        "key_states": states,
        "registration": {"channel": registration_channel, "upsample": upsample, "reference_frame": 0,
                         "max_shift_px": float(np.abs(shifts).max()) if register else 0.0,
                         "peak_height_min": float(peak_heights.min())},
        "regions_source": region_source,
        "normalisation": normed.attrs.get("normalisation"),
        "thresholds": {"irreversible": "recovery R < 0.5",
                       "sluggish": "R ≥ 0.5 and |response| < 0.6 × 90th percentile of |response| "
                                   "(same indicator species)",
                       "no response": "|I_charged − I_pristine| < 3σ"},
        "regions": [{k: v for k, v in r.items()} for r in rows],
        "heterogeneity": het,
        "dose": dose_values,
    }
    prov = make_provenance(
        "ionscope.operando.analyze_operando", inputs=list(inputs),
        parameters={"species": species, "register": register, "registration_channel": registration_channel,
                    "upsample": upsample, "normalisation": normalisation, "area_cm2": area_cm2, "cycle": cycle,
                    "soc_reference_Ah": soc_reference_Ah, "segment_species": segment_species,
                    "erode_px": erode_px},
        parents=[p for p in (series.attrs.get("provenance"),) if p])
    result = Result("operando.analysis", values, warnings=tuple(warnings), provenance=prov)
    return OperandoAnalysis(result, aligned, log, lab, shifts, states, normed, rows)
