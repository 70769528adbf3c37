"""Figures of an identification: observed counts, fitted pattern and local background per element."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ionscope.io.atomic import atomic_path
from ionscope.model.result import Result

#: Name of the figure of one element of one spectrum file in the ``--plot`` folder.
FIGURE_NAME = "{stem}_{element}.png"
_ELEMENT = re.compile(r"[A-Z][a-z]?")


def figure_path(folder: Path, file: str | Path, element: str) -> Path:
    """Where :func:`plot_identification` draws ``element`` of spectrum ``file``."""
    return Path(folder) / FIGURE_NAME.format(stem=Path(file).stem, element=element)


def existing_figures(folder: Path, files: list[Path]) -> list[Path]:
    """Figures of ``files`` already in ``folder`` (any element: auto mode's elements are known only after
    the work), so that they are refused before it without ``force``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stems = {Path(f).stem for f in files}
    found = []
    for p in folder.iterdir():
        stem, sep, element = p.name.removesuffix(".png").rpartition("_")
        if p.suffix == ".png" and sep and stem in stems and _ELEMENT.fullmatch(element):
            found.append(p)
    return sorted(found)


def plot_identification(res: Result, folder: Path, *, polarity: str | None = None, force: bool = False) -> Result:
    """One PNG per element of an identification Result: for each of the element's species, the counts
    per bin around its pattern, the local background (clipped block mean,
    :func:`ionscope.spectra.peaks.estimate_baseline`) and the fitted pattern on top of it (Gaussian
    peaks of FWHM m/R at the exact isotopologue masses, R the median m/Δm of the 20 strongest peaks,
    areas = fitted intensity × isotopologue abundance).

    Returns a ``spectrum.figures`` Result: ``file`` and ``figures``, the paths written (none for a file
    that could not be analysed). Each figure is written atomically; an existing one is replaced only with
    ``force``.
    """
    if res["error"] is not None:
        return _figures(res, [])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ionscope.library.patterns import isotope_pattern
    from ionscope.spectra.calibration import apply_calibration, recalibrate
    from ionscope.spectra.peaks import estimate_baseline, find_spectrum_peaks
    from ionscope.spectra.pipeline import read_spectrum

    spec = read_spectrum(res["file"], polarity)
    if res["calibration"] is not None:
        spec = apply_calibration(spec, recalibrate(spec, polarity=res["polarity"]).calibration)
    x, y = spec.coords["mz"].values, np.asarray(spec.values, float)
    base = estimate_baseline(y, 101)
    top = find_spectrum_peaks(y, x, min_snr=10).nlargest(20, "height")
    resolving_power = float(np.median(top["resolving_power"])) if len(top) else 1000.0
    out = []
    stem = Path(res["file"]).stem
    for row in res["elements"]:
        forms = [f for f in row["forms"] if f["intensity"].value > 0] or row["forms"][:1]
        if not forms:
            continue
        fig, axes = plt.subplots(1, len(forms), figsize=(3.2 * len(forms), 2.8), squeeze=False)
        for ax, f in zip(axes[0], forms):
            pat = isotope_pattern(f["formula"], resolution="unit")
            lo, hi = pat.mz.min() - 3, pat.mz.max() + 3
            sel = (x >= lo) & (x <= hi)
            ax.step(x[sel], y[sel], where="mid", lw=0.8, color="0.3", label="observed")
            ax.plot(x[sel], base[sel], lw=0.8, color="tab:green", label="background")
            frac = pat.relative / pat.relative.sum()
            xs, dxs = x[sel], np.gradient(x)[sel]
            sd = xs / (resolving_power * 2.354820045)
            model = base[sel] + sum(max(f["intensity"].value, 0.0) * a * dxs / (sd * np.sqrt(2 * np.pi))
                                    * np.exp(-0.5 * ((xs - m) / sd) ** 2) for m, a in zip(pat.mz, frac))
            ax.plot(xs, model, lw=1.0, color="tab:red", label="fitted pattern + background")
            ax.set_title(f"{f['formula']} ({f['contrast']:.1f}σ)", fontsize=8)
            ax.set_xlabel("m/z", fontsize=8)
        axes[0][0].set_ylabel("counts per bin", fontsize=8)
        axes[0][0].legend(fontsize=6)
        fig.suptitle(f"{stem}: {row['element']} {'detected' if row['detected'] else 'not detected'}", fontsize=9)
        fig.tight_layout()
        path = figure_path(folder, res["file"], row["element"])
        with atomic_path(path, force=force) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
        plt.close(fig)
        out.append(path)
    return _figures(res, out)


def _figures(res: Result, paths: list[Path]) -> Result:
    return Result("spectrum.figures", {"file": res["file"], "figures": paths})
