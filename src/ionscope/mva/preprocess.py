"""Preprocessing of TOF-SIMS data for multivariate analysis: flatten, normalisation, Poisson-scale, centre.

Any ionscope array with a ``peak`` dimension — an image (y, x, peak), a depth profile (scan, peak), a
3D cube (scan, y, x, peak) or an operando series (state, y, x, peak) — is viewed as a matrix of
samples × peaks: every dimension other than ``peak`` is a sample dimension. :class:`Flattened` keeps
what is needed to put per-sample results (scores, labels) back on the original coordinates.

Poisson scaling follows Keenan & Kotula (2004), *Surf. Interface Anal.* 36, 203: the counts matrix
``X`` (n × p) is weighted to ``D_h^{-1/2} X D_g^{-1/2}`` with ``h`` the mean image (mean over peaks of
each sample) and ``g`` the mean spectrum (mean over samples of each peak), which makes the Poisson
noise approximately homoscedastic so that PCA separates signal from noise.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError

if TYPE_CHECKING:
    import dask.array as dsa

SCALINGS = ("poisson", "none")
NORMALISATIONS = ("none", "total", "reference")


@dataclass(frozen=True)
class Flattened:
    """Samples × peaks view of a labelled array, with what it takes to unflatten.

    Attributes
    ----------
    matrix
        (n_samples, n_peaks) NumPy or Dask array, in the input's units (usually counts).
    sample_dims, sample_shape
        The original non-peak dimensions and their sizes (C order of the flattening).
    coords
        Coordinates of the original array that live on sample dimensions only.
    peaks, peak_coords
        Peak labels and the coordinates on the ``peak`` dimension (e.g. ``mz``).
    """

    matrix: Any
    sample_dims: tuple[Hashable, ...]
    sample_shape: tuple[int, ...]
    coords: dict[Hashable, xr.Variable]
    peaks: np.ndarray
    peak_coords: dict[Hashable, xr.Variable] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(np.prod(self.sample_shape))

    @property
    def lazy(self) -> bool:
        return hasattr(self.matrix, "dask")

    def unflatten(self, values: Any, dim: str, labels: Sequence[Any] | None = None, *,
                  name: str | None = None, units: str = "1") -> xr.DataArray:
        """Put per-sample values (n_samples, k) — or (n_samples,) with ``dim=None`` — back on the sample dims."""
        if dim is None:
            data = values.reshape(self.sample_shape)
            dims = self.sample_dims
            coords = dict(self.coords)
        else:
            k = values.shape[1]
            data = values.reshape((*self.sample_shape, k))
            dims = (*self.sample_dims, dim)
            coords = {**self.coords, dim: np.arange(k) if labels is None else np.asarray(labels)}
        return xr.DataArray(data, dims=dims, coords=coords, name=name, attrs={"units": units})


def flatten(data: xr.DataArray) -> Flattened:
    """View ``data`` as samples × peaks (all dims other than ``peak`` become samples).

    Raises
    ------
    ValidationError
        If ``data`` has no ``peak`` dimension or no samples.
    """
    if not isinstance(data, xr.DataArray):
        raise ValidationError(f"multivariate analysis needs an xarray DataArray, got {type(data).__name__}")
    if "peak" not in data.dims:
        raise ValidationError(f"multivariate analysis needs a 'peak' dimension; the data has dims {tuple(data.dims)}")
    sample_dims = tuple(d for d in data.dims if d != "peak")
    if not sample_dims:
        raise ValidationError("data has only a 'peak' dimension: there are no samples (pixels/scans) to analyse")
    arr = data.transpose(*sample_dims, "peak").data
    shape = tuple(int(data.sizes[d]) for d in sample_dims)
    n, p = int(np.prod(shape)), int(data.sizes["peak"])
    if n < 2 or p < 2:
        raise ValidationError(f"need at least 2 samples and 2 peaks, got {n} samples × {p} peaks")
    if hasattr(arr, "dask"):
        arr = arr.reshape(n, p).rechunk({1: p})
    else:
        arr = np.asarray(arr).reshape(n, p)
    coords = {k: v.variable for k, v in data.coords.items() if v.dims and set(v.dims) <= set(sample_dims)}
    peak_coords = {k: v.variable for k, v in data.coords.items() if v.dims == ("peak",)}
    if "peak" in data.coords:
        peaks = np.array([str(v) for v in data.coords["peak"].values])
    elif "mz" in data.coords and data.coords["mz"].dims == ("peak",):  # channels named by their mass
        from ionscope.io.variables import mass_labels

        peaks = mass_labels(np.asarray(data.coords["mz"].values, dtype=float))
    else:
        peaks = np.array([f"peak{i}" for i in range(p)])
    return Flattened(arr, sample_dims, shape, coords, peaks, peak_coords)


def select_peaks(data: xr.DataArray, min_counts: float = 100.0) -> xr.DataArray:
    """Keep the peaks with at least ``min_counts`` counts summed over all samples (peak selection).

    Poisson scaling divides by √(mean spectrum): a channel with a handful of counts in the whole
    data set gets a weight so large that one pixel's single count becomes the first principal
    component. Dropping such channels (and all-zero ones) is the usual first step (Keenan 2009).
    Lazy data stay lazy except for the per-peak totals, which are computed.

    Raises
    ------
    ValidationError
        If fewer than 2 peaks remain.
    """
    if "peak" not in data.dims:
        raise ValidationError(f"peak selection needs a 'peak' dimension; the data has dims {tuple(data.dims)}")
    totals = np.asarray(data.sum([d for d in data.dims if d != "peak"]).values, dtype=float)
    keep = np.flatnonzero(totals >= min_counts)
    if keep.size < 2:
        raise ValidationError(f"only {keep.size} peak(s) have ≥ {min_counts:g} counts; nothing to analyse")
    return data.isel(peak=keep)


def sparse_peak_warning(colsum: np.ndarray, peaks: Sequence[str] | np.ndarray,
                        threshold: float = 100.0) -> tuple[str, ...]:
    """A warning naming peaks with fewer than ``threshold`` counts in total (Poisson scaling amplifies them)."""
    low = np.flatnonzero(colsum < threshold)
    if low.size == 0:
        return ()
    return (f"{low.size} peak(s) have fewer than {threshold:g} counts in total ({[str(peaks[i]) for i in low[:8]]}); "
            "Poisson scaling gives them large weights and single counts can dominate a component — "
            "consider leaving them out (--min-counts on the command line, select_peaks in Python)",)


def sample_mask(flat: Flattened, mask: Any) -> np.ndarray | None:
    """Boolean vector (n_samples,) of samples to KEEP, from a mask over the sample dims.

    ``mask`` is ``True`` for samples to use; a DataArray is aligned by dimension name, a plain
    array must have exactly the sample shape.

    Raises
    ------
    ValidationError
        If the mask's dims or shape do not match the data's sample dims, or it keeps < 2 samples.
    """
    if mask is None:
        return None
    if isinstance(mask, xr.DataArray):
        if set(mask.dims) != set(flat.sample_dims):
            raise ValidationError(f"mask has dims {tuple(mask.dims)} but the data's sample dims are {flat.sample_dims}")
        mask = mask.transpose(*flat.sample_dims).values
    m = np.asarray(mask)
    if m.shape != flat.sample_shape:
        raise ValidationError(f"mask has shape {m.shape} but the data's sample dims {flat.sample_dims} "
                              f"have shape {flat.sample_shape}")
    m = m.astype(bool).reshape(-1)
    if m.sum() < 2:
        raise ValidationError(f"mask keeps {int(m.sum())} samples; at least 2 are needed")
    return m


def check_matrix(matrix: np.ndarray, peaks: Sequence[str] | np.ndarray) -> None:
    """Reject NaN/inf, negative counts and all-zero channels, naming the offending peaks.

    Raises
    ------
    ValidationError
        On non-finite values, negative values or channels with no counts at all.
    """
    bad = ~np.isfinite(matrix)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        raise ValidationError(f"data contain {int(bad.sum())} NaN/inf values, in peaks "
                              f"{[str(peaks[c]) for c in cols[:10]]}")
    if (matrix < 0).any():
        cols = np.flatnonzero((matrix < 0).any(axis=0))
        raise ValidationError(f"data contain negative values (counts must be ≥ 0), in peaks "
                              f"{[str(peaks[c]) for c in cols[:10]]}")
    zero = matrix.sum(axis=0) == 0
    if zero.any():
        names = [str(peaks[c]) for c in np.flatnonzero(zero)[:10]]
        raise ValidationError(f"{int(zero.sum())} all-zero channel(s) {names}"
                              "; remove them (e.g. data.drop_sel(peak=[...])) before multivariate analysis")


def row_factors(matrix: Any, normalisation: str, reference: int | None) -> np.ndarray | dsa.Array | None:
    """Per-sample multipliers for total-ion or reference-peak normalisation (1 where undefined).

    Total-ion normalisation divides each sample by its total counts over the selected peaks (result:
    fraction of the total); reference normalisation divides by the reference peak's counts (ratio).
    Samples whose total/reference is zero get factor 0.

    Returns
    -------
    numpy.ndarray or dask.array.Array or None
        (n,) factors, NumPy or Dask as ``matrix`` is; ``None`` for ``normalisation="none"``.
    """
    if normalisation == "none":
        return None
    xp = _xp(matrix)
    if normalisation == "total":
        ref = matrix.sum(axis=1)
    elif normalisation == "reference":
        if reference is None:
            raise ValidationError("normalisation='reference' needs the reference peak")
        ref = matrix[:, reference]
    else:
        raise ValidationError(f"unknown normalisation {normalisation!r}; expected one of {NORMALISATIONS}")
    ref = ref.astype(np.float64)
    return xp.where(ref > 0, 1.0 / xp.where(ref > 0, ref, 1.0), 0.0)


def _xp(a: Any) -> Any:
    if hasattr(a, "dask"):
        import dask.array as da

        return da
    return np


@dataclass(frozen=True)
class Preprocessed:
    """The matrix an eager decomposition works on, and the factors to undo the scaling.

    ``matrix = (row_scale[:, None] * X * col_scale[None, :]) - mean`` over kept samples.
    """

    matrix: np.ndarray
    row_scale: np.ndarray
    col_scale: np.ndarray
    mean: np.ndarray
    keep: np.ndarray | None


@renamed_parameters(normalise="normalisation")
def preprocess(flat: Flattened, *, scaling: str = "poisson", normalisation: str = "none",
               reference: str | None = None, sqrt: bool = False, centre: bool = True,
               mask: Any = None) -> Preprocessed:
    """Normalise, transform, Poisson-scale and centre an in-memory samples × peaks matrix.

    Order: (1) sample mask, (2) total-ion / reference normalisation, (3) square-root transform,
    (4) Poisson scaling (Keenan & Kotula 2004), (5) mean centring. Masked samples are excluded.

    Parameters
    ----------
    scaling
        ``"poisson"``: divide by √(mean image) per sample and √(mean spectrum) per peak; ``"none"``.
    normalisation
        ``"none"``, ``"total"`` (total ion counts) or ``"reference"`` (a peak named by ``reference``).
    sqrt
        Square-root transform of the counts (a variance stabiliser alternative to Poisson scaling).
    centre
        Subtract the mean spectrum (for PCA; NMF/MCR use ``centre=False``).
    mask
        Samples to keep (see :func:`sample_mask`).
    """
    if scaling not in SCALINGS:
        raise ValidationError(f"unknown scaling {scaling!r}; expected one of {SCALINGS}")
    keep = sample_mask(flat, mask)
    x = np.asarray(flat.matrix, dtype=np.float64)
    if keep is not None:
        x = x[keep]
    check_matrix(x, flat.peaks)
    ref_idx = _reference_index(flat, reference) if normalisation == "reference" else None
    row = np.ones(x.shape[0])
    f = row_factors(x, normalisation, ref_idx)
    if f is not None:
        row = np.asarray(f)  # NumPy, as x is
        x = x * row[:, None]
    if sqrt:
        x = np.sqrt(x)
    col = np.ones(x.shape[1])
    if scaling == "poisson":
        h = x.mean(axis=1)
        g = x.mean(axis=0)
        rs = np.where(h > 0, 1.0 / np.sqrt(np.where(h > 0, h, 1.0)), 0.0)
        col = 1.0 / np.sqrt(g)
        x = x * rs[:, None] * col[None, :]
        row = row * rs
    mean = x.mean(axis=0) if centre else np.zeros(x.shape[1])
    if centre:
        x = x - mean
    return Preprocessed(x, row, col, mean, keep)


def _reference_index(flat: Flattened, reference: str | None) -> int:
    if reference is None:
        raise ValidationError("normalisation='reference' needs reference=<peak label>")
    hits = np.flatnonzero(flat.peaks == str(reference))
    if hits.size != 1:
        raise ValidationError(f"reference peak {reference!r} is not one of the peaks {list(flat.peaks[:20])}")
    return int(hits[0])


def check_components(n_components: int, n_samples: int, n_peaks: int, rank: int | None = None, *,
                     centred: bool = False) -> None:
    """Raise if more components are asked for than the data's rank allows.

    ``n_samples`` is the number of samples used; ``centred`` (PCA) subtracts the mean spectrum, which
    takes one from the rank (min(n_samples − 1, n_peaks)), and the message says so.
    """
    limit = min(n_samples - int(centred), n_peaks) if rank is None else rank
    if not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ValidationError(f"n_components must be a positive integer, got {n_components!r}")
    if n_components > limit:
        why = "; centring takes one from the rank" if centred and n_samples - 1 < n_peaks else ""
        raise ValidationError(f"{n_components} components asked for but the data's rank is at most {limit} "
                              f"({n_samples} samples × {n_peaks} peaks{why})")
