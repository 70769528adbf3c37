"""Figures of an operando analysis: state panels, voltage curve, trajectories, reversibility map, table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ionscope.graphics.panels import ion_image_panels
from ionscope.model.arrays import make_ion_image, spacing_of
from ionscope.model.text import format_measurement, pretty_text
from ionscope.operando.analysis import OperandoAnalysis
from ionscope.operando.tracking import change_maps, registered_frames

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CLASS_COLOURS = {"reversible": "#1b7837", "sluggish": "#e08214", "irreversible": "#b2182b", "no response": "#888888"}


def state_panels(analysis: OperandoAnalysis, species: str) -> Figure:
    """Pristine / charged / discharged images of one species, registered, one shared colour scale, µm bar."""
    st = analysis.states
    order = ("pristine", "charged", "discharged")
    frames = registered_frames(analysis.series, [st[k] for k in order], analysis.shifts, [species])[..., 0]
    img = make_ion_image(np.moveaxis(frames, 0, -1), [f"{species} {k}" for k in order],
                         pixel_size_um=spacing_of(analysis.series, ("y", "x")), units="counts")
    soc = analysis.series.coords["soc"].values
    titles = [f"{species} {k} (SOC {soc[st[k]]:.2f})" for k in order]
    return ion_image_panels(img, shared_scale=True, titles=titles, ncols=3)


def voltage_curve(analysis: OperandoAnalysis) -> Figure:
    """Cell voltage vs time with every frame's integration window and its mean voltage."""
    import matplotlib.pyplot as plt

    log, s = analysis.log, analysis.series
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(log["time_s"] / 3600, log["voltage_V"], color="#245", lw=1.2, label="cell voltage")
    t0, t1 = s.coords["time_start"].values / 3600, s.coords["time_end"].values / 3600
    v = s.coords["voltage"].values
    lo, hi = float(np.min(log["voltage_V"])), float(np.max(log["voltage_V"]))
    ax.broken_barh(list(zip(t0, t1 - t0)), (lo, hi - lo), color="#cfd8e3", alpha=0.35, lw=0)
    ax.plot(s.coords["time"].values / 3600, v, "o", ms=3.5, color="#c51b7d", label="frames (window mean)")
    for name, k in analysis.states.items():
        ax.annotate(name, (s.coords["time"].values[k] / 3600, v[k]), textcoords="offset points", xytext=(0, 8),
                    ha="center", fontsize=8)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("voltage (V)")
    ax2 = ax.twinx()
    ax2.plot(log["time_s"] / 3600, log["current_A"] * 1e6, color="#999", lw=0.8, ls="--")
    ax2.set_ylabel("current (µA)", color="#777")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def region_trajectories(analysis: OperandoAnalysis, species: str | None = None) -> Figure:
    """Intensity per area of every region (÷ its first frame) vs time, coloured by class, ±1σ."""
    import matplotlib.pyplot as plt

    tr = analysis.track
    fig, ax = plt.subplots(figsize=(8, 3.6))
    t = tr.coords["time"].values / 3600
    for row in analysis.regions:
        sp = species or row["species"]
        i = tr["intensity"].sel(region=row["id"], peak=sp).values
        s = tr["sigma"].sel(region=row["id"], peak=sp).values
        ax.errorbar(t, i / i[0], yerr=s / i[0], color=CLASS_COLOURS[row["class"]], lw=1, ms=2, marker="o",
                    elinewidth=0.6, alpha=0.85, label=pretty_text(f"{row['id']} ({sp}, {row['class']})"))
    ax.set_xlabel("time (h)")
    ax.set_ylabel("intensity per area ÷ pristine")
    ax.axhline(1, color="k", lw=0.5)
    ax.legend(fontsize=6, ncol=3, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def reversibility_map(analysis: OperandoAnalysis) -> Figure:
    """Regions coloured by their recovery fraction R, labelled with id and class."""
    import matplotlib.pyplot as plt

    lab = analysis.labels
    rec = np.full(int(lab.max()) + 1, np.nan)
    for r in analysis.regions:
        rec[r["id"]] = r["reversibility"]
    img = np.where(lab > 0, rec[lab], np.nan)
    py, px = spacing_of(analysis.series, ("y", "x"))
    extent = (0, lab.shape[1] * px, lab.shape[0] * py, 0)
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(img, cmap="RdYlGn", vmin=0, vmax=1.2, extent=extent, interpolation="nearest")
    for r in analysis.regions:
        yy, xx = np.nonzero(lab == r["id"])
        ax.text((xx.mean() + 0.5) * px, (yy.mean() + 0.5) * py, f"{r['id']}\n{r['class'][:5]}", ha="center",
                va="center", fontsize=6)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    fig.colorbar(im, ax=ax, label="recovery fraction R after discharge")
    fig.tight_layout()
    return fig


def change_map_panels(maps) -> Figure:
    """Relative-change maps (y, x, peak) on one symmetric diverging scale, with a µm scale bar."""
    import matplotlib.pyplot as plt

    from ionscope.graphics.panels import _scale_bar_um

    peaks = [str(p) for p in maps.coords["peak"].values]
    py, px = spacing_of(maps, ("y", "x"))
    ny, nx = maps.sizes["y"], maps.sizes["x"]
    vals = np.asarray(maps.values, dtype=float)
    lim = float(np.nanpercentile(np.abs(vals), 99)) if np.isfinite(vals).any() else 1.0
    fig, axes = plt.subplots(1, len(peaks), figsize=(3.4 * len(peaks), 2.8), squeeze=False)
    for ax, k, name in zip(axes.flat, range(len(peaks)), peaks):
        im = ax.imshow(vals[..., k], cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, nx * px, ny * py, 0),
                       interpolation="nearest")
        bar = _scale_bar_um(nx * px)
        ax.plot([0.05 * nx * px, 0.05 * nx * px + bar], [0.93 * ny * py] * 2, color="k", lw=3)
        ax.text(0.05 * nx * px + bar / 2, 0.9 * ny * py, f"{bar:g} µm", ha="center", va="bottom", fontsize=7)
        ax.set_title(pretty_text(name), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes.flat), fraction=0.03, label="(I − I_pristine)/I_pristine")
    return fig


