"""Image geometry for correlative work: pixel grids in µm, SimpleITK images, count pre-processing.

Coordinates are those of the ionscope data model: (x, y) in µm, x along columns, y along rows
(downwards), each pixel at its centre as given by the image's ``x``/``y`` coordinates (for an image
without an offset, pixel ``(row i, col j)`` is centred at ``((j + 0.5)·dx, (i + 0.5)·dy)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import ValidationError
from ionscope.model.result import Result


class PixelSizeMissingError(ValidationError):
    """An image carries no pixel size and none was declared."""


@dataclass(frozen=True)
class Grid:
    """A 2-D pixel grid: shape (y, x), pixel size (dy, dx) µm, centre of the first pixel (y0, x0) µm."""

    shape: tuple[int, int]
    pixel_um: tuple[float, float]
    origin_um: tuple[float, float]

    @property
    def centre_xy(self) -> np.ndarray:
        """Centre of the field of view (x, y) in µm."""
        return np.array([self.origin_um[1] + (self.shape[1] - 1) * self.pixel_um[1] / 2,
                         self.origin_um[0] + (self.shape[0] - 1) * self.pixel_um[0] / 2])

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "pixel_size_um": list(self.pixel_um), "origin_um": list(self.origin_um)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grid:
        (ny, nx), (dy, dx), (y0, x0) = d["shape"], d["pixel_size_um"], d["origin_um"]
        return cls((int(ny), int(nx)), (float(dy), float(dx)), (float(y0), float(x0)))

    def inside(self, xy: np.ndarray) -> np.ndarray:
        """Whether (n, 2) points (x, y) µm fall on a pixel of this grid."""
        j = (xy[:, 0] - self.origin_um[1]) / self.pixel_um[1]
        i = (xy[:, 1] - self.origin_um[0]) / self.pixel_um[0]
        return (j > -0.5) & (j < self.shape[1] - 0.5) & (i > -0.5) & (i < self.shape[0] - 0.5)

    def index_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (nearest pixel) of (n, 2) points (x, y) µm."""
        j = np.rint((xy[:, 0] - self.origin_um[1]) / self.pixel_um[1]).astype(np.int64)
        i = np.rint((xy[:, 1] - self.origin_um[0]) / self.pixel_um[0]).astype(np.int64)
        return i, j

    def centres(self, supersample: int = 1) -> np.ndarray:
        """(n, 2) centres (x, y) µm of the pixels, or of ``supersample``² sub-pixels per pixel (row-major)."""
        k = supersample
        sub = (np.arange(k) + 0.5) / k - 0.5
        ys = self.origin_um[0] + (np.arange(self.shape[0])[:, None] + sub[None, :]).ravel() * self.pixel_um[0]
        xs = self.origin_um[1] + (np.arange(self.shape[1])[:, None] + sub[None, :]).ravel() * self.pixel_um[1]
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])


def grid_of(da: xr.DataArray, what: str, pixel_size_um: float | None = None) -> Grid:
    """The (y, x) grid of an ionscope image; ``pixel_size_um`` replaces a missing or declared size.

    Raises
    ------
    PixelSizeMissingError
        When the image has no physical pixel size and none is declared.
    """
    ny, nx = int(da.sizes["y"]), int(da.sizes["x"])
    if pixel_size_um is not None:
        return Grid((ny, nx), (float(pixel_size_um),) * 2, (pixel_size_um / 2, pixel_size_um / 2))
    source = str(da.attrs.get("pixel_size_source", ""))
    if source.startswith("unknown") or "x" not in da.coords or "y" not in da.coords:
        raise PixelSizeMissingError(f"the {what} image has no pixel size; give --{what}-pixel-size (e.g. '10nm')")
    y, x = np.asarray(da["y"].values, float), np.asarray(da["x"].values, float)
    dy = float(y[1] - y[0]) if ny > 1 else float(y[0] * 2)
    dx = float(x[1] - x[0]) if nx > 1 else float(x[0] * 2)
    if not (dx > 0 and dy > 0):
        raise ValidationError(f"the {what} image's x/y coordinates do not increase")
    return Grid((ny, nx), (dy, dx), (float(y[0]), float(x[0])))


def to_sitk(plane: np.ndarray, grid: Grid) -> Any:
    """A float32 SimpleITK image of ``plane`` (y, x) placed on ``grid`` (origin at the first pixel centre)."""
    return sitk_image(plane, grid.pixel_um, grid.origin_um)


