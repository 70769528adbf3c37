"""Artefact awareness: flags for profiles whose stratigraphy or axis may mislead (López et al. 2021, J. Mater.
Chem. A 9, 25341, doi:10.1039/D1TA04532F).

* **Beam-induced stratigraphy** (López et al. 2021): monatomic Ar⁺ (and other non-cluster) sputtering turns
  LiTFSI into LiF and Li₂CO₃/LiOH into Li₂O, producing a false "organic-outer / inorganic-inner"
  bilayer. Flagged when the beam is not a cluster and product and precursor markers are both present,
  more strongly when the product peaks deeper than the precursor.
* **Surface transients**: the first scan(s) sample contamination and the unsputtered surface.
* **Total-ion drift**: a changing total ion yield means a changing sputter/ionisation yield; raw
  intensities are then not proportional to concentration.
* **Frames vs seconds**: a time axis that counts frames, or two profiles whose fluence per second
  differs, cannot be compared on sputter time; use fluence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ionscope.depth._common import (
    axis_values,
    default_window,
    peak_labels,
    require_profile,
    robust_smooth,
    species_label,
)
from ionscope.depth.interfaces import MIN_PEAK_COUNTS, MIN_SNR, surface_transient_scans
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result

#: (product markers, precursor markers, message) for beam-induced chemistry (López et al. 2021, doi:10.1039/D1TA04532F).
#: Each reaction is flagged only when its premise holds: a Li-bearing product ion and a precursor ion are both
#: above background in the profile (:func:`_above_background`). The LiTFSI precursors are its F-bearing
#: fragments (TFSI⁻ = C₂F₆NO₄S₂⁻, CF₃⁻, CF₃SO₂⁻): F⁻ alone, or SO₂⁻/SO₃⁻, come from many other materials
#: (fluorinated substrates, SnF₂ additives, sulfates) and are not evidence of LiTFSI.
BEAM_REACTIONS = (
    (("LiF", "LiF_2", "Li_2F", "Li_2F_3"), ("C_2F_6NO_4S_2", "CF_3", "CF_3SO_2"),
     "LiF can be produced by the sputter beam from LiTFSI (Ar⁺-induced decomposition; López et al. 2021, "
     "doi:10.1039/D1TA04532F)"),
    (("Li_2O", "LiO", "Li_3O"), ("CO_3", "LiCO_3", "Li_2CO_3", "OH", "LiOH", "Li_2OH", "C_2O_4"),
     "Li₂O can be produced by the sputter beam from Li₂CO₃/LiOH (López et al. 2021, doi:10.1039/D1TA04532F)"),
)
_CLUSTER = re.compile(r"(Ar|C)_?\d{2,}|Ar\d{2,}|C60|C_60|cluster|GCIB|Bi_?3|H2O", re.I)


def _core(label: str) -> str:
    """Species label without charge sign and isotope prefixes."""
    return re.sub(r"\^\d+", "", label.strip()).rstrip("+-")


def _above_background(column: np.ndarray, skip: int) -> bool:
    """Whether a species is present above background: the same test as for a layer marker.

    Its smoothed maximum after the surface transient exceeds its background (2nd percentile) by
    :data:`~ionscope.depth.interfaces.MIN_SNR` times its scan-to-scan noise (at least Poisson √N) and
    reaches :data:`~ionscope.depth.interfaces.MIN_PEAK_COUNTS` counts per scan.
    """
    y = np.asarray(column, dtype=float)
    if y.size - skip < 5:
        return False
    sm = robust_smooth(y, default_window(y.size))
    seg, raw = sm[skip:], y[skip:]
    top, bottom = float(seg.max()), float(np.percentile(seg, 2))
    noise = max(float(1.4826 * np.median(np.abs(raw - seg))), float(np.sqrt(max(bottom, 1.0))) / 3)
    return top >= MIN_PEAK_COUNTS and (top - bottom) >= MIN_SNR * noise


def _present(labels: Sequence[str], markers: Sequence[str], data: np.ndarray, skip: int) -> list[str]:
    """Labels of ``markers`` (isotope prefixes and charge ignored) that are above background in ``data``."""
    return [lab for i, lab in enumerate(labels) if _core(lab) in markers and _above_background(data[:, i], skip)]


def check_artefacts(profile: xr.DataArray, *, layer_order: Sequence[str] | None = None,
                    drift_ratio: float = 2.0) -> Result:
    """Flags for the artefacts above; each flag is a dict {code, message, detail} and a warning."""
    prof = require_profile(profile)
    labels = peak_labels(prof)
    data = np.asarray(prof.values, dtype=float)
    data = np.where(np.isfinite(data), data, 0.0)
    acq = prof.attrs.get("acquisition", {}) or {}
    beam = str(acq.get("sputter_ion") or "")
    flags: list[dict] = []

    cluster = bool(beam) and bool(_CLUSTER.search(beam))
    n_tr = surface_transient_scans(prof)
    for products, precursors, message in BEAM_REACTIONS:
        if cluster:
            continue
        prod, prec = _present(labels, products, data, n_tr), _present(labels, precursors, data, n_tr)
        if not (prod and prec):
            continue
        smooth = robust_smooth(data, 5)
        pos = {lab: int(np.argmax(smooth[1:, labels.index(lab)])) + 1 for lab in prod + prec}
        deeper = min(pos[p] for p in prod) > max(pos[p] for p in prec)
        detail = {"products": prod, "precursors": prec, "beam": beam or "not recorded",
                  "product_deeper_than_precursor": deeper}
        text = message + f" ({', '.join(map(species_label, prod))} with {', '.join(map(species_label, prec))})"
        text += (f"; beam {beam}" if beam else "; the sputter beam is not recorded")
        if deeper:
            text += ": the profile shows the product below the precursor, the 'organic-outer / inorganic-inner' " \
                    "bilayer that beam damage alone produces"
        flags.append({"code": "beam_induced_stratigraphy", "message": text, "detail": detail})

    total = data[:, [i for i, lab in enumerate(labels) if lab.strip().lower() == "total"][0]] \
        if any(lab.strip().lower() == "total" for lab in labels) else data.sum(axis=1)
    if total.size > 3:
        nxt = float(np.median(total[1:4]))
        jump = total[0] / nxt if nxt > 0 else np.inf
        if n_tr > 1 or not 0.67 < jump < 1.5:
            flags.append({"code": "surface_transient",
                          "message": f"the first {n_tr} scan(s) are a surface transient (total ions in scan 0 are "
                                     f"{jump:.2g}× the next scans): contamination/pre-sputter; ignore their maxima",
                          "detail": {"scans": n_tr, "ratio_scan0": float(jump)}})
    valid = total[n_tr:]
    valid = valid[valid > 0]
    if valid.size > 5:
        sm = robust_smooth(valid, 5)
        lo, hi = float(np.percentile(sm, 5)), float(np.percentile(sm, 95))
        if lo > 0 and hi / lo > drift_ratio:
            flags.append({"code": "total_ion_drift",
                          "message": f"total ion intensity changes {hi / lo:.1f}-fold through the profile: the "
                                     "sputter/ionisation yield changes (matrix effect); compare normalised profiles",
                          "detail": {"ratio": hi / lo}})
    t, _ = axis_values(prof, "sputter_time")
    if t.size > 2 and np.allclose(t, np.round(t)) and np.allclose(np.diff(t), 1.0) and \
            "data_point" in prof.coords and np.array_equal(t, prof.coords["data_point"].values - 1):
        flags.append({"code": "frames_not_seconds",
                      "message": "the sputter-time axis equals the frame index (0, 1, 2…): it counts frames, "
                                 "not seconds; use dose or fluence",
                      "detail": {}})
    if layer_order is not None and beam == "" and any(f["code"] == "beam_induced_stratigraphy" for f in flags):
        flags[-1]["detail"]["layer_order"] = list(layer_order)
    prov = make_provenance("ionscope.depth.check_artefacts", parameters={"drift_ratio": drift_ratio})
    return Result("depth.artefacts", {"flags": flags, "codes": [f["code"] for f in flags]},
                  warnings=tuple(f["message"] for f in flags), provenance=prov,
                  flags=tuple(f["code"] for f in flags))


def compare_time_axes(a: xr.DataArray, b: xr.DataArray, *, tolerance: float = 0.05) -> Result:
    """Whether two profiles of one stack can be compared on sputter time (equal fluence per second).

    Exports per frame and per second (or at different currents) have different fluence rates; their
    time axes then disagree while the fluence axes agree. Returns the two rates and a warning when
    they differ by more than ``tolerance`` (relative).
    """
    rates = []
    for p in (a, b):
        t, _ = axis_values(require_profile(p), "sputter_time")
        f, _ = axis_values(p, "fluence")
        rates.append(float(np.polyfit(t, f, 1)[0]))
    rel = abs(rates[0] - rates[1]) / max(rates)
    warnings = [f"fluence per second differs by {100 * rel:.0f} % between the profiles (frames vs seconds or a "
                "different current): compare them on fluence, not sputter time"] if rel > tolerance else []
    return Result("depth.time_axes", {"fluence_rates": rates, "unit": "ions/cm^2/s", "relative_difference": rel,
                                      "comparable_on_time": rel <= tolerance}, warnings=tuple(warnings),
                  provenance=make_provenance("ionscope.depth.compare_time_axes", parameters={"tolerance": tolerance}))


__all__ = ["check_artefacts", "compare_time_axes"]
