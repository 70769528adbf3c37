"""Spectrum → identify: recalibrate a TOF-SIMS spectrum, find peaks and identify metals by isotope pattern.

Run:  python examples/spectrum_identify.py [SPECTRUM.txt|-] [FIGURE_DIR]
Without a file, a virtual spectrum with known content is simulated (ionscope.synth.tof_spectrum).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from _common import figure_dir, input_path

from ionscope.model.text import format_measurement, pretty_ion
from ionscope.spectra.calibration import apply_calibration, auto_calibrate
from ionscope.spectra.elements import identify_elements
from ionscope.spectra.peaks import find_spectrum_peaks
from ionscope.spectra.pipeline import read_spectrum
from ionscope.synth.spectra import tof_spectrum

path = input_path()
if path is None:
    spectrum, truth = tof_spectrum(seed=0)
    spectrum = apply_calibration(spectrum, auto_calibrate(spectrum))  # the simulated export is miscalibrated
    elements = ["Ru", "Pt", "Pd", "Ni", "Co"]
else:
    # polarity from the file's metadata or its P_/N_ name, as `ionscope spectrum identify` does
    spectrum, truth = read_spectrum(path), None
    elements = ["Ru", "Pt", "Pd", "Ir", "Rh"]
peaks = find_spectrum_peaks(spectrum, min_snr=5)
polarity = (spectrum.attrs.get("acquisition") or {}).get("polarity") or "positive"
fits = identify_elements(spectrum, polarity=polarity, elements=elements)
print(f"{len(peaks)} peaks above 5σ ({polarity} ions)")
for f in fits:
    if not f.present and (truth is None or f.formula not in truth.truth["species"]):
        continue
    true = "" if truth is None else f"  (true {truth.truth['species'].get(f.formula, 0):.0f})"
    print(f"{pretty_ion(f.formula):>5}: {format_measurement(f.intensity, f.uncertainty, 'counts')}"
          f"  {'present' if f.present else 'not present'}{true}")

mz, y = spectrum.coords["mz"].values, spectrum.values
sel = (mz > 94) & (mz < 200)
fig, ax = plt.subplots(figsize=(7, 3))
ax.semilogy(mz[sel], y[sel] + 1, lw=0.7, color="k")
ax.set(xlabel="m/z", ylabel="counts per channel + 1", title="Ru and Pt isotope patterns")
fig.tight_layout()
fig.savefig(figure_dir() / "spectrum_identify.png", dpi=90)
