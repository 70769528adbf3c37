"""Figures of an identification: observed counts, fitted pattern and local background per element."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ionscope.io.atomic import atomic_path
from ionscope.model.result import Result

if TYPE_CHECKING:
    import xarray as xr

#: Name of the figure of one element of one spectrum file in the ``--plot`` folder.
FIGURE_NAME = "{stem}_{element}.png"
_ELEMENT = re.compile(r"[A-Z][a-z]?")


def figure_path(folder: Path, stem: str, element: str) -> Path:
    """Where :func:`plot_identification` draws ``element`` of the spectrum file named by ``stem``
    (:func:`figure_stems`)."""
    return Path(folder) / FIGURE_NAME.format(stem=stem, element=element)


def figure_stems(files: Sequence[str | Path]) -> dict[Path, str]:
    """The name each file's figures start with: its stem, or where two files of a batch share one
    (``a/N_Ru.txt``, ``b/N_Ru.txt``), the stem led by as many of its folders as tell them apart
    (``a-N_Ru``, ``b-N_Ru``), so that no figure replaces another."""
    paths = [Path(f) for f in files]
    stems = {p: p.stem for p in paths}
    for stem in {s for s in stems.values() if list(stems.values()).count(s) > 1}:
        group = [p for p in paths if p.stem == stem]
        for depth in range(1, max(len(p.resolve().parts) for p in group)):
            named = {p: "-".join([*p.resolve().parent.parts[-depth:], stem]) for p in group}
            if len(set(named.values())) == len(group):
                stems.update(named)
                break
    return stems


def existing_figures(folder: Path, files: list[Path]) -> list[Path]:
    """Figures of ``files`` already in ``folder`` (any element: auto mode's elements are known only after
    the work), so that they are refused before it without ``force``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stems = set(figure_stems(files).values())
    found = []
    for p in folder.iterdir():
        stem, sep, element = p.name.removesuffix(".png").rpartition("_")
        if p.suffix == ".png" and sep and stem in stems and _ELEMENT.fullmatch(element):
            found.append(p)
    return sorted(found)