def sitk_image(array: np.ndarray, spacing_um: Any, origin_um: Any) -> Any:
    """A float32 SimpleITK image of ``array`` with spacing and origin (µm) given in the array's axis order
    (SimpleITK takes them x first)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    img.SetSpacing(tuple(float(v) for v in spacing_um)[::-1])
    img.SetOrigin(tuple(float(v) for v in origin_um)[::-1])
    return img


def anscombe(counts: np.ndarray) -> np.ndarray:
    """Variance-stabilised counts ``2·√(c + 3/8)`` (Anscombe 1948, Biometrika 35, 246,
    doi:10.1093/biomet/35.3-4.246): Poisson noise becomes nearly unit-variance Gaussian, so bright and
    dim pixels weigh alike in the joint histogram."""
    return 2.0 * np.sqrt(np.clip(np.asarray(counts, dtype=float), 0, None) + 0.375)


#: Dimensions whose entries are named channels (ion species, EDS elements).
CHANNEL_DIMS = ("peak", "element")


def channel_dim(da: xr.DataArray) -> str | None:
    """The named-channel dimension of ``da`` (``peak`` or ``element``), if any."""
    return next((d for d in CHANNEL_DIMS if d in da.dims), None)


def channels_of(da: xr.DataArray) -> Result:
    """Data as (y, x, channels), channel names, the non-spatial dims and their coordinates.

    Returns
    -------
    Result
        ``kind="correlate.channels"``: ``channels`` ((y, x, n) array), ``names`` (n channel names),
        ``other_dims`` (the non-spatial dims of ``da``) and ``coords`` (their coordinates).
    """
    other = tuple(d for d in da.dims if d not in ("y", "x"))
    arr = da.transpose("y", "x", *other).values
    ny, nx = arr.shape[:2]
    flat = arr.reshape(ny, nx, -1)
    named = len(other) == 1 and other[0] in CHANNEL_DIMS
    names = [str(v) for v in da[other[0]].values] if named else [str(i) for i in range(flat.shape[2])]
    coords = {d: da[d].values for d in other if d in da.coords}
    return Result("correlate.channels", {"channels": flat, "names": names, "other_dims": other, "coords": coords})


def registration_plane(da: xr.DataArray, species: list[str] | None, counts: bool) -> np.ndarray:
    """One 2-D image of ``da`` to register: the sum of ``species``, the image itself, or (several
    channels, none chosen) the first principal component of the variance-stabilised channels, the
    combination of species with the most contrast."""
    if "scan" in da.dims:  # a 3-D cube (scan, y, x, peak): register the depth-integrated image
        da = da.sum("scan", keep_attrs=True)
    cdim = channel_dim(da)
    if cdim is not None and set(da.dims) == {"y", "x", cdim}:
        names = [str(p) for p in da[cdim].values]
        if species:
            missing = [s for s in species if s not in names]
            if missing:
                raise ValidationError(f"species {', '.join(missing)} not in the image (has {', '.join(names)})")
            plane = da.sel({cdim: species}).sum(cdim).transpose("y", "x").values.astype(float)
            return anscombe(plane) if counts else plane
        stack = da.transpose("y", "x", cdim).values.astype(float)
        stack = anscombe(stack) if counts else stack
        if stack.shape[2] == 1:
            return stack[..., 0]
        flat = stack.reshape(-1, stack.shape[2])
        flat = (flat - flat.mean(0)) / np.maximum(flat.std(0), 1e-12)
        _, _, vt = np.linalg.svd(flat[:: max(1, len(flat) // 20000)], full_matrices=False)
        return (flat @ vt[0]).reshape(stack.shape[:2])
    if set(da.dims) != {"y", "x"}:
        raise ValidationError(f"expected an image (y, x), ion images (y, x, peak) or element maps (y, x, element), "
                              f"got dims {tuple(da.dims)}")
    plane = da.transpose("y", "x").values.astype(float)
    return anscombe(plane) if counts else plane


def looks_like_counts(da: xr.DataArray) -> bool:
    """Whether ``da`` holds detector counts (integers or unit ``counts``)."""
    return str(da.attrs.get("units", "")) == "counts" or np.issubdtype(da.dtype, np.integer) and bool(channel_dim(da))
