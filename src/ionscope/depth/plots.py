"""Depth-profile figures: species against time/dose/fluence on a log (default in the CLI) or linear scale,
interfaces marked; ion names written with super- and subscripts."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ionscope.depth._common import axis_values, species_counts, species_label
from ionscope.depth.normalise import normalise as normalise_profile

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def profile_figure(profile: xr.DataArray, species: Sequence[str], *, axis: str = "sputter_time", log: bool = False,
                   normalise: str | None = None, layers: Any = None) -> Figure:
    """Matplotlib figure of ``species``; ``layers`` (a :func:`find_layers` result) adds interface lines."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    x, unit = axis_values(profile, axis)
    prof = profile
    ylabel = "counts per scan"
    if normalise in ("total", "max"):
        prof, ylabel = normalise_profile(profile, normalise), f"normalised ({normalise})"
    elif normalise:
        prof, ylabel = (normalise_profile(profile, "reference", reference=normalise),
                        f"relative to {species_label(normalise)}")
    data = species_counts(profile, species) if prof is profile else np.stack(
        [np.asarray(prof.isel(peak=[str(p) for p in prof.peak.values].index(s)).values, float) for s in species], 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for j, s in enumerate(species):
        y = data[:, j]
        ax.plot(x, np.where(y > 0, y, np.nan) if log else y, lw=1.2, label=species_label(s))
    if log:
        ax.set_yscale("log")
    if layers is not None:
        for i in layers["interfaces"]:
            q = i["position"]
            ax.axvline(q.value, color="0.3", ls="--", lw=0.8)
            if q.uncertainty:
                ax.axvspan(q.value - q.uncertainty, q.value + q.uncertainty, color="0.8", alpha=0.5)
    ax.set_xlabel(f"{axis.replace('_', ' ')} ({unit})")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(str(profile.attrs.get("source_file", "")), fontsize=8)
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: str | PathLike[str], *, force: bool = False) -> Path:
    """Write ``fig`` atomically (format from the extension)."""
    import io

    import matplotlib.pyplot as plt

    from ionscope.io.atomic import write_bytes

    p = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=p.suffix.lstrip(".").lower())
    plt.close(fig)
    write_bytes(p, buf.getvalue(), force=force)
    return p


__all__ = ["profile_figure", "save_figure"]
