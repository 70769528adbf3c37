"""Figures the capability modules share: ion-image panels with scale bars, line plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ionscope.model.text import pretty_ion, pretty_text


def _scale_bar_um(width_um: float) -> float:
    """A round scale-bar length of about a fifth of the field of view."""
    target = width_um / 5
    mag = 10 ** np.floor(np.log10(target))
    return float(max(m * mag for m in (1, 2, 5) if m * mag <= target))


def ion_image_panels(images: xr.DataArray, peaks: Sequence[str] | None = None, *, shared_scale: bool = False,
                     log: bool = False, cmap: str = "magma", titles: Sequence[str] | None = None, ncols: int = 5):
    """A row of ion images (y, x, peak) with colour bars and a scale bar in µm.

    Parameters
    ----------
    images
        Ion images with ``y``/``x`` coordinates in µm.
    peaks
        Which peaks to show (default all).
    shared_scale
        One colour scale across panels (for comparing states of the same species).
    log
        Logarithmic colour scale (counts + 1).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize

    peaks = list(peaks if peaks is not None else images.coords["peak"].values)
    n = len(peaks)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.8 * ncols, 2.6 * nrows), squeeze=False)
    x, y = images.coords["x"].values, images.coords["y"].values
    step_x = float(x[1] - x[0]) if x.size > 1 else 1.0
    step_y = float(y[1] - y[0]) if y.size > 1 else 1.0
    extent = (x[0] - step_x / 2, x[-1] + step_x / 2, y[-1] + step_y / 2, y[0] - step_y / 2)
    panels = [np.asarray(images.sel(peak=p).transpose("y", "x").values, dtype=float) for p in peaks]
    vmax_all = max(float(np.nanpercentile(a, 99.5)) for a in panels) if panels else 1.0
    for i, (ax, arr, p) in enumerate(zip(axes.flat, panels, peaks)):
        vmax = vmax_all if shared_scale else float(np.nanpercentile(arr, 99.5)) or 1.0
        norm = LogNorm(vmin=1, vmax=max(vmax + 1, 2)) if log else Normalize(vmin=0, vmax=vmax)
        im = ax.imshow(arr + 1 if log else arr, extent=extent, cmap=cmap, norm=norm, interpolation="nearest")
        ax.set_title(pretty_text(titles[i]) if titles else pretty_ion(str(p)), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        bar = _scale_bar_um(extent[1] - extent[0])
        x0 = extent[0] + 0.05 * (extent[1] - extent[0])
        y0 = extent[2] - 0.07 * (extent[2] - extent[3])
        ax.plot([x0, x0 + bar], [y0, y0], color="white", lw=3)
        ax.text(x0 + bar / 2, y0 - 0.03 * (extent[2] - extent[3]), f"{bar:g} µm", color="white",
                ha="center", va="bottom", fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
