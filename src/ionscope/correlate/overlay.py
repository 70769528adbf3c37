"""Overlay figure: the fine image in grey with registered ion images in colour."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr

from ionscope.correlate.grid import channels_of
from ionscope.correlate.pipeline import fixed_plane
from ionscope.correlate.transfer import resample_to_fixed
from ionscope.correlate.transform import CorrelativeTransform
from ionscope.model.errors import ValidationError


def _stretch(a: np.ndarray) -> np.ndarray:
    """Map the 1st–99th percentile of the finite values onto 0–1."""
    ok = np.isfinite(a)
    if not ok.any():
        return np.zeros_like(a)
    lo, hi = np.percentile(a[ok], [1, 99])
    return np.clip((np.nan_to_num(a, nan=lo) - lo) / max(hi - lo, 1e-12), 0, 1)


def overlay_rgb(fixed: xr.DataArray, moving: xr.DataArray, ct: CorrelativeTransform, *,
                species: list[str] | None = None, alpha: float = 0.5) -> np.ndarray:
    """RGB image (y, x, 3) on the fixed grid: grey fixed image, up to three channels as red, green, blue.

    Colours are shown only where the moving image covers the fixed one.
    """
    ch = channels_of(moving)
    chans, names, other = ch["channels"], ch["names"], ch["other_dims"]
    if other not in ((), ("peak",), ("element",)):
        raise ValidationError(f"overlay needs ion images (y, x, peak) or an image, got dims {tuple(moving.dims)}")
    if species:
        missing = [s for s in species if s not in names]
        if missing:
            raise ValidationError(f"species {', '.join(missing)} not in the moving image (has {', '.join(names)})")
        idx = [names.index(s) for s in species]
    else:
        idx = list(range(min(3, chans.shape[2])))
    if len(idx) > 3:
        raise ValidationError("at most three species can be overlaid (red, green, blue)")
    warped = resample_to_fixed(chans[..., idx], ct.moving.grid, ct.fixed.grid, ct.itk())
    grey = _stretch(fixed_plane(fixed))
    colour = np.zeros(grey.shape + (3,))
    for k in range(len(idx)):
        colour[..., k] = _stretch(warped[..., k])
    covered = np.isfinite(warped).all(axis=2)[..., None]
    base = np.repeat(grey[..., None], 3, axis=2)
    return np.where(covered, (1 - alpha) * base + alpha * colour, base)


def overlay_figure(fixed: xr.DataArray, moving: xr.DataArray, ct: CorrelativeTransform,
                   out: str | PathLike[str], *, species: list[str] | None = None, alpha: float = 0.5) -> Path:
    """Write the overlay (with a scale in µm and a legend of the species' colours) to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb = overlay_rgb(fixed, moving, ct, species=species, alpha=alpha)
    g = ct.fixed.grid
    ext = (g.origin_um[1] - g.pixel_um[1] / 2, g.origin_um[1] + (g.shape[1] - 0.5) * g.pixel_um[1],
           g.origin_um[0] + (g.shape[0] - 0.5) * g.pixel_um[0], g.origin_um[0] - g.pixel_um[0] / 2)
    names = channels_of(moving)["names"]
    shown = species or names[:3]
    fig, ax = plt.subplots(figsize=(6, 6 * g.shape[0] / g.shape[1]))
    ax.imshow(rgb, extent=ext, interpolation="nearest")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(" · ".join(f"{c}: {s}" for c, s in zip(("red", "green", "blue"), shown)), fontsize=9)
    fig.tight_layout()
    p = Path(out)
    fig.savefig(p, dpi=150)
    plt.close(fig)
    return p