def plot_identification(res: Result, spectrum: xr.DataArray, folder: Path, *, stem: str | None = None,
                        force: bool = False) -> Result:
    """One PNG per element of an identification Result: for each of the element's species, the counts
    per bin around its pattern, the local background (clipped block mean,
    :func:`ionscope.spectra.peaks.estimate_baseline`) and the fitted pattern on top of it (Gaussian
    peaks of FWHM m/R at the exact isotopologue masses, R the median m/Δm of the 20 strongest peaks, each
    spread over its bin's width as the window fit counts it; areas = fitted intensity × isotopologue
    abundance).

    ``spectrum`` is the spectrum as identified (calibrated); ``stem`` starts the figures' names (default:
    the file's stem; a batch gives :func:`figure_stems`). Returns a ``spectrum.figures`` Result:
    ``file`` and ``figures``, what was written (path, SHA-256, format, bytes; none for a file that could
    not be analysed). Each figure is written atomically; an existing one is replaced only with ``force``.
    """
    if res["error"] is not None:
        return _figures(res, [])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ionscope.spectra.peaks import _channel_edges, estimate_baseline
    from ionscope.spectra.windowfit import instrument_resolving_power

    x, y = spectrum.coords["mz"].values, np.asarray(spectrum.values, float)
    base = estimate_baseline(y, 101)
    resolving_power = instrument_resolving_power(y, x)
    r_text = (f"instrument m/Δm {resolving_power:.0f}, binning removed" if np.isfinite(resolving_power)
              else "peaks narrower than a bin, each spread over its bin's width")
    edges = _channel_edges(x)
    cal = res["calibration"]
    cal_text = f", calibration rms {cal['rms'].value:.0f} ppm" if cal is not None and cal.get("rms") else ""
    out = []
    stem = stem or Path(res["file"]).stem
    for row in res["elements"]:
        forms = [f for f in row["forms"] if f["intensity"].value > 0] or row["forms"][:1]
        if not forms:
            continue
        ncol = min(len(forms), MAX_COLUMNS)
        nrow = -(-len(forms) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(max(3.2 * ncol, MIN_WIDTH), 2.6 * nrow + 0.6),
                                 squeeze=False)
        for ax, f in zip(axes.flat, forms):
            _draw_form(ax, f, res["species"], x, y, base, edges, resolving_power)
        for ax in axes.flat[len(forms):]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("counts per bin", fontsize=8)
        handles, labels = axes[0][0].get_legend_handles_labels()
        legend_columns = max(1, min(len(labels), int(fig.get_size_inches()[0] // LEGEND_ENTRY_INCHES)))
        fig.legend(handles, labels, loc="lower center", ncol=legend_columns, fontsize=7, frameon=False)
        found = "detected" if row["detected"] else "not detected"
        title = textwrap.fill(f"{stem}: {row['element']} {found} ({r_text}{cal_text}); per form: fitted counts "
                              "± 1σ, zc = contrast over the local background; ✓ the forms that make up the "
                              "element's counts", width=int(TITLE_CHARS_PER_INCH * fig.get_size_inches()[0]))
        fig.suptitle(title, fontsize=8)
        _fixed_layout(fig, nrow, ncol, title.count("\n") + 1, -(-len(labels) // legend_columns))
        path = figure_path(folder, stem, row["element"])
        with atomic_path(path, force=force) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
        plt.close(fig)
        out.append(path)
    return _figures(res, out)


#: Characters of an 8-point title per inch of figure width (DejaVu Sans averages ~0.55 em per character).
TITLE_CHARS_PER_INCH = 16

#: Margins of a panel grid, in inches: left of the first column (y label and tick labels), right, between
#: columns (tick labels), above a panel (its title), below a panel (tick labels and x label), per line of
#: the legend under the grid and per line of the figure title.
MARGINS = {"left": 0.62, "right": 0.12, "between": 0.42, "above": 0.28, "below": 0.42, "legend_line": 0.15,
           "title_line": 0.16}

#: Width of one legend entry at 7 points (the longest label, "all fitted species + background", and its
#: line), in inches: the legend takes as many columns as fit the figure.
LEGEND_ENTRY_INCHES = 2.0

#: Panels per row of an element's figure; more forms wrap onto further rows.
MAX_COLUMNS = 4

#: Narrowest figure (inches): a one-panel figure is widened to it, so that its title and legend fit.
MIN_WIDTH = 5.5


def _fixed_layout(fig, nrow: int, ncol: int, title_lines: int, legend_lines: int) -> None:
    """Place the panel grid by :data:`MARGINS` (fixed inches): what ``tight_layout`` finds by measuring
    every tick label, at a fraction of the cost (it took 40 % of the drawing time); tick labels are kept
    short by an engineering formatter (``400k``)."""
    width, height = fig.get_size_inches()
    m = MARGINS
    top = m["title_line"] * title_lines + 0.08 + m["above"]
    bottom = m["legend_line"] * legend_lines + 0.05 + m["below"]
    axes_w = (width - m["left"] - m["right"] - (ncol - 1) * m["between"]) / ncol
    axes_h = (height - top - bottom - (nrow - 1) * (m["above"] + m["below"])) / nrow
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, top=1 - top / height,
                        bottom=bottom / height, wspace=m["between"] / axes_w,
                        hspace=(m["above"] + m["below"]) / axes_h)


def _draw_form(ax, form: dict, species: list[dict], x: np.ndarray, y: np.ndarray, base: np.ndarray,
               edges: tuple[np.ndarray, np.ndarray], resolving_power: float) -> None:
    """One panel: counts per bin around the form's pattern, the local background, the form's fitted
    pattern on it and the sum of every fitted species there (the joint decomposition: what the form is
    credited with is what the others leave). Each isotopologue is a Gaussian of FWHM m/R holding the
    fitted intensity × its abundance, integrated over each bin (the counts a bin receives), so that a
    peak narrower than a bin is drawn at its height."""
    from matplotlib.ticker import EngFormatter, MaxNLocator

    from ionscope.model.text import format_measurement, pretty_ion
    from ionscope.spectra.forms import _unit_pattern

    pat = _unit_pattern(form["formula"])
    sel = (x >= pat.mz.min() - 3) & (x <= pat.mz.max() + 3)
    lo, hi = edges[0][sel], edges[1][sel]
    xs = x[sel]
    ax.step(xs, y[sel], where="mid", lw=0.8, color="0.3", label="observed")
    ax.plot(xs, base[sel], lw=0.8, color="tab:green", label="background")
    total = base[sel].copy()
    for other in species:
        p = _unit_pattern(other["formula"])
        if p.mz.max() >= xs[0] - 1 and p.mz.min() <= xs[-1] + 1:
            total += _binned_pattern(p, other["intensity"].value, lo, hi, resolving_power)
    q = form["intensity"]
    ax.step(xs, total, where="mid", lw=0.8, color="tab:blue", ls="--", label="all fitted species + background")
    ax.step(xs, base[sel] + _binned_pattern(pat, q.value, lo, hi, resolving_power), where="mid", lw=1.0,
            color="tab:red", label="this form + background")
    evidence = " ✓ evidence" if form["present"] else ""
    ax.set_title(f"{pretty_ion(form['formula'])}: {format_measurement(q.value, q.uncertainty)}, zc "
                 f"{form['contrast']:.1f}{evidence}", fontsize=8, color="tab:green" if evidence else "black")
    ax.set_xlabel("m/z", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))


def _binned_pattern(pat, intensity: float, lo: np.ndarray, hi: np.ndarray, resolving_power: float) -> np.ndarray:
    """Counts per bin [lo, hi) of ``intensity`` counts spread over the isotopologues of ``pat``: Gaussian
    peaks of FWHM m/R at their exact masses over the bins, as the window fit models them
    (:func:`~ionscope.spectra.windowfit._binned_gaussian_share`: integrated over each bin; a peak narrower
    than its bin spread over one bin's width around its centre, i.e. over two bins in the proportion of
    where it falls)."""
    from ionscope.spectra.windowfit import FWHM_SIGMA, _binned_gaussian_share

    edges = np.append(lo, hi[-1])
    centre = pat.mz[:, None]
    share = _binned_gaussian_share(centre, centre / (resolving_power * FWHM_SIGMA), edges, lo[None, :], hi[None, :])
    return max(intensity, 0.0) * (pat.abundance / pat.abundance.sum()) @ share


def _figures(res: Result, paths: list[Path]) -> Result:
    from ionscope.model.provenance import written_file

    return Result("spectrum.figures", {"file": res["file"], "figures": [written_file(p) for p in paths]})
