"""The record every decomposition returns: labelled score maps, loadings, variance, provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.result import Result


@dataclass(frozen=True)
class MVAResult:
    """Outcome of a PCA, NMF, MCR-ALS or clustering run.

    Attributes
    ----------
    method
        ``"pca"``, ``"nmf"``, ``"mcr"`` or ``"cluster"``.
    scores
        Score/abundance maps on the original sample dims plus ``component`` (for clustering: the
        integer phase map on the sample dims). Masked samples are NaN (label −1).
    loadings
        (component, peak) loadings/spectra with the peak labels and peak coordinates (e.g. ``mz``).
    explained_variance_ratio
        Fraction of the total variance of the preprocessed data per component (PCA only).
    values
        Further method-specific numbers (iterations, loss, passes over the data, …).
    """

    method: str
    scores: xr.DataArray
    loadings: xr.DataArray | None
    explained_variance_ratio: np.ndarray | None = None
    values: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        if self.loadings is not None:
            return int(self.loadings.sizes["component"])
        return int(self.values.get("n_clusters", 0))

    def to_result(self) -> Result:
        """The JSON-serialisable :class:`ionscope.model.Result` of this run (no arrays but small ones)."""
        vals: dict[str, Any] = {"method": self.method, "n_components": self.n_components,
                                "scores_dims": list(self.scores.dims)}
        if self.explained_variance_ratio is not None:
            vals["explained_variance_ratio"] = [float(v) for v in self.explained_variance_ratio]
        if self.loadings is not None:
            vals["top_peaks"] = _top_peaks(self.loadings)
        vals.update(self.values)
        return Result(kind=f"mva.{self.method}", values=vals, warnings=self.warnings, provenance=self.provenance)

    def to_dict(self) -> dict[str, Any]:
        return self.to_result().to_dict()


def _top_peaks(loadings: xr.DataArray, n: int = 3) -> list[list[str]]:
    """Per component, the labels of its ``n`` peaks of largest loading magnitude (largest first).

    Peak labels are the file's (ion names, or channel masses for a converted image), so a component is
    named by the channels that make it.
    """
    values = np.abs(np.asarray(loadings.transpose("component", "peak").values, dtype=float))
    labels = [str(v) for v in loadings.coords["peak"].values]
    order = np.argsort(-np.nan_to_num(values, nan=-1.0), axis=1, kind="stable")[:, :n]
    return [[labels[j] for j in row] for row in order]


def loadings_array(matrix: np.ndarray, flat: Any, name: str = "loadings", units: str = "1") -> xr.DataArray:
    """(component, peak) DataArray with the peak labels and peak coordinates of ``flat``."""
    coords = {"component": np.arange(matrix.shape[0]), "peak": flat.peaks, **flat.peak_coords}
    return xr.DataArray(np.asarray(matrix), dims=("component", "peak"), coords=coords, name=name,
                        attrs={"units": units})


def stable_signs(loadings: np.ndarray) -> np.ndarray:
    """Signs (+1/−1) per component making the largest-magnitude loading of each component positive."""
    idx = np.argmax(np.abs(loadings), axis=1)
    s = np.sign(loadings[np.arange(loadings.shape[0]), idx])
    s[s == 0] = 1.0
    return s


def expand_rows(values: np.ndarray, keep: np.ndarray | None, fill: float = np.nan) -> np.ndarray:
    """Scatter per-kept-sample rows back to all samples, ``fill`` for masked ones (NumPy only)."""
    if keep is None:
        return values
    out = np.full((keep.size, *values.shape[1:]), fill, dtype=np.result_type(values, type(fill)))
    out[keep] = values
    return out