def region_rows(regions: Sequence[dict[str, Any]], truth_classes: Sequence[str] | None = None) -> pd.DataFrame:
    """The table of regions: one row per region, columns region (id), area (µm²), indicator (species),
    response ρ and recovery R (each "value ± 1σ"), class[, true class]."""
    rows = []
    for k, r in enumerate(regions):
        row = {"region": r["id"], "area (µm²)": round(r["area_um2"], 1), "indicator": r["species"],
               "response ρ": format_measurement(r["response"], r["response_sigma"]),
               "recovery R": format_measurement(r["reversibility"], r["reversibility_sigma"]), "class": r["class"]}
        if truth_classes is not None:
            row["true class"] = truth_classes[k]
        rows.append(row)
    return pd.DataFrame(rows)


def fill_section(sec: Any, analysis: OperandoAnalysis, *, species: Sequence[str] | None = None,
                 truth_classes: Sequence[str] | None = None,
                 explain: Callable[[str], str] | None = None) -> None:
    """Add the standard operando figures and tables to a report section.

    ``explain`` maps a warning to a sentence saying why it appears (e.g. in a simulation built to trip it).
    """
    res = analysis.result.values
    cap_rows = [{"cycle": c["cycle"], "charge (µAh)": c["charge_uAh"].value,
                 "discharge (µAh)": c["discharge_uAh"].value,
                 "Coulombic efficiency": c["coulombic_efficiency"].value,
                 "irreversible fraction": c["irreversible_fraction"].value} for c in res["capacity"]["cycles"]]
    sec.table(cap_rows, caption="Capacity per cycle, integrated from the cycling log")
    sec.figure(voltage_curve(analysis), "Cell voltage (solid) and current (dashed) with each frame's integration "
               "window (shaded) and window-mean voltage (dots); key states labelled.")
    shown = list(species) if species else sorted({r["species"] for r in analysis.regions})
    for sp in shown:
        sec.figure(state_panels(analysis, sp), f"{sp}: pristine, charged and discharged frames (registered, "
                   "dead-time corrected counts), one colour scale; scale bar in µm.")
    maps = change_maps(analysis.series, analysis.states, shifts=analysis.shifts, species=shown[:1])
    sec.figure(change_map_panels(maps),
               f"Per-pixel relative change of {shown[0]} (registered, Gaussian σ = 1.5 px): charged vs pristine "
               "and discharged vs pristine; pixels that stay changed after discharge reacted irreversibly.")
    sec.figure(region_trajectories(analysis), "Per-region intensity per area of each region's indicator species, "
               "relative to the pristine frame, ±1σ (counting statistics).")
    sec.figure(reversibility_map(analysis), "Recovery fraction R = (I_charged − I_discharged)/(I_charged − "
               "I_pristine) per region.")
    sec.table(region_rows(analysis.regions, truth_classes).to_dict("records"),
              caption="Regions: response on charge, recovery after discharge, class (irreversible: R < 0.5; "
                      "sluggish: R ≥ 0.5 and |ρ| < 0.6 × 90th percentile)")
    dose = res["dose"]
    if dose.get("total_ions_per_cm2") is None:
        sec.text("Primary-ion dose: not computed (the primary-ion current is not known).")
    else:
        sec.text(f"Primary-ion dose: {dose['total_ions_per_cm2']:.3g} ions/cm² in total "
                 f"({dose['mean_per_frame_ions_per_cm2']:.3g} per frame; Xing et al. 2026 used 1.2e14), about "
                 f"{dose['monolayers_removed'].value:.2g} monolayers removed at an assumed sputter yield of "
                 f"{dose['sputter_yield_assumed']:g}; static limit exceeded: "
                 f"{'yes' if dose['static_limit_exceeded'] else 'no'}.")
    for w in analysis.result.warnings:
        sec.warning(w, explain(w) if explain else "")
