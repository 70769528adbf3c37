"""Principal component analysis with Poisson scaling, in memory or out of core (Dask, distributed).

In memory the preprocessed matrix ``Z`` (n × p) is decomposed by a full SVD (LAPACK ``gesdd``) or a
randomized SVD (Halko, Martinsson & Tropp 2011). Out of core (Dask-backed data) the p × p Gram
matrix is accumulated chunk by chunk in ONE pass over the data, together with the column sums that
give the mean spectrum; because Poisson scaling and centring act on the Gram matrix as

    Zᵀ Z = D (Yᵀ Y) D − n μ μᵀ,   Y = D_h^{-1/2} X (row-scaled),  D = diag(g)^{-1/2},  μ = D ȳ,

no separate pass for the means is needed (row factors are local to each chunk). The eigenvectors of
``Zᵀ Z`` are the loadings; scores ``Z V`` are returned lazily (a second pass when computed or
written). Memory is bounded by one chunk plus p × p floats per worker. Under an active
``dask.distributed`` Client the reduction runs on the cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.mva.preprocess import (
    SCALINGS,
    check_components,
    flatten,
    preprocess,
    sample_mask,
    sparse_peak_warning,
)
from ionscope.mva.result import MVAResult, expand_rows, loadings_array, stable_signs

SOLVERS = ("auto", "full", "randomized", "gram")


@renamed_parameters(normalise="normalisation")
def pca(data: xr.DataArray, n_components: int, *, scaling: str = "poisson", normalisation: str = "none",
        reference: str | None = None, sqrt: bool = False, mask: Any = None, solver: str = "auto",
        seed: int = 0) -> MVAResult:
    """PCA of TOF-SIMS data (any kind with a ``peak`` dim) with the field's counting-statistics scaling.

    Parameters
    ----------
    data
        Counts with a ``peak`` dimension; NumPy- or Dask-backed.
    n_components
        Number of components kept (≤ rank of the centred data).
    scaling
        ``"poisson"`` (Keenan & Kotula 2004) or ``"none"``.
    normalisation, reference, sqrt, mask
        See :func:`ionscope.mva.preprocess.preprocess`.
    solver
        ``"full"`` SVD, ``"randomized"`` SVD, ``"gram"`` (out of core, one pass), or ``"auto"``:
        ``"gram"`` for Dask-backed data, else ``"full"``.
    seed
        Seed of the randomized solver.

    Returns
    -------
    MVAResult
        Scores (sample dims + component; lazy for ``"gram"`` on Dask data), loadings (component,
        peak), explained-variance ratios. Sign: the largest-|loading| of each component is positive;
        order: decreasing variance.
    """
    if solver not in SOLVERS:
        raise ValidationError(f"unknown PCA solver {solver!r}; expected one of {SOLVERS}")
    if scaling not in SCALINGS:
        raise ValidationError(f"unknown scaling {scaling!r}; expected one of {SCALINGS}")
    flat = flatten(data)
    if solver == "auto":
        solver = "gram" if flat.lazy else "full"
    params = {"n_components": n_components, "scaling": scaling, "normalisation": normalisation, "reference": reference,
              "sqrt": sqrt, "solver": solver, "seed": seed, "masked": mask is not None}
    if solver == "gram":
        if normalisation == "reference" or sqrt:
            raise ValidationError("the out-of-core solver supports normalisation='none'/'total' without sqrt")
        scores, loadings, evr, extra = _pca_gram(flat, n_components, scaling, normalisation, mask)
    else:
        pre = preprocess(flat, scaling=scaling, normalisation=normalisation, reference=reference, sqrt=sqrt,
                         centre=True, mask=mask)
        n, p = pre.matrix.shape
        check_components(n_components, n, p, centred=True)
        total = float(np.sum(pre.matrix**2))
        if solver == "full":
            u, s, vt = np.linalg.svd(pre.matrix, full_matrices=False)
        else:
            from sklearn.utils.extmath import randomized_svd

            u, s, vt = randomized_svd(pre.matrix, n_components, n_oversamples=20, n_iter=7, random_state=seed)
        const = _constant_warning(total, total + n * float(pre.mean @ pre.mean), n)
        if not const:
            _check_rank(s, n_components)
        u, s, vt = u[:, :n_components], s[:n_components], vt[:n_components]
        signs = stable_signs(vt)
        loadings = vt * signs[:, None]
        scores = expand_rows(u * (s * signs)[None, :], pre.keep)
        evr = s**2 / total if total > 0 and not const else np.zeros_like(s)
        colsum = np.asarray(flat.matrix if pre.keep is None else np.asarray(flat.matrix)[pre.keep],
                            dtype=float).sum(axis=0)
        extra = {"passes": 1, "_colsum": colsum, "_constant": const}
    colsum = extra.pop("_colsum")
    warnings = extra.pop("_constant") + (sparse_peak_warning(colsum, flat.peaks) if scaling == "poisson" else ())
    score_da = flat.unflatten(scores, "component", name="scores")
    load_da = loadings_array(loadings, flat)
    prov = make_provenance("ionscope.mva.pca", parameters=params,
                           parents=[data.attrs["provenance"]] if "provenance" in data.attrs else [])
    return MVAResult("pca", score_da, load_da, np.asarray(evr), values={"solver": solver, **extra},
                     warnings=warnings, provenance=prov)


def _constant_warning(total: float, uncentred: float, n: int, *, from_gram: bool = False) -> tuple[str, ...]:
    """A warning when the centred data hold no variance beyond floating-point round-off.

    Centring n values of magnitude |x| leaves a round-off of about √n·ε·|x| per element (ε the
    machine epsilon), so a total centred sum of squares below (10·√n·ε)² times the uncentred one is
    round-off, not signal. The out-of-core solver centres sums of squares instead (ΣY² − n·ȳ²), whose
    cancellation leaves about √n·ε of the uncentred sum: there the bound is 10·√n·ε. Below it every
    component, and its explained-variance ratio, is meaningless.
    """
    eps = float(np.finfo(float).eps)
    bound = 10 * np.sqrt(n) * eps
    if uncentred > 0 and total > (bound if from_gram else bound ** 2) * uncentred:
        return ()
    return ("the data do not vary between samples (the variance left after centring is at the floating-point "
            "round-off level): every component is numerical noise and the explained-variance ratios mean nothing",)


def _check_rank(s: np.ndarray, k: int) -> None:
    tol = s[0] * max(len(s), 1) * np.finfo(float).eps * 10 if s.size else 0.0
    rank = int(np.sum(s > tol))
    if k > rank:
        raise ValidationError(f"{k} components asked for but the preprocessed data have numerical rank {rank}")


def _chunk_stats(x: np.ndarray, w: np.ndarray, total_ion: bool, poisson: bool) -> np.ndarray:
    """Per-chunk sums: rows 0..p-1 Yᵀ Y, row p Σ X (after normalisation), row p+1 Σ Y, row p+2 [n, #bad]."""
    w = w.reshape(-1)
    x = x.astype(np.float64) * w[:, None]
    if total_ion:
        t = x.sum(axis=1)
        x = x * np.where(t > 0, 1.0 / np.where(t > 0, t, 1.0), 0.0)[:, None]
    y = x
    if poisson:
        h = x.mean(axis=1)
        y = x * np.where(h > 0, 1.0 / np.sqrt(np.where(h > 0, h, 1.0)), 0.0)[:, None]
    p = x.shape[1]
    out = np.zeros((1, p + 3, p))
    out[0, :p] = y.T @ y
    out[0, p] = x.sum(axis=0)
    out[0, p + 1] = y.sum(axis=0)
    out[0, p + 2, 0] = w.sum()
    out[0, p + 2, 1] = np.isnan(x).sum() + np.isinf(x).sum() + (x < 0).sum()
    return out


def _chunk_scores(x: np.ndarray, w: np.ndarray, total_ion: bool, poisson: bool, proj: np.ndarray,
                  offset: np.ndarray) -> np.ndarray:
    """Scores of one chunk: (row-scaled X) @ (D V) − μᵀ V; NaN for masked rows."""
    w = w.reshape(-1)
    x = x.astype(np.float64)
    if total_ion:
        t = x.sum(axis=1)
        x = x * np.where(t > 0, 1.0 / np.where(t > 0, t, 1.0), 0.0)[:, None]
    if poisson:
        h = x.mean(axis=1)
        x = x * np.where(h > 0, 1.0 / np.sqrt(np.where(h > 0, h, 1.0)), 0.0)[:, None]
    out = x @ proj - offset[None, :]
    out[w == 0] = np.nan
    return out


def _pca_gram(flat: Any, k: int, scaling: str, normalisation: str,
              mask: Any) -> tuple[Any, np.ndarray, np.ndarray, dict]:
    import dask.array as da

    x = flat.matrix
    if not flat.lazy:
        x = da.from_array(np.asarray(x), chunks=(max(1, 2**22 // max(x.shape[1], 1)), x.shape[1]))
    n, p = x.shape
    keep = sample_mask(flat, mask)
    w = da.from_array(np.ones(n) if keep is None else keep.astype(np.float64), chunks=(x.chunks[0],))
    if normalisation not in ("none", "total"):
        raise ValidationError(f"unknown normalisation {normalisation!r} for the out-of-core solver")
    total_ion = normalisation == "total"
    poisson = scaling == "poisson"
    stats = da.map_blocks(_chunk_stats, x, w[:, None], total_ion, poisson, dtype=np.float64,
                          chunks=((1,) * len(x.chunks[0]), (p + 3,), (p,)), new_axis=[2])
    acc = np.asarray(stats.sum(axis=0).compute())  # the one pass over the data
    gram, colsum_x, colsum_y = acc[:p], acc[p], acc[p + 1]
    n_kept, n_bad = int(round(acc[p + 2, 0])), int(acc[p + 2, 1])
    if not np.isfinite(acc).all() or n_bad:
        raise ValidationError("data contain NaN/inf or negative values; counts must be finite and ≥ 0")
    zero = colsum_x == 0
    if zero.any():
        names = [str(flat.peaks[c]) for c in np.flatnonzero(zero)[:10]]
        raise ValidationError(f"{int(zero.sum())} all-zero channel(s) {names}"
                              "; remove them before multivariate analysis")
    check_components(k, n_kept, p, centred=True)
    dcol = 1.0 / np.sqrt(colsum_x / n_kept) if poisson else np.ones(p)
    ybar = colsum_y / n_kept
    mu = dcol * ybar
    cov = dcol[:, None] * gram * dcol[None, :] - n_kept * np.outer(mu, mu)
    cov = (cov + cov.T) / 2
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals, evecs = np.clip(evals[order], 0, None), evecs[:, order]
    total = float(np.trace(cov))
    const = _constant_warning(total, float(np.sum(dcol**2 * np.diag(gram))), n_kept, from_gram=True)
    if not const:
        _check_rank(np.sqrt(evals), k)
    vt = evecs[:, :k].T
    signs = stable_signs(vt)
    vt = vt * signs[:, None]
    proj = dcol[:, None] * vt.T
    offset = mu @ vt.T
    scores = da.map_blocks(_chunk_scores, x, w[:, None], total_ion, poisson, proj, offset, dtype=np.float64,
                           chunks=(x.chunks[0], (k,)))
    evr = evals[:k] / total if total > 0 and not const else np.zeros(k)
    return scores, vt, evr, {"passes_fit": 1, "passes_scores": 1, "n_samples_used": n_kept,
                             "_colsum": colsum_x, "_constant": const}


__all__ = ["SOLVERS", "pca"]
