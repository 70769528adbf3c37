"""Spectrum → identify: recalibrate a TOF-SIMS spectrum, find peaks and identify metals by isotope pattern.

Run:  python examples/spectrum_identify.py [SPECTRUM.txt|-] [FIGURE_DIR]
Without a file, a virtual spectrum with known content is simulated (ionscope.synth.tof_spectrum).
A file goes through the same pipeline, with the same defaults, as `ionscope spectrum identify FILE`
(ionscope.spectra.pipeline.identify_file: recalibration kept only if it beats the file's own, the primary
ion from the file, elements screened automatically), so the numbers printed are the command's; with
`--elements Ru,Pt,Pd` the command reports those elements only (fitting, unreported, the others its screening
finds beside them) and its numbers differ accordingly. A file also
gets the command's `--plot` figures, one per element, beside the overview.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from _common import figure_dir, input_path

from ionscope.model.text import format_measurement, pretty_ion
from ionscope.spectra.calibration import apply_calibration, auto_calibrate
from ionscope.spectra.deadtime import dead_time_corrected
from ionscope.spectra.elements import identify_elements
from ionscope.spectra.peaks import find_spectrum_peaks
from ionscope.spectra.pipeline import identify_file, read_spectrum
from ionscope.synth.spectra import tof_spectrum

path = input_path()
title = "simulated spectrum: isotope patterns of Ru, Pt and Pd"
if path is None:
    spectrum, truth = tof_spectrum(seed=0)
    spectrum, _ = dead_time_corrected(spectrum)  # its detector counts at most one ion per channel per shot
    spectrum = apply_calibration(spectrum, auto_calibrate(spectrum))  # the simulated export is miscalibrated
    polarity = (spectrum.attrs.get("acquisition") or {}).get("polarity") or "positive"
    named = ["Ru", "Pt", "Pd", "Ni", "Co"]
    fits = identify_elements(spectrum, polarity=polarity, elements=named)
    rows = [(f.formula, f.intensity, f.uncertainty,
             ("present" if f.present else "not present") if f.element in named else "fitted beside, not named")
            for f in fits if f.present or f.formula in truth.truth["species"]]
else:
    # what `ionscope spectrum identify FILE --plot DIR` computes: polarity from the file's metadata or its
    # P_/N_ name, and one figure per element (counts, the fitted pattern of each form, the local background)
    result, truth = identify_file(path, plot=figure_dir(), force=True), None
    spectrum, polarity = read_spectrum(path), result["polarity"]
    rows = [(s["formula"], s["intensity"].value, s["intensity"].uncertainty, "present") for s in result["species"]]
    found = [r["element"] for r in result["elements"] if r["detected"]]
    title = f"{path.name}: {', '.join(found) or 'no element'} detected (auto mode)"
peaks = find_spectrum_peaks(spectrum, min_snr=5)
print(f"{len(peaks)} peaks above 5σ ({polarity} ions)")
for formula, counts, sigma, status in rows:
    true = "" if truth is None else f"  (true {truth.truth['species'].get(formula, 0):.0f})"
    print(f"{pretty_ion(formula)}: {format_measurement(counts, sigma, 'counts')}  {status}{true}")

mz, y = spectrum.coords["mz"].values, spectrum.values
sel = (mz > 94) & (mz < 200)
fig, ax = plt.subplots(figsize=(7, 3))
ax.semilogy(mz[sel], y[sel] + 1, lw=0.7, color="k")
ax.set(xlabel="m/z", ylabel="counts per channel + 1")
ax.set_title(title, fontsize=9)
fig.tight_layout()
fig.savefig(figure_dir() / "spectrum_identify.png", dpi=90)
