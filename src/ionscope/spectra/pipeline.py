"""End-to-end spectrum analyses returning :class:`~ionscope.model.Result` records (used by the CLI and demo)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result
from ionscope.spectra.calibration import (
    REFERENCE_IONS,
    Calibration,
    apply_calibration,
    auto_calibrate,
    calibration_from_axis,
)
from ionscope.spectra.elements import elements_present, identify_elements
from ionscope.spectra.peaks import find_spectrum_peaks


def read_spectrum(path: str | PathLike[str], polarity: str | None = None):
    """Read a spectrum file; polarity from the argument, the metadata, or the ``P_``/``N_`` file name."""
    import ionscope

    p = Path(path)
    spec = ionscope.read(p)
    if "mz" not in spec.dims:
        raise ValidationError(f"{p.name} holds a {spec.attrs.get('kind', 'non-spectrum')}, not a spectrum", p)
    acq = dict(spec.attrs.get("acquisition") or {})
    if polarity in (None, "auto"):
        polarity = acq.get("polarity")
        if polarity is None:
            m = re.match(r"^([PN])_", p.name)
            polarity = None if not m else ("positive" if m.group(1) == "P" else "negative")
    if polarity is not None:
        acq["polarity"] = polarity
        spec.attrs["acquisition"] = acq
    return spec


def _polarity_of(spec) -> str:
    pol = (spec.attrs.get("acquisition") or {}).get("polarity")
    if pol not in ("positive", "negative"):
        raise ValidationError("the polarity of this spectrum is unknown: pass --polarity positive|negative")
    return pol


def calibration_result(spec, *, model: str = "sqrt", references: Sequence[str] | None = None,
                       source: str | PathLike[str] | None = None) -> tuple[Result, Calibration]:
    """Auto-recalibrate ``spec``; report parameters, per-reference residuals (ppm) and the residuals
    of the file's own (exported) calibration at the same peaks."""
    cal = auto_calibrate(spec, model=model, references=references)
    warnings = []
    exported = None
    if "channel" in spec.coords:
        exp = calibration_from_axis(spec.coords["channel"].values, spec.coords["mz"].values, model="sqrt")
        used = [r for r in cal.references if r["used"]]
        res = np.array([(exp.mz(r["t"]) - r["mz_true"]) / r["mz_true"] * 1e6 for r in used])
        exported = float(np.sqrt(np.mean(res ** 2))) if res.size else None
    binning = (spec.attrs.get("acquisition") or {}).get("binning")
    if binning and binning > 1:
        warnings.append(f"the export is binned by {binning} channels: residuals are limited by the bin width "
                        "(≈ 2·binning/(k·√m) relative), not by the fit")
    n_out = sum(not r["used"] for r in cal.references)
    if n_out:
        warnings.append(f"{n_out} reference peak(s) rejected as outliers")
    unc = cal.uncertainties or (None,) * len(cal.params)
    names = ("t0", "k", "c")
    values = {names[i]: Quantity(v, unc[i], "channel" if i == 0 else "channel/√(m/z)" if i == 1 else "channel/(m/z)")
              for i, v in enumerate(cal.params)}
    values.update({"model": cal.model, "rms_ppm": cal.rms_ppm, "exported_rms_ppm": exported,
                   "references": [dict(r) for r in cal.references]})
    prov = make_provenance("ionscope.spectra.auto_calibrate", inputs=[source] if source else [],
                           parameters={"model": model, "references": list(references) if references else "default"})
    return Result("spectrum.calibration", values, tuple(warnings), prov), cal


def peaks_result(spec, *, min_snr: float = 3.0, recalibrate: bool = True,
                 source: str | PathLike[str] | None = None) -> Result:
    """Peak table of ``spec`` (recalibrated first when it has a channel axis and a known polarity)."""
    warnings = []
    if recalibrate and "channel" in spec.coords and (spec.attrs.get("acquisition") or {}).get("polarity"):
        spec = apply_calibration(spec, auto_calibrate(spec))
    elif recalibrate:
        warnings.append("not recalibrated (no channel axis or unknown polarity): m/z as exported")
    table = find_spectrum_peaks(spec, min_snr=min_snr)
    prov = make_provenance("ionscope.spectra.find_spectrum_peaks", inputs=[source] if source else [],
                           parameters={"min_snr": min_snr, "recalibrate": recalibrate})
    return Result("spectrum.peaks", {"n_peaks": len(table), "peaks": table.to_dict(orient="records")},
                  tuple(warnings), prov)


def identify_result(spec, *, elements: Sequence[str] | str = "auto", recalibrate: bool = True,
                    source: str | PathLike[str] | None = None, **options) -> Result:
    """Elements and species present in ``spec`` with intensities (counts) and scores."""
    pol = _polarity_of(spec)
    warnings = []
    cal_dict = None
    if recalibrate and "channel" in spec.coords:
        cal = auto_calibrate(spec, polarity=pol)
        spec = apply_calibration(spec, cal)
        cal_dict = {"model": cal.model, "rms_ppm": cal.rms_ppm, "params": list(cal.params)}
    fits = identify_elements(spec, polarity=pol, elements=elements, **options)
    present = [f for f in fits if f.present]
    totals = elements_present(fits)
    ref = max(totals.values()) if totals else 1.0
    species = [{"formula": f.formula, "element": f.element, "mz": f.mz, "intensity": f.intensity,
                "uncertainty": f.uncertainty, "score": f.score, "significance": f.significance,
                "contrast": f.contrast} for f in present]
    if not present:
        warnings.append("no element passed the significance and isotope-pattern tests")
    mono = sorted({f.element for f in fits if not f.diagnostic and f.intensity > 0})
    if mono:
        warnings.append(f"{', '.join(mono)}: species with a single isotopologue cannot be confirmed by isotope "
                        "patterns; their fitted intensities are under 'unconfirmed'")
    if isinstance(elements, str) and elements == "auto":
        warnings.append("auto mode screens every element with a diagnostic isotope pattern and reports only those "
                        "that also stand out from a smooth local background (contrast ≥ min_significance); minor "
                        "elements can be missed: test suspected ones with --elements")
    prov = make_provenance("ionscope.spectra.identify_elements", inputs=[source] if source else [],
                           parameters={"elements": elements, "polarity": pol, **options})
    return Result("spectrum.identify",
                  {"polarity": pol, "species": species,
                   "unconfirmed": [{"formula": f.formula, "mz": f.mz, "intensity": f.intensity,
                                    "uncertainty": f.uncertainty} for f in fits
                                   if not f.diagnostic and f.intensity > 0],
                   "elements": {e: {"intensity": v, "relative": v / ref,
                                    "significance": max(f.significance for f in present if f.element == e),
                                    "contrast": max(f.contrast for f in present if f.element == e)}
                                for e, v in totals.items()},
                   "candidates_tested": len(fits), "calibration": cal_dict},
                  tuple(warnings), prov)


__all__ = ["REFERENCE_IONS", "calibration_result", "identify_result", "peaks_result", "read_spectrum"]
